"""Deep recurrent denoising autoencoder (DRDAE) on a moving window of spectral frames (architecture only).

Maas, Le, O'Neil, Vinyals, Nguyen and Ng, "Recurrent Neural Networks for Noise Reduction in Robust
ASR", Interspeech 2012, Sec. 2.

The frame-window autoencoder of :mod:`audiorestore.models.dae` with one hidden layer made recurrent
across windows: ``h_t = g(W x_t + U h_{t-1} + b)``, so the prediction of frame ``t`` also draws on all
earlier windows (the paper's DRDAE puts the recurrent connections in a middle hidden layer and leaves
the others feed-forward). The recurrence runs forward in time only, as in the paper.
``rnn_type="rnn"`` is that plain recurrent layer (with the hidden activation, ReLU or tanh);
``"gru"`` swaps in a gated recurrent unit, which trains more easily on long utterances.

Features, normalisation, the residual option and noisy-phase resynthesis are those of :class:`DAE`.

Example:
    >>> import torch
    >>> model = RDAE(RDAEConfig(n_fft=128, hop_length=32, context=1, hidden_sizes=(32, 32, 32)))
    >>> model(torch.randn(2, 1, 1000)).shape
    torch.Size([2, 1, 1000])
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ..errors import ParameterError
from .dae import DAE, DAEConfig
from .registry import register_family


@dataclass
class RDAEConfig(DAEConfig):
    """DRDAE: the DAE's STFT, window and layers, and which hidden layer is recurrent."""

    #: index into ``hidden_sizes`` of the recurrent layer (the middle one in the paper).
    recurrent_layer: int = 1
    #: "rnn" (plain recurrence as in the paper; activation relu or tanh) or "gru".
    rnn_type: str = "rnn"


class RDAE(DAE):
    """Frame-window denoising autoencoder whose ``recurrent_layer`` is a forward-in-time RNN.

    Shape:
        ``(B, 1, T)`` -> ``(B, 1, T)``.

    Example:
        >>> import torch
        >>> model = RDAE(RDAEConfig(hidden_sizes=(64, 64, 64)))
        >>> model(torch.zeros(1, 1, 3000)).shape
        torch.Size([1, 1, 3000])
    """

    def __init__(self, config: RDAEConfig) -> None:
        if not 0 <= config.recurrent_layer < len(config.hidden_sizes):
            raise ParameterError(f"recurrent_layer must index hidden_sizes (0..{len(config.hidden_sizes) - 1}), "
                                 f"got {config.recurrent_layer}")
        if config.rnn_type not in ("rnn", "gru"):
            raise ParameterError(f"rnn_type must be 'rnn' or 'gru', got {config.rnn_type!r}")
        if config.rnn_type == "rnn" and config.activation not in ("relu", "tanh"):
            raise ParameterError(f"a plain RNN layer needs activation 'relu' or 'tanh', got {config.activation!r}")
        base = DAEConfig(config.sample_rate, config.n_fft, config.hop_length, config.context,
                         config.hidden_sizes, config.activation, config.residual, config.log_floor)
        super().__init__(base)
        self.config = config  # type: ignore[assignment]
        k = config.recurrent_layer
        layer = self.hidden[k]
        assert isinstance(layer, nn.Linear)
        if config.rnn_type == "rnn":
            rnn: nn.Module = nn.RNN(layer.in_features, layer.out_features, nonlinearity=config.activation,
                                    batch_first=True)
        else:
            rnn = nn.GRU(layer.in_features, layer.out_features, batch_first=True)
        self.hidden[k] = rnn

    def hidden_forward(self, x: Tensor) -> Tensor:
        for i, layer in enumerate(self.hidden):
            if i == self.config.recurrent_layer:
                x, _ = layer(x)  # the RNN applies its own nonlinearity (GRU: gated output)
            else:
                x = self.activation(layer(x))
        return x


register_family(
    "rdae", RDAEConfig, RDAE, "denoise",
    tiny=lambda: RDAEConfig(n_fft=128, hop_length=32, context=1, hidden_sizes=(48, 48, 48), rnn_type="gru"),
    summary="Deep recurrent denoising autoencoder: frame-window DAE with a recurrent middle layer",
    citation="Maas et al., Recurrent Neural Networks for Noise Reduction in Robust ASR, Interspeech 2012",
)
