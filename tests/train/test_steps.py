"""Step functions: each returns named losses and moves the right weights."""

from __future__ import annotations

import torch
from torch import nn

from audiorestore.losses import l1_loss, l2_loss
from audiorestore.models.registry import build_model, get_family
from audiorestore.train.steps import StepContext, gan_step, prior_fit_step, supervised_step

torch.set_num_threads(1)


def _ctx(model, disc=None, lr=1e-2, **kw):
    opts = {"generator": torch.optim.Adam(model.parameters(), lr=lr)}
    if disc is not None:
        opts["discriminator"] = torch.optim.Adam(disc.parameters(), lr=lr)

    def update(name, loss):
        opts[name].zero_grad(set_to_none=True)
        loss.backward()
        opts[name].step()

    return StepContext(model=model, disc=disc, update=update, **kw)


def test_supervised_step_overfits_one_batch():
    torch.manual_seed(0)
    model = build_model("fcn", get_family("fcn").tiny())
    g = torch.Generator().manual_seed(0)
    clean = 0.3 * torch.sin(torch.arange(512) / 5.0).repeat(2, 1, 1)
    noisy = clean + 0.05 * torch.randn(2, 1, 512, generator=g)
    ctx = _ctx(model, losses={"l1": l1_loss}, weights={"l1": 1.0})
    first = supervised_step(ctx, (noisy, clean))
    for _ in range(40):
        last = supervised_step(ctx, (noisy, clean))
    assert set(first) == {"l1", "loss"} and not first["loss"].requires_grad
    assert float(last["loss"]) < 0.5 * float(first["loss"])


def test_gan_step_updates_discriminator_then_generator():
    torch.manual_seed(0)
    spec = get_family("segan")
    model, disc = build_model("segan", spec.tiny()), spec.discriminator(spec.tiny())
    noisy, clean = torch.randn(2, 1, 256) * 0.1, torch.randn(2, 1, 256) * 0.1
    g0 = [p.detach().clone() for p in model.parameters()]
    d0 = [p.detach().clone() for p in disc.parameters()]
    ctx = _ctx(model, disc, losses={"l1": l1_loss}, weights={"l1": 100.0, "adv": 1.0, "feature_matching": 1.0},
               generator=torch.Generator().manual_seed(0))
    out = gan_step(ctx, (noisy, clean))
    assert set(out) == {"disc", "adv", "feature_matching", "l1", "loss"}
    expected = 100 * out["l1"] + out["adv"] + out["feature_matching"]
    torch.testing.assert_close(out["loss"], expected, rtol=1e-5, atol=1e-5)
    assert any(not torch.equal(a, b) for a, b in zip(g0, model.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, disc.parameters()))
    ctx.step, ctx.disc_start = 0, 5  # before disc_start: reconstruction only, discriminator untouched
    d1 = [p.detach().clone() for p in disc.parameters()]
    out = gan_step(ctx, (noisy, clean))
    assert set(out) == {"l1", "loss"}
    assert all(torch.equal(a, b) for a, b in zip(d1, disc.parameters()))


def test_prior_fit_step_fits_a_signal_from_fixed_noise():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv1d(1, 16, 9, padding=4), nn.Tanh(), nn.Conv1d(16, 1, 9, padding=4))
    z = torch.randn(1, 1, 400)
    target = 0.5 * torch.sin(torch.arange(400) / 9.0)[None, None]
    ctx = _ctx(net, losses={"l2": l2_loss}, weights={"l2": 1.0})
    losses = [float(prior_fit_step(ctx, (z, target))["loss"]) for _ in range(150)]
    assert losses[-1] < 0.2 * losses[0]


def test_segan_losses_are_taken_on_pre_emphasised_audio():
    """Pascual et al. 2017, Sec. 4.2: the L1 term (and the discriminator) work on pre-emphasised signals."""
    from audiorestore.models.neural import forward_any_length
    from audiorestore.models.segan import preemphasis
    from audiorestore.train.steps import loss_view

    torch.manual_seed(0)
    model = build_model("segan", get_family("segan").tiny())
    g = torch.Generator().manual_seed(1)
    noisy, clean = 0.1 * torch.randn(2, 1, 256, generator=g), 0.1 * torch.randn(2, 1, 256, generator=g)
    with torch.no_grad():
        est = forward_any_length(model, noisy)
    coef = model.config.preemphasis
    expected = l1_loss(preemphasis(est, coef), preemphasis(clean, coef))
    raw = l1_loss(est, clean)
    ctx = _ctx(model, losses={"l1": l1_loss}, weights={"l1": 1.0}, lr=0.0)
    out = supervised_step(ctx, (noisy, clean))
    torch.testing.assert_close(out["l1"], expected, rtol=1e-4, atol=1e-6)
    assert abs(float(raw) - float(expected)) > 1e-3  # the two domains differ, so the test can tell them apart
    # a model without loss_view is left alone
    x = torch.randn(1, 1, 8)
    assert loss_view(nn.Identity(), x)[0] is x
