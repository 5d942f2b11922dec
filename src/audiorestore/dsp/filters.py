"""FIR/IIR filter design and application (Butterworth, Chebyshev I/II, elliptic, Bessel, FIR window).

One design function serves the classical filtering denoisers and the simulator's low-pass + decimation
(super-resolution pairs). Filters are second-order sections for numerical stability at high orders.
"""

from __future__ import annotations

from typing import Literal
from collections.abc import Sequence

import numpy as np
from scipy import signal

FilterKind = Literal["butter", "cheby1", "cheby2", "ellip", "bessel", "fir"]
BandType = Literal["lowpass", "highpass", "bandpass", "bandstop"]
FILTER_KINDS: tuple[str, ...] = ("butter", "cheby1", "cheby2", "ellip", "bessel", "fir")


def design_filter(kind: str, btype: str, cutoff_hz: float | Sequence[float], sample_rate: int, order: int = 8,
                  ripple_db: float = 0.05, stopband_db: float = 60.0) -> np.ndarray | tuple[np.ndarray, str]:
    """Design a digital filter; returns second-order sections ``(n_sections, 6)``, or FIR taps for
    ``kind='fir'`` (``order + 1`` taps, Hamming window).

    ``ripple_db`` is the pass-band ripple (Chebyshev I, elliptic); ``stopband_db`` the stop-band
    attenuation (Chebyshev II, elliptic). ``cutoff_hz`` is one frequency, or two for band filters.
    """
    if kind not in FILTER_KINDS:
        raise ValueError(f"unknown filter kind '{kind}' (use one of {', '.join(FILTER_KINDS)})")
    if btype not in ("lowpass", "highpass", "bandpass", "bandstop"):
        raise ValueError(f"unknown band type '{btype}'")
    nyq = sample_rate / 2
    wn = np.atleast_1d(np.asarray(cutoff_hz, dtype=float))
    if np.any(wn <= 0) or np.any(wn >= nyq):
        raise ValueError(f"cutoff {cutoff_hz} Hz must lie strictly between 0 and Nyquist ({nyq:g} Hz)")
    if btype in ("bandpass", "bandstop") and wn.size != 2:
        raise ValueError(f"{btype} needs two cutoff frequencies, got {wn.size}")
    if order < 1:
        raise ValueError(f"filter order must be at least 1, got {order}")
    w = wn if wn.size > 1 else float(wn[0])
    if kind == "fir":
        taps = order + 1
        if btype in ("highpass", "bandstop") and taps % 2 == 0:
            taps += 1  # type I FIR needed for a non-zero response at Nyquist
        return signal.firwin(taps, w, pass_zero=btype in ("lowpass", "bandstop"), fs=sample_rate)
    if kind == "butter":
        return signal.butter(order, w, btype=btype, fs=sample_rate, output="sos")
    if kind == "cheby1":
        return signal.cheby1(order, ripple_db, w, btype=btype, fs=sample_rate, output="sos")
    if kind == "cheby2":
        return signal.cheby2(order, stopband_db, w, btype=btype, fs=sample_rate, output="sos")
    if kind == "ellip":
        return signal.ellip(order, ripple_db, stopband_db, w, btype=btype, fs=sample_rate, output="sos")
    return signal.bessel(order, w, btype=btype, fs=sample_rate, output="sos", norm="phase")


def apply_filter(x: np.ndarray, coeffs: np.ndarray, zero_phase: bool = False) -> np.ndarray:
    """Filter ``(..., time)`` with SOS ``(n, 6)`` or FIR taps ``(taps,)``.

    ``zero_phase`` runs the filter forward and backward (squared magnitude, no phase shift).
    """
    x = np.asarray(x, dtype=np.float64)
    coeffs = np.asarray(coeffs)
    # forward-backward filtering pads the ends by odd reflection; the pad must cover the filter's
    # settling time, or high-order IIR filters leave transients at both ends (scipy's default pad
    # is only a few samples long)
    padlen = max(min(settling_samples(coeffs), x.shape[-1] - 1), 0)
    if coeffs.ndim == 2:
        if zero_phase:
            return signal.sosfiltfilt(coeffs, x, axis=-1, padlen=padlen)
        return signal.sosfilt(coeffs, x, axis=-1)
    if zero_phase:
        return signal.filtfilt(coeffs, [1.0], x, axis=-1, padlen=padlen)
    return signal.lfilter(coeffs, [1.0], x, axis=-1)


def settling_samples(coeffs: np.ndarray, tol: float = 1e-6, max_samples: int = 1 << 15) -> int:
    """Length of a filter's impulse response down to ``tol`` of its peak (FIR: its length)."""
    coeffs = np.asarray(coeffs)
    if coeffs.ndim == 1:
        return int(coeffs.size)
    impulse = np.zeros(max_samples)
    impulse[0] = 1.0
    h = np.abs(signal.sosfilt(coeffs, impulse))
    above = np.nonzero(h > tol * h.max())[0]
    return int(above[-1] + 1) if above.size else 1


def notch_filter(freq_hz: float, sample_rate: int, quality: float = 30.0) -> np.ndarray:
    """Second-order IIR notch at ``freq_hz`` as one SOS row."""
    b, a = signal.iirnotch(freq_hz, quality, fs=sample_rate)
    return signal.tf2sos(b, a)
