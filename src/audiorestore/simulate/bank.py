"""Mono audio files at a requested rate, with a small per-instance LRU cache.

Noise, babble and impulse-response stages read the same few files again and again while a dataset
is generated; each stage owns one :class:`AudioBank` (no module-level cache, STYLE.md point 3).
"""

from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np

from .. import io


class AudioBank:
    """Load files as float64 mono ``(time,)`` at a given rate (resampled with soxr when needed).

    Example:
        >>> bank = AudioBank(max_items=4)
        >>> noise = bank.load("noise.flac", 16000)      # doctest: +SKIP
    """

    def __init__(self, max_items: int = 8) -> None:
        self.max_items = max(0, int(max_items))
        self._audio: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()

    def num_samples(self, path: str | os.PathLike, sample_rate: int) -> int:
        """Length of ``path`` once resampled to ``sample_rate`` (reads the header only)."""
        key = (str(path), int(sample_rate))
        if key in self._audio:
            return int(self._audio[key].shape[-1])
        info = io.info(path)
        if info.sample_rate == sample_rate:
            return info.frames
        # the length audiorestore.dsp.resample produces
        return int(round(info.frames * sample_rate / info.sample_rate))

    def load(self, path: str | os.PathLike, sample_rate: int) -> np.ndarray:
        """The file as float64 mono ``(time,)`` at ``sample_rate`` (channels averaged)."""
        key = (str(path), int(sample_rate))
        if key in self._audio:
            self._audio.move_to_end(key)
            return self._audio[key]
        audio, _ = io.read(path, sample_rate=sample_rate, mono=True)
        mono = np.ascontiguousarray(audio[0], dtype=np.float64)
        mono.setflags(write=False)
        if self.max_items:
            self._audio[key] = mono
            while len(self._audio) > self.max_items:
                self._audio.popitem(last=False)
        return mono
