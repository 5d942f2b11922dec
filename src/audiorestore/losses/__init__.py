"""Training losses. Every loss has the signature ``loss(estimate, target) -> Tensor``.

Reconstruction losses are looked up by name (:func:`get_loss`) so that an experiment's config holds
a plain ``{name: weight}`` dict, plus optional per-loss parameters (``[loss.params.NAME]``) that are
passed to the loss factory as keyword arguments. A loss that also needs the noisy input (the
energy-conserving loss of the WaveNet denoiser) is marked with ``needs_noisy = True`` and is called
as ``loss(estimate, target, noisy)`` by the training steps (:func:`needs_noisy`); one that needs the
model itself (Deep Xi's a priori SNR target, ``xi``) is marked ``needs_model = True`` and called as
``loss(model, noisy, target)`` (:func:`needs_model`). Adversarial parts
are pure functions over discriminator outputs.

Example:
    >>> import torch
    >>> loss = get_loss("l1")
    >>> float(loss(torch.ones(1, 1, 8), torch.zeros(1, 1, 8)))
    1.0
"""

from __future__ import annotations

import inspect
from typing import Any
from collections.abc import Callable

from torch import Tensor, nn

from ..errors import ParameterError
from .energy import energy_conserving_loss
from .adversarial import GAN_KINDS, discriminator_loss, feature_matching_loss, generator_loss
from .compressed import CompressedSpectralLoss
from .distortion import WeightedSpeechDistortionLoss
from .mask import LogSpectralAmplitudeLoss, MaskLoss
from .spectral import LogSpectralDistanceLoss, MultiResolutionSTFTLoss, multi_resolution_stft_loss, stft_loss
from .time import l1_loss, l2_loss, neg_si_sdr_loss
from .xi import XiTargetLoss

LossFn = Callable[..., Tensor]


class EnergyConservingLoss(nn.Module):
    """:func:`~audiorestore.losses.energy.energy_conserving_loss` as a loss that needs the noisy input
    (Rethage et al. 2018, Sec. 3.4, Eq. 3): called as ``loss(estimate, target, noisy)``."""

    needs_noisy = True

    def forward(self, estimate: Tensor, target: Tensor, noisy: Tensor) -> Tensor:
        return energy_conserving_loss(estimate, target, noisy)


def _deep_feature(checkpoint: str = "", n_layers: int = 6, weights: list[float] | None = None) -> LossFn:
    """The deep feature loss (Germain et al. 2019) on a trained ``dfl_lossnet`` checkpoint."""
    if not checkpoint:
        raise ParameterError("the deep_feature loss needs a loss-network checkpoint: "
                             "[loss.params.deep_feature] checkpoint = \"PATH\" (see recipes/train_lossnet.py)")
    from .deep_feature import DeepFeatureLoss

    return DeepFeatureLoss(checkpoint, n_layers=int(n_layers), weights=weights)


#: Reconstruction losses by config name; each factory returns a callable ``loss(estimate, target)``
#: (or ``loss(estimate, target, noisy)`` when it has ``needs_noisy = True``) and takes the loss's
def _ae_feature(checkpoint: str = "", layers: list[int] | None = None,
                weights: list[float] | None = None) -> LossFn:
    """MU-GAN's autoencoder feature loss (:func:`~audiorestore.losses.ae_feature.ae_feature_loss`),
    imported when used: it builds a ``mugan_ae`` model from the checkpoint."""
    from .ae_feature import ae_feature_loss

    return ae_feature_loss(checkpoint, layers, weights)


#: ``[loss.params.NAME]`` entries as keyword arguments.
RECONSTRUCTION_LOSSES: dict[str, Callable[..., LossFn]] = {
    "l1": lambda: l1_loss,
    "l2": lambda: l2_loss,
    "mse": lambda: l2_loss,
    "si_sdr": lambda: neg_si_sdr_loss,
    "mrstft": MultiResolutionSTFTLoss,
    "compressed": CompressedSpectralLoss,
    "mask": MaskLoss,
    "lsa": LogSpectralAmplitudeLoss,
    "lsd": LogSpectralDistanceLoss,
    "wsd": WeightedSpeechDistortionLoss,
    "xi": XiTargetLoss,
    "energy": EnergyConservingLoss,
    "deep_feature": _deep_feature,
    "ae_feature": _ae_feature,
}

#: Names handled by the GAN step rather than computed from (estimate, target) waveforms.
ADVERSARIAL_TERMS: tuple[str, ...] = ("adv", "feature_matching")


def needs_noisy(fn: Any) -> bool:
    """Whether the loss ``fn`` is called as ``fn(estimate, target, noisy)`` (``needs_noisy = True``)."""
    return bool(getattr(fn, "needs_noisy", False))


def needs_model(fn: Any) -> bool:
    """Whether the loss ``fn`` is called as ``fn(model, noisy, target)`` (``needs_model = True``)."""
    return bool(getattr(fn, "needs_model", False))


def register_loss(name: str, factory: Callable[..., LossFn]) -> None:
    """Add a reconstruction loss under ``name`` (e.g. the deep feature loss); names are unique."""
    if name in RECONSTRUCTION_LOSSES and RECONSTRUCTION_LOSSES[name] is not factory:
        raise ValueError(f"loss '{name}' registered twice")
    RECONSTRUCTION_LOSSES[name] = factory


def check_loss_params(name: str, params: dict[str, Any]) -> None:
    """Raise a ParameterError when the factory of loss ``name`` does not take every key of ``params``."""
    if name not in RECONSTRUCTION_LOSSES:
        known = ", ".join(sorted(RECONSTRUCTION_LOSSES))
        raise ParameterError(f"loss.params: unknown loss '{name}' (known: {known})")
    if not params:
        return
    sig = inspect.signature(RECONSTRUCTION_LOSSES[name])
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return
    unknown = sorted(set(params) - set(sig.parameters))
    if unknown:
        takes = ", ".join(sig.parameters) or "no parameters"
        raise ParameterError(f"loss.params.{name}: unknown parameter(s) {', '.join(unknown)} (takes: {takes})")


def get_loss(name: str, **params: Any) -> LossFn:
    """Build the reconstruction loss ``name`` with its parameters; raise a ParameterError listing the
    known names (or the parameters the loss takes).

    Example:
        >>> get_loss("energy").needs_noisy
        True
    """
    if name not in RECONSTRUCTION_LOSSES:
        known = ", ".join(sorted(RECONSTRUCTION_LOSSES) + list(ADVERSARIAL_TERMS))
        raise ParameterError(f"unknown loss '{name}' (known: {known})")
    check_loss_params(name, params)
    return RECONSTRUCTION_LOSSES[name](**params)


__all__ = ["l1_loss", "l2_loss", "neg_si_sdr_loss", "stft_loss", "multi_resolution_stft_loss",
           "MultiResolutionSTFTLoss", "LogSpectralDistanceLoss", "CompressedSpectralLoss", "MaskLoss", "LogSpectralAmplitudeLoss",
           "WeightedSpeechDistortionLoss",
           "discriminator_loss", "generator_loss", "feature_matching_loss",
           "GAN_KINDS", "RECONSTRUCTION_LOSSES", "ADVERSARIAL_TERMS", "register_loss", "get_loss", "needs_noisy", "needs_model", "XiTargetLoss",
           "check_loss_params", "EnergyConservingLoss", "energy_conserving_loss"]
