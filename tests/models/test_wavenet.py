"""Non-causal WaveNet denoiser (Rethage et al. 2018): contract tests, receptive field, target field,
energy-conserving loss."""

from __future__ import annotations

import pytest
import torch

from audiorestore.errors import AudioInputError, ParameterError
from audiorestore.losses.energy import energy_conserving_loss
from audiorestore.models.wavenet import WaveNet, WaveNetConfig
from tests.models.helpers import (assert_checkpoint_round_trip, assert_deterministic, assert_shape_preserved,
                                  overfit, seeded, speechlike_pair)

torch.set_num_threads(1)


def _formula(cfg: WaveNetConfig) -> int:
    return ((cfg.input_kernel_size - 1) + cfg.n_stacks * (cfg.kernel_size - 1) * (2 ** cfg.layers_per_stack - 1)
            + len(cfg.output_channels) * (cfg.output_kernel_size - 1) + 1)


def test_shape_preserved_for_any_length() -> None:
    model = seeded("wavenet")
    assert_shape_preserved(model)
    assert model.valid_length(1001) == 1001


def test_default_receptive_field_is_the_paper_s_plus_output_convs() -> None:
    cfg = WaveNetConfig()
    # 3 stacks x dilations 1..512 with 3-tap filters: 6139 samples (Sec. 3.1), + 2 x 2 for the 3-tap outputs
    assert WaveNet.receptive_field.fget(type("M", (), {"config": cfg})()) == _formula(cfg) == 6139 + 4


@pytest.mark.parametrize("cfg", [
    WaveNetConfig(n_stacks=1, layers_per_stack=3, residual_channels=4, skip_channels=4, output_channels=(4, 4)),
    WaveNetConfig(n_stacks=2, layers_per_stack=2, kernel_size=5, residual_channels=4, skip_channels=4,
                  output_channels=(4,), output_kernel_size=1, input_kernel_size=3),
])
def test_receptive_field_matches_formula_and_gradient_support(cfg: WaveNetConfig) -> None:
    model = seeded("wavenet", cfg).eval()
    r = model.receptive_field
    assert r == _formula(cfg)
    with torch.no_grad():  # positive weights and inputs keep every ReLU active: no zero gradients inside
        for p in model.parameters():
            p.abs_()
    x = torch.rand(1, 1, 2 * r + 11, generator=torch.Generator().manual_seed(0)).requires_grad_()
    y = model.forward_target_field(x)
    assert y.shape[-1] == x.shape[-1] - r + 1
    y[0, 0, r // 2].backward()
    support = torch.nonzero(x.grad[0, 0]).flatten()
    assert int(support.max() - support.min()) + 1 == r
    assert int(support.min()) == r // 2  # output j sees inputs j .. j + r - 1: centred, non-causal


def test_target_field_input_length_and_short_input() -> None:
    model = seeded("wavenet")
    cfg = model.config
    y = model.forward_target_field(torch.randn(2, 1, model.input_length(cfg.target_field)))
    assert y.shape == (2, 1, cfg.target_field)
    with pytest.raises(AudioInputError, match="receptive field"):
        model.forward_target_field(torch.randn(1, 1, model.receptive_field - 1))


def test_even_kernels_are_rejected() -> None:
    with pytest.raises(ParameterError, match="kernel_size"):
        WaveNet(WaveNetConfig(kernel_size=2))


def test_energy_conserving_loss_is_both_l1_terms() -> None:
    gen = torch.Generator().manual_seed(0)
    s, b, s_hat = (torch.randn(2, 1, 50, generator=gen) for _ in range(3))
    m = s + b
    expected = (s - s_hat).abs().mean() + (b - (m - s_hat)).abs().mean()
    assert torch.allclose(energy_conserving_loss(s_hat, s, m), expected)
    assert float(energy_conserving_loss(s, s, m)) == 0.0
    with pytest.raises(AudioInputError):
        energy_conserving_loss(s, s, m[..., :10])


def test_overfits_one_batch_with_the_energy_conserving_loss() -> None:
    noisy, clean = speechlike_pair(2, 4000)
    model = seeded("wavenet")
    first, last = overfit(model, noisy, clean, steps=40,
                          loss_fn=lambda est, ref: energy_conserving_loss(est, ref, noisy))
    assert last < 0.5 * first, (first, last)  # the loss falls below half its initial value


def test_checkpoint_round_trip(tmp_path) -> None:
    cfg = WaveNetConfig(n_stacks=2, layers_per_stack=2, residual_channels=6, skip_channels=5, output_channels=(7,))
    assert_checkpoint_round_trip(tmp_path, "wavenet", seeded("wavenet", cfg), cfg)


def test_deterministic_under_seed() -> None:
    assert_deterministic("wavenet")
