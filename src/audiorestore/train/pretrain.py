"""Greedy layer-wise pretraining of stacked denoising autoencoders (before supervised fine-tuning).

Lu, Tsao, Matsuda and Hori, "Speech Enhancement Based on Deep Denoising Autoencoder", Interspeech
2013, Sec. 2: the DDAE's hidden layers are first trained one at a time as denoising autoencoders,
then the whole network is fine-tuned on noisy -> clean pairs. The per-layer procedure is the stacked
denoising autoencoder of Vincent et al., "Stacked Denoising Autoencoders", JMLR 11, 2010, Sec. 3
(denoising autoencoder) and Sec. 5 (stacking):

1. ``h_0`` = the model's input features (context windows of normalised noisy frames);
2. for layer ``k``: corrupt ``h_{k-1}`` (additive Gaussian noise, or masking noise that zeroes a
   random fraction of the inputs), encode with the layer, ``y = act(W_k x~ + b_k)``, decode with the
   tied weights, ``x_hat = W_k^T y + c_k`` (a linear decoder, since the inputs are real-valued), and
   minimise the mean squared reconstruction error ``|x_hat - h_{k-1}|^2`` over ``W_k, b_k, c_k``;
3. ``h_k = act(W_k h_{k-1} + b_k)`` on the clean (uncorrupted) input feeds the next layer.

Only the hidden layers change; the output layer is left to fine-tuning, which is the ordinary
supervised training step run afterwards by the trainer.

A model qualifies when it exposes ``hidden`` (an ``nn.ModuleList`` whose leading ``nn.Linear`` layers
are pretrained; pretraining stops at the first other layer, e.g. the recurrent layer of ``rdae``),
``activation`` (the hidden nonlinearity) and ``stack_input(noisy) -> (B, N, D)``: the ``dae``,
``rdae`` and ``ddae_mel`` families.

Example:
    >>> import torch
    >>> from audiorestore.models.ddae_mel import DDAEMel, DDAEMelConfig
    >>> model = DDAEMel(DDAEMelConfig(n_fft=256, hop_length=64, n_mels=16, hidden_sizes=(32, 32)))
    >>> batches = [torch.randn(4, 1, 4000)]
    >>> history = pretrain_layerwise(model, batches, steps_per_layer=5)
    >>> len(history)
    2
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Iterable, Iterator

import torch
from torch import Tensor, nn

from ..errors import ParameterError

log = logging.getLogger(__name__)


@dataclass
class LayerHistory:
    """Reconstruction losses of one pretrained layer, one per step (before that step's update)."""

    layer: int
    losses: list[float] = field(default_factory=list)

    @property
    def first(self) -> float:
        return self.losses[0]

    @property
    def last(self) -> float:
        return self.losses[-1]


def _noisy_of(batch: Any) -> Tensor:
    """A batch is a noisy waveform ``(B, 1, T)`` or a ``(noisy, clean, ...)`` tuple/list or a dict."""
    if isinstance(batch, Tensor):
        return batch
    if isinstance(batch, dict) and "noisy" in batch:
        return batch["noisy"]
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], Tensor):
        return batch[0]
    raise ParameterError(f"a pretraining batch must be a tensor, a (noisy, ...) tuple or a dict with 'noisy', "
                         f"got {type(batch).__name__}")


def _cycle(batches: Iterable[Any]) -> Iterator[Tensor]:
    """Repeat ``batches`` (re-iterating it, e.g. a list or a DataLoader) for as many steps as asked."""
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield _noisy_of(batch)
        if empty:
            raise ParameterError("pretraining needs at least one batch (a one-shot iterator ran out)")


def _pretrainable(model: nn.Module) -> list[nn.Linear]:
    hidden = getattr(model, "hidden", None)
    if not isinstance(hidden, nn.ModuleList) or not hasattr(model, "stack_input") \
            or not isinstance(getattr(model, "activation", None), nn.Module):
        raise ParameterError(f"{type(model).__name__} has no stacked hidden layers to pretrain "
                             "(needs hidden, activation and stack_input)")
    layers: list[nn.Linear] = []
    for layer in hidden:
        if not isinstance(layer, nn.Linear):
            break
        layers.append(layer)
    if not layers:
        raise ParameterError(f"{type(model).__name__}: the first hidden layer is not fully connected")
    return layers


def _corrupt(x: Tensor, kind: str, level: float, generator: torch.Generator) -> Tensor:
    if kind == "gaussian":
        return x + level * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= level
    return x * keep


def pretrain_layerwise(model: nn.Module, batches: Iterable[Any], steps_per_layer: int, lr: float = 1e-3,
                       corruption: str = "gaussian", level: float = 0.2, seed: int = 0,
                       device: str | torch.device | None = None) -> list[LayerHistory]:
    """Pretrain the leading fully connected hidden layers of ``model`` one by one as denoising AEs.

    Args:
        model: a ``dae``, ``rdae`` or ``ddae_mel`` model (see the module docstring); changed in place.
        batches: re-iterable noisy waveforms ``(B, 1, T)`` or ``(noisy, clean)`` pairs (clean unused).
        steps_per_layer: Adam steps per layer.
        lr: Adam learning rate.
        corruption: "gaussian" (add ``level`` x N(0, 1)) or "masking" (zero a ``level`` fraction).
        level: corruption strength.
        seed: seeds the corruption noise (a private generator; global random state is untouched).
        device: where to run; defaults to the model's device.

    Returns:
        One :class:`LayerHistory` per pretrained layer, with the reconstruction loss of every step.

    Shape:
        batches: ``(B, 1, T)`` waveforms; internally layer inputs ``(B, N, D_k)``.

    Example:
        >>> from audiorestore.models.dae import DAE, DAEConfig
        >>> m = DAE(DAEConfig(n_fft=128, hop_length=32, context=1, hidden_sizes=(16,)))
        >>> h = pretrain_layerwise(m, [torch.randn(2, 1, 2000)], steps_per_layer=3)
        >>> len(h[0].losses)
        3
    """
    if steps_per_layer < 1:
        raise ParameterError(f"steps_per_layer must be >= 1, got {steps_per_layer}")
    if corruption not in ("gaussian", "masking"):
        raise ParameterError(f"corruption must be 'gaussian' or 'masking', got {corruption!r}")
    layers = _pretrainable(model)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    act: nn.Module = model.activation  # type: ignore[assignment]
    stack_input = model.stack_input  # type: ignore[attr-defined]
    gen = torch.Generator(device=device).manual_seed(seed)
    was_training = model.training
    model.train()
    history: list[LayerHistory] = []
    source = _cycle(batches)
    try:
        for k, layer in enumerate(layers):
            decoder_bias = nn.Parameter(torch.zeros(layer.in_features, device=device))
            opt = torch.optim.Adam([layer.weight, layer.bias, decoder_bias], lr=lr)
            record = LayerHistory(k)
            for _ in range(steps_per_layer):
                noisy = next(source).to(device)
                with torch.no_grad():  # the input of layer k: frozen layers below, clean path
                    x = stack_input(noisy)
                    for below in layers[:k]:
                        x = act(below(x))
                hidden = act(layer(_corrupt(x, corruption, level, gen)))
                recon = hidden @ layer.weight + decoder_bias  # tied weights: W^T y + c
                loss = torch.mean((recon - x) ** 2)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                record.losses.append(float(loss.detach()))
            log.info("pretrained layer %d: reconstruction loss %.4g -> %.4g", k, record.first, record.last)
            history.append(record)
    finally:
        model.train(was_training)
    return history
