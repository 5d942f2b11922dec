"""Interpolation baselines, the low-pass + decimation that makes training pairs, and rational ratios."""

from __future__ import annotations

import numpy as np
import pytest

from audiorestore.dsp.filters import apply_filter, design_filter
from audiorestore.enhancer import get_method, list_methods
from audiorestore.superres import interpolate

RATIOS = [(22050, 44100), (12000, 48000), (11025, 44100), (16000, 48000), (8000, 16000), (16000, 44100)]


def _snr_db(ref: np.ndarray, est: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref**2) / np.sum((ref - est) ** 2)))


def test_spline_baseline_reproduces_a_band_limited_sine() -> None:
    sr, target, f_hz = 16000, 48000, 1000.0
    x = np.sin(2 * np.pi * f_hz * np.arange(1600) / sr)
    y = get_method("spline")(x.astype(np.float32), sr, target)
    ref = np.sin(2 * np.pi * f_hz * np.arange(y.size) / target)
    inner = slice(300, -300)  # away from the not-a-knot ends
    assert y.shape == (4800,)
    assert _snr_db(ref[inner], y[inner]) > 60.0  # measured about 87 dB; cubic error ~ (w h)^4
    assert _snr_db(ref[inner], get_method("sinc")(x, sr, target)[inner]) > 60.0
    assert _snr_db(ref[inner], get_method("linear")(x, sr, target)[inner]) < 45.0  # linear is worse


@pytest.mark.parametrize("method", ["linear", "spline", "sinc"])
@pytest.mark.parametrize("rates", RATIOS)
def test_rational_ratios_give_the_right_length(method: str, rates: tuple[int, int]) -> None:
    sr, target = rates
    x = np.random.default_rng(0).standard_normal((2, 1001)).astype(np.float32)
    y = get_method(method)(x, sr, target)
    assert y.shape == (2, round(1001 * target / sr))
    assert y.dtype == np.float32


def test_interpolation_keeps_time_alignment_for_a_rational_ratio() -> None:
    # a 300 Hz sine at 22050 Hz, resampled to 48000 Hz, matches the same sine sampled at 48000 Hz
    x = np.sin(2 * np.pi * 300 * np.arange(2205) / 22050)
    for kind in ("spline", "sinc"):
        y = interpolate(x, 22050, 48000, kind)
        ref = np.sin(2 * np.pi * 300 * np.arange(y.size) / 48000)
        assert _snr_db(ref[500:-500], y[500:-500]) > 60.0, kind


def test_baselines_are_registered_as_upsample_methods() -> None:
    names = {c.name for c in list_methods("upsample")}
    assert {"linear", "spline", "sinc", "audiounet", "tfilm", "mugan"} <= names


def _lowpass_decimate(x: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
    """Training-pair degradation: the simulator's function when it exists, else dsp.filters directly
    (zero-phase elliptic low-pass with its stop band starting at the new Nyquist frequency, then keep
    every r-th sample)."""
    try:
        from audiorestore.simulate import lowpass_decimate
    except ImportError:
        # scipy.signal.ellipord(0.9 * nyq, nyq, 0.1, 60) asks for order 9 at 48 -> 16 kHz
        sos = design_filter("ellip", "lowpass", 0.9 * target_rate / 2, sample_rate, order=10,
                            ripple_db=0.1, stopband_db=60.0)
        return apply_filter(x, sos, zero_phase=True)[..., :: sample_rate // target_rate]
    return np.asarray(lowpass_decimate(x, sample_rate, target_rate))


def test_lowpass_decimation_leaves_less_than_minus_60_db_above_the_cutoff() -> None:
    sr, target = 48000, 16000
    n = 2 * sr
    spec = np.fft.rfft(np.random.default_rng(0).standard_normal(n))
    spec[np.fft.rfftfreq(n, 1 / sr) < target / 2] = 0.0  # white noise strictly above the new Nyquist
    high = np.fft.irfft(spec, n)
    out = _lowpass_decimate(high, sr, target)
    assert out.shape[-1] == n // 3
    # nothing above the cutoff survives, not even as aliasing into the decimated band (measured away
    # from the signal's ends, where the filter's start-up transient lives)
    assert 10 * np.log10(np.mean(out[300:-300] ** 2) / np.mean(high**2)) < -60.0
    # while in-band content passes unchanged
    tone = np.sin(2 * np.pi * 1000 * np.arange(n) / sr)
    ref = np.sin(2 * np.pi * 1000 * np.arange(n // 3) / target)
    assert _snr_db(ref[500:-500], _lowpass_decimate(tone, sr, target)[500:-500]) > 40.0
