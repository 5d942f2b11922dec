"""VoiceBank-DEMAND (Valentini-Botinhao et al., 2016; Edinburgh DataShare 10283/2791).

Noisy and clean folders hold the same file names (``p226_001.wav``); ``log_<set>.txt`` has one
``<utterance> <noise type> <snr>`` line per file, the only place where the noise and SNR are
written down. The 16 kHz copies people make are found as ``<folder>_16k/`` or ``16k/<folder>/``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from ...errors import ParameterError
from ._base import (Entry, audio_files, check_root, find, layout_error, pair_up, parse_list_option, register,
                    try_entry)

log = logging.getLogger(__name__)

NAME = "voicebank-demand"
#: set name -> (noisy folder, clean folder, log file, transcript folder, split)
SETS = {
    "28spk": ("noisy_trainset_28spk_wav", "clean_trainset_28spk_wav", "log_trainset_28spk.txt",
              "trainset_28spk_txt", "train"),
    "56spk": ("noisy_trainset_56spk_wav", "clean_trainset_56spk_wav", "log_trainset_56spk.txt",
              "trainset_56spk_txt", "train"),
    "test": ("noisy_testset_wav", "clean_testset_wav", "log_testset.txt", "testset_txt", "test"),
}
# Where the original (48 kHz) and the 16 kHz copies are found, relative to the root. The DataShare
# zips unpack to <folder>/ (some tools nest <folder>/<folder>/: files are searched recursively).
# The 16 kHz names are the common conventions, not part of the release.
_PLACES = {"48k": ("{}", "48k/{}", "data/{}", "wav48/{}"),
           "16k": ("{}_16k", "16k/{}", "data/{}_16k", "wav16/{}", "{}16k")}
_LOG_PLACES = ("{}", "logfiles/{}", "data/{}", "data/logfiles/{}")


def _folder(root: Path, name: str, rate: str) -> Path | None:
    p = find(root, *(t.format(name) for t in _PLACES[rate]))
    return p if p is not None and p.is_dir() else None


def parse_log(path: Path) -> dict[str, dict[str, object]]:
    """``log_*.txt`` -> ``{utterance: {"noise_type": str, "snr_db": float}}``.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "log_testset.txt"
        >>> _ = p.write_text("p232_001 living 2.5\\n")
        >>> parse_log(p)
        {'p232_001': {'noise_type': 'living', 'snr_db': 2.5}}
    """
    out: dict[str, dict[str, object]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3:
            raise ParameterError(f"line {n}: expected '<utterance> <noise type> <snr>', got {line.strip()!r}",
                                 str(path))
        try:
            snr = float(parts[2])
        except ValueError:
            raise ParameterError(f"line {n}: SNR {parts[2]!r} is not a number", str(path)) from None
        out[parts[0]] = {"noise_type": parts[1], "snr_db": snr}
    return out


def _key(p: Path, folder: Path) -> str:
    # Some 16 kHz copies are named p232_001_16k.wav: pair on the utterance name.
    k = p.relative_to(folder).with_suffix("").name
    return k[:-4] if k.endswith("_16k") else k


@register(NAME, "VoiceBank-DEMAND noisy/clean pairs (28- and 56-speaker training sets, 824-file test set)", """
    ROOT/clean_trainset_28spk_wav/p226_001.wav   noisy_trainset_28spk_wav/p226_001.wav
    ROOT/clean_trainset_56spk_wav/  noisy_trainset_56spk_wav/      (optional)
    ROOT/clean_testset_wav/p232_001.wav          noisy_testset_wav/p232_001.wav
    ROOT/log_trainset_28spk.txt, log_trainset_56spk.txt, log_testset.txt (or logfiles/): '<id> <noise> <snr>'
    ROOT/testset_txt/p232_001.txt ... transcripts (optional)
    16 kHz copies: <folder>_16k/ or 16k/<folder>/ (option rate=16k; rate=auto prefers 48 kHz)
    splits: training sets -> train (speakers in valid_speakers -> valid), test set -> test""")
def voicebank_demand(root: Path, *, sets: str = "28spk,56spk,test", rate: Literal["auto", "48k", "16k"] = "auto",
                     valid_speakers: str = "") -> list[Entry]:
    """Entries of the VoiceBank-DEMAND sets found under ``root`` (``sets``: any of 28spk, 56spk, test).

    Example:
        >>> entries = voicebank_demand(Path("/data/vbd"), sets="28spk,test", rate="16k")   # doctest: +SKIP
    """
    root = check_root(root)
    wanted = parse_list_option(sets)
    bad = [s for s in wanted if s not in SETS]
    if bad:
        raise ParameterError(f"unknown VoiceBank-DEMAND set '{bad[0]}' (known: {', '.join(SETS)})")
    valid = set(parse_list_option(valid_speakers))
    rates = ["48k", "16k"] if rate == "auto" else [rate]
    chosen = None
    for r in rates:  # one rate for every set: a manifest mixing 48 and 16 kHz sets would be a surprise
        if any(_folder(root, SETS[s][0], r) and _folder(root, SETS[s][1], r) for s in wanted):
            chosen = r
            break
    if chosen is None:
        expected = [f"{SETS[s][1]}/ and {SETS[s][0]}/" for s in wanted]
        raise layout_error(root, "VoiceBank-DEMAND" + ("" if rate == "auto" else f" at {rate}"),
                           expected + ["(or the *_16k copies)"])
    entries: list[Entry] = []
    skipped: list[str] = []
    for s in wanted:
        noisy_name, clean_name, log_name, txt_name, split = SETS[s]
        nd, cd = _folder(root, noisy_name, chosen), _folder(root, clean_name, chosen)
        if nd is None or cd is None:
            log.info("VoiceBank-DEMAND: no %s set at %s under %s", s, chosen, root)
            continue
        logp = find(root, *(t.format(log_name) for t in _LOG_PLACES))
        info = parse_log(logp) if logp is not None else {}
        if logp is None:
            log.warning("VoiceBank-DEMAND: %s not found under %s: no SNR or noise type for the %s set",
                        log_name, root, s)
        txt = find(root, txt_name, f"data/{txt_name}")
        noisy = {_key(p, nd): p for p in audio_files(nd)}
        clean = {_key(p, cd): p for p in audio_files(cd)}
        for key, n, c in pair_up(noisy, clean, nd.parent):
            speaker = key.split("_")[0]
            meta: dict[str, object] = {"set": s, **info.get(key, {})}
            if txt is not None and (txt / f"{key}.txt").is_file():
                meta["text"] = (txt / f"{key}.txt").read_text(encoding="utf-8", errors="replace").strip()
            e = try_entry(skipped, NAME, "valid" if split == "train" and speaker in valid else split, key,
                          speaker=speaker, clean=c, noisy=n, meta=meta)
            if e is not None:
                entries.append(e)
    return entries
