"""Time-frequency block thresholding (classical/block_thresholding.py, Yu, Mallat & Bacry 2008)."""

from __future__ import annotations

import numpy as np
import pytest

from audiorestore.classical.block_thresholding import (
    BLOCK_BINS,
    BLOCK_FRAMES,
    BLOCK_LAMBDA,
    block_sure,
    block_threshold_gain,
)
from audiorestore.enhancer import get_method
from tests.classical.test_spectral import bursts, mix, tones  # the shared synthetic signals



def improvement(sr: int, noise_sample: bool = False) -> float:
    """SNR gain (dB) of block thresholding on tone bursts (or, with a noise sample, steady tones) at 5 dB."""
    clean = bursts(3 * sr, sr) if not noise_sample else tones(2 * sr, sr)
    noisy, noise = mix(clean)
    sample = np.random.default_rng(9).standard_normal(sr // 2) * np.std(noise) if noise_sample else None
    out = get_method("block_threshold")(noisy, sr, noise=sample)
    assert out.shape == noisy.shape and np.all(np.isfinite(out))

    def snr(est: np.ndarray) -> float:
        return float(10 * np.log10(np.sum(clean ** 2) / np.sum((clean - est) ** 2)))

    return snr(out) - snr(noisy)


def test_sure_is_unbiased_for_complex_gaussian_blocks():
    # E[SURE] = E||a Y - X||^2 for a block of B complex coefficients with noise variance sigma^2
    rng = np.random.default_rng(0)
    size, lam, sigma2, draws = 8, 2.0, 1.0, 40000
    for amplitude in (0.0, 1.0, 2.0, 4.0):
        x = amplitude * np.exp(1j * rng.uniform(0, 2 * np.pi, size))
        noise = np.sqrt(sigma2 / 2) * (rng.standard_normal((draws, size)) + 1j * rng.standard_normal((draws, size)))
        y = x + noise
        mean_power = np.mean(np.abs(y) ** 2, axis=1)
        a = np.maximum(1 - lam * sigma2 / mean_power, 0.0)
        risk = np.mean(np.sum(np.abs(a[:, None] * y - x) ** 2, axis=1))
        sure = np.mean(block_sure(mean_power, np.full(draws, sigma2), size, lam))
        assert sure == pytest.approx(risk, rel=0.03, abs=0.05)


def test_lambda_table_shape_and_order():
    lam = np.array(BLOCK_LAMBDA)
    assert lam.shape == (len(BLOCK_FRAMES), len(BLOCK_BINS))
    # smaller blocks average fewer coefficients, fluctuate more, and need a higher threshold
    assert np.all(np.diff(lam, axis=0) >= 0) and np.all(np.diff(lam, axis=1) >= 0)
    assert lam.min() == 1.5 and lam.max() == 4.7


def test_gain_on_pure_noise_is_mostly_zero_and_on_a_strong_tone_near_one():
    rng = np.random.default_rng(1)
    power = rng.exponential(1.0, (129, 64))  # periodogram of unit-PSD Gaussian noise
    g = block_threshold_gain(power, 1.0)
    assert g.shape == power.shape and np.all((g >= 0) & (g <= 1))
    assert np.mean(g > 0) < 0.05
    power[40, :] += 1000.0  # a steady tone 30 dB above the noise in one bin
    g = block_threshold_gain(power, 1.0)
    assert np.all(g[40] > 0.9)
    assert np.mean(g[:30] > 0) < 0.05  # far from the tone nothing is kept


def test_gain_handles_sizes_that_are_not_whole_macro_blocks_and_silence():
    rng = np.random.default_rng(2)
    power = rng.exponential(1.0, (2, 37, 13))
    assert block_threshold_gain(power, np.ones((2, 37, 1))).shape == (2, 37, 13)
    g = block_threshold_gain(np.zeros((5, 3)), np.zeros((5, 1)))
    assert np.all(np.isfinite(g)) and np.all(g == 0)


def test_registered_with_paper_framing():
    m = get_method("block_threshold")
    assert m.win_ms == 50.0 and m.hop_ms == 25.0 and m.noise_estimator == "minstat"
    assert m.stft_params(16000) == (1024, 400, 800)


def test_improves_snr():
    # measured (dB): 16 kHz 11.3, 8 kHz 10.8, 48 kHz 13.0; with a noise sample on steady tones 15.8
    assert improvement(16000) >= 9.0
    assert improvement(8000) >= 8.0
    assert improvement(48000) >= 10.0
    assert improvement(16000, noise_sample=True) >= 12.0


def test_silence_short_input_multichannel_determinism():
    m = get_method("block_threshold")
    assert np.all(m(np.zeros(8000), 16000) == 0)
    short = np.arange(16, dtype=np.float64)
    np.testing.assert_array_equal(m(short, 16000), short)
    x = np.stack([mix(bursts(16000, 16000), seed=2)[0], 0.1 * mix(tones(16000, 16000), seed=3)[0]])
    both = m(x, 16000)
    for c in range(2):
        np.testing.assert_allclose(both[c], m(x[c], 16000), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(m(x, 16000), both)
