"""Losses: known values, shared signature, shape errors, adversarial optima, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from audiorestore.errors import ParameterError
from audiorestore.losses import (LogSpectralDistanceLoss, MultiResolutionSTFTLoss, discriminator_loss, feature_matching_loss, generator_loss,
                                 get_loss, l1_loss, l2_loss, multi_resolution_stft_loss, neg_si_sdr_loss)
from audiorestore.losses.spectral import spectral_convergence, stft_magnitude

torch.set_num_threads(1)


def test_l1_l2_known_values_and_shape_error():
    est, ref = torch.full((2, 1, 10), 3.0), torch.ones(2, 1, 10)
    assert float(l1_loss(est, ref)) == pytest.approx(2.0)
    assert float(l2_loss(est, ref)) == pytest.approx(4.0)
    with pytest.raises(ParameterError, match=r"\(2, 1, 10\) and \(2, 10\)"):
        l1_loss(est, ref[:, 0])


def test_si_sdr_is_scale_invariant_and_matches_a_known_ratio():
    g = torch.Generator().manual_seed(0)
    t = torch.randn(1, 1, 4000, generator=g)
    n = torch.randn(1, 1, 4000, generator=g)
    t, n = t - t.mean(), n - n.mean()
    n = n - (n * t).sum() / (t * t).sum() * t  # orthogonal to the target
    n = n * torch.sqrt((t * t).sum() / (n * n).sum() / 10.0)  # 10 dB below it
    assert float(neg_si_sdr_loss(t + n, t)) == pytest.approx(-10.0, abs=1e-3)
    assert float(neg_si_sdr_loss(3.0 * (t + n), t)) == pytest.approx(-10.0, abs=1e-3)


def test_multi_resolution_stft_zero_for_equal_positive_otherwise_and_module_matches_function():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(2, 1, 3000, generator=g), torch.randn(2, 1, 3000, generator=g)
    res = ((256, 64, 256), (512, 128, 400))
    assert float(multi_resolution_stft_loss(x, x, res)) < 1e-5
    d = multi_resolution_stft_loss(x, y, res)
    assert float(d) > 0.5
    assert float(MultiResolutionSTFTLoss(res)(x, y)) == pytest.approx(float(d), rel=1e-5)


def test_stft_loss_gradient_is_finite_on_silence_and_flows_on_quiet_signals():
    loss_fn = MultiResolutionSTFTLoss(((256, 64, 256),))
    target = torch.randn(1, 1, 2048, generator=torch.Generator().manual_seed(2))
    silent = torch.zeros(1, 1, 2048, requires_grad=True)
    loss_fn(silent, target).backward()
    assert torch.isfinite(silent.grad).all()  # sqrt(0) has an infinite derivative: the clamp prevents NaN
    quiet = (1e-3 * torch.randn(1, 1, 2048, generator=torch.Generator().manual_seed(3))).requires_grad_()
    loss_fn(quiet, target).backward()
    assert torch.isfinite(quiet.grad).all() and quiet.grad.abs().sum() > 0


def test_lsd_loss_is_the_lsd_metric_and_asks_for_a_missing_band_at_its_level():
    import numpy as np

    from audiorestore.metrics import lsd

    g = torch.Generator().manual_seed(3)
    x = 0.1 * torch.randn(1, 1, 24000, generator=g)
    y = x + 0.05 * torch.randn(1, 1, 24000, generator=g)
    loss = LogSpectralDistanceLoss()
    assert float(loss(x, x)) == pytest.approx(0.0, abs=1e-6)
    # the metric's formula: only the first and last frames differ (torch's centred STFT pads them)
    assert float(loss(y, x)) == pytest.approx(lsd(x[0, 0].numpy(), y[0, 0].numpy(), 48000), abs=0.02)
    # a band removed entirely costs more than the same band at its level with another phase
    spec = torch.fft.rfft(x)
    f = torch.arange(spec.shape[-1]) / (spec.shape[-1] - 1)
    high = f > 0.5
    gone = torch.fft.irfft(torch.where(high, torch.zeros_like(spec), spec), x.shape[-1])
    phase = torch.exp(2j * math.pi * torch.rand(spec.shape, generator=g))
    rephased = torch.fft.irfft(torch.where(high, spec * phase, spec), x.shape[-1])
    assert float(loss(rephased, x)) < 0.5 * float(loss(gone, x))
    z = y.clone().requires_grad_(True)
    loss(z, x).backward()
    assert z.grad is not None and bool(torch.isfinite(z.grad).all()) and float(z.grad.abs().max()) > 0
    assert np.isclose(float(get_loss("lsd", n_fft=512, hop_length=128)(x, x)), 0.0, atol=1e-6)
    with pytest.raises(ParameterError, match="floor"):
        LogSpectralDistanceLoss(floor=0.0)


def test_spectral_convergence_and_magnitude_shape():
    m = torch.ones(1, 5, 7)
    assert float(spectral_convergence(3 * m, m)) == pytest.approx(2.0)
    assert stft_magnitude(torch.zeros(3, 1, 1000), 128, 32, 128).shape == (3, 65, 32)


@pytest.mark.parametrize("kind", ["lsgan", "hinge", "nsgan"])
def test_adversarial_losses_order_good_and_bad_discriminators(kind):
    good_real, good_fake = torch.full((4, 1), 3.0), torch.full((4, 1), -3.0)
    assert float(discriminator_loss(good_real, good_fake, kind)) < float(discriminator_loss(good_fake, good_real, kind))
    # the generator is better off when the discriminator scores its output higher
    assert float(generator_loss(good_real, kind)) < float(generator_loss(good_fake, kind))


def test_adversarial_known_values_and_multiscale_average():
    assert float(discriminator_loss(torch.ones(3), torch.zeros(3), "lsgan")) == 0.0
    assert float(discriminator_loss(torch.full((3,), 1.0), torch.full((3,), -1.0), "hinge")) == 0.0
    assert float(generator_loss(torch.zeros(2), "nsgan")) == pytest.approx(math.log(2))
    two = generator_loss([torch.ones(2), torch.zeros(2)], "lsgan")  # 0 and 1 -> mean 0.5
    assert float(two) == pytest.approx(0.5)
    with pytest.raises(ParameterError, match="unknown GAN loss"):
        generator_loss(torch.zeros(1), "wgan")  # type: ignore[arg-type]


def test_feature_matching_detaches_the_real_features():
    fake = [torch.ones(1, 2, 3, requires_grad=True), [torch.zeros(1, 4, requires_grad=True)]]
    real = [torch.zeros(1, 2, 3, requires_grad=True), [torch.zeros(1, 4, requires_grad=True)]]
    loss = feature_matching_loss(fake, real)
    assert float(loss.detach()) == pytest.approx(0.5)  # layer means 1 and 0
    loss.backward()
    assert fake[0].grad is not None and real[0].grad is None
    with pytest.raises(ParameterError, match="feature map shapes differ"):
        feature_matching_loss([torch.ones(2)], [torch.ones(3)])


def test_get_loss_by_name():
    assert get_loss("l1") is l1_loss
    assert isinstance(get_loss("mrstft"), MultiResolutionSTFTLoss)
    with pytest.raises(ParameterError, match="unknown loss 'l3'.*l1"):
        get_loss("l3")
