"""Time-frequency block thresholding (Yu, Mallat & Bacry 2008, IEEE TSP 56(5):1830-1839).

Diagonal attenuation rules (spectral subtraction, Wiener) decide each STFT coefficient on its own,
and the isolated coefficients that survive are heard as musical noise. Block thresholding gives every
coefficient of a rectangular time-frequency block the same attenuation, computed from the block's
average SNR, and chooses the block shape per region by minimising Stein's unbiased estimate of the
risk (SURE), so that transients get short blocks and stationary harmonics long ones.

Here, as in the paper's adaptive block thresholding (Sec. III), the spectrogram is tiled into
macro-blocks of 8 frames x 16 bins; in each, every block shape L x W with L in {8, 4, 2} frames and
W in {16, 8, 4, 2, 1} bins tiles the macro-block, its risk is the sum of the SURE of its blocks, and
the shape of least risk is applied.
The attenuation of a block is ``a = max(1 - lambda / (xi_hat + 1), 0)`` with the block's a priori SNR
estimate ``xi_hat = mean(|Y|^2) / mean(sigma^2) - 1``, i.e. ``1 - lambda * mean(sigma^2) / mean(|Y|^2)``,
with ``lambda`` per block shape from the authors' reference implementation (larger for smaller blocks,
whose average fluctuates more under noise).

Example:
    >>> import numpy as np
    >>> from audiorestore.enhancer import get_method
    >>> x = np.random.default_rng(0).standard_normal(16000) * 0.1
    >>> get_method("block_threshold")(x, 16000).shape
    (16000,)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..enhancer import register
from .spectral import Frames, SpectralEnhancer

log = logging.getLogger(__name__)

#: Block lengths in frames (time) and widths in bins (frequency) tried in each macro-block.
BLOCK_FRAMES: tuple[int, ...] = (8, 4, 2)
BLOCK_BINS: tuple[int, ...] = (16, 8, 4, 2, 1)
#: Threshold lambda per block shape, rows BLOCK_FRAMES, columns BLOCK_BINS (Yu et al. 2008, as in the
#: authors' released code): set so that the residual noise after thresholding is rare.
BLOCK_LAMBDA: tuple[tuple[float, ...], ...] = (
    (1.5, 1.8, 2.0, 2.5, 2.5),
    (1.8, 2.0, 2.5, 3.5, 3.5),
    (2.0, 2.5, 3.5, 4.7, 4.7),
)


def _block_sum(a: np.ndarray, frames: int, bins: int) -> np.ndarray:
    """Sum over non-overlapping ``bins x frames`` blocks of ``(..., F, T)`` (F, T multiples of them)."""
    f, t = a.shape[-2:]
    return a.reshape(a.shape[:-2] + (f // bins, bins, t // frames, frames)).sum(axis=(-3, -1))


def _expand(a: np.ndarray, frames: int, bins: int) -> np.ndarray:
    """Inverse of :func:`_block_sum`'s tiling: repeat each block value over its coefficients."""
    return np.repeat(np.repeat(a, bins, axis=-2), frames, axis=-1)


def block_sure(mean_power: np.ndarray, mean_noise: np.ndarray, size: int, lam: float) -> np.ndarray:
    """SURE of block attenuation for blocks of ``size`` complex coefficients (Yu et al. 2008, Sec. III).

    With ``F = mean |Y|^2`` and ``s = mean sigma^2`` over the block and ``a = 1 - lam s / F``:
    ``R = B s + (lam^2 B - 2 lam (B - 1)) s^2 / F`` when ``F > lam s`` and ``R = B (F - s)`` otherwise.
    The paper states it for B real Gaussian coefficients (``... - 2 lam (B - 2) ...``); a block of B
    complex STFT coefficients holds 2B real ones of variance s/2, which gives the ``B - 1`` above.

    Shape:
        mean_power, mean_noise ``(..., blocks_f, blocks_t)`` -> risk per block, same shape.
    """
    b = float(size)
    f = np.maximum(mean_power, 1e-300)
    kept = mean_power > lam * mean_noise
    risk_kept = b * mean_noise + (lam * lam * b - 2 * lam * (b - 1)) * mean_noise * mean_noise / f
    return np.where(kept, risk_kept, b * (mean_power - mean_noise))


def block_threshold_gain(power: np.ndarray, noise_psd: np.ndarray, macro_frames: int = 8, macro_bins: int = 16,
                         block_frames: tuple[int, ...] = BLOCK_FRAMES, block_bins: tuple[int, ...] = BLOCK_BINS,
                         lambdas: tuple[tuple[float, ...], ...] = BLOCK_LAMBDA) -> np.ndarray:
    """Adaptive block-thresholding gains (Yu, Mallat & Bacry 2008, Sec. III).

    ``power`` is ``|Y|^2`` and ``noise_psd`` the noise variance ``sigma^2`` of each coefficient
    (broadcastable). The plane is padded (reflected) to whole macro-blocks; per macro-block the block
    shape of least total SURE is chosen and its attenuation applied. Memory stays O(F T): shapes are
    compared one at a time.

    Shape:
        power ``(..., freq, frames)`` -> gain, same shape.
    """
    power = np.asarray(power, dtype=np.float64)
    noise = np.broadcast_to(np.asarray(noise_psd, dtype=np.float64), power.shape)
    n_f, n_t = power.shape[-2:]
    if n_f == 0 or n_t == 0:
        return np.ones_like(power)
    if any(macro_frames % lf for lf in block_frames) or any(macro_bins % wb for wb in block_bins):
        raise ValueError("block sizes must divide the macro-block size")
    pad_f, pad_t = -n_f % macro_bins, -n_t % macro_frames
    pad = [(0, 0)] * (power.ndim - 2) + [(0, pad_f), (0, pad_t)]
    mode = "symmetric"
    p = np.pad(power, pad, mode=mode)
    s = np.pad(noise, pad, mode=mode)
    # floor sigma^2 relative to the signal so that an all-zero input gives a = 0 * 0, not 0 / 0
    ref = float(np.max(s)) if s.size else 0.0
    s = np.maximum(s, 1e-12 * ref if ref > 0 else 1e-300)
    best_risk = None
    gain = np.empty_like(p)
    for i, lf in enumerate(block_frames):
        for j, wb in enumerate(block_bins):
            lam = lambdas[i][j]
            size = lf * wb
            mp, ms = _block_sum(p, lf, wb) / size, _block_sum(s, lf, wb) / size
            risk = block_sure(mp, ms, size, lam)
            # total risk of this shape over each macro-block
            macro_risk = _block_sum(risk, macro_frames // lf, macro_bins // wb)
            att = np.maximum(1.0 - lam * ms / np.maximum(mp, 1e-300), 0.0)   # a = (1 - lambda / (xi + 1))_+
            att_full = _expand(att, lf, wb)
            if best_risk is None:
                best_risk = macro_risk
                gain[...] = att_full
                continue
            better = macro_risk < best_risk
            best_risk = np.where(better, macro_risk, best_risk)
            np.copyto(gain, att_full, where=_expand(better, macro_frames, macro_bins))
    return gain[..., :n_f, :n_t]


@register
@dataclass
class BlockThreshold(SpectralEnhancer):
    """Adaptive time-frequency block thresholding with SURE-chosen block shapes."""

    name = "block_threshold"
    summary = "time-frequency block thresholding with SURE block-size selection (Yu, Mallat & Bacry 2008)"
    citation = "Yu, Mallat & Bacry 2008, IEEE TSP 56(5):1830-1839, Audio denoising by time-frequency block thresholding"
    not_causal = "its blocks and their SURE-chosen shapes span future frames"

    win_ms: float = field(default=50.0, metadata={"doc": "analysis window length (scaled to the rate)"})
    hop_ms: float = field(default=25.0, metadata={"doc": "frame step; the paper uses half-overlapping windows"})

    def spectral_gain(self, x: np.ndarray, power: np.ndarray, frames: Frames) -> np.ndarray:
        return block_threshold_gain(power, self.noise_psd(x, power, frames))
