"""CSTR VCTK (Yamagishi et al.): release 0.80 (``wav48/``) and 0.92 (``wav48_silence_trimmed/``),
with the splits of the super-resolution papers (Kuleshov, Enam and Ermon 2017, "Audio Super
Resolution using Neural Networks"; Birnbaum et al. 2019, TFiLM).

The splits follow github.com/kuleshov/audio-super-res ``data/vctk``:

* ``speaker1``: speaker p225 only; ``ls wav48/p225 | head -n -8`` trains, the last 8 files test
  (223 / 8 files in release 0.80).
* ``multispeaker``: ``train-speakers.txt`` is ``ls wav48 | head -n 100`` and ``val-speakers.txt``
  ``ls wav48 | tail -n 9`` (Makefile: N_TRAIN_SPEAKERS=100, N_VAL_SPEAKERS=9). The README says
  "the last 8 VCTK speakers for evaluation", but the committed lists hold 100 and 9 speakers; the
  lists are copied below so that the split does not depend on which speakers a release contains
  (0.92 adds ``s5``, which belongs to neither list and is left out).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Literal

from ._base import Entry, audio_files, check_root, child, find, layout_error, register, try_entry

log = logging.getLogger(__name__)

NAME = "vctk"
#: data/vctk/multispeaker/train-speakers.txt of kuleshov/audio-super-res (100 speakers)
MULTISPEAKER_TRAIN = tuple(f"p{n}" for n in (
    225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 236, 237, 238, 239, 240, 241, 243, 244, 245, 246,
    247, 248, 249, 250, 251, 252, 253, 254, 255, 256, 257, 258, 259, 260, 261, 262, 263, 264, 265, 266,
    267, 268, 269, 270, 271, 272, 273, 274, 275, 276, 277, 278, 279, 280, 281, 282, 283, 284, 285, 286,
    287, 288, 292, 293, 294, 295, 297, 298, 299, 300, 301, 302, 303, 304, 305, 306, 307, 308, 310, 311,
    312, 313, 314, 315, 316, 317, 318, 323, 326, 329, 330, 333, 334, 335, 336, 339, 340, 341, 343, 345))
#: data/vctk/multispeaker/val-speakers.txt (9 speakers)
MULTISPEAKER_TEST = ("p347", "p351", "p360", "p361", "p362", "p363", "p364", "p374", "p376")
SPEAKER1 = "p225"
SPEAKER1_TEST_FILES = 8

_FILE = re.compile(r"^(?P<spk>[^_]+)_(?P<utt>[^_]+?)(?:_(?P<mic>mic[12]))?$")


def speaker_info(path: Path) -> dict[str, dict[str, str]]:
    """``speaker-info.txt`` -> ``{"p225": {"age": "23", "gender": "F", "accent": "English", "region": ...}}``.

    Release 0.80 writes ids without the ``p`` (``225  23  F  English  Southern England``), 0.92 with it.
    """
    out: dict[str, dict[str, str]] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[0].upper() == "ID":
            continue
        sid = parts[0] if not parts[0].isdigit() else f"p{parts[0]}"
        out[sid] = {"age": parts[1], "gender": parts[2], "accent": parts[3] if len(parts) > 3 else "",
                    "region": " ".join(parts[4:])}
    return out


@register(NAME, "CSTR VCTK clean read speech (0.80 wav48 / 0.92 FLAC), with the super-resolution papers' splits", """
    0.80:  ROOT/wav48/p225/p225_001.wav  ROOT/txt/p225/p225_001.txt  ROOT/speaker-info.txt
           (ROOT may also be the folder holding VCTK-Corpus/)
    0.92:  ROOT/wav48_silence_trimmed/p225/p225_001_mic1.flac (and _mic2)  ROOT/txt/...  ROOT/speaker-info.txt
    split=multispeaker (default): 100 speakers p225..p345 -> train, 9 speakers p347..p376 -> test
    split=speaker1: p225 only, all but the last 8 utterances -> train, last 8 -> test
    split=all: every file -> train; mic=mic1|mic2|both (0.92 only)""")
def vctk(root: Path, *, split: Literal["multispeaker", "speaker1", "all"] = "multispeaker",
         mic: Literal["mic1", "mic2", "both"] = "mic1") -> list[Entry]:
    """Clean-only entries of VCTK under ``root`` (either release), split as ``split`` says.

    Example:
        >>> entries = vctk(Path("/data/VCTK-Corpus"), split="speaker1")     # doctest: +SKIP
        >>> sum(e.split == "test" for e in entries)                         # doctest: +SKIP
        8
    """
    root = check_root(root)
    base = root
    wav = find(base, "wav48_silence_trimmed", "wav48")
    if wav is None and child(root, "VCTK-Corpus") is not None:
        base = child(root, "VCTK-Corpus")  # type: ignore[assignment]
        wav = find(base, "wav48_silence_trimmed", "wav48")
    if wav is None or not wav.is_dir():
        raise layout_error(root, "VCTK", ["wav48/pXXX/pXXX_NNN.wav (0.80)",
                                          "or wav48_silence_trimmed/pXXX/pXXX_NNN_mic1.flac (0.92)"])
    version = "0.92" if wav.name.lower() == "wav48_silence_trimmed" else "0.80"
    info_p = find(base, "speaker-info.txt")
    info = speaker_info(info_p) if info_p is not None else {}
    txt = find(base, "txt")
    speakers = sorted(d.name for d in wav.iterdir() if d.is_dir())
    if split == "speaker1":
        speakers = [s for s in speakers if s == SPEAKER1]
        if not speakers:
            raise layout_error(root, "VCTK (split=speaker1)", [f"{wav.name}/{SPEAKER1}/"])
    elif split == "multispeaker":
        known = set(MULTISPEAKER_TRAIN) | set(MULTISPEAKER_TEST)
        left_out = [s for s in speakers if s not in known]
        if left_out:
            log.info("VCTK multispeaker split: speakers %s are in neither list, left out", ", ".join(left_out))
        speakers = [s for s in speakers if s in known]
    entries: list[Entry] = []
    skipped: list[str] = []
    for spk in speakers:
        files = []
        for p in audio_files(wav / spk):
            m = _FILE.match(p.stem)
            if m is None:
                log.info("VCTK: %s is not named pXXX_NNN[_micN], skipped", p)
                continue
            file_mic = m.group("mic")
            if version == "0.92" and mic != "both" and file_mic is not None and file_mic != mic:
                continue
            files.append((p, m.group("utt"), file_mic))
        files.sort(key=lambda t: (t[1], t[2] or ""))
        utts = sorted({u for _, u, _ in files})
        test_utts = set(utts[-SPEAKER1_TEST_FILES:]) if split == "speaker1" else set()
        for p, utt, file_mic in files:
            if split == "speaker1":
                part = "test" if utt in test_utts else "train"
            elif split == "multispeaker":
                part = "test" if spk in MULTISPEAKER_TEST else "train"
            else:
                part = "train"
            meta: dict[str, object] = {"version": version, **info.get(spk, {})}
            if file_mic:
                meta["mic"] = file_mic
            t = txt / spk / f"{spk}_{utt}.txt" if txt is not None else None
            if t is not None and t.is_file():
                meta["text"] = t.read_text(encoding="utf-8", errors="replace").strip()
            e = try_entry(skipped, NAME, part, p.stem, speaker=spk, clean=p, meta=meta)
            if e is not None:
                entries.append(e)
    return entries
