"""Training losses. Every loss has the signature ``loss(estimate, target) -> Tensor``.

Reconstruction losses are looked up by name (:func:`get_loss`) so that an experiment's config holds
a plain ``{name: weight}`` dict. Adversarial parts are pure functions over discriminator outputs.

Example:
    >>> import torch
    >>> loss = get_loss("l1")
    >>> float(loss(torch.ones(1, 1, 8), torch.zeros(1, 1, 8)))
    1.0
"""

from __future__ import annotations

from typing import Callable

from torch import Tensor

from ..errors import ParameterError
from .adversarial import GAN_KINDS, discriminator_loss, feature_matching_loss, generator_loss
from .spectral import MultiResolutionSTFTLoss, multi_resolution_stft_loss, stft_loss
from .time import l1_loss, l2_loss, neg_si_sdr_loss

LossFn = Callable[[Tensor, Tensor], Tensor]

#: Reconstruction losses by config name; each factory returns a callable ``loss(estimate, target)``.
RECONSTRUCTION_LOSSES: dict[str, Callable[[], LossFn]] = {
    "l1": lambda: l1_loss,
    "l2": lambda: l2_loss,
    "mse": lambda: l2_loss,
    "si_sdr": lambda: neg_si_sdr_loss,
    "mrstft": MultiResolutionSTFTLoss,
}

#: Names handled by the GAN step rather than computed from (estimate, target) waveforms.
ADVERSARIAL_TERMS: tuple[str, ...] = ("adv", "feature_matching")


def register_loss(name: str, factory: Callable[[], LossFn]) -> None:
    """Add a reconstruction loss under ``name`` (e.g. the deep feature loss); names are unique."""
    if name in RECONSTRUCTION_LOSSES and RECONSTRUCTION_LOSSES[name] is not factory:
        raise ValueError(f"loss '{name}' registered twice")
    RECONSTRUCTION_LOSSES[name] = factory


def get_loss(name: str) -> LossFn:
    """Build the reconstruction loss ``name``; raise a ParameterError listing the known names."""
    if name not in RECONSTRUCTION_LOSSES:
        known = ", ".join(sorted(RECONSTRUCTION_LOSSES) + list(ADVERSARIAL_TERMS))
        raise ParameterError(f"unknown loss '{name}' (known: {known})")
    return RECONSTRUCTION_LOSSES[name]()


__all__ = ["l1_loss", "l2_loss", "neg_si_sdr_loss", "stft_loss", "multi_resolution_stft_loss",
           "MultiResolutionSTFTLoss", "discriminator_loss", "generator_loss", "feature_matching_loss",
           "GAN_KINDS", "RECONSTRUCTION_LOSSES", "ADVERSARIAL_TERMS", "register_loss", "get_loss"]
