"""AudioUNet, TFiLM and MU-GAN (+ discriminator, feature autoencoder): shapes, overfitting, checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from audiorestore.losses.ae_feature import AutoencoderFeatureLoss
from audiorestore.metrics import lsd_hf
from audiorestore.models.registry import build_model, get_family, list_families
from audiorestore.superres import interpolate
from audiorestore.train.checkpoint import load_model, save_model

from .conftest import harmonic_tone

UPSAMPLE_FAMILIES = ["audiounet", "tfilm", "mugan"]
ALL_FAMILIES = UPSAMPLE_FAMILIES + ["mugan_ae"]


def _tiny(family: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(family, get_family(family).tiny())


def _batch() -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """(spline-interpolated 16 kHz input, 48 kHz target) for four harmonic tones, 1152 samples each."""
    hr = np.stack([harmonic_tone(1152, 48000, f0) for f0 in (400.0, 600.0, 750.0, 1000.0)])
    inp = interpolate(hr[:, ::3], 16000, 48000, "spline")  # the tones' harmonics above 8 kHz alias: hard input
    return torch.tensor(inp[:, None], dtype=torch.float32), torch.tensor(hr[:, None], dtype=torch.float32), inp


def test_families_are_registered_with_their_tasks() -> None:
    assert {s.name for s in list_families("upsample")} >= set(UPSAMPLE_FAMILIES)
    assert get_family("mugan_ae").task == "autoencode"
    assert get_family("mugan").discriminator is not None
    for fam in ALL_FAMILIES:
        cfg = get_family(fam).config_cls()
        assert cfg.sample_rate == 48000
        if fam != "mugan_ae":
            assert cfg.input_rate == 16000


@pytest.mark.parametrize("family", ALL_FAMILIES)
@pytest.mark.parametrize("length", [1, 250, 513])
def test_models_keep_any_length(family: str, length: int) -> None:
    model = _tiny(family).eval()
    x = torch.randn(2, 1, length)
    y = model(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()
    hop = model.config.hop
    assert model.valid_length(length) % hop == 0 and model.valid_length(length) >= length


@pytest.mark.parametrize("family", ALL_FAMILIES)
def test_models_reject_a_wrong_shape_naming_it(family: str) -> None:
    with pytest.raises(ValueError, match=r"\(2, 3, 100\)"):
        _tiny(family)(torch.randn(2, 3, 100))


@pytest.mark.parametrize("family", UPSAMPLE_FAMILIES)
def test_model_overfits_one_batch(family: str) -> None:
    """50 Adam steps (lr 1e-2) on one batch of 4 x 1152 samples: the L2 loss falls below 30 % of its
    start (measured: AudioUNet 8 %, TFiLM 5 %, MU-GAN 16 %), and the high band gets closer (LSD-HF)."""
    torch.manual_seed(0)
    model = _tiny(family)
    x, y, inp = _batch()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(50):
        loss = torch.mean((model(x) - y) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
    with torch.no_grad():
        est = model.eval()(x)[:, 0].numpy()
    ref = y[:, 0].numpy()
    before = np.mean([lsd_hf(r, i, 48000, 8000) for r, i in zip(ref, inp)])
    after = np.mean([lsd_hf(r, e, 48000, 8000) for r, e in zip(ref, est)])
    assert after < before


def test_feature_autoencoder_overfits_one_batch() -> None:
    """50 Adam steps: reconstruction L2 falls below 10 % of its start (measured 0.7 %)."""
    torch.manual_seed(0)
    model = _tiny("mugan_ae")
    _, y, _ = _batch()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = last = 0.0
    for step in range(50):
        loss = torch.mean((model(y) - y) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = loss.item() if step == 0 else first
        last = loss.item()
    assert last < 0.1 * first


@pytest.mark.parametrize("family", ALL_FAMILIES)
def test_strict_save_load_round_trip(family: str, tmp_path: Path) -> None:
    model = _tiny(family).eval()
    cfg = model.config
    path = save_model(tmp_path / f"{family}.pt", model, family, cfg, cfg.sample_rate)
    loaded, meta = load_model(path)
    assert meta["family"] == family and meta["sample_rate"] == 48000
    assert loaded.config == cfg
    assert loaded.state_dict().keys() == model.state_dict().keys()
    x = torch.randn(1, 1, 300)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_mugan_discriminator_scores_any_length_and_returns_features() -> None:
    cfg = get_family("mugan").tiny()
    disc = get_family("mugan").discriminator(cfg)
    score, feats = disc(torch.randn(3, 1, 777))
    assert score.shape == (3, 1)
    assert len(feats) == len(cfg.disc_filters)
    assert all(f.shape[0] == 3 and f.dim() == 3 for f in feats)
    score.sum().backward()  # differentiable end to end
    assert all(p.grad is not None for p in disc.parameters())


def test_conditional_mugan_discriminator_needs_cond() -> None:
    from dataclasses import replace

    cfg = replace(get_family("mugan").tiny(), disc_conditional=True)
    disc = get_family("mugan").discriminator(cfg)
    x = torch.randn(2, 1, 256)
    assert disc(x, cond=x)[0].shape == (2, 1)
    with pytest.raises(ValueError, match="pass cond"):
        disc(x)


def test_autoencoder_feature_loss(tmp_path: Path) -> None:
    ae = _tiny("mugan_ae")
    path = save_model(tmp_path / "ae.pt", ae, "mugan_ae", ae.config, 48000)
    loss = AutoencoderFeatureLoss(path)
    target = torch.randn(2, 1, 512)
    estimate = (target + 0.1 * torch.randn_like(target)).requires_grad_(True)
    assert float(loss(target, target)) == 0.0
    value = loss(estimate, target)
    assert value.dim() == 0 and value.item() > 0.0
    value.backward()
    assert estimate.grad is not None and torch.any(estimate.grad != 0)
    assert all(p.grad is None and not p.requires_grad for p in loss.net.parameters())  # frozen
    assert loss.train().net.training is False
    only_bottleneck = AutoencoderFeatureLoss(ae, layers=[-1])
    assert only_bottleneck.layers == [len(ae.encoder.blocks)]


def test_autoencoder_feature_loss_rejects_other_checkpoints(tiny_checkpoint) -> None:
    from audiorestore.errors import ParameterError

    with pytest.raises(ParameterError, match="mugan_ae"):
        AutoencoderFeatureLoss(tiny_checkpoint("audiounet"))
