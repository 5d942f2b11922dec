"""Deep denoising autoencoder on Mel spectra (Lu et al. 2013): contract tests, mel-gain resynthesis,
greedy layer-wise pretraining."""

from __future__ import annotations

import pytest
import torch

from audiorestore.errors import ParameterError
from audiorestore.models.ddae_mel import DDAEMelConfig
from audiorestore.models.layers import mel_filterbank, mel_gain_to_linear
from audiorestore.train.pretrain import pretrain_layerwise
from tests.models.helpers import (assert_checkpoint_round_trip, assert_deterministic, assert_shape_preserved,
                                  overfit, seeded, speechlike_pair)

torch.set_num_threads(1)


def test_shape_preserved_for_lengths_off_the_hop_grid() -> None:
    model = seeded("ddae_mel")
    assert_shape_preserved(model)
    assert model.valid_length(1000) == 1024  # hop 64


def test_gain_interpolation_keeps_constants_and_covers_every_bin() -> None:
    fb = mel_filterbank(40, 512, 16000)
    w = mel_gain_to_linear(fb)
    assert w.shape == (257, 40)
    assert torch.allclose(w.sum(1), torch.ones(257))  # a constant band gain maps to the same constant
    assert (w >= 0).all()
    assert w[0].argmax() == 0 and w[-1].argmax() == 39  # DC and Nyquist take the nearest band


def test_too_many_mel_bands_are_rejected() -> None:
    with pytest.raises(ParameterError, match="mel bands"):
        mel_filterbank(128, 128, 16000)


def test_unit_gain_returns_the_input() -> None:
    model = seeded("ddae_mel")
    torch.nn.init.zeros_(model.out.weight)
    torch.nn.init.zeros_(model.out.bias)  # residual: clean log-Mel == noisy log-Mel, band gains 1
    noisy, _ = speechlike_pair(1, 2000)
    with torch.no_grad():
        assert torch.allclose(model(noisy), noisy, atol=1e-4)


def test_gain_is_capped() -> None:
    model = seeded("ddae_mel", DDAEMelConfig(n_fft=256, hop_length=64, n_mels=16, context=1,
                                             hidden_sizes=(8,), max_gain=1.0))
    torch.nn.init.zeros_(model.out.weight)
    torch.nn.init.constant_(model.out.bias, 50.0)  # asks for a huge gain everywhere
    noisy, _ = speechlike_pair(1, 2000)
    with torch.no_grad():
        y = model(noisy)
    assert torch.allclose(y, noisy, atol=1e-4)  # capped at 1.0: unchanged


def test_overfits_one_batch() -> None:
    noisy, clean = speechlike_pair(2, 4000)
    first, last = overfit(seeded("ddae_mel"), noisy, clean, steps=40)
    assert last < 0.5 * first, (first, last)  # waveform L1 falls below half its initial value


@pytest.mark.parametrize("corruption", ["gaussian", "masking"])
def test_layerwise_pretraining_reduces_each_layer_s_reconstruction_loss(corruption: str) -> None:
    model = seeded("ddae_mel", DDAEMelConfig(n_fft=256, hop_length=64, n_mels=16, context=1,
                                             hidden_sizes=(32, 24, 16), activation="sigmoid"))
    out_before = model.out.weight.detach().clone()
    noisy, clean = speechlike_pair(2, 4000)
    history = pretrain_layerwise(model, [(noisy, clean)], steps_per_layer=60, lr=1e-2, corruption=corruption)
    assert [h.layer for h in history] == [0, 1, 2]
    for h in history:
        assert len(h.losses) == 60
        assert h.last < 0.5 * h.first, (h.layer, h.first, h.last)  # each layer halves its error
    assert torch.equal(model.out.weight, out_before)  # the output layer is left to fine-tuning


def test_pretraining_rejects_models_without_stacked_layers() -> None:
    with pytest.raises(ParameterError, match="pretrain"):
        pretrain_layerwise(seeded("fcn"), [torch.zeros(1, 1, 100)], steps_per_layer=1)
    with pytest.raises(ParameterError, match="batch"):
        pretrain_layerwise(seeded("ddae_mel"), [], steps_per_layer=1)


def test_checkpoint_round_trip(tmp_path) -> None:
    cfg = DDAEMelConfig(n_fft=256, hop_length=64, n_mels=20, context=2, hidden_sizes=(16, 12))
    model = seeded("ddae_mel", cfg)
    assert "fb" not in model.state_dict()  # derived buffers are rebuilt from the config
    assert_checkpoint_round_trip(tmp_path, "ddae_mel", model, cfg)


def test_deterministic_under_seed() -> None:
    assert_deterministic("ddae_mel")
