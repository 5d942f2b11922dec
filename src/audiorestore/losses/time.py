"""Waveform losses with the shared signature ``loss(estimate, target) -> Tensor`` (a scalar).

Example:
    >>> import torch
    >>> x = torch.zeros(2, 1, 100)
    >>> float(l1_loss(x + 1, x))
    1.0
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import ParameterError


def check_pair(estimate: Tensor, target: Tensor) -> None:
    """Raise a ParameterError naming both shapes when ``estimate`` and ``target`` differ in shape."""
    if estimate.shape != target.shape:
        raise ParameterError(f"loss expects estimate and target of the same shape, found "
                             f"{tuple(estimate.shape)} and {tuple(target.shape)}")


def normalise_by_target(target: Tensor, *signals: Tensor) -> tuple[Tensor, ...]:
    """``target`` and ``signals`` divided by the target's RMS per row (an all-zero target keeps unit
    scale), so that quiet and loud examples weigh alike in a loss.

    Example:
        >>> t, e = normalise_by_target(torch.full((1, 1, 4), 2.0), torch.ones(1, 1, 4))
        >>> float(t[0, 0, 0]), float(e[0, 0, 0])
        (1.0, 0.5)
    """
    rms = target.float().square().mean(dim=-1, keepdim=True).sqrt()
    scale = torch.where(rms > 1e-6, rms, torch.ones_like(rms))
    return (target / scale, *(s / scale for s in signals))


def l1_loss(estimate: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error, as in SEGAN's L1 term (Pascual et al. 2017, Eq. 5).

    Shape:
        estimate, target ``(batch, channels, time)`` (any equal shapes) -> scalar.
    Example:
        >>> float(l1_loss(torch.ones(1, 1, 4), torch.zeros(1, 1, 4)))
        1.0
    """
    check_pair(estimate, target)
    return (estimate - target).abs().mean()


def l2_loss(estimate: Tensor, target: Tensor) -> Tensor:
    """Mean squared error (the regression loss of the denoising autoencoders, Lu et al. 2013).

    Shape:
        estimate, target ``(batch, channels, time)`` (any equal shapes) -> scalar.
    Example:
        >>> float(l2_loss(2 * torch.ones(1, 1, 4), torch.zeros(1, 1, 4)))
        4.0
    """
    check_pair(estimate, target)
    return (estimate - target).pow(2).mean()


def neg_si_sdr_loss(estimate: Tensor, target: Tensor, eps: float = 1e-8) -> Tensor:
    """Negative scale-invariant SDR in dB averaged over the batch (Le Roux et al. 2019, Eq. 2-3).

    The target is projected onto the estimate's span: ``s = <e, t> t / |t|^2``; SI-SDR =
    ``10 log10(|s|^2 / |e - s|^2)``. Both signals are made zero-mean first, as in the paper.

    Shape:
        estimate, target ``(batch, channels, time)`` -> scalar (mean over batch and channels).
    Example:
        >>> t = torch.randn(1, 1, 1000)
        >>> bool(neg_si_sdr_loss(0.5 * t, t) < -100)
        True
    """
    check_pair(estimate, target)
    e = estimate - estimate.mean(dim=-1, keepdim=True)
    t = target - target.mean(dim=-1, keepdim=True)
    scale = (e * t).sum(-1, keepdim=True) / (t.pow(2).sum(-1, keepdim=True) + eps)
    s = scale * t
    ratio = s.pow(2).sum(-1) / ((e - s).pow(2).sum(-1) + eps)
    return -(10 * torch.log10(ratio + eps)).mean()
