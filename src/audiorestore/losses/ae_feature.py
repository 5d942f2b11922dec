"""Autoencoder feature loss of MU-GAN (Kim and Sathe, "Bandwidth Extension on Raw Audio via Generative
Adversarial Networks", arXiv:1903.09027, Sec. 3.3).

A feature loss usually needs a classifier trained on labelled data (Johnson et al.'s perceptual loss,
Germain et al.'s deep feature loss). MU-GAN instead trains an autoencoder without labels to
reconstruct high-resolution audio (:class:`audiorestore.models.mugan.MUGANAutoencoder`, family
``mugan_ae``) and compares the generated and the true high-resolution signal on its encoder's
activations::

    L_f(estimate, target) = sum_m w_m * mean( (Phi_m(target) - Phi_m(estimate)) ** 2 )

over the chosen encoder layers ``m`` (by default every encoder block and the bottleneck, weights 1 /
number of layers). The MU-GAN generator objective is L2 + ``lambda_f`` L_f + ``lambda_adv`` L_adv;
the weights belong to the training recipe (``audiorestore.train``), not to this module.

Example:
    >>> loss = AutoencoderFeatureLoss("mugan_ae.pt")                  # doctest: +SKIP
    >>> value = loss(generator(x_interp), x_high)                     # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import torch
from torch import nn

from ..errors import ParameterError
from ..models.mugan import MUGANAutoencoder

#: The name of this loss in ``loss.weights``; its checkpoint is ``[loss.params.ae_feature] checkpoint``.
LOSS_NAME = "ae_feature"


class AutoencoderFeatureLoss(nn.Module):
    """Weighted mean squared difference of frozen autoencoder activations of estimate and target.

    Args:
        autoencoder: a :class:`MUGANAutoencoder`, or the path of a ``mugan_ae`` checkpoint.
        layers: encoder layer indices to compare (0 = finest block, -1 = bottleneck); default all.
        weights: one weight per compared layer (default ``1 / len(layers)`` each).

    The autoencoder is frozen (no gradients to its weights) and kept in eval mode; gradients flow to
    ``estimate`` only, the target's activations are computed without a graph.

    Shape:
        estimate, target ``(batch, 1, time)`` -> scalar.
    """

    def __init__(self, autoencoder: MUGANAutoencoder | str | os.PathLike, layers: Iterable[int] | None = None,
                 weights: Iterable[float] | None = None) -> None:
        super().__init__()
        if not isinstance(autoencoder, MUGANAutoencoder):
            from ..train.checkpoint import load_model

            autoencoder, meta = load_model(autoencoder)
            if meta["family"] != "mugan_ae":
                raise ParameterError(f"expected a mugan_ae checkpoint, found family '{meta['family']}'")
        self.net = autoencoder.eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        n_total = len(self.net.encoder.blocks) + 1
        idx = list(range(n_total)) if layers is None else [int(i) for i in layers]
        if not idx or any(not -n_total <= i < n_total for i in idx):
            raise ParameterError(f"layers must be indices in {-n_total}..{n_total - 1}, got {idx}")
        self.layers = [i % n_total for i in idx]
        w = (torch.full((len(idx),), 1.0 / len(idx)) if weights is None
             else torch.as_tensor(list(weights), dtype=torch.float32))
        if w.shape != (len(idx),):
            raise ParameterError(f"need {len(idx)} layer weights, got {tuple(w.shape)}")
        self.register_buffer("weights", w)

    @property
    def sample_rate(self) -> int:
        """The rate of the audio the autoencoder was trained on (its features describe that band)."""
        return int(self.net.config.sample_rate)

    def train(self, mode: bool = True) -> AutoencoderFeatureLoss:
        super().train(mode)
        self.net.eval()  # frozen
        return self

    def layer_distances(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Unweighted mean squared activation difference per compared layer, ``(len(layers),)``."""
        if estimate.shape != target.shape:
            raise ValueError(f"estimate and target shapes differ: {tuple(estimate.shape)} vs {tuple(target.shape)}")
        f_est = self.net.features(estimate)
        with torch.no_grad():
            f_tgt = self.net.features(target)
        return torch.stack([torch.mean((f_est[i] - f_tgt[i]) ** 2) for i in self.layers])

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.sum(self.weights * self.layer_distances(estimate, target))


def ae_feature_loss(checkpoint: str = "", layers: list[int] | None = None,
                    weights: list[float] | None = None) -> AutoencoderFeatureLoss:
    """The ``ae_feature`` loss of an experiment: ``[loss.params.ae_feature] checkpoint = "PATH"`` names
    a ``mugan_ae`` checkpoint (``layers``, ``weights`` as in :class:`AutoencoderFeatureLoss`). The
    trainer checks that the autoencoder's ``sample_rate`` is the data's.

    Example:
        >>> loss = ae_feature_loss("experiments/superres_mugan_ae/checkpoints/best.pt")  # doctest: +SKIP
    """
    if not str(checkpoint):
        raise ParameterError(f"the {LOSS_NAME} loss needs a mugan_ae checkpoint: [loss.params.{LOSS_NAME}] "
                             "checkpoint = \"PATH\" (train recipes/superres_mugan_ae.toml first)")
    return AutoencoderFeatureLoss(checkpoint, layers, weights)

