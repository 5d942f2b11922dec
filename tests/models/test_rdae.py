"""Deep recurrent denoising autoencoder (Maas et al. 2012): contract tests, recurrence, causality."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from audiorestore.errors import ParameterError
from audiorestore.models.rdae import RDAE, RDAEConfig
from audiorestore.train.pretrain import pretrain_layerwise
from tests.models.helpers import (assert_checkpoint_round_trip, assert_deterministic, assert_shape_preserved,
                                  overfit, seeded, speechlike_pair)

torch.set_num_threads(1)


@pytest.mark.parametrize("rnn_type", ["rnn", "gru"])
def test_shape_preserved(rnn_type: str) -> None:
    cfg = RDAEConfig(n_fft=128, hop_length=32, context=1, hidden_sizes=(16, 16, 16), rnn_type=rnn_type)
    model = seeded("rdae", cfg)
    assert_shape_preserved(model, lengths=(1, 100, 1001, 3333))
    assert isinstance(model.hidden[1], nn.RNN if rnn_type == "rnn" else nn.GRU)


def test_recurrence_carries_information_forward_only() -> None:
    # On the hidden stack (after the context window): a change in frame 0 reaches later frames only
    # through the recurrent layer, and a change in frame 30 leaves frames 0..29 untouched.
    model = seeded("rdae").eval()
    x = torch.randn(1, 40, model.hidden[0].in_features, generator=torch.Generator().manual_seed(0))
    early, late = x.clone(), x.clone()
    early[:, 0] += 1.0
    late[:, 30:] += 1.0
    with torch.no_grad():
        y, y_early, y_late = model.hidden_forward(x), model.hidden_forward(early), model.hidden_forward(late)
    assert (y_early[:, 1:4] - y[:, 1:4]).abs().max() > 1e-4
    assert torch.equal(y_late[:, :30], y[:, :30])
    assert (y_late[:, 30:] - y[:, 30:]).abs().max() > 1e-6


def test_overfits_one_batch() -> None:
    noisy, clean = speechlike_pair(2, 4000)
    first, last = overfit(seeded("rdae"), noisy, clean, steps=40)
    assert last < 0.5 * first, (first, last)  # waveform L1 falls below half its initial value


def test_pretraining_stops_at_the_recurrent_layer() -> None:
    model = seeded("rdae")
    noisy, _ = speechlike_pair(2, 2000)
    history = pretrain_layerwise(model, [noisy], steps_per_layer=3)
    assert len(history) == 1  # only hidden[0] is fully connected before the recurrent layer


def test_bad_config_is_rejected() -> None:
    with pytest.raises(ParameterError, match="recurrent_layer"):
        RDAE(RDAEConfig(hidden_sizes=(8, 8), recurrent_layer=2))
    with pytest.raises(ParameterError, match="rnn_type"):
        RDAE(RDAEConfig(rnn_type="lstm"))


def test_checkpoint_round_trip(tmp_path) -> None:
    cfg = RDAEConfig(n_fft=128, hop_length=32, context=1, hidden_sizes=(16, 24, 16), rnn_type="rnn")
    assert_checkpoint_round_trip(tmp_path, "rdae", seeded("rdae", cfg), cfg)


def test_deterministic_under_seed() -> None:
    assert_deterministic("rdae")
