"""Deep Network Prior (Michelashvili & Wolf 2019): network shapes, per-file fit, mask, Enhancer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiorestore.enhancer import get_method, list_methods
from audiorestore.models.dnp import DNPConfig, DNPNet
from audiorestore.models.registry import get_family
from audiorestore.train.checkpoint import load_model, save_model
from audiorestore.train.prior import apply_mask, dnp_denoise, fit_prior, fluctuation_mask

torch.set_num_threads(1)
SR = 8000
FIT = dict(iterations=150, n_fft=256, hop_length=64, start_iteration=10)
CFG = DNPConfig(n_layers=4, base_channels=8)


def _snr_db(clean: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(clean ** 2) / np.sum((clean - estimate) ** 2)))


@pytest.fixture(scope="module")
def tone_in_noise() -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(SR // 2) / SR  # 0.5 s at 8 kHz
    clean = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.25 * np.sin(2 * np.pi * 880 * t)
    noisy = clean + 0.3 * np.random.default_rng(0).standard_normal(t.size)  # about 2.4 dB SNR
    return clean, noisy


@pytest.mark.parametrize("length", [8, 100, 1000])
def test_network_shapes(length: int) -> None:
    net = DNPNet(DNPConfig.tiny())
    n = net.valid_length(length)
    assert n % 8 == 0 and n >= length
    assert net(torch.randn(2, 1, n)).shape == (2, 1, n)
    with pytest.raises(ValueError, match="multiple of 8"):
        net(torch.randn(1, 1, n + 1))


def test_dnp_raises_snr_of_tone_in_white_noise(tone_in_noise) -> None:
    clean, noisy = tone_in_noise
    fit = fit_prior(noisy, SR, CFG, seed=0, **FIT)
    assert fit.losses[-1] < 0.2 * fit.losses[0]  # the network does fit the noisy signal
    tone_bins = [14, 28]  # 440 and 880 Hz with n_fft 256 at 8 kHz
    assert fit.fluctuation[tone_bins].mean() < np.median(fit.fluctuation)  # the tone fluctuates less
    assert fit.mask[tone_bins].mean() > 0.9 and np.median(fit.mask) < 0.5
    enhanced = apply_mask(noisy, fit.mask, FIT["n_fft"], FIT["hop_length"])
    gain = _snr_db(clean, enhanced) - _snr_db(clean, noisy)
    assert gain > 3.0, gain  # stated margin: +3 dB (about +4.3 dB measured)


def test_fit_is_deterministic_under_seed(tone_in_noise) -> None:
    _, noisy = tone_in_noise
    kw = dict(FIT, iterations=30)
    a = dnp_denoise(noisy, SR, DNPConfig.tiny(), seed=1, **kw)
    b = dnp_denoise(noisy, SR, DNPConfig.tiny(), seed=1, **kw)
    c = dnp_denoise(noisy, SR, DNPConfig.tiny(), seed=2, **kw)
    assert np.array_equal(a, b) and not np.allclose(a, c)
    state = torch.random.get_rng_state()
    dnp_denoise(noisy, SR, DNPConfig.tiny(), seed=1, **kw)
    assert torch.equal(state, torch.random.get_rng_state())  # global RNG untouched


def test_mask_without_contrast_keeps_everything() -> None:
    assert np.all(fluctuation_mask(np.ones((5, 7))) == 1.0)
    mask = fluctuation_mask(np.random.default_rng(0).random((65, 40)), residual=0.05)
    assert mask.min() >= 0.05 and mask.max() <= 1.0


def test_enhancer_is_registered_and_keeps_shape(tone_in_noise) -> None:
    _, noisy = tone_in_noise
    assert "dnp" in [m.name for m in list_methods("denoise")]
    dnp = get_method("dnp", iterations="40", start_iteration="5", n_layers="3", base_channels="4")
    audio = np.stack([noisy, noisy[::-1]]).astype(np.float32)
    out = dnp(audio, SR)
    assert out.shape == audio.shape and out.dtype == np.float32 and np.all(np.isfinite(out))
    assert np.array_equal(dnp(np.zeros((1, 1000), np.float32), SR), np.zeros((1, 1000), np.float32))
    with pytest.raises(Exception, match="iterations"):
        get_method("dnp", iterations=5)


def test_checkpoint_round_trip(tmp_path) -> None:
    cfg = DNPConfig.tiny()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = DNPNet(cfg).eval()
    path = save_model(tmp_path / "dnp.pt", net, "dnp", cfg, SR)
    loaded, meta = load_model(path)
    x = torch.randn(1, 1, 64)
    assert meta["family"] == "dnp" and torch.equal(loaded(x), net(x))
    assert get_family("dnp").tiny() == cfg
