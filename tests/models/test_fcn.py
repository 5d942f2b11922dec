"""Fully convolutional raw-waveform network (Fu et al. 2017): contract tests, no dense layers,
receptive field, tanh output."""

from __future__ import annotations

import torch
from torch import nn

from audiorestore.models.fcn import FCN, FCNConfig
from tests.models.helpers import (assert_checkpoint_round_trip, assert_deterministic, assert_shape_preserved,
                                  overfit, seeded, speechlike_pair)

torch.set_num_threads(1)


def test_shape_preserved_for_any_length() -> None:
    model = seeded("fcn")
    assert_shape_preserved(model)
    assert model.valid_length(1001) == 1001


def test_only_convolutions_and_output_bounded() -> None:
    model = FCN(FCNConfig())
    assert not any(isinstance(m, nn.Linear) for m in model.modules())
    with torch.no_grad():
        y = model.eval()(100 * torch.randn(1, 1, 500))
    assert y.abs().max() <= 1.0


def test_receptive_field_matches_gradient_support() -> None:
    model = seeded("fcn").eval()
    x = torch.randn(1, 1, 201, requires_grad=True)
    model(x)[0, 0, 100].backward()
    support = torch.nonzero(x.grad[0, 0]).flatten()
    assert int(support.max() - support.min()) + 1 == model.receptive_field == 4 * 10 + 1


def test_overfits_one_batch() -> None:
    noisy, clean = speechlike_pair(2, 4000)
    first, last = overfit(seeded("fcn"), noisy, clean, steps=40)
    assert last < 0.5 * first, (first, last)  # waveform L1 falls below half its initial value


def test_checkpoint_round_trip(tmp_path) -> None:
    cfg = FCNConfig(n_layers=2, channels=6, kernel_size=9)
    model = seeded("fcn", cfg)
    overfit(model, *speechlike_pair(1, 1000), steps=2)  # non-trivial batch-norm running statistics
    assert_checkpoint_round_trip(tmp_path, "fcn", model, cfg)


def test_deterministic_under_seed() -> None:
    assert_deterministic("fcn")
