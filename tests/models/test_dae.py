"""Frame-window denoising autoencoder (Maas et al. 2012): contract tests, context window, identity."""

from __future__ import annotations

import pytest
import torch

from audiorestore.errors import AudioInputError
from audiorestore.models.dae import DAE, DAEConfig
from audiorestore.models.layers import frame_context
from tests.models.helpers import (assert_checkpoint_round_trip, assert_deterministic, assert_shape_preserved,
                                  overfit, seeded, speechlike_pair)

torch.set_num_threads(1)


def test_shape_preserved_for_lengths_off_the_hop_grid() -> None:
    model = seeded("dae")
    assert_shape_preserved(model)
    assert model.valid_length(1001) == 1024 and model.valid_length(1024) == 1024  # hop 32


def test_default_config_shapes() -> None:
    model = DAE(DAEConfig())
    # 7-frame window of 201 bins (25 ms / 10 ms STFT at 16 kHz) in, one 201-bin frame out
    assert model.hidden[0].in_features == 201 * 7 and model.out.out_features == 201


def test_frame_context_window_is_centred_with_replicated_edges() -> None:
    feats = torch.arange(8.0).view(1, 2, 4)  # 2 features x 4 frames
    win = frame_context(feats, 1, 1)
    assert win.shape == (1, 4, 6)
    # frame 0: [frame 0 (replicated), frame 0, frame 1] each with features (f0, f1)
    assert win[0, 0].tolist() == [0.0, 4.0, 0.0, 4.0, 1.0, 5.0]
    assert win[0, 3].tolist() == [2.0, 6.0, 3.0, 7.0, 3.0, 7.0]


def test_zero_correction_passes_the_input_through() -> None:
    model = seeded("dae")
    torch.nn.init.zeros_(model.out.weight)
    torch.nn.init.zeros_(model.out.bias)
    noisy, _ = speechlike_pair(1, 2000)
    with torch.no_grad():
        assert torch.allclose(model(noisy), noisy, atol=1e-4)


def test_overfits_one_batch() -> None:
    noisy, clean = speechlike_pair(2, 4000)
    first, last = overfit(seeded("dae"), noisy, clean, steps=40)
    assert last < 0.5 * first, (first, last)  # waveform L1 falls below half its initial value


def test_direct_mapping_variant_trains() -> None:
    noisy, clean = speechlike_pair(2, 4000)
    cfg = DAEConfig(n_fft=128, hop_length=32, context=1, hidden_sizes=(48, 48), residual=False)
    first, last = overfit(seeded("dae", cfg), noisy, clean, steps=40)
    assert last < 0.5 * first, (first, last)


def test_checkpoint_round_trip(tmp_path) -> None:
    cfg = DAEConfig(n_fft=128, hop_length=32, context=2, hidden_sizes=(24, 16))
    assert_checkpoint_round_trip(tmp_path, "dae", seeded("dae", cfg), cfg)


def test_deterministic_under_seed() -> None:
    assert_deterministic("dae")


def test_wrong_shape_is_reported() -> None:
    with pytest.raises(AudioInputError, match=r"\(2, 100\)"):
        seeded("dae")(torch.randn(2, 100))
