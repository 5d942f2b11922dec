"""Compact complex-ratio-mask network (Williamson et al. 2016, DCCRN-E bound): contract tests, bounded
mask, identity mask, causality, size and compute budget, MAC counter."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from audiorestore.models.crm import CRM, CRMConfig, bounded_complex_mask
from audiorestore.models.profiling import count_macs, macs_per_second
from tests.models.helpers import (assert_checkpoint_round_trip, assert_deterministic, assert_shape_preserved,
                                  overfit, seeded, speechlike_pair)

torch.set_num_threads(1)


def test_shape_preserved_for_lengths_off_the_hop_grid() -> None:
    model = seeded("crm")
    assert_shape_preserved(model)
    assert model.valid_length(1000) == 1024  # hop 64


@pytest.mark.parametrize("bound", [1.0, 1.5])
def test_mask_is_bounded(bound: float) -> None:
    z = 1e3 * torch.randn(2, 1000, generator=torch.Generator().manual_seed(0))
    m = bounded_complex_mask(z[0], z[1], bound)
    assert bool((m.abs() <= bound + 1e-6).all())
    model = seeded("crm", CRMConfig(n_fft=256, hop_length=64, conv_channels=(4, 8), hidden_size=32,
                                    rnn_layers=1, mask_bound=bound))
    with torch.no_grad():
        model.out.weight.mul_(1e3)  # drive the output far into saturation
        mask = model.mask(10 * torch.randn(2, 1, 3000))
    assert mask.is_complex() and mask.shape == (2, 129, 3000 // 64 + 1)
    assert bool((mask.abs() <= bound + 1e-6).all())


def test_identity_mask_gives_back_the_input() -> None:
    model = seeded("crm").eval()
    noisy, _ = speechlike_pair(2, 3001)
    spec = model.frontend.stft(noisy)
    with torch.no_grad():
        assert torch.allclose(model.apply_mask(spec, torch.ones_like(spec), noisy.shape[-1]), noisy, atol=1e-5)
        # a saturated real network output is the identity mask too: the whole model passes audio through
        torch.nn.init.zeros_(model.out.weight)
        model.out.bias[: spec.shape[1]] = 20.0
        model.out.bias[spec.shape[1]:] = 0.0
        assert torch.allclose(model(noisy), noisy, atol=1e-5)


def test_starts_near_pass_through() -> None:
    noisy, _ = speechlike_pair(1, 3000)
    with torch.no_grad():
        y = seeded("crm").eval()(noisy)
    # initial |mask| ~ tanh(2) = 0.96 with a small random phase: output close to the input
    assert float((y - noisy).pow(2).mean() / noisy.pow(2).mean()) < 0.1


def test_causal_apart_from_the_stft_window() -> None:
    model = seeded("crm").eval()  # n_fft 256: frames reach n_fft/2 samples into the future
    x = torch.randn(1, 1, 4000, generator=torch.Generator().manual_seed(0))
    x2 = x.clone()
    x2[..., 3000:] += 1.0
    with torch.no_grad():
        y, y2 = model(x), model(x2)
    assert torch.equal(y[..., : 3000 - 256], y2[..., : 3000 - 256])
    assert not torch.equal(y[..., 3000:], y2[..., 3000:])


def test_default_size_and_compute_budget() -> None:
    model = CRM(CRMConfig())
    params = sum(p.numel() for p in model.parameters())
    assert 500_000 <= params <= 2_000_000
    assert macs_per_second(model, 16000, seconds=1.0, meta=False) < 2e8  # < 0.2 GMAC per second of audio


def test_mac_counter_matches_hand_counts() -> None:
    lin = nn.Linear(10, 4)
    assert count_macs(lin, torch.zeros(3, 5, 10)) == 3 * 5 * 10 * 4
    conv = nn.Conv2d(2, 3, (2, 5), stride=(1, 2), padding=(0, 2))
    assert count_macs(conv, torch.zeros(1, 2, 6, 9)) == 3 * 5 * 5 * (2 * 2 * 5)  # out 3 x 5 x 5
    gru = nn.GRU(8, 16, num_layers=2, batch_first=True)
    assert count_macs(gru, torch.zeros(2, 7, 8)) == 2 * 7 * 3 * ((8 * 16 + 16 * 16) + (16 * 16 + 16 * 16))
    lstm = nn.LSTM(8, 4, bidirectional=True)
    assert count_macs(lstm, torch.zeros(5, 1, 8)) == 5 * 2 * 4 * (8 * 4 + 4 * 4)


def test_overfits_one_batch() -> None:
    noisy, clean = speechlike_pair(2, 4000)
    first, last = overfit(seeded("crm"), noisy, clean, steps=40)
    assert last < 0.5 * first, (first, last)  # waveform L1 falls below half its initial value


def test_checkpoint_round_trip(tmp_path) -> None:
    cfg = CRMConfig(n_fft=128, hop_length=32, conv_channels=(3, 5), hidden_size=12, rnn_layers=2)
    assert_checkpoint_round_trip(tmp_path, "crm", seeded("crm", cfg), cfg)


def test_deterministic_under_seed() -> None:
    assert_deterministic("crm")
