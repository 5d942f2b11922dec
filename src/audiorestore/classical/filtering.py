"""Linear filtering denoisers: FIR/IIR band filters, mains-hum notch comb, and smoothing.

These are the oldest noise-reduction tools: a filter removes noise that lies outside the signal's
band (rumble, hiss above speech), a notch comb removes hum, smoothing removes fast fluctuation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import signal

from ..dsp.filters import FILTER_KINDS, apply_filter, design_filter, notch_filter
from ..enhancer import Enhancer, register


def _doc(text: str) -> dict:
    return {"doc": text}


@register
@dataclass
class Filter(Enhancer):
    """Butterworth, Chebyshev I/II, elliptic, Bessel or FIR band filter (optionally zero-phase)."""

    name = "filter"
    summary = "FIR/IIR filter (Butterworth, Chebyshev I/II, elliptic, Bessel, FIR): low/high/band-pass, band-stop"
    citation = "Oppenheim & Schafer, Discrete-Time Signal Processing, ch. 7 (filter design)"

    kind: str = field(default="butter", metadata=_doc(f"filter family: {', '.join(FILTER_KINDS)}"))
    btype: str = field(default="bandpass", metadata=_doc("lowpass, highpass, bandpass or bandstop"))
    low_hz: float = field(default=80.0, metadata=_doc("lower edge (highpass, band filters)"))
    high_hz: float = field(default=7000.0, metadata=_doc("upper edge (lowpass, band filters); clamped below Nyquist"))
    order: int = field(default=4, metadata=_doc("filter order (FIR: taps - 1)"))
    ripple_db: float = field(default=0.5, metadata=_doc("pass-band ripple (cheby1, ellip)"))
    stopband_db: float = field(default=60.0, metadata=_doc("stop-band attenuation (cheby2, ellip)"))
    zero_phase: bool = field(default=True, metadata=_doc("filter forward and backward (no phase shift)"))

    def __post_init__(self) -> None:
        if self.kind not in FILTER_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FILTER_KINDS)}, got '{self.kind}'")
        if self.btype not in ("lowpass", "highpass", "bandpass", "bandstop"):
            raise ValueError(f"btype must be lowpass, highpass, bandpass or bandstop, got '{self.btype}'")

    def coefficients(self, sample_rate: int) -> np.ndarray:
        nyq = sample_rate / 2
        high = min(self.high_hz, 0.95 * nyq)
        cutoff: float | list[float]
        if self.btype == "lowpass":
            cutoff = high
        elif self.btype == "highpass":
            cutoff = self.low_hz
        else:
            if not 0 < self.low_hz < high:
                raise ValueError(f"need 0 < low_hz < high_hz, got {self.low_hz} and {high}")
            cutoff = [self.low_hz, high]
        return design_filter(self.kind, self.btype, cutoff, sample_rate, self.order, self.ripple_db, self.stopband_db)

    def enhance(self, audio: np.ndarray, sample_rate: int, noise: np.ndarray | None) -> np.ndarray:
        return apply_filter(audio, self.coefficients(sample_rate), zero_phase=self.zero_phase)


@register
@dataclass
class HumNotch(Enhancer):
    """Comb of IIR notches at the mains frequency and its harmonics (removes 50/60 Hz hum)."""

    name = "notch"
    summary = "notch comb at the mains frequency and harmonics (hum removal)"
    citation = "Oppenheim & Schafer, Discrete-Time Signal Processing, sec. 5.3 (notch filters)"

    freq_hz: float = field(default=50.0, metadata=_doc("mains frequency (50 or 60)"))
    harmonics: int = field(default=8, metadata=_doc("number of harmonics notched, fundamental included"))
    quality: float = field(default=30.0, metadata=_doc("notch Q (centre / bandwidth)"))
    zero_phase: bool = field(default=True, metadata=_doc("filter forward and backward"))
    bandwidth_hz: float = field(default=0.0, metadata=_doc(
        "if > 0, every notch this wide (Q = k f0 / bandwidth): hum lines are as narrow at the 10th "
        "harmonic as at the first, and a fixed Q would cut ever wider bands of the signal"))

    def coefficients(self, sample_rate: int) -> np.ndarray | None:
        """Second-order sections of the comb (one per harmonic below Nyquist), or None if there is none."""
        def q(k: int) -> float:
            return k * self.freq_hz / self.bandwidth_hz if self.bandwidth_hz > 0 else self.quality

        rows = [notch_filter(k * self.freq_hz, sample_rate, q(k))
                for k in range(1, self.harmonics + 1) if k * self.freq_hz < 0.98 * sample_rate / 2]
        return np.vstack(rows) if rows else None

    def enhance(self, audio: np.ndarray, sample_rate: int, noise: np.ndarray | None) -> np.ndarray:
        sos = self.coefficients(sample_rate)
        if sos is None:
            return np.asarray(audio, dtype=np.float64)
        return apply_filter(audio, sos, zero_phase=self.zero_phase)


def moving_average(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average of ``width`` samples along the last axis (edges use reflected samples)."""
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    if width == 1:
        return np.asarray(x, dtype=np.float64)
    pad = [(0, 0)] * (x.ndim - 1) + [(width // 2, width - 1 - width // 2)]
    xp = np.pad(np.asarray(x, dtype=np.float64), pad, mode="reflect" if x.shape[-1] > width else "edge")
    c = np.cumsum(xp, axis=-1)
    c = np.concatenate([np.zeros(c.shape[:-1] + (1,)), c], axis=-1)
    return (c[..., width:] - c[..., :-width]) / width


@register
@dataclass
class Smoothing(Enhancer):
    """Moving-average or Savitzky-Golay smoothing (low-pass by local averaging / polynomial fit)."""

    name = "smooth"
    summary = "moving-average or Savitzky-Golay smoothing"
    citation = "Savitzky & Golay 1964, Anal. Chem. 36(8):1627-1639"

    kind: str = field(default="savgol", metadata=_doc("'moving_average' or 'savgol'"))
    width_ms: float = field(default=1.0, metadata=_doc("window length"))
    polyorder: int = field(default=2, metadata=_doc("Savitzky-Golay polynomial order"))

    def __post_init__(self) -> None:
        if self.kind not in ("moving_average", "savgol"):
            raise ValueError(f"kind must be 'moving_average' or 'savgol', got '{self.kind}'")

    def enhance(self, audio: np.ndarray, sample_rate: int, noise: np.ndarray | None) -> np.ndarray:
        width = max(1, int(round(self.width_ms * 1e-3 * sample_rate)))
        if self.kind == "moving_average":
            return moving_average(audio, width)
        width = max(width | 1, self.polyorder + 2 | 1)  # odd, longer than the polynomial order
        if audio.shape[-1] <= width:
            return np.asarray(audio, dtype=np.float64)
        return signal.savgol_filter(np.asarray(audio, dtype=np.float64), width, self.polyorder, axis=-1)
