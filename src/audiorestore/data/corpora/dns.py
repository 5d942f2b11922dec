"""Deep Noise Suppression challenge data (Reddy et al., Interspeech 2020 and later; github.com/microsoft/DNS-Challenge).

* ``datasets/clean/`` (2020) or ``datasets_fullband/clean_fullband/`` (2021 onwards): clean speech
  clips (``book_00000_chp_0009_reader_06709_0.wav``) -> clean-only ``train`` entries for on-the-fly mixing.
* ``datasets/noise/`` or ``datasets_fullband/noise_fullband/``: noise clips -> noise-only ``train`` entries.
* ``datasets/test_set/synthetic/{no_reverb,with_reverb}/{clean,noisy}/``: ``clean_fileid_N.wav``
  pairs with the noisy file whose name ends in ``_fileid_N`` -> ``test``.
* ``datasets/test_set/real_recordings/``: noisy only -> ``test``.
* ``training_set/{clean,noisy,noise}/`` (what ``noisyspeech_synthesizer.py`` writes, in the root
  or under ``datasets/``): triples by ``fileid_N`` -> ``train``.

The fullband folder names are those of the 2021+ branches as commonly cited; not checked against
every challenge edition.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ...errors import AudioInputError, ParameterError
from ._base import Entry, audio_files, check_root, find, layout_error, parse_list_option, register, try_entry

log = logging.getLogger(__name__)

NAME = "dns"
_FILEID = re.compile(r"fileid_(\d+)$")
_SNR = re.compile(r"_snr(-?\d+(?:\.\d+)?)", re.IGNORECASE)
_READER = re.compile(r"reader_(\d+)")
PARTS = ("clean", "noise", "test", "synthesized")


def _by_fileid(folder: Path) -> dict[int, Path]:
    out: dict[int, Path] = {}
    for p in audio_files(folder):
        m = _FILEID.search(p.stem)
        if m is None:
            continue
        k = int(m.group(1))
        if k in out:
            raise AudioInputError(f"two files with fileid_{k}: {out[k].name} and {p.name}", str(folder))
        out[k] = p
    return out


def _snr(name: str) -> float | None:
    m = _SNR.search(name)
    return float(m.group(1)) if m else None


@register(NAME, "DNS Challenge folders: clean speech and noise for mixing, synthetic test pairs by fileid", """
    ROOT/datasets/clean/**.wav                   clean speech (or datasets_fullband/clean_fullband/)
    ROOT/datasets/noise/**.wav                   noise (or datasets_fullband/noise_fullband/)
    ROOT/datasets/test_set/synthetic/no_reverb|with_reverb/clean/clean_fileid_0.wav
                                                 .../noisy/<...>_snr<X>_..._fileid_0.wav
    ROOT/datasets/test_set/real_recordings/*.wav noisy only
    ROOT/training_set/clean|noisy|noise/*_fileid_N.wav   synthesizer output (optional)
    (ROOT may be datasets/ itself) clean, noise, training_set -> train; test_set -> test""")
def dns(root: Path, *, parts: str = "clean,noise,test,synthesized") -> list[Entry]:
    """Entries of the DNS Challenge folders under ``root`` (``parts``: any of clean, noise, test, synthesized).

    Example:
        >>> entries = dns(Path("/data/DNS-Challenge"), parts="test")       # doctest: +SKIP
    """
    root = check_root(root)
    wanted = parse_list_option(parts)
    bad = [p for p in wanted if p not in PARTS]
    if bad:
        raise ParameterError(f"unknown DNS part '{bad[0]}' (known: {', '.join(PARTS)})")
    ds = find(root, "datasets") or root
    fb = find(root, "datasets_fullband") or (root if find(root, "clean_fullband") else None)
    clean_dirs = [d for d in (find(ds, "clean"), fb and find(fb, "clean_fullband")) if d is not None]
    noise_dirs = [d for d in (find(ds, "noise"), fb and find(fb, "noise_fullband")) if d is not None]
    synth = find(ds, "test_set/synthetic")
    real = find(ds, "test_set/real_recordings")
    train_sets = [d for d in (find(root, "training_set"), find(ds, "training_set")) if d is not None]
    train_sets = list(dict.fromkeys(train_sets))
    if not (clean_dirs or noise_dirs or synth or real or train_sets):
        raise layout_error(root, "the DNS Challenge data", [
            "datasets/clean/", "datasets/noise/", "datasets/test_set/synthetic/no_reverb/{clean,noisy}/",
            "datasets_fullband/clean_fullband/", "training_set/{clean,noisy}/"])
    entries: list[Entry] = []
    skipped: list[str] = []

    def add(split: str, id: str, **kw) -> None:
        e = try_entry(skipped, NAME, split, id, **kw)
        if e is not None:
            entries.append(e)

    if "clean" in wanted:
        for d in clean_dirs:
            for p in audio_files(d):
                rel = p.relative_to(d).with_suffix("").as_posix()
                m = _READER.search(p.stem)
                add("train", f"{d.name}/{rel}", speaker=f"reader_{m.group(1)}" if m else None, clean=p,
                    meta={"part": d.name})
    if "noise" in wanted:
        for d in noise_dirs:
            for p in audio_files(d):
                rel = p.relative_to(d).with_suffix("").as_posix()
                add("train", f"{d.name}/{rel}", noise=p, meta={"part": d.name})
    if "test" in wanted and synth is not None:
        for cond in sorted(x for x in synth.iterdir() if x.is_dir()):
            cd, nd = find(cond, "clean"), find(cond, "noisy")
            if cd is None or nd is None:
                continue
            clean, noisy = _by_fileid(cd), _by_fileid(nd)
            missing = sorted(set(noisy) ^ set(clean))
            if missing:
                side = "noisy" if missing[0] in noisy else "clean"
                raise AudioInputError(f"{side} fileid_{missing[0]} has no partner", str(cond))
            for k in sorted(noisy):
                add("test", f"synthetic/{cond.name}/fileid_{k}", clean=clean[k], noisy=noisy[k],
                    meta={"reverb": cond.name.lower() == "with_reverb", "snr_db": _snr(noisy[k].stem),
                          "noisy_name": noisy[k].name})
    if "test" in wanted and real is not None:
        for p in audio_files(real):
            add("test", f"real_recordings/{p.relative_to(real).with_suffix('').as_posix()}", noisy=p,
                meta={"real": True})
    if "synthesized" in wanted:
        for d in train_sets:
            cd, nd, zd = find(d, "clean"), find(d, "noisy"), find(d, "noise")
            clean = _by_fileid(cd) if cd is not None else {}
            noisy = _by_fileid(nd) if nd is not None else {}
            noise = _by_fileid(zd) if zd is not None else {}
            for k in sorted(noisy):
                if k not in clean:
                    raise AudioInputError(f"noisy fileid_{k} has no clean partner", str(d))
                add("train", f"training_set/fileid_{k}", clean=clean[k], noisy=noisy[k], noise=noise.get(k),
                    meta={"snr_db": _snr(noisy[k].stem), "noisy_name": noisy[k].name})
    return entries
