"""SEGAN (Pascual et al. 2017): shapes, emphasis, VBN reference statistics, one-batch overfit, one
LSGAN step, determinism, strict checkpoint round trip."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from audiorestore.models.registry import build_model, get_family
from audiorestore.models.segan import (SEGAN, SEGANConfig, SEGANDiscriminator, VirtualBatchNorm, deemphasis,
                                       preemphasis)
from audiorestore.train.checkpoint import load_model, save_model

torch.set_num_threads(1)


def _seeded(cls, cfg, seed: int = 0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(cfg)


def _sine_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """(noisy, clean) ``(4, 1, 512)``: a 300 Hz sine in white noise."""
    g = torch.Generator().manual_seed(0)
    t = torch.arange(512) / 16000
    clean = (0.5 * torch.sin(2 * torch.pi * 300 * t)).expand(4, 1, 512).clone()
    return clean + 0.1 * torch.randn(4, 1, 512, generator=g), clean


def _fit_l1(model, noisy, clean, z, steps: int, lr: float) -> tuple[float, float]:
    """L1 on one batch for ``steps`` Adam steps: (loss before, loss after)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    first = F.l1_loss(model(noisy, z), clean).item()
    for _ in range(steps):
        loss = F.l1_loss(model(noisy, z), clean)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return first, F.l1_loss(model(noisy, z), clean).item()


@pytest.mark.parametrize("length", [1, 100, 256, 1000])
def test_generator_keeps_shape_for_any_length(length: int) -> None:
    model = _seeded(SEGAN, SEGANConfig.tiny()).eval()
    y = model(torch.randn(2, 1, length))
    assert y.shape == (2, 1, length)
    assert model.valid_length(length) % 16 == 0 and model.valid_length(length) >= length


def test_default_config_is_the_paper_s() -> None:
    cfg = SEGANConfig()
    assert cfg.kernel_size == 31 and cfg.stride == 2 and cfg.preemphasis == 0.95
    assert cfg.segment_length // cfg.hop == 8 and cfg.channels[-1] == 1024  # 8 x 1024 thought vector


def test_residual_generator_starts_as_the_identity_and_learns() -> None:
    cfg = SEGANConfig(channels=(4, 8, 8, 16), kernel_size=15, z_channels=8, segment_length=256, residual=True)
    model = _seeded(SEGAN, cfg).train()
    noisy, clean = _sine_batch()
    z = model.sample_z(4, 512, torch.Generator().manual_seed(3))
    assert torch.allclose(model(noisy, z), noisy, atol=1e-5)  # zero-initialised last layer: output = input
    first, last = _fit_l1(model, noisy, clean, z, steps=200, lr=1e-2)
    assert last < 0.7 * first, (first, last)  # stated drop: at least 30 % in 200 steps
    assert not SEGANConfig().residual  # the paper's generator stays the default


def test_wrong_shape_is_reported() -> None:
    with pytest.raises(ValueError, match=r"\(2, 16\)"):
        SEGAN(SEGANConfig.tiny())(torch.randn(2, 16))


def test_deemphasis_inverts_preemphasis() -> None:
    x = torch.randn(3, 1, 2000, dtype=torch.float64)
    assert torch.allclose(deemphasis(preemphasis(x, 0.95), 0.95), x, atol=1e-10)
    assert torch.allclose(preemphasis(deemphasis(x, 0.95), 0.95), x, atol=1e-10)


def test_latent_code_is_deterministic_and_used() -> None:
    model = _seeded(SEGAN, SEGANConfig.tiny()).eval()
    x = torch.randn(2, 1, 256)
    assert torch.equal(model(x), model(x))  # inference: fixed z seed
    a = model(x, generator=torch.Generator().manual_seed(1))
    b = model(x, generator=torch.Generator().manual_seed(1))
    c = model(x, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.allclose(a, c)


def test_vbn_output_does_not_depend_on_the_rest_of_the_batch() -> None:
    vbn = VirtualBatchNorm(3)
    stats = vbn.reference_stats(torch.randn(8, 3, 50) * 2 + 1)
    x = torch.randn(4, 3, 50)
    alone = vbn(x[:1], stats)
    assert torch.allclose(vbn(x, stats)[:1], alone, atol=1e-6)
    assert torch.allclose(vbn(x[:1]), alone, atol=1e-6)  # stored buffers = same reference statistics


def test_discriminator_uses_reference_statistics() -> None:
    cfg = SEGANConfig.tiny()
    disc = _seeded(SEGANDiscriminator, cfg)
    g = torch.Generator().manual_seed(0)
    disc.set_reference(torch.randn(6, 1, 256, generator=g), torch.randn(6, 1, 256, generator=g))
    x, cond = torch.randn(4, 1, 256, generator=g), torch.randn(4, 1, 256, generator=g)
    score, feats = disc(x, cond)  # training mode: reference batch re-propagated
    assert score.shape == (4, 1) and len(feats) == cfg.n_layers
    assert torch.allclose(disc(x[:1], cond[:1])[0], score[:1], atol=1e-5)
    disc.eval()
    assert torch.allclose(disc(x[:1], cond[:1])[0], score[:1], atol=1e-5)
    assert torch.allclose(disc(x[1:], cond[1:])[0], score[1:], atol=1e-5)


def test_generator_overfits_one_batch_with_l1() -> None:
    model = _seeded(SEGAN, SEGANConfig.tiny()).train()
    noisy, clean = _sine_batch()
    z = model.sample_z(4, 512, torch.Generator().manual_seed(3))
    first, last = _fit_l1(model, noisy, clean, z, steps=60, lr=2e-3)
    assert last < 0.3 * first, (first, last)  # stated drop: at least 70 % in 60 steps


def test_one_lsgan_step_updates_both_networks() -> None:
    cfg = SEGANConfig.tiny()
    gen = _seeded(SEGAN, cfg, 0)
    disc = get_family("segan").discriminator(cfg)
    assert isinstance(disc, SEGANDiscriminator)
    g = torch.Generator().manual_seed(0)
    clean = torch.randn(4, 1, 256, generator=g) * 0.3
    noisy = clean + 0.1 * torch.randn(4, 1, 256, generator=g)
    disc.set_reference(clean, noisy)
    opt_g = torch.optim.RMSprop(gen.parameters(), lr=2e-4)  # Sec. 4.2: RMSprop, lr 0.0002
    opt_d = torch.optim.RMSprop(disc.parameters(), lr=2e-4)
    g0 = [p.detach().clone() for p in gen.parameters()]
    d0 = [p.detach().clone() for p in disc.parameters()]
    # discriminator: LSGAN, real pairs -> 1, fake pairs -> 0
    fake = gen(noisy, generator=g).detach()
    d_loss = 0.5 * ((disc(clean, noisy)[0] - 1) ** 2).mean() + 0.5 * (disc(fake, noisy)[0] ** 2).mean()
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    # generator: LSGAN towards 1 plus 100 x L1 (Sec. 3)
    fake = gen(noisy, generator=g)
    g_loss = 0.5 * ((disc(fake, noisy)[0] - 1) ** 2).mean() + 100 * F.l1_loss(fake, clean)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    assert torch.isfinite(d_loss) and torch.isfinite(g_loss)
    assert any(not torch.equal(a, b) for a, b in zip(g0, gen.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, disc.parameters()))


def test_checkpoint_round_trip_is_strict_and_exact(tmp_path) -> None:
    cfg = SEGANConfig.tiny()
    model = _seeded(SEGAN, cfg, 5).eval()
    path = save_model(tmp_path / "segan.pt", model, "segan", cfg, 16000)
    loaded, meta = load_model(path)
    assert meta["family"] == "segan" and isinstance(loaded, SEGAN)
    x = torch.randn(1, 1, 300)
    assert torch.equal(loaded(x), model(x))
    disc = _seeded(SEGANDiscriminator, cfg, 1)
    disc(torch.randn(2, 1, 256), torch.randn(2, 1, 256))  # sets the VBN reference statistics
    disc.eval()
    other = SEGANDiscriminator(cfg)
    other.load_state_dict(disc.state_dict(), strict=True)
    other.eval()
    a, b = torch.randn(1, 1, 256), torch.randn(1, 1, 256)
    assert torch.equal(other(a, b)[0], disc(a, b)[0])
    assert isinstance(build_model("segan", get_family("segan").tiny()), SEGAN)


def test_seeded_builds_are_identical() -> None:
    a, b = _seeded(SEGAN, SEGANConfig.tiny(), 7), _seeded(SEGAN, SEGANConfig.tiny(), 7)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
