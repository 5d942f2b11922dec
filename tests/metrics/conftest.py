"""Synthetic signals for the metric tests: vowel-like speech and white noise at a known SNR."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter


def vowel_like(sample_rate: int = 16000, seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """Glottal pulse train (f0 ~ 120 Hz, tilted) through three formant resonators that change every
    250 ms, Hann-shaped syllables, 0.2 s of near-silence at both ends: close enough to speech for PESQ
    and the LPC measures to behave as they do on speech."""
    rng = np.random.default_rng(seed)
    n = int(sample_rate * seconds)
    t = np.arange(n) / sample_rate
    f0 = 120 * (1 + 0.1 * np.sin(2 * np.pi * 0.5 * t))
    src = np.diff(np.floor(np.cumsum(f0) / sample_rate), prepend=0.0)
    src = lfilter([1.0], [1.0, -0.95], src)
    x = np.zeros(n)
    seg = int(0.25 * sample_rate)
    formants = [(700, 1200, 2600), (300, 2300, 3000), (500, 900, 2500), (400, 1900, 2700)]
    for i, start in enumerate(range(0, n, seg)):
        y = src[start:start + seg]
        for f, bw in zip(formants[i % 4], (80, 100, 150)):
            r = np.exp(-np.pi * bw / sample_rate)
            y = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / sample_rate), r * r], y)
        x[start:start + seg] = y * np.hanning(y.size)
    x[(t < 0.2) | (t > seconds - 0.2)] = 0
    x += 1e-4 * rng.standard_normal(n)
    return 0.3 * x / np.abs(x).max()


def add_noise(x: np.ndarray, snr_db: float, seed: int = 1) -> np.ndarray:
    """``x`` plus white noise scaled so that the global SNR is exactly ``snr_db``."""
    n = np.random.default_rng(seed).standard_normal(x.size)
    n *= np.sqrt(np.sum(x * x) / np.sum(n * n) / 10 ** (snr_db / 10))
    return x + n


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return vowel_like()
