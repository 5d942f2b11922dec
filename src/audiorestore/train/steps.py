"""Step functions: one optimisation step each, returning a named dict of (detached) losses.

A step function is ``step(ctx, batch) -> dict[str, Tensor]``. It runs the forward passes, combines
the losses with the config's ``{name: weight}`` dict and hands each total to ``ctx.update(name, loss)``,
which does the backward pass, gradient scaling and clipping and the optimizer step for the optimizer
``name`` (the :class:`~audiorestore.train.trainer.Trainer` owns devices and optimizers; the steps own
the maths). ``"loss"`` in the returned dict is the generator's weighted total.

* :func:`supervised_step`: weighted reconstruction losses on ``model(noisy)`` vs ``clean``.
* :func:`gan_step`: discriminator first, then generator (descript-audio-codec's train loop; SEGAN,
  Pascual et al. 2017, Sec. 3): adversarial + feature matching + reconstruction terms.
* :func:`prior_fit_step`: per-file fitting of a network to one signal (Deep Network Prior,
  Michelashvili and Wolf 2019, Sec. 3): the batch is ``(network input, signal to fit)``.

Losses and discriminators see the signals through :func:`loss_view` (the model's ``loss_view`` when it
has one: SEGAN's pre-emphasis).

Example:
    >>> losses = supervised_step(ctx, (noisy, clean))      # doctest: +SKIP
    >>> sorted(losses)                                     # doctest: +SKIP
    ['l1', 'loss', 'mrstft']
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..losses import LossFn, needs_model, needs_noisy
from ..losses.adversarial import discriminator_loss, feature_matching_loss, generator_loss
from ..models.neural import forward_any_length

Batch = tuple[Tensor, Tensor]


@dataclass
class StepContext:
    """What a step function may use. ``update(name, loss)`` backpropagates ``loss`` and steps the
    optimizer ``name`` ("generator" or "discriminator")."""

    model: nn.Module
    losses: dict[str, LossFn]
    weights: dict[str, float]
    update: Callable[[str, Tensor], None]
    step: int = 0
    disc: nn.Module | None = None
    gan_kind: str = "lsgan"
    conditional: bool = True
    disc_start: int = 0
    generator: torch.Generator | None = None
    autocast: Callable[[], contextlib.AbstractContextManager[Any]] = field(default=contextlib.nullcontext)


StepFn = Callable[[StepContext, Batch], dict[str, Tensor]]


def reconstruction_terms(estimate: Tensor | None, target: Tensor, losses: dict[str, LossFn],
                         noisy: Tensor | None = None, model: nn.Module | None = None) -> dict[str, Tensor]:
    """Each named reconstruction loss of ``estimate`` against ``target``; losses marked
    ``needs_noisy`` (e.g. the energy-conserving loss) also get the noisy input, ``fn(estimate, target, noisy)``;
    losses marked ``needs_model`` (Deep Xi's a priori SNR target) are ``fn(model, noisy, target)``
    and need no estimate.

    Shape:
        estimate, target, noisy ``(batch, 1, time)`` -> ``{name: scalar}``.

    Example:
        >>> from audiorestore.losses import get_loss
        >>> s, m = torch.zeros(1, 1, 4), torch.ones(1, 1, 4)
        >>> {k: float(v) for k, v in reconstruction_terms(s, s, {"energy": get_loss("energy")}, noisy=m).items()}
        {'energy': 0.0}
    """
    terms = {}
    for name, fn in losses.items():
        if needs_model(fn):
            if model is None or noisy is None:
                raise ValueError(f"loss '{name}' needs the model and the noisy input; pass model= and noisy=")
            terms[name] = fn(model, noisy, target)
            continue
        if estimate is None:
            raise ValueError(f"loss '{name}' needs the model's estimate")
        if needs_noisy(fn):
            if noisy is None:
                raise ValueError(f"loss '{name}' needs the noisy input; pass noisy=")
            if noisy.shape != estimate.shape:
                raise ValueError(f"loss '{name}': the noisy input has shape {tuple(noisy.shape)}, the estimate "
                                 f"{tuple(estimate.shape)}")
            terms[name] = fn(estimate, target, noisy)
        else:
            terms[name] = fn(estimate, target)
    return terms


def weighted_total(terms: dict[str, Tensor], weights: dict[str, float]) -> Tensor:
    """``sum(weights[name] * terms[name])`` over the terms that have a weight.

    Example:
        >>> float(weighted_total({"l1": torch.tensor(2.0), "adv": torch.tensor(1.0)}, {"l1": 0.5, "adv": 2.0}))
        3.0
    """
    total: Tensor | None = None
    for name, value in terms.items():
        w = float(weights.get(name, 0.0))
        if w:
            total = value.float() * w if total is None else total + value.float() * w
    if total is None:
        raise ValueError(f"no loss term has a non-zero weight (terms {sorted(terms)}, weights {weights})")
    return total


def loss_view(model: nn.Module, *signals: Tensor | None) -> tuple[Tensor | None, ...]:
    """The signals as the model's losses see them: through ``model.loss_view`` when the model defines
    one (SEGAN computes its losses on pre-emphasised audio), else unchanged. A
    DistributedDataParallel wrapper is looked through.

    Example:
        >>> loss_view(nn.Identity(), torch.ones(1, 1, 2))[0].shape
        torch.Size([1, 1, 2])
    """
    view = getattr(getattr(model, "module", model), "loss_view", None)
    return signals if view is None else tuple(s if s is None else view(s) for s in signals)


def _detached(terms: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach().float() for k, v in terms.items()}


def supervised_step(ctx: StepContext, batch: Batch) -> dict[str, Tensor]:
    """One step of regression from noisy to clean waveforms.

    Shape:
        batch ``(noisy, clean)``, each ``(batch, 1, time)``.
    """
    noisy, clean = batch
    with ctx.autocast():
        estimate = None
        if not all(needs_model(fn) for fn in ctx.losses.values()):  # Deep Xi's target needs no waveform
            estimate = forward_any_length(ctx.model, noisy, generator=ctx.generator)
        estimate, clean, noisy = loss_view(ctx.model, estimate, clean, noisy)
        terms = reconstruction_terms(estimate, clean, ctx.losses, noisy=noisy, model=ctx.model)
        total = weighted_total(terms, ctx.weights)
    ctx.update("generator", total)
    return _detached({**terms, "loss": total})


def _discriminate(disc: nn.Module, x: Tensor, cond: Tensor | None) -> tuple[Any, Any]:
    return disc(x, cond=cond)


def _split(scores: Any, n: int) -> tuple[Any, Any]:
    """Split discriminator outputs of a concatenated (real; fake) batch into real and fake halves."""
    if isinstance(scores, Tensor):
        return scores[:n], scores[n:]
    pairs = [_split(s, n) for s in scores]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def gan_step(ctx: StepContext, batch: Batch) -> dict[str, Tensor]:
    """Discriminator step, then generator step.

    Real and generated audio go through the discriminator as one concatenated batch, so each
    (DistributedDataParallel) discriminator runs one forward pass per backward pass, and batch
    statistics see both. Before ``ctx.disc_start`` steps only the reconstruction terms train.

    Shape:
        batch ``(noisy, clean)``, each ``(batch, 1, time)``.
    """
    if ctx.disc is None:
        raise ValueError("gan_step needs a discriminator (ctx.disc)")
    noisy, clean = batch
    n = noisy.shape[0]
    with ctx.autocast():
        estimate = forward_any_length(ctx.model, noisy, generator=ctx.generator)
        estimate, clean, noisy = loss_view(ctx.model, estimate, clean, noisy)
    cond = torch.cat([noisy, noisy]) if ctx.conditional else None
    adversarial = ctx.step >= ctx.disc_start
    out: dict[str, Tensor] = {}
    if adversarial:
        with ctx.autocast():
            scores, _ = _discriminate(ctx.disc, torch.cat([clean, estimate.detach()]), cond)
            real, fake = _split(scores, n)
            d_loss = discriminator_loss(real, fake, ctx.gan_kind)  # type: ignore[arg-type]
        ctx.update("discriminator", d_loss)
        out["disc"] = d_loss
    with ctx.autocast():
        terms = reconstruction_terms(estimate, clean, ctx.losses, noisy=noisy, model=ctx.model)
        if adversarial:
            scores, features = _discriminate(ctx.disc, torch.cat([clean, estimate]), cond)
            _, fake = _split(scores, n)
            terms["adv"] = generator_loss(fake, ctx.gan_kind)  # type: ignore[arg-type]
            if ctx.weights.get("feature_matching", 0.0):
                real_f, fake_f = _split(features, n)
                terms["feature_matching"] = feature_matching_loss(fake_f, real_f)
        total = weighted_total(terms, ctx.weights)
    ctx.update("generator", total)
    return _detached({**out, **terms, "loss": total})


def prior_fit_step(ctx: StepContext, batch: Batch) -> dict[str, Tensor]:
    """One step of fitting a network to a single signal from a fixed input (a deep prior).

    Deep Network Prior (M. Michelashvili and L. Wolf, "Speech denoising by accumulating
    per-frequency modeling fluctuations", 2019, Sec. 3) and Deep Image Prior (Ulyanov et al. 2018,
    Eq. 2) minimise ``loss(f(z), x)`` over the weights for one noisy ``x`` and a fixed random ``z``.

    Shape:
        batch ``(z, target)``: the network input and the signal to fit, ``(batch, channels, time)``.
    """
    z, target = batch
    with ctx.autocast():
        estimate = ctx.model(z)
        terms = reconstruction_terms(estimate, target, ctx.losses)  # no noisy input: z is a random code
        total = weighted_total(terms, ctx.weights)
    ctx.update("generator", total)
    return _detached({**terms, "loss": total})


STEPS: dict[str, StepFn] = {"supervised": supervised_step, "gan": gan_step, "prior": prior_fit_step}
