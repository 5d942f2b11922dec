"""Spectral denoisers (classical/spectral.py): gain rules against closed forms, and each registered
method (specsub, wiener, mmse, logmmse, gating) on sums of sines in white noise at 5 dB SNR."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special

from audiorestore.classical.spectral import (
    TabulatedGain,
    decision_directed_gain,
    tcs_a_priori_snr,
    log_mmse_gain,
    mmse_stsa_gain,
    spectral_gating_gain,
    spectral_subtraction_gain,
    wiener_gain,
)
from audiorestore.enhancer import get_method, method_class
from audiorestore.errors import ParameterError

METHODS = ("specsub", "wiener", "mmse", "logmmse", "omlsa", "gating")
#: every spectral method, with the non-stationary gating and log-MMSE with the cepstral a priori SNR
#: as cases of their own
CASES = [(m, {}) for m in METHODS] + [("gating", {"stationary": False}), ("logmmse", {"prior": "tcs"})]
IDS = [m + "".join(f"-{k}={v}" for k, v in kw.items()) for m, kw in CASES]


def tones(n: int, sr: int, seed: int = 0) -> np.ndarray:
    t = np.arange(n) / sr
    rng = np.random.default_rng(seed)
    return sum(a * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
               for a, f in ((0.3, 440.0), (0.2, 1250.0), (0.15, 2900.0)))


def bursts(n: int, sr: int) -> np.ndarray:
    """Tones 0.3 s on / 0.2 s off after 0.3 s of nothing (10 ms ramps): a signal noise trackers can
    tell from stationary noise, as they can speech."""
    t = np.arange(n) / sr
    gate = (((t % 0.5) < 0.3) & (t > 0.3)).astype(float)
    ramp = np.hanning(int(0.01 * sr))
    return tones(n, sr) * np.convolve(gate, ramp / ramp.sum(), mode="same")


def mix(clean: np.ndarray, snr_db: float = 5.0, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    noise = np.random.default_rng(seed).standard_normal(clean.shape)
    noise *= np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2) / 10 ** (snr_db / 10))
    return clean + noise, noise


def snr_db(ref: np.ndarray, est: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref ** 2) / np.sum((ref - est) ** 2)))


def improvement(name: str, sr: int, noise_sample: bool = False, **params) -> float:
    clean = bursts(3 * sr, sr) if not noise_sample else tones(2 * sr, sr)
    noisy, noise = mix(clean)
    sample = None
    if noise_sample:  # an independent noise-only recording of another length
        sample = np.random.default_rng(9).standard_normal(sr // 2) * np.std(noise)
    out = get_method(name, **params)(noisy, sr, noise=sample)
    assert out.shape == noisy.shape and np.all(np.isfinite(out))
    return snr_db(clean, out) - snr_db(clean, noisy)


# ----------------------------------------------------------------------------------- gain rules
def test_wiener_gain_closed_form():
    np.testing.assert_allclose(wiener_gain(np.array([0.0, 1.0, 3.0]), np.ones(3)), [0.0, 0.5, 0.75])


def test_mmse_stsa_gain_matches_unscaled_bessel_form():
    xi, gamma = np.array([0.1, 1.0, 3.0]), np.array([0.5, 1.0, 8.0])
    v = xi * gamma / (1 + xi)
    expected = (math.sqrt(math.pi) / 2 * np.sqrt(v) / gamma * np.exp(-v / 2)
                * ((1 + v) * special.iv(0, v / 2) + v * special.iv(1, v / 2)))
    np.testing.assert_allclose(mmse_stsa_gain(xi, gamma), expected, rtol=1e-12)
    # at high SNR both Ephraim-Malah rules tend to the Wiener gain
    big = np.array([1e3]), np.array([2e3])
    np.testing.assert_allclose(mmse_stsa_gain(*big), wiener_gain(*big), rtol=1e-3)
    np.testing.assert_allclose(log_mmse_gain(*big), wiener_gain(*big), rtol=1e-3)


def test_log_mmse_gain_matches_integral_definition():
    xi, gamma = 0.5, 2.0
    v = xi * gamma / (1 + xi)
    e1 = integrate.quad(lambda t: math.exp(-t) / t, v, np.inf)[0]
    assert log_mmse_gain(np.array([xi]), np.array([gamma]))[0] == pytest.approx(xi / (1 + xi) * math.exp(e1 / 2),
                                                                                  rel=1e-8)


@pytest.mark.parametrize(("kind", "exact"), [("logmmse", log_mmse_gain), ("mmse", mmse_stsa_gain)])
def test_tabulated_gain_matches_exact(kind, exact):
    rng = np.random.default_rng(0)
    xi, gamma = 10 ** rng.uniform(-3, 4, 20000), 10 ** rng.uniform(-8, 5, 20000)
    np.testing.assert_allclose(TabulatedGain(kind)(xi, gamma), exact(xi, gamma), rtol=2e-5)


def test_spectral_subtraction_closed_form():
    lam = np.ones((4, 1))
    # frame at 0 dB a priori SNR (power 2 lambda): alpha = 4, all subtracted, floor beta lambda
    g = spectral_subtraction_gain(2 * lam, lam, exponent=2.0, beta=0.01)
    np.testing.assert_allclose(g, math.sqrt(0.01 / 2))
    # frame at 20 dB (power 101 lambda): alpha = 4 - 3/20 * 20 = 1, plain power subtraction
    g = spectral_subtraction_gain(101 * lam, lam, exponent=2.0)
    np.testing.assert_allclose(g, math.sqrt(100 / 101))
    # Boll's magnitude subtraction removes the mean noise magnitude sqrt(pi lambda) / 2 (alpha = 1)
    g = spectral_subtraction_gain(101 ** 2 * lam, lam, exponent=1.0, alpha0=1.0, alpha_slope=0.0)
    np.testing.assert_allclose(g, 1 - math.sqrt(math.pi) / 2 / 101)
    assert np.all(spectral_subtraction_gain(np.zeros((4, 3)), lam) <= 1.0)


def test_decision_directed_limits():
    gamma = np.full((3, 5), 5.0)
    # alpha = 0: xi is the maximum-likelihood estimate gamma - 1 in every frame
    np.testing.assert_allclose(decision_directed_gain(gamma, 1.0, wiener_gain, alpha=0.0), 0.8)
    # below the noise the a priori SNR sits on its floor
    xi_min = 10 ** (-25 / 10)
    g = decision_directed_gain(np.full((3, 5), 0.5), 1.0, wiener_gain, alpha=0.98, xi_min_db=-25.0)
    np.testing.assert_allclose(g, xi_min / (1 + xi_min))
    # a constant SNR converges to the fixed point xi = alpha G^2 gamma + (1 - alpha)(gamma - 1)
    g = decision_directed_gain(np.full((1, 400), 5.0), 1.0, wiener_gain, alpha=0.9)[0, -1]
    xi = g / (1 - g)
    assert xi == pytest.approx(0.9 * g * g * 5.0 + 0.1 * 4.0, rel=1e-9)


def test_tcs_a_priori_snr_known_answers():
    rng = np.random.default_rng(0)
    bins, frames = 257, 1500
    noise = np.ones((bins, 1))
    power = rng.exponential(3.0, size=(bins, frames))
    # without smoothing it is the maximum-likelihood estimate, floored at -30 dB
    raw = tcs_a_priori_snr(power, noise, 16000, alpha_high=0, alpha_envelope=0, alpha_mid=0, alpha_pitch=0)
    np.testing.assert_allclose(raw, np.maximum(power - 1, 1e-3), rtol=1e-9)
    # the periodogram of a stationary signal (noise negligible): smoothing removes most of the spread,
    # and the bias correction makes the mean right (exp of a mean log would be e^-gamma_E = 0.56 low)
    speech = rng.exponential(5.0, size=(bins, frames))
    est = tcs_a_priori_snr(speech, 1e-6 * noise, 16000)[:, 100:] * 1e-6
    assert abs(est.mean() / 5.0 - 1) < 0.02
    assert np.std(10 * np.log10(est)) < 0.3 * np.std(10 * np.log10(speech))
    # channels are independent; the first frame is the ML estimate
    two = np.stack([power, 2 * speech])
    out = tcs_a_priori_snr(two, noise, 16000)
    np.testing.assert_allclose(out[1], tcs_a_priori_snr(2 * speech, noise, 16000), rtol=1e-9)
    np.testing.assert_allclose(out[0, :, 0], raw[:, 0], rtol=1e-9)
    with pytest.raises(ParameterError, match="prior"):
        get_method("logmmse", prior="oracle")


def test_stationary_gating_passes_bins_above_threshold():
    power = np.ones((20, 30))
    power[10, :] = 100.0  # 20 dB above a 0 dB noise level with 1 dB spread
    g = spectral_gating_gain(power, 0.008, 31.25, True, np.zeros((20, 1)), np.ones((20, 1)), n_std_thresh=1.5,
                             freq_mask_smooth_hz=0, time_mask_smooth_ms=0)
    assert np.all(g[10] == 1.0) and np.all(np.delete(g, 10, axis=0) == 0.0)
    g = spectral_gating_gain(power, 0.008, 31.25, True, np.zeros((20, 1)), np.ones((20, 1)), prop_decrease=0.5,
                             freq_mask_smooth_hz=0, time_mask_smooth_ms=0)
    assert np.all(np.delete(g, 10, axis=0) == 0.5)


# --------------------------------------------------------------------------------------- methods
def test_registered_with_defaults():
    for name in METHODS:
        cls = method_class(name)
        assert cls.name == name and cls.citation and cls.summary
        m = get_method(name)
        assert m.noise_estimator == ("spp" if name == "logmmse" else "minstat") and m.win_ms == 32.0 and m.hop_ms == 8.0
    assert (get_method("logmmse").prior, get_method("logmmse").xi_min_db) == ("tcs", -20.0)
    assert (get_method("mmse").prior, get_method("wiener").xi_min_db) == ("dd", -25.0)
    assert get_method("gating").stationary is True
    assert get_method("gating", stationary="false").stationary is False
    with pytest.raises(ParameterError):
        get_method("wiener", noise_estimator="psychic")


# measured at 16 kHz (dB): specsub 12.0, wiener 14.8, mmse 11.4, logmmse 13.3, omlsa 13.2, gating 6.5,
# non-stat. 5.3
MARGIN_16K = {"specsub": 9.0, "wiener": 11.0, "mmse": 9.0, "logmmse": 10.0, "omlsa": 10.0, "gating": 4.5}


@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
def test_improves_snr_of_tone_bursts_in_white_noise(name, params):
    margin = 4.0 if params else MARGIN_16K[name]
    assert improvement(name, 16000, **params) >= margin


@pytest.mark.parametrize("estimator", ["silence", "mcra", "spp"])
def test_other_noise_estimators_improve_snr(estimator):
    # measured: silence 16.0 dB, mcra 9.3 dB, spp 15.9 dB (leading 0.3 s of noise only)
    assert improvement("wiener", 16000, noise_estimator=estimator) >= 7.0


# measured with the noise sample (dB): specsub 11.6, wiener 15.1, mmse 12.1, logmmse 13.8, gating 6.4
@pytest.mark.parametrize("name", METHODS)
def test_noise_sample_makes_stationary_tones_recoverable(name):
    # stationary tones are indistinguishable from noise for a tracker; a noise sample tells them apart
    assert improvement(name, 16000, noise_sample=True) >= (5.0 if name == "gating" else 9.0)


@pytest.mark.parametrize("sr", [8000, 48000])
@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
def test_other_sample_rates(name, params, sr):
    # measured: 8 kHz >= 4.7 dB, 48 kHz >= 6.9 dB for every method
    assert improvement(name, sr, **params) >= 3.5


@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
def test_silence_short_input_multichannel_determinism(name, params):
    m = get_method(name, **params)
    zeros = m(np.zeros(8000, dtype=np.float32), 16000)
    assert zeros.dtype == np.float32 and np.all(zeros == 0)
    short = np.random.default_rng(0).standard_normal(16)
    np.testing.assert_array_equal(m(short, 16000), short)
    x = np.stack([mix(bursts(16000, 16000), seed=2)[0], 0.1 * mix(tones(16000, 16000), seed=3)[0]])
    both = m(x, 16000)
    for c in range(2):
        np.testing.assert_allclose(both[c], m(x[c], 16000), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(m(x, 16000), both)


def test_noise_sample_channels_and_scale():
    m = get_method("logmmse")
    x, noise = mix(tones(16000, 16000))
    y1 = m(np.stack([x, x]), 16000, noise=noise[:4000])  # one noise channel for two audio channels
    np.testing.assert_allclose(y1[0], y1[1])
    np.testing.assert_allclose(m(1e-3 * x, 16000, noise=1e-3 * noise), 1e-3 * m(x, 16000, noise=noise), rtol=1e-6,
                               atol=1e-12)


def test_frame_parameters_in_samples_and_ms():
    m = get_method("wiener")
    assert m.stft_params(16000) == (512, 128, 512)
    assert m.stft_params(8000) == (256, 64, 256)
    assert m.stft_params(48000) == (2048, 384, 1536)
    assert get_method("wiener", n_fft=1024, win_length=800, hop_length=200).stft_params(16000) == (1024, 200, 800)
    with pytest.raises(ValueError):
        get_method("wiener", hop_length=600).stft_params(16000)


def test_omlsa_falls_to_its_floor_on_noise_and_passes_clear_speech():
    # speech absent: the gain tends to G_min (-25 dB), below what log-MMSE leaves (-19 dB measured);
    # speech clearly present (tone bursts 30 dB above the noise): the log-MMSE gain, about 1
    noise = 0.1 * np.random.default_rng(0).standard_normal(3 * 16000)
    level = lambda y, x: 10 * np.log10(np.mean(y[16000:] ** 2) / np.mean(x[16000:] ** 2))  # noqa: E731
    om, lsa = get_method("omlsa")(noise, 16000), get_method("logmmse")(noise, 16000)
    assert -27.0 < level(om, noise) < -21.0 and level(om, noise) < level(lsa, noise) - 2.0
    assert level(get_method("omlsa", gain_min_db=-15)(noise, 16000), noise) > -17.0
    clean = bursts(3 * 16000, 16000)
    noisy, _ = mix(clean, snr_db=30.0)
    assert snr_db(clean, get_method("omlsa")(noisy, 16000)) > 30.0
