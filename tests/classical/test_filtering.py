"""Linear filtering methods (classical/filtering.py): band filters, the hum notch comb, smoothing."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from audiorestore.classical.filtering import Filter, HumNotch, Smoothing, moving_average
from audiorestore.enhancer import get_method
from audiorestore.errors import ParameterError

FS = 16000
N = 16000


def tone(freq_hz: float, amplitude: float = 1.0, phase: float = 0.0, n: int = N, fs: int = FS) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq_hz * np.arange(n) / fs + phase)


def middle(y: np.ndarray) -> np.ndarray:
    """The central half, away from filter start-up and (zero-phase) end transients."""
    n = y.shape[-1]
    return y[..., n // 4: 3 * n // 4]


def amplitude_db(y: np.ndarray, freq_hz: float, fs: int = FS) -> float:
    """Level (dB re. amplitude 1) of the sinusoid at ``freq_hz`` in the middle of ``y`` (least squares)."""
    t = middle(np.arange(y.shape[-1]) / fs)
    basis = np.column_stack([np.cos(2 * np.pi * freq_hz * t), np.sin(2 * np.pi * freq_hz * t)])
    c = np.linalg.lstsq(basis, middle(np.asarray(y, dtype=np.float64)), rcond=None)[0]
    return float(20 * np.log10(np.hypot(*c) + 1e-30))


# ----------------------------------------------------------------------------------- band filters
@pytest.mark.parametrize("zero_phase", [True, False])
def test_butterworth_lowpass_removes_a_tone_above_cutoff_and_keeps_one_below(zero_phase):
    lowpass = get_method("filter", kind="butter", btype="lowpass", high_hz=1000.0, order=4, zero_phase=zero_phase)
    y = lowpass(tone(300) + tone(4000), FS)
    assert abs(amplitude_db(y, 300)) < 0.5
    assert amplitude_db(y, 4000) < -40


@pytest.mark.parametrize("kind,order", [("butter", 8), ("cheby1", 8), ("cheby2", 8), ("ellip", 8),
                                        ("bessel", 8), ("fir", 128)])
def test_every_filter_family_separates_pass_and_stop_band(kind, order):
    # zero phase doubles the pass-band ripple (dB), so ask cheby1/ellip for 0.1 dB
    lowpass = Filter(kind=kind, btype="lowpass", high_hz=1000.0, order=order, ripple_db=0.1)
    y = lowpass(tone(100) + tone(4000), FS)
    assert abs(amplitude_db(y, 100)) < 0.5
    assert amplitude_db(y, 4000) < -60


def test_highpass_removes_rumble_and_keeps_speech_band():
    highpass = Filter(kind="butter", btype="highpass", low_hz=100.0, order=4)
    y = highpass(tone(20, 0.5) + tone(1000, 0.5), FS)
    assert amplitude_db(y, 20) - amplitude_db(tone(20, 0.5), 20) < -40
    assert abs(amplitude_db(y, 1000) - 20 * np.log10(0.5)) < 0.1


def test_default_bandpass_keeps_the_band_and_removes_both_edges():
    bandpass = get_method("filter")  # butter band-pass 80 Hz - 7 kHz, order 4, zero phase
    y = bandpass(tone(20) + tone(1000) + tone(7900), FS)
    assert abs(amplitude_db(y, 1000)) < 0.1
    assert amplitude_db(y, 20) < -40
    assert amplitude_db(y, 7900) < -20


def test_bandstop_removes_a_band():
    bandstop = Filter(kind="butter", btype="bandstop", low_hz=900.0, high_hz=1100.0, order=4)
    y = bandstop(tone(1000) + tone(300) + tone(3000), FS)
    assert amplitude_db(y, 1000) < -40
    assert abs(amplitude_db(y, 300)) < 0.1 and abs(amplitude_db(y, 3000)) < 0.1


def test_zero_phase_filter_does_not_delay_the_signal():
    x = tone(300, 0.5)
    zero = Filter(kind="butter", btype="lowpass", high_hz=1000.0, order=4, zero_phase=True)(x, FS)
    causal = Filter(kind="butter", btype="lowpass", high_hz=1000.0, order=4, zero_phase=False)(x, FS)
    np.testing.assert_allclose(middle(zero), middle(x), atol=1e-3)
    assert np.max(np.abs(middle(causal) - middle(x))) > 0.05  # the causal filter shifts the phase


def test_cutoff_above_nyquist_is_clamped():
    y = Filter(btype="lowpass", high_hz=20000.0)(tone(1000), 8000)  # 20 kHz at fs 8 kHz -> 0.95 * 4 kHz
    assert np.all(np.isfinite(y))


def test_filter_keeps_shape_and_float32_dtype_for_multichannel_audio():
    x = np.stack([tone(300), tone(4000)]).astype(np.float32)
    y = Filter(btype="lowpass", high_hz=1000.0)(x, FS)
    assert y.shape == (2, N) and y.dtype == np.float32
    assert amplitude_db(y[1], 4000) < -40 and abs(amplitude_db(y[0], 300)) < 0.5


def test_filter_parameter_errors():
    with pytest.raises(ParameterError, match="kind"):
        get_method("filter", kind="chebyshev")
    with pytest.raises(ParameterError, match="btype"):
        get_method("filter", btype="allpass")
    with pytest.raises(ValueError, match="low_hz < high_hz"):
        Filter(btype="bandpass", low_hz=2000.0, high_hz=1000.0)(tone(300), FS)


def test_cli_style_string_parameters_are_coerced():
    f = get_method("filter", order="6", zero_phase="false", high_hz="1500")
    assert f.order == 6 and f.zero_phase is False and f.high_hz == 1500.0


# ------------------------------------------------------------------------------------ hum notch
@pytest.mark.parametrize("mains_hz", [50.0, 60.0])
def test_notch_comb_removes_hum_and_harmonics_from_a_tone_mixture(mains_hz):
    # A Q=30 notch at 50 Hz is 1.7 Hz wide: its transients last ~0.2 s, so use 4 s and judge the middle.
    fs, n = 8000, 32000
    music = tone(725, 0.3, n=n, fs=fs) + tone(1234, 0.3, phase=1.0, n=n, fs=fs)
    hum = sum(tone(k * mains_hz, 0.2 / k, phase=k, n=n, fs=fs) for k in range(1, 9))
    y = get_method("notch", freq_hz=mains_hz)(music + hum, fs)  # 8 harmonics, Q = 30
    for k in range(1, 9):
        assert amplitude_db(y, k * mains_hz, fs) < 20 * np.log10(0.2 / k) - 40, k
    for f in (725, 1234):
        assert abs(amplitude_db(y, f, fs) - 20 * np.log10(0.3)) < 0.5
    assert np.sqrt(np.mean(middle(y - music) ** 2)) < 0.01  # hum power was 0.03; music left intact


def test_constant_bandwidth_notches_keep_a_tone_6_hz_from_the_sixth_harmonic():
    fs, n = 8000, 64000
    hum = tone(300, 0.2, n=n, fs=fs)  # the 6th harmonic of 50 Hz
    near = tone(306, 0.3, phase=1.0, n=n, fs=fs)  # a speech harmonic 6 Hz away
    narrow = HumNotch(freq_hz=50.0, harmonics=6, bandwidth_hz=2.0)(hum + near, fs)
    fixed_q = HumNotch(freq_hz=50.0, harmonics=6)(hum + near, fs)  # Q = 30: 10 Hz wide at 300 Hz
    assert amplitude_db(narrow, 300, fs) < 20 * np.log10(0.2) - 30
    assert abs(amplitude_db(narrow, 306, fs) - 20 * np.log10(0.3)) < 1.0
    assert amplitude_db(fixed_q, 306, fs) < 20 * np.log10(0.3) - 3.0  # the fixed Q cuts into it


def test_notch_skips_harmonics_above_nyquist():
    fs, n = 1000, 4000
    wanted = tone(123, n=n, fs=fs)
    y = HumNotch(freq_hz=50.0, harmonics=40)(tone(50, n=n, fs=fs) + wanted, fs)  # 50..450 Hz below 490 Hz
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(middle(y), middle(wanted), atol=0.05)


def test_notch_with_no_harmonic_below_nyquist_is_identity():
    x = np.random.default_rng(0).standard_normal(1000)
    np.testing.assert_allclose(HumNotch(freq_hz=600.0)(x, 1000), x, atol=1e-6)


# ------------------------------------------------------------------------------------- smoothing
def test_moving_average_reduces_white_noise_variance_by_its_width():
    noise = np.random.default_rng(1).standard_normal(200000)
    for width in (4, 16):
        smoothed = moving_average(noise, width)
        assert smoothed.shape == noise.shape
        assert np.var(noise) / np.var(smoothed) == pytest.approx(width, rel=0.05)


def test_moving_average_values_and_edges():
    x = np.arange(10, dtype=float)
    np.testing.assert_allclose(moving_average(x, 1), x)
    y = moving_average(x, 3)  # centred: mean of x[n-1], x[n], x[n+1]; reflected at the edges
    np.testing.assert_allclose(y[1:-1], x[1:-1])
    assert y[0] == pytest.approx((1 + 0 + 1) / 3) and y[-1] == pytest.approx((8 + 9 + 8) / 3)
    np.testing.assert_allclose(moving_average(np.ones((2, 5)), 8), np.ones((2, 5)))  # longer than input
    with pytest.raises(ValueError, match="width"):
        moving_average(x, 0)


def test_smooth_method_moving_average_width_from_milliseconds():
    noise = np.random.default_rng(2).standard_normal(160000)
    y = get_method("smooth", kind="moving_average", width_ms=1.0)(noise, FS)  # 16 samples at 16 kHz
    assert np.var(noise) / np.var(y) == pytest.approx(16, rel=0.05)


def test_savgol_reduces_noise_by_the_sum_of_squared_coefficients_and_keeps_polynomials():
    noise = np.random.default_rng(3).standard_normal(200000)
    smoother = get_method("smooth", kind="savgol", width_ms=1.0, polyorder=2)  # 17-point quadratic at 16 kHz
    y = smoother(noise, FS)
    expected = 1 / np.sum(signal.savgol_coeffs(17, 2) ** 2)  # white-noise power gain of an FIR: sum h^2
    assert np.var(noise) / np.var(y) == pytest.approx(expected, rel=0.05)
    quadratic = 1e-7 * (np.arange(2000) - 1000.0) ** 2
    np.testing.assert_allclose(smoother(quadratic, FS), quadratic, atol=1e-9)


def test_savgol_on_input_shorter_than_the_window_is_identity():
    x = np.random.default_rng(4).standard_normal(10)
    np.testing.assert_allclose(Smoothing(width_ms=2.0)(x, FS), x, atol=1e-6)


def test_smooth_rejects_an_unknown_kind():
    with pytest.raises(ParameterError, match="kind"):
        get_method("smooth", kind="median")
