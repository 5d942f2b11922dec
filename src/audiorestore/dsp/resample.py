"""Band-limited resampling with soxr (any rational or irrational ratio)."""

from __future__ import annotations

import numpy as np
import soxr


def resample(x: np.ndarray, orig_rate: int, target_rate: int, quality: str = "VHQ") -> np.ndarray:
    """Resample ``(..., time)`` from ``orig_rate`` to ``target_rate`` (soxr, very high quality).

    The output has ``round(time * target_rate / orig_rate)`` samples.
    """
    x = np.asarray(x)
    if orig_rate == target_rate:
        return x
    if orig_rate <= 0 or target_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_rate} -> {target_rate}")
    lead, n = x.shape[:-1], x.shape[-1]
    flat = np.ascontiguousarray(x.reshape(-1, n).T, dtype=np.float64 if x.dtype == np.float64 else np.float32)
    y = soxr.resample(flat, orig_rate, target_rate, quality=quality)
    if y.ndim == 1:
        y = y[:, None]
    target_len = int(round(n * target_rate / orig_rate))
    y = y[:target_len] if y.shape[0] >= target_len else np.pad(y, ((0, target_len - y.shape[0]), (0, 0)))
    return np.ascontiguousarray(y.T).reshape(*lead, target_len)
