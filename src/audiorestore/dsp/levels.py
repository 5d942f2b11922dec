"""Signal levels: RMS, power in dB, dB/amplitude conversion."""

from __future__ import annotations

import numpy as np

EPS = 1e-12


def rms(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Root mean square along ``axis``."""
    x = np.asarray(x, dtype=np.float64)
    return np.sqrt(np.mean(x * x, axis=axis))


def power_db(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Mean power in dB (10 log10 of the mean square)."""
    x = np.asarray(x, dtype=np.float64)
    return 10 * np.log10(np.mean(x * x, axis=axis) + EPS)


def db_to_amplitude(db: float | np.ndarray) -> float | np.ndarray:
    return 10.0 ** (np.asarray(db) / 20.0)


def amplitude_to_db(a: float | np.ndarray) -> float | np.ndarray:
    return 20.0 * np.log10(np.maximum(np.abs(a), EPS))


def peak_normalize(x: np.ndarray, peak: float = 0.99) -> np.ndarray:
    """Scale so the largest absolute sample is ``peak`` (no-op on silence)."""
    m = float(np.max(np.abs(x))) if np.size(x) else 0.0
    return x if m == 0 else x * (peak / m)
