"""Neural-corrected log-MMSE: starts as the classical estimator, level invariance, causality, contract tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiorestore.classical.spectral import LogMMSE
from audiorestore.errors import ParameterError
from audiorestore.models.nmmse import NMMSE, NMMSEConfig
from audiorestore.models.profiling import macs_per_second
from tests.models.helpers import (assert_checkpoint_round_trip, assert_shape_preserved,
                                  overfit, seeded, speechlike_pair)

torch.set_num_threads(1)


def test_shape_preserved_for_lengths_off_the_hop_grid() -> None:
    model = seeded("nmmse")
    assert_shape_preserved(model)
    assert model.valid_length(1000) == 1024  # hop 64


def test_untrained_model_is_the_classical_logmmse() -> None:
    # the zero-initialised last layer leaves the classical gain unchanged: same output as --method logmmse
    noisy, _ = speechlike_pair(1, 16000, snr_db=5.0)
    model = NMMSE(NMMSEConfig()).eval()
    with torch.no_grad():
        y = model(noisy)[0, 0].numpy()
    ref = LogMMSE(noise_estimator="minstat", prior="dd", xi_min_db=-25.0).enhance(noisy[0, 0].double().numpy(),
                                                                                  16000, None)
    inner = slice(512, -512)  # the STFTs pad the edges differently
    err = np.abs(y[inner] - ref[inner]).max()
    assert err < 0.02 * np.abs(ref).max(), err


def test_untrained_model_with_the_tcs_prior_is_the_default_logmmse() -> None:
    noisy, _ = speechlike_pair(1, 16000, snr_db=5.0)
    model = NMMSE(NMMSEConfig(prior="tcs", xi_min_db=-20.0, noise_estimator="spp")).eval()
    with torch.no_grad():
        y = model(noisy)[0, 0].numpy()
    ref = LogMMSE().enhance(noisy[0, 0].double().numpy(), 16000, None)  # tcs, -20 dB, spp
    inner = slice(512, -512)
    err = np.abs(y[inner] - ref[inner]).max()
    assert err < 0.02 * np.abs(ref).max(), err
    with pytest.raises(ParameterError, match="prior"):
        NMMSE(NMMSEConfig(prior="oracle"))


def test_level_invariant() -> None:
    # features are ratios of powers: a file 20 dB louder gets the same mask (output scales with the input)
    model = seeded("nmmse").eval()
    with torch.no_grad():
        torch.nn.init.normal_(model.out.weight, std=0.5)  # a non-trivial correction
        noisy, _ = speechlike_pair(1, 6000)
        y, y_loud = model(noisy), model(10 * noisy)
    assert torch.allclose(10 * y, y_loud, atol=1e-4 * float(y_loud.abs().max()))


def test_mask_is_a_gain_between_zero_and_one() -> None:
    model = seeded("nmmse").eval()
    with torch.no_grad():
        model.out.bias.fill_(50.0)
        m = model.mask(torch.randn(2, 1, 3000))
    assert m.shape == (2, 129, 3000 // 64 + 1) and not m.is_complex()
    assert float(m.min()) >= 0.0 and float(m.max()) <= 1.0 and float(m.min()) > 0.99


def test_causal_apart_from_the_stft_window() -> None:
    model = seeded("nmmse").eval()
    with torch.no_grad():
        torch.nn.init.normal_(model.out.weight, std=0.5)
        x = torch.randn(1, 1, 4000, generator=torch.Generator().manual_seed(0))
        x2 = x.clone()
        x2[..., 3000:] += 1.0
        y, y2 = model(x), model(x2)
    # minimum statistics and the decision-directed recursion only look back; frames reach n_fft/2 ahead.
    # (The trackers work at the file's mean power, then scale back: float rounding, not information.)
    scale = float(y.abs().max())
    assert torch.allclose(y[..., : 3000 - 256], y2[..., : 3000 - 256], atol=1e-3 * scale)
    assert not torch.allclose(y[..., 3000:], y2[..., 3000:], atol=1e-3 * scale)


def test_default_size_and_compute_budget() -> None:
    model = NMMSE(NMMSEConfig())
    params = sum(p.numel() for p in model.parameters())
    assert 500_000 <= params <= 2_000_000
    assert macs_per_second(model, 16000, seconds=1.0, meta=False) < 2e8  # < 0.2 GMAC per second of audio


def test_overfits_one_batch() -> None:
    noisy, clean = speechlike_pair(2, 4000)
    first, last = overfit(seeded("nmmse"), noisy, clean, steps=40)
    assert last < 0.8 * first, (first, last)  # starts from log-MMSE already: the L1 still falls by a fifth


def test_checkpoint_round_trip(tmp_path) -> None:
    cfg = NMMSEConfig(n_fft=128, hop_length=32, hidden_size=12, rnn_layers=2, noise_estimator="mcra")
    assert_checkpoint_round_trip(tmp_path, "nmmse", seeded("nmmse", cfg), cfg)


def test_deterministic_under_seed() -> None:
    # the zero last layer makes every untrained model output log-MMSE, so compare the weights under it
    a, b, c = (seeded("nmmse", seed=s) for s in (0, 0, 1))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.inp[0].weight, c.inp[0].weight)
    x = torch.randn(1, 1, 1500, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.equal(a.eval()(x), b.eval()(x))


def test_band_corrections_are_interpolated_to_every_bin() -> None:
    cfg = NMMSEConfig(n_fft=256, hop_length=64, hidden_size=16, rnn_layers=1, bands=12)
    model = seeded("nmmse", cfg).eval()
    assert model.out.out_features == 12 and "band_to_bin" not in model.state_dict()
    x = torch.randn(1, 1, 3000, generator=torch.Generator().manual_seed(0))
    spec = model.frontend.stft(x)
    _, gain, _ = model.classical(spec.real.square() + spec.imag.square())
    base = torch.logit(gain.clamp(cfg.gain_floor, 1 - cfg.gain_floor))
    with torch.no_grad():
        model.out.bias.fill_(0.7)  # the same correction in every band: the same in every bin
        mask = model.mask_from_spec(spec)
    assert torch.allclose(torch.logit(mask), base + 0.7, atol=1e-4)


def xi_model(**kw) -> NMMSE:
    cfg = NMMSEConfig(n_fft=256, hop_length=64, hidden_size=16, rnn_layers=1, output="xi", **kw)
    return seeded("nmmse", cfg).eval()


def test_xi_output_untrained_is_the_classical_gain() -> None:
    # logit(Phi(.)) of the decision-directed xi, mapped back, through the tabulated log-MMSE rule
    model = xi_model()
    x = torch.randn(1, 1, 3000, generator=torch.Generator().manual_seed(0))
    spec = model.frontend.stft(x)
    _, gain, _ = model.classical(spec.real.square() + spec.imag.square())
    with torch.no_grad():
        mask = model.mask_from_spec(spec)
    assert torch.allclose(mask, gain, rtol=2e-3, atol=1e-4), float((mask - gain).abs().max())


def test_xi_mapping_inverts_and_lsa_gain_matches_scipy() -> None:
    from audiorestore.classical.spectral import log_mmse_gain
    model = xi_model()
    xi = torch.logspace(-2.5, 4, 40)  # -25 .. 40 dB
    z = torch.logit(model.xi_probability(xi))
    assert torch.allclose(model.xi_from_logit(z), xi, rtol=1e-3)
    gamma = torch.logspace(-1, 3, 40)
    ref = log_mmse_gain(xi.double().numpy(), gamma.double().numpy())
    assert np.allclose(model.lsa_gain(xi, gamma).numpy(), ref, rtol=1e-4)


def test_xi_loss_trains_the_logits_towards_the_true_snr() -> None:
    from audiorestore.losses import get_loss, needs_model
    loss = get_loss("xi")
    assert needs_model(loss)
    model = xi_model()
    noisy, clean = speechlike_pair(2, 4000, snr_db=5.0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    with torch.no_grad():
        first = float(loss(model, noisy, clean))
    for _ in range(40):
        opt.zero_grad()
        value = loss(model, noisy, clean)
        value.backward()
        opt.step()
    value = float(value.detach())
    assert value < 0.9 * first, (first, value)
    # the exact target gives the smallest value the cross-entropy can take: its entropy
    goal = loss.target(model, noisy, clean)
    entropy = torch.nn.functional.binary_cross_entropy(goal, goal)
    assert value > float(entropy)


def test_xi_loss_refuses_a_model_without_xi_logits() -> None:
    import pytest
    from audiorestore.errors import ParameterError
    from audiorestore.losses import get_loss
    with pytest.raises(ParameterError, match="xi_logits"):
        get_loss("xi")(torch.nn.Identity(), torch.zeros(1, 1, 100), torch.zeros(1, 1, 100))
    with pytest.raises(ParameterError, match="output = 'xi'"):
        seeded("nmmse").xi_logits(torch.zeros(1, 129, 3, dtype=torch.complex64))
