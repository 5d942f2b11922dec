"""Deep feature loss (Germain, Chen, Koltun, "Speech Denoising with Deep Feature Losses", Interspeech
2019, Sec. 2.3): the distance between two waveforms is measured on the activations of a frozen audio
classification network (:class:`audiorestore.models.dfl.LossNet`)::

    L(estimate, target) = sum_{m=1..M} lambda_m * || Phi_m(target) - Phi_m(estimate) ||_1

with ``Phi_m`` the activations of layer m and the L1 norm normalised by the number of elements (a
mean absolute difference). The paper uses the first M = 6 layers of its 15 and sets ``lambda_m`` to
balance the layers' contributions: the inverse of each layer's mean L1 difference measured after a
first phase of training with all weights at 1. :meth:`DeepFeatureLoss.calibrate` does exactly this
on a few batches of ``(estimate, target)`` pairs that the caller supplies (e.g. the current
denoiser's outputs and the clean targets, or noisy inputs and clean targets before training); until
it is called the weights are 1.

Example:
    >>> loss = DeepFeatureLoss("lossnet.pt", n_layers=6)                   # doctest: +SKIP
    >>> loss.calibrate([(noisy, clean)])                                   # doctest: +SKIP
    >>> value = loss(model(noisy), clean)                                  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

import torch
from torch import nn

from ..errors import ParameterError
from ..models.dfl import LossNet

log = logging.getLogger(__name__)


class DeepFeatureLoss(nn.Module):
    """Weighted sum over the first ``n_layers`` loss-network layers of the mean absolute difference
    between the activations of estimate and target. The loss network is frozen and kept in eval mode
    (batch norm uses its running statistics, so a loss value never depends on the other examples).

    Args:
        loss_net: a :class:`LossNet`, or the path of a ``dfl_lossnet`` checkpoint.
        n_layers: how many layers to compare (6 in the paper).
        weights: per-layer weights ``lambda_m`` (default: 1 each, until :meth:`calibrate`).

    Shape:
        estimate, target ``(batch, 1, time)`` -> scalar.
    """

    def __init__(self, loss_net: LossNet | str | os.PathLike, n_layers: int = 6,
                 weights: Iterable[float] | None = None) -> None:
        super().__init__()
        if not isinstance(loss_net, LossNet):
            from ..train.checkpoint import load_model

            loss_net, meta = load_model(loss_net)
            if meta["family"] != "dfl_lossnet":
                raise ParameterError(f"expected a dfl_lossnet checkpoint, found family '{meta['family']}'")
        n_total = len(loss_net.convs)
        if not 0 < n_layers <= n_total:
            raise ParameterError(f"n_layers must be in 1..{n_total}, got {n_layers}")
        self.net = loss_net.eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.n_layers = n_layers
        w = torch.ones(n_layers) if weights is None else torch.as_tensor(list(weights), dtype=torch.float32)
        if w.shape != (n_layers,):
            raise ParameterError(f"need {n_layers} layer weights, got {tuple(w.shape)}")
        self.register_buffer("weights", w)

    def train(self, mode: bool = True) -> DeepFeatureLoss:
        super().train(mode)
        self.net.eval()  # frozen: always the running statistics
        return self

    def layer_distances(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Unweighted mean absolute activation difference per layer, ``(n_layers,)``."""
        if estimate.shape != target.shape:
            raise ValueError(f"estimate and target shapes differ: {tuple(estimate.shape)} vs {tuple(target.shape)}")
        f_est = self.net.features(estimate, self.n_layers)
        with torch.no_grad():
            f_tgt = self.net.features(target, self.n_layers)
        return torch.stack([(a - b).abs().mean() for a, b in zip(f_est, f_tgt)])

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return (self.weights * self.layer_distances(estimate, target)).sum()

    @torch.no_grad()
    def calibrate(self, pairs: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """Set ``lambda_m = 1 / mean_m`` with ``mean_m`` the layer's mean L1 difference over ``pairs``
        (the paper's balancing, Sec. 2.3), so every layer contributes about 1 at calibration.
        Returns the new weights."""
        total = torch.zeros(self.n_layers)
        count = 0
        for estimate, target in pairs:
            total += self.layer_distances(estimate, target).cpu()
            count += 1
        if count == 0:
            raise ParameterError("calibrate needs at least one (estimate, target) pair")
        mean = total / count
        if not torch.all(mean > 0):
            raise ParameterError(f"cannot calibrate: zero activation difference in a layer ({mean.tolist()})")
        self.weights.copy_((1.0 / mean).to(self.weights))
        log.info("deep feature loss weights: %s", [round(float(w), 4) for w in self.weights])
        return self.weights.clone()
