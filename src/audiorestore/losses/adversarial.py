"""Adversarial losses as tiny pure functions over discriminator outputs (as hifi-gan's
``discriminator_loss`` / ``generator_loss`` / ``feature_loss``).

A discriminator returns ``(score, features)``; multi-scale or multi-period discriminators return a
list of scores and a list of feature lists. Every function here accepts a tensor or a (nested) list
of tensors and averages over the sub-discriminators.

Kinds:
    * ``"lsgan"``: least squares (X. Mao et al., "Least Squares Generative Adversarial Networks",
      ICCV 2017, Eq. 2 with a=0, b=c=1); SEGAN's choice (Pascual et al. 2017, Eq. 3-4).
    * ``"hinge"``: J. H. Lim and J. C. Ye, "Geometric GAN", 2017; T. Miyato et al., "Spectral
      normalization for GANs", ICLR 2018, Eq. 16-17.
    * ``"nsgan"``: the non-saturating loss of I. Goodfellow et al., "Generative Adversarial Nets",
      NeurIPS 2014, Sec. 3 (the generator maximises ``log D(G(z))``), written with softplus on logits.

Example:
    >>> import torch
    >>> real, fake = torch.ones(4, 1), torch.zeros(4, 1)
    >>> float(discriminator_loss(real, fake, "lsgan")), float(generator_loss(fake, "lsgan"))
    (0.0, 1.0)
"""

from __future__ import annotations

from typing import Literal, Union
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import ParameterError

GanKind = Literal["lsgan", "hinge", "nsgan"]
GAN_KINDS: tuple[str, ...] = ("lsgan", "hinge", "nsgan")
Scores = Union[Tensor, Sequence["Scores"]]  # noqa: UP007 (recursive alias)


def flatten(scores: Scores) -> list[Tensor]:
    """A tensor or a nested list of tensors -> a flat list of tensors.

    Example:
        >>> len(flatten([torch.zeros(1), [torch.zeros(1), torch.zeros(2)]]))
        3
    """
    if isinstance(scores, Tensor):
        return [scores]
    out: list[Tensor] = []
    for s in scores:
        out.extend(flatten(s))
    return out


def _check_kind(kind: str) -> None:
    if kind not in GAN_KINDS:
        raise ParameterError(f"unknown GAN loss '{kind}' (known: {', '.join(GAN_KINDS)})")


def discriminator_loss(real: Scores, fake: Scores, kind: GanKind = "lsgan") -> Tensor:
    """Discriminator loss: real scores pushed up (to 1 for LSGAN), fake scores pushed down.

    Shape:
        real, fake: tensors ``(batch, ...)`` of raw scores (logits), or equal-length lists of them -> scalar.
    Example:
        >>> float(discriminator_loss(torch.tensor([2.0]), torch.tensor([-2.0]), "hinge"))
        0.0
    """
    _check_kind(kind)
    rs, fs = flatten(real), flatten(fake)
    if len(rs) != len(fs):
        raise ParameterError(f"discriminator_loss: {len(rs)} real scores but {len(fs)} fake scores")
    total = rs[0].new_zeros((), dtype=torch.float32)
    for r, f in zip(rs, fs):
        r, f = r.float(), f.float()
        if kind == "lsgan":
            total = total + (1 - r).pow(2).mean() + f.pow(2).mean()
        elif kind == "hinge":
            total = total + F.relu(1 - r).mean() + F.relu(1 + f).mean()
        else:  # -log sigmoid(r) - log(1 - sigmoid(f))
            total = total + F.softplus(-r).mean() + F.softplus(f).mean()
    return total / len(rs)


def generator_loss(fake: Scores, kind: GanKind = "lsgan") -> Tensor:
    """Generator (adversarial) loss on the discriminator's scores of generated audio.

    Shape:
        fake: tensor ``(batch, ...)`` of raw scores, or a list of them -> scalar.
    Example:
        >>> float(generator_loss(torch.tensor([1.0]), "lsgan"))
        0.0
    """
    _check_kind(kind)
    fs = flatten(fake)
    total = fs[0].new_zeros((), dtype=torch.float32)
    for f in fs:
        f = f.float()
        if kind == "lsgan":
            total = total + (1 - f).pow(2).mean()
        elif kind == "hinge":
            total = total - f.mean()
        else:
            total = total + F.softplus(-f).mean()
    return total / len(fs)


def feature_matching_loss(estimate: Scores, target: Scores) -> Tensor:
    """Mean L1 distance between discriminator features of generated and real audio, averaged over
    layers; the real features are detached (A. B. L. Larsen et al., ICML 2016; K. Kumar et al.,
    "MelGAN", NeurIPS 2019, Eq. 4).

    Shape:
        estimate, target: equal-length (nested) lists of feature tensors with matching shapes -> scalar.
    Example:
        >>> f = [torch.ones(1, 2, 3), torch.zeros(1, 4)]
        >>> float(feature_matching_loss(f, f))
        0.0
    """
    es, ts = flatten(estimate), flatten(target)
    if len(es) != len(ts) or not es:
        raise ParameterError(f"feature_matching_loss: {len(es)} generated but {len(ts)} real feature maps")
    total = es[0].new_zeros((), dtype=torch.float32)
    for e, t in zip(es, ts):
        if e.shape != t.shape:
            raise ParameterError(f"feature map shapes differ: {tuple(e.shape)} and {tuple(t.shape)}")
        total = total + (e.float() - t.detach().float()).abs().mean()
    return total / len(es)
