"""Shared fixtures: tiny synthetic signals and files generated in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("OMP_NUM_THREADS", "1")


def speechlike(n: int, sample_rate: int, seed: int = 0) -> np.ndarray:
    """A harmonic tone (f0 ~ 140 Hz) with a syllable-rate (4 Hz) envelope: speech-like, but synthetic."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sample_rate
    f0 = 140 * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    x = sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 12) if k * 140 < sample_rate / 2.2)
    env = 0.5 * (1 + np.sin(2 * np.pi * 4 * t - np.pi / 2)) ** 2
    return (0.2 * x * env).astype(np.float32)


@pytest.fixture
def write_audio(tmp_path: Path):
    """``write_audio(name, audio (channels, time) or (time,), sample_rate, subtype=None) -> Path``."""

    def _write(name: str, audio: np.ndarray, sample_rate: int = 16000, subtype: str | None = None) -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        a = np.asarray(audio)
        sf.write(str(p), a.T if a.ndim == 2 else a, sample_rate, subtype=subtype)
        return p

    return _write


@pytest.fixture
def noisy_pair():
    """(clean, noisy) 1 s at 16 kHz, white noise at 5 dB SNR."""
    sr = 16000
    clean = speechlike(sr, sr)
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(sr).astype(np.float32)
    noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2) / 10 ** (5 / 10))
    return clean, (clean + noise).astype(np.float32), sr
