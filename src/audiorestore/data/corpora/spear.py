"""SpEAR beta v1.0 (Wan, Nelson and Peterson; CSLU/OGI): speech and noise played through a room and
re-recorded with synchronous clocks, so every noisy recording has a time-aligned clean reference.

Pairing follows SPEAR_details.md (github.com/dingzeyuli/SpEAR-speech-database, ``data/``):

* ``Noisy_Recordings/``: ``<talk>_<noise><take>_16`` is r(s,n); its reference r(s) is ``<talk>r1_16``.
* ``Lombard/``: ``<speaker>_<noise>_16`` is live speech in noise r(sL,n); the cleaned reference
  cL = r(sL,n) - r(n) is ``T_<speaker>_<noise>_16``; the noise recording r(n) is ``<noise>_16``.
* ``Monaural/``: ``<a>_<b>R1_16`` is two talkers r(s1,s2); the references are ``<a>R1_16`` (clean)
  and ``<b>R1_16`` (recorded as the entry's ``noise``).
* ``TIMIT/``: the source sentences (not recorded through the room): clean-only entries.

Every entry is in split ``test``: SpEAR is an evaluation set of a few dozen recordings. What the
``r<N>``/``rn<N>`` part after a noise name means (a take or a level) is not documented; it is kept as
``meta.take``. The files are ``.wav`` in the release (``.flac`` in converted copies): any audio
extension is accepted.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ._base import Entry, audio_files, check_root, find, layout_error, register, try_entry

log = logging.getLogger(__name__)

NAME = "spear"
_RATE = re.compile(r"^(?P<base>.+)_(?P<khz>\d+)$")
_NOISY_REC = re.compile(r"^(?P<talk>[^_]+)_(?P<cond>[^_]+)$")
_COND = re.compile(r"^(?P<noise>.+?)(?:r(?P<take>n?\d*))?$", re.IGNORECASE)
_MONAURAL = re.compile(r"^(?P<a>[^_]+)_(?P<b>[^_]+?)(?P<take>[Rr]\d+)$")


def _by_stem(folder: Path | None) -> dict[str, Path]:
    return {} if folder is None else {p.stem: p for p in audio_files(folder)}


def _split_rate(stem: str) -> tuple[str, str] | None:
    m = _RATE.match(stem)
    return (m.group("base"), m.group("khz")) if m else None


@register(NAME, "SpEAR room re-recordings: noisy speech, Lombard speech and two-talker mixtures with references", """
    ROOT/Noisy_Recordings/bigtips_f16r1_16.wav (noisy)   bigtipsr1_16.wav (clean reference)
    ROOT/Lombard/alex_volvoR1_16.wav (noisy)  T_alex_volvoR1_16.wav (cleaned ref)  volvoR1_16.wav (noise)
    ROOT/Monaural/rec_pathR1_16.wav (mixture)  recR1_16.wav (clean)  pathR1_16.wav (second talker)
    ROOT/TIMIT/*.wav (source sentences, clean only); ROOT may also be the repository with data/
    every entry -> test""")
def spear(root: Path) -> list[Entry]:
    """Entries of the SpEAR recordings under ``root`` (the ``data/`` folder of the release, or its parent).

    Example:
        >>> entries = spear(Path("/data/SpEAR-speech-database"))     # doctest: +SKIP
    """
    root = check_root(root)
    base = root
    if find(root, "Noisy_Recordings") is None and find(root, "Lombard") is None and find(root, "data") is not None:
        base = find(root, "data")  # type: ignore[assignment]
    noisy_dir, lombard_dir = find(base, "Noisy_Recordings"), find(base, "Lombard")
    mono_dir, timit_dir = find(base, "Monaural"), find(base, "TIMIT")
    if noisy_dir is None and lombard_dir is None and mono_dir is None:
        raise layout_error(root, "SpEAR", ["Noisy_Recordings/<talk>_<noise>_16.wav", "Lombard/", "Monaural/"])
    entries: list[Entry] = []
    skipped: list[str] = []

    def add(folder: Path, stem: str, **kw) -> None:
        e = try_entry(skipped, NAME, "test", f"{folder.name}/{stem}", **kw)
        if e is not None:
            entries.append(e)

    if noisy_dir is not None:
        files = _by_stem(noisy_dir)
        for stem, p in sorted(files.items()):
            sr = _split_rate(stem)
            m = _NOISY_REC.match(sr[0]) if sr else None
            if sr is None or m is None:
                continue  # a clean reference (no underscore before the rate suffix)
            ref = files.get(f"{m.group('talk')}r1_{sr[1]}")
            if ref is None:
                log.warning("SpEAR: %s has no clean reference %sr1_%s, skipped", p, m.group("talk"), sr[1])
                continue
            c = _COND.match(m.group("cond"))
            meta = {"kind": "noisy_recording", "noise_type": c.group("noise").lower() if c else m.group("cond"),
                    "take": (c.group("take") if c else None), "talk": m.group("talk")}
            add(noisy_dir, stem, clean=ref, noisy=p, meta=meta)
    if lombard_dir is not None:
        files = _by_stem(lombard_dir)
        for stem, p in sorted(files.items()):
            sr = _split_rate(stem)
            if sr is None or stem.startswith("T_") or "_" not in sr[0]:
                continue  # cleaned references and noise recordings are found from their noisy file
            speaker, noise = sr[0].split("_", 1)
            ref, nref = files.get(f"T_{sr[0]}_{sr[1]}"), files.get(f"{noise}_{sr[1]}")
            if ref is None:
                log.warning("SpEAR: %s has no cleaned reference T_%s, skipped", p, stem)
                continue
            c = _COND.match(noise)
            add(lombard_dir, stem, speaker=speaker, clean=ref, noisy=p, noise=nref,
                meta={"kind": "lombard", "noise_type": (c.group("noise") if c else noise).lower(),
                      "take": c.group("take") if c else None})
    if mono_dir is not None:
        files = _by_stem(mono_dir)
        for stem, p in sorted(files.items()):
            sr = _split_rate(stem)
            m = _MONAURAL.match(sr[0]) if sr else None
            if sr is None or m is None:
                continue
            take = m.group("take")
            a, b = files.get(f"{m.group('a')}{take}_{sr[1]}"), files.get(f"{m.group('b')}{take}_{sr[1]}")
            if a is None:
                log.warning("SpEAR: %s has no reference %s%s_%s, skipped", p, m.group("a"), take, sr[1])
                continue
            add(mono_dir, stem, clean=a, noisy=p, noise=b, meta={"kind": "two_talker"})
    if timit_dir is not None:
        for stem, p in sorted(_by_stem(timit_dir).items()):
            add(timit_dir, stem, clean=p, meta={"kind": "source"})
    return entries
