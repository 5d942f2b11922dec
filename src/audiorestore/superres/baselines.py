"""Interpolation baselines for super-resolution: linear, cubic spline and band-limited (sinc).

None of them adds bandwidth: they place the low-rate samples on the high-rate grid. The cubic
spline is the baseline of Kuleshov et al. 2017 (Sec. 4, "Spline": ``scipy.interpolate`` on the
low-rate samples) and the input interpolation of AudioUNet, TFiLM and MU-GAN; ``sinc`` is soxr's
band-limited resampler, which leaves nothing above the input's Nyquist frequency.

All three keep time alignment: output sample ``j`` is the signal at time ``j / target_rate`` when
input sample ``k`` is at ``k / sample_rate``, for any rational ratio (16 -> 48 kHz, 22.05 -> 44.1 kHz,
16 -> 44.1 kHz...).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import interpolate as _scipy_interpolate

from ..dsp.resample import resample
from ..enhancer import Upsampler, register

log = logging.getLogger(__name__)

Interpolation = Literal["linear", "spline", "sinc"]
INTERPOLATIONS: tuple[str, ...] = ("linear", "spline", "sinc")


def _doc(text: str) -> dict:
    return {"doc": text}


def interpolate(x: np.ndarray, orig_rate: int, target_rate: int, kind: str = "spline",
                quality: str = "VHQ") -> np.ndarray:
    """Bring ``x`` from ``orig_rate`` to ``target_rate`` by linear, cubic-spline or sinc interpolation.

    ``spline`` fits an interpolating cubic spline (not-a-knot ends) through the input samples and
    evaluates it on the output grid; ``sinc`` is soxr at ``quality``. Training pipelines should use
    the same function, with the model config's ``interpolation``, to build network inputs.

    Shape:
        ``(..., time)`` -> ``(..., round(time * target_rate / orig_rate))``, float64 for linear/spline.
    Example:
        >>> interpolate(np.zeros((2, 100)), 16000, 48000).shape
        (2, 300)
    """
    if kind not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, got '{kind}'")
    if orig_rate <= 0 or target_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_rate} -> {target_rate}")
    x = np.asarray(x)
    n = x.shape[-1]
    if n == 0:
        raise ValueError(f"expected audio of shape (..., time), found shape {x.shape}")
    if kind == "sinc":
        return resample(x, orig_rate, target_rate, quality=quality)
    m = int(round(n * target_rate / orig_rate))
    if orig_rate == target_rate:
        return x.astype(np.float64)
    if kind == "linear" or n < 4:  # a cubic needs 4 points; a 1-3 sample signal gets straight lines
        if target_rate < orig_rate:
            log.warning("linear/spline interpolation from %d to %d Hz aliases (use sinc to downsample)",
                        orig_rate, target_rate)
        pos = np.arange(m) * (orig_rate / target_rate)
        flat = x.reshape(-1, n).astype(np.float64)
        if n == 1:
            return np.repeat(flat, m, axis=-1).reshape(*x.shape[:-1], m)
        out = np.stack([np.interp(pos, np.arange(n), row) for row in flat])
        return out.reshape(*x.shape[:-1], m)
    if target_rate < orig_rate:
        log.warning("spline interpolation from %d to %d Hz aliases (use sinc to downsample)",
                    orig_rate, target_rate)
    # Positions in input-sample units; exact for rational ratios (no accumulated float drift).
    pos = np.arange(m, dtype=np.float64) * orig_rate / target_rate
    spline = _scipy_interpolate.make_interp_spline(np.arange(n, dtype=np.float64), x.astype(np.float64),
                                                   k=3, axis=-1)
    return spline(pos)  # the last samples (pos > n - 1) extrapolate by less than one input sample


@register
@dataclass
class LinearUpsampler(Upsampler):
    """Linear interpolation between input samples (the simplest baseline)."""

    name = "linear"
    summary = "linear interpolation (baseline, adds no bandwidth)"
    citation = "Kuleshov, Enam, Ermon 2017, Sec. 4 (interpolation baselines)"

    def upsample(self, audio: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
        return interpolate(audio, sample_rate, target_rate, "linear")


@register
@dataclass
class SplineUpsampler(Upsampler):
    """Cubic-spline interpolation of the low-rate samples, the baseline of Kuleshov et al. (Sec. 4)."""

    name = "spline"
    summary = "cubic spline interpolation (the papers' baseline and network input, adds no bandwidth)"
    citation = "Kuleshov, Enam, Ermon, Audio Super-Resolution Using Neural Networks, 2017, Sec. 4"

    def upsample(self, audio: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
        return interpolate(audio, sample_rate, target_rate, "spline")


@register
@dataclass
class SincUpsampler(Upsampler):
    """Band-limited (windowed-sinc) resampling with soxr: nothing above the input's Nyquist frequency."""

    name = "sinc"
    summary = "band-limited sinc resampling with soxr (baseline, adds no bandwidth)"
    citation = "soxr (libsoxr), the SoX resampler; Smith, Digital Audio Resampling Home Page"

    quality: str = field(default="VHQ", metadata=_doc("soxr quality: QQ, LQ, MQ, HQ or VHQ"))

    def __post_init__(self) -> None:
        if self.quality not in ("QQ", "LQ", "MQ", "HQ", "VHQ"):
            raise ValueError(f"quality must be QQ, LQ, MQ, HQ or VHQ, got '{self.quality}'")

    def upsample(self, audio: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
        return interpolate(audio, sample_rate, target_rate, "sinc", quality=self.quality)
