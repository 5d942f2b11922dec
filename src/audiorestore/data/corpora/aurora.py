"""Aurora-2 (Hirsch and Pearce, ISCA ITRW ASR2000): TIDigits at 8 kHz with added noise.

Files are headerless big-endian 16-bit samples (``*.08``), read through
:mod:`audiorestore.data.corpora.raw` (manifest ``"format": "raw_be16"``). Layout of the CD::

    speechdata/train/clean/            clean training utterances (FAC_13A.08 ...)
    speechdata/train/multi/<cond>/     multi-condition training: clean1..4, N1_SNR5 .. N4_SNR20
    speechdata/testa|testb|testc/<cond>/   clean1.., N1_SNR-5 .. N4_SNR20 (testc: N1, N2 only)

A noisy file ``<set>/N<k>_SNR<x>/<name>.08`` is paired with ``<set>/clean<k>/<name>.08``; a
multi-condition training file with ``train/clean/<name>.08``. Noise names per set follow the paper
(set A and multi-condition training: subway, babble, car, exhibition; set B: restaurant, street,
airport, train station; set C: subway, street with the MIRS channel). Not confirmed from a copy of
the CD: the exact case of folder names (matched case-insensitively here), whether ``train/multi``
has condition subfolders (a flat folder is accepted, condition unknown), the speaker code (taken as
the part of the name before ``_``), and the names of the CD's list files (pass any list as
``file_list``: one path per line keeps those files, a bare utterance name keeps it in every condition).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ...errors import ParameterError
from ._base import Entry, audio_files, check_root, child, find, layout_error, parse_list_option, register, try_entry

log = logging.getLogger(__name__)

NAME = "aurora2"
FORMAT = "raw_be16"
EXT = (".08",)
NOISES = {
    "train": ("subway", "babble", "car", "exhibition"),
    "testa": ("subway", "babble", "car", "exhibition"),
    "testb": ("restaurant", "street", "airport", "train station"),
    "testc": ("subway", "street"),
}
_COND = re.compile(r"^N(?P<k>\d+)_SNR(?P<snr>-?\d+)$", re.IGNORECASE)
_CLEAN = re.compile(r"^clean(?P<k>\d+)$", re.IGNORECASE)


def _files(folder: Path) -> dict[str, Path]:
    return {p.stem.upper(): p for p in audio_files(folder, EXT)}


def _read_list(path: str) -> set[tuple[str | None, str]]:
    """``{(condition folder or None, utterance)}`` from a list of ``.../N1_SNR5/FAK_1B.08`` paths or bare names."""
    p = Path(path)
    if not p.is_file():
        raise ParameterError("file_list not found", str(p))
    keys: set[tuple[str | None, str]] = set()
    for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        parts = Path(line.split()[0].replace("\\", "/")).with_suffix("").parts
        keys.add((parts[-2].upper() if len(parts) > 1 else None, parts[-1].upper()))
    return keys


@register(NAME, "Aurora-2 noisy TIDigits, 8 kHz headerless big-endian files (*.08)", """
    ROOT/speechdata/train/clean/FAC_13A.08                      clean training set
    ROOT/speechdata/train/multi/N1_SNR5/FAC_13A.08 (clean1..4)  multi-condition training
    ROOT/speechdata/testa/N1_SNR-5 .. N4_SNR20/, clean1..4/      test set A (same for testb; testc: N1, N2)
    (ROOT may be speechdata/ itself; folder names in any case)
    train/* -> train, test* -> test; file_list=PATH keeps the files a list names (.../N1_SNR5/FAK_1B.08)""")
def aurora2(root: Path, *, sets: str = "clean,multi,testa,testb,testc", file_list: str = "") -> list[Entry]:
    """Entries of Aurora-2 under ``root`` (``sets``: any of clean, multi, testa, testb, testc).

    Example:
        >>> entries = aurora2(Path("/data/aurora2"), sets="testa")         # doctest: +SKIP
    """
    root = check_root(root)
    base = find(root, "speechdata") or root
    wanted = parse_list_option(sets)
    bad = [s for s in wanted if s not in ("clean", "multi", "testa", "testb", "testc")]
    if bad:
        raise ParameterError(f"unknown Aurora-2 set '{bad[0]}' (known: clean, multi, testa, testb, testc)")
    train = child(base, "train")
    clean_train = child(train, "clean") if train is not None else None
    multi = child(train, "multi") if train is not None else None
    tests = {t: child(base, t) for t in ("testa", "testb", "testc")}
    if clean_train is None and multi is None and not any(tests.values()):
        raise layout_error(root, "Aurora-2", ["speechdata/train/clean/*.08", "speechdata/train/multi/",
                                              "speechdata/testa/N1_SNR5/*.08 (testb, testc)"])
    keep = _read_list(file_list) if file_list else None
    entries: list[Entry] = []
    skipped: list[str] = []

    def add(split: str, id: str, **kw) -> None:
        parts = id.upper().split("/")
        if keep is not None and (parts[-2], parts[-1]) not in keep and (None, parts[-1]) not in keep:
            return
        e = try_entry(skipped, NAME, split, id, format=FORMAT, **kw)
        if e is not None:
            entries.append(e)

    clean_files = _files(clean_train) if clean_train is not None else {}
    if "clean" in wanted:
        for _stem, p in sorted(clean_files.items()):
            add("train", f"train/clean/{p.stem}", speaker=p.stem.split("_")[0], clean=p,
                meta={"set": "train_clean", "condition": "clean", "snr_db": None})
    if "multi" in wanted and multi is not None:
        conds = [d for d in sorted(multi.iterdir()) if d.is_dir()] or [multi]
        for d in conds:
            m = _COND.match(d.name)
            if m is None:
                if d is not multi:
                    continue  # clean1..4: clean utterances, the references themselves
                for p in audio_files(d, EXT):
                    c = clean_files.get(p.stem.upper())
                    add("train", f"train/multi/{p.stem}", speaker=p.stem.split("_")[0], clean=c, noisy=p,
                        meta={"set": "train_multi", "condition": None})
                continue
            k = int(m.group("k"))
            for stem, p in sorted(_files(d).items()):
                c = clean_files.get(stem)
                if c is None:
                    log.warning("Aurora-2: %s has no clean version in train/clean, kept without one", p)
                add("train", f"train/multi/{d.name}/{p.stem}", speaker=p.stem.split("_")[0], clean=c, noisy=p,
                    meta={"set": "train_multi", "condition": d.name, "noise_type": _noise("train", k),
                          "snr_db": float(m.group("snr"))})
    for t, folder in tests.items():
        if t not in wanted or folder is None:
            continue
        cleans = {int(_CLEAN.match(d.name).group("k")): _files(d) for d in folder.iterdir()  # type: ignore[union-attr]
                  if d.is_dir() and _CLEAN.match(d.name)}
        for d in sorted(folder.iterdir()):
            m = _COND.match(d.name) if d.is_dir() else None
            if m is None:
                continue
            k = int(m.group("k"))
            refs = cleans.get(k, {})
            for stem, p in sorted(_files(d).items()):
                c = refs.get(stem)
                if c is None:
                    log.warning("Aurora-2: %s has no clean version in %s/clean%d", p, folder.name, k)
                add("test", f"{t}/{d.name}/{p.stem}", speaker=p.stem.split("_")[0], clean=c, noisy=p,
                    meta={"set": t, "condition": d.name, "noise_type": _noise(t, k),
                          "snr_db": float(m.group("snr")), "channel": "MIRS" if t == "testc" else "G.712"})
    return entries


def _noise(which: str, k: int) -> str | None:
    names = NOISES[which]
    return names[k - 1] if 1 <= k <= len(names) else None
