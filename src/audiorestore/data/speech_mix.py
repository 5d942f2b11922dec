"""On-the-fly noisy speech at scale: speakers drawn evenly, rooms, several noise sources, microphones.

The issue-16 data pipeline (``data.mix`` in a recipe). Compared with
:class:`~audiorestore.data.datasets.MixingDataset`, which draws clean *files* (so a corpus of 1,200 files
of two sentences dominates), :class:`SpeechMixDataset` draws a corpus (with probability proportional to
the square root of its number of speakers), then a speaker of it, then one of that speaker's files; and
builds each example as RNNoise's training did (Valin, MMSP 2018, Sec. 4) and DNS-challenge mixers do:

1. a crop of clean speech, through a random equaliser (another microphone; the target gets it too);
2. with ``reverb_prob``: a room, a measured impulse response from ``rir_files`` (half the time) or a
   simulated one (:func:`audiorestore.simulate.reverb.synthetic_rir`); the target is the direct path
   plus the first 50 ms (``Reverb(target="early")``), so the model denoises without over-smoothing;
3. one to three noise sources summed at random relative levels: recorded noise
   (:func:`~audiorestore.data.datasets.augmented_noise`: speed, equaliser), babble from held-apart
   speakers (:func:`audiorestore.simulate.noise.babble`), coloured noise, mains hum;
4. the sum mixed at an SNR in ``snr_db`` (-5..25 dB), the pair scaled to a level in ``level_db`` and,
   with ``clip_prob``, the noisy input clipped (the target stays clean).

Every parameter comes from :func:`~audiorestore.data.datasets.example_rng` ``(seed, index)``, so an
example is reproducible and a resumed run sees the same stream.

Example:
    >>> ds = SpeechMixDataset(clean, noise, 16000, 64000, seed=0)     # doctest: +SKIP
    >>> noisy, clean = ds[0]                                          # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import ParameterError
from .datasets import (
    AudioFile,
    _pair_tensors,
    _protect_peak,
    augmented_noise,
    example_rng,
    mix_at_snr,
    random_crop,
    random_equalizer,
)

log = logging.getLogger(__name__)

NOISE_KINDS = ("file", "babble", "color", "hum")


def speaker_groups(root: str | Path, files: Sequence[AudioFile]) -> list[tuple[str, str]]:
    """``(corpus, speaker)`` of each file: from ``root/manifest.jsonl`` (the shared bundle's ``speaker``
    field) where it names the file, else corpus = the first two folders of its relative path
    (``speech/emodb_16k``) and speaker = its parent folder.

    Example:
        >>> speaker_groups("/nowhere", [AudioFile("x", "speech/c/s1/a.flac", 16000, 1)])
        [('speech/c', 'speech/c/s1')]
    """
    known: dict[str, str] = {}
    manifest = Path(root) / "manifest.jsonl"
    if manifest.is_file():
        for line in manifest.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                if r.get("speaker"):
                    known[r["path"]] = str(r["speaker"])
    out = []
    for f in files:
        parts = f.rel.split("/")
        corpus = "/".join(parts[:2]) if len(parts) > 2 else parts[0]
        out.append((corpus, known.get(f.rel, "/".join(parts[:-1]) or f.rel)))
    return out


class SpeechMixDataset(Dataset):
    """Noisy/clean pairs mixed on the fly (module docstring), ``epoch_size`` examples per epoch.

    Shape:
        ``ds[i]`` -> ``(noisy, clean)``, each ``(1, segment)`` float32.
    """

    def __init__(self, clean: Sequence[AudioFile], noise: Sequence[AudioFile], sample_rate: int, segment: int,
                 seed: int = 0, *, groups: Sequence[tuple[str, str]] | None = None,
                 babble: Sequence[AudioFile] = (), rir_files: Sequence[str] = (),
                 snr_db: Sequence[float] = (-5.0, 25.0), level_db: Sequence[float] = (-40.0, -15.0),
                 eq_prob: float = 0.5, eq_db: float = 10.0, reverb_prob: float = 0.3,
                 rt60_s: Sequence[float] = (0.2, 1.0), sources: Sequence[float] = (0.6, 0.3, 0.1),
                 kinds: Sequence[float] = (0.65, 0.15, 0.12, 0.08), clip_prob: float = 0.03,
                 epoch_size: int = 100_000) -> None:
        if not clean:
            raise ParameterError("SpeechMixDataset needs clean speech files")
        if len(kinds) != len(NOISE_KINDS) or min(kinds) < 0 or sum(kinds) <= 0:
            raise ParameterError(f"kinds must be {len(NOISE_KINDS)} weights for {', '.join(NOISE_KINDS)}, got {kinds}")
        if not sources or min(sources) < 0 or sum(sources) <= 0:
            raise ParameterError(f"sources must be weights for 1, 2, ... noise sources, got {sources}")
        for name, p in (("eq_prob", eq_prob), ("reverb_prob", reverb_prob), ("clip_prob", clip_prob)):
            if not 0.0 <= p <= 1.0:
                raise ParameterError(f"{name} must be in [0, 1], got {p}")
        for name, r in (("snr_db", snr_db), ("level_db", level_db), ("rt60_s", rt60_s)):
            if len(r) != 2 or r[0] > r[1]:
                raise ParameterError(f"{name} must be [low, high], got {list(r)}")
        k = np.asarray(kinds, dtype=float)
        if not noise:
            k[0] = 0.0
        if not babble:
            k[1] = 0.0
        if k.sum() <= 0:
            raise ParameterError("no noise kind is left: give noise files, babble files or colour/hum weights")
        self.kinds = k / k.sum()
        self.sources = np.asarray(sources, dtype=float) / float(np.sum(sources))
        self.clean, self.noise, self.babble = list(clean), list(noise), list(babble)
        self.rir_files = tuple(str(f) for f in rir_files)
        self.sample_rate, self.segment, self.seed = int(sample_rate), int(segment), int(seed)
        self.snr_db, self.level_db, self.rt60_s = tuple(snr_db), tuple(level_db), tuple(rt60_s)
        self.eq_prob, self.eq_db, self.reverb_prob, self.clip_prob = eq_prob, eq_db, reverb_prob, clip_prob
        self.epoch_size = int(epoch_size)
        groups = list(groups) if groups is not None else [("all", f.rel) for f in self.clean]
        if len(groups) != len(self.clean):
            raise ParameterError(f"groups has {len(groups)} entries for {len(self.clean)} clean files")
        tree: dict[str, dict[str, list[int]]] = {}
        for i, (corpus, speaker) in enumerate(groups):
            tree.setdefault(corpus, {}).setdefault(speaker, []).append(i)
        self.corpora = sorted(tree)
        self.speakers = [sorted(tree[c]) for c in self.corpora]
        self.files = [[tree[c][s] for s in sp] for c, sp in zip(self.corpora, self.speakers)]
        w = np.sqrt([len(sp) for sp in self.speakers])
        self.corpus_p = w / w.sum()
        from ..simulate.reverb import Reverb

        self._real_room = Reverb(rir_files=self.rir_files, target="early") if self.rir_files else None
        self._sim_room = Reverb(rt60_s=self.rt60_s, drr_db=(-3.0, 9.0), target="early")
        log.info("speech mix: %s", ", ".join(f"{c} ({len(s)} speakers, p={p:.2f})"
                                             for c, s, p in zip(self.corpora, self.speakers, self.corpus_p)))

    def __len__(self) -> int:
        return self.epoch_size

    def draw_clean(self, rng: np.random.Generator) -> AudioFile:
        """A clean file: corpus by sqrt(speakers), then speaker, then file, uniformly."""
        c = int(rng.choice(len(self.corpora), p=self.corpus_p))
        s = int(rng.integers(len(self.speakers[c])))
        files = self.files[c][s]
        return self.clean[files[int(rng.integers(len(files)))]]

    def _noise_source(self, kind: str, rng: np.random.Generator) -> np.ndarray:
        n, sr = self.segment, self.sample_rate
        if kind == "file":
            first = self.noise[int(rng.integers(len(self.noise)))]
            return augmented_noise(self.noise, first, n, sr, rng, speed=(0.8, 1.25), second_prob=0.0)
        if kind == "babble":
            from ..simulate.noise import babble

            talkers = int(rng.integers(3, 8))
            picks = [self.babble[int(i)] for i in rng.integers(len(self.babble), size=talkers)]
            return babble([random_crop(f, n, sr, rng) + 1e-6 for f in picks], n, rng, talkers=talkers)
        if kind == "color":
            from ..simulate.noise import colored_noise

            return colored_noise(float(rng.uniform(-2.0, 2.0)), n, rng)  # spectral slope exponent
        from ..simulate.hum import hum

        k = int(rng.integers(2, 9))
        return hum(n, sr, float(rng.choice([50.0, 60.0])), k, 0.0, [float(p) for p in rng.uniform(0, 2 * np.pi, k)])

    def make(self, index: int) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Example ``index`` as float32 arrays and the parameters that made it."""
        rng = example_rng(self.seed, index)
        n, sr = self.segment, self.sample_rate
        cf = self.draw_clean(rng)
        clean = random_crop(cf, n, sr, rng)
        info: dict[str, Any] = {"index": int(index), "clean": cf.rel}
        if rng.uniform() < self.eq_prob:
            clean = random_equalizer(clean, rng, self.eq_db)
            info["eq"] = True
        speech = clean
        if rng.uniform() < self.reverb_prob:
            room = self._real_room if self._real_room is not None and rng.uniform() < 0.5 else self._sim_room
            params = room.sample(rng, n, sr)
            speech = np.asarray(room.apply(clean, sr, params, rng), np.float32)[:n]
            clean = np.asarray(room.apply_target(clean, sr, params), np.float32)[:n]
            info["room"] = params.get("rir_file", f"rt60={params.get('rt60_s', 0):.2f}")
        count = 1 + int(rng.choice(len(self.sources), p=self.sources))
        noise = np.zeros(n)
        kinds = []
        for j in range(count):
            kind = NOISE_KINDS[int(rng.choice(len(NOISE_KINDS), p=self.kinds))]
            src = np.asarray(self._noise_source(kind, rng), dtype=np.float64)
            rms = float(np.sqrt(np.mean(src ** 2)))
            if rms > 0:
                noise += src / rms * 10 ** ((0.0 if j == 0 else -rng.uniform(0.0, 10.0)) / 20)
            kinds.append(kind)
        snr = float(rng.uniform(*self.snr_db))
        noisy = mix_at_snr(speech.astype(np.float32), noise.astype(np.float32), snr)
        rms = float(np.sqrt(np.mean(np.square(noisy, dtype=np.float64))))
        g = 10 ** (float(rng.uniform(*self.level_db)) / 20) / rms if rms > 0 else 1.0
        noisy, clean = noisy * g, clean * g
        if rng.uniform() < self.clip_prob:
            peak = float(np.abs(noisy).max(initial=0.0))
            if peak > 0:
                noisy = np.clip(noisy, -peak * rng.uniform(0.3, 0.8), peak * rng.uniform(0.3, 0.8))
                info["clip"] = True
        noisy, clean = _protect_peak(noisy, clean)
        info.update(noise=kinds, snr_db=snr)
        return noisy.astype(np.float32), clean.astype(np.float32), info

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        noisy, clean, _ = self.make(index)
        return _pair_tensors(noisy, clean)
