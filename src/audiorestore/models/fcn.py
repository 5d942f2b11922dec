"""Fully convolutional raw-waveform denoiser (architecture only).

Fu, Tsao, Lu and Kawai, "Raw Waveform-based Speech Enhancement by Fully Convolutional Networks",
APSIPA ASC 2017 (arXiv:1703.02205).

* Sec. 3 (FCN): only convolutional layers, no fully connected layer, so that every output sample
  depends on a local input neighbourhood with shared weights and the high-frequency detail of the
  waveform is kept (the paper's argument against DNN/CNN models with dense layers). Each hidden layer
  is a 1-D convolution with zero ("same") padding, batch normalisation and LeakyReLU; the last layer
  is a single filter followed by tanh, so the output is a waveform in ``[-1, 1]``.
* Because there are no strides and no dense layers the network accepts any length: the paper trains
  on fixed frames but the same weights process a whole utterance (as in the authors' follow-up,
  Fu et al., TASLP 2018). ``valid_length(n) == n``.

The default size (6 hidden layers of 15 filters of length 55) is in the range of the paper's compact
FCN (a few tens of thousands of weights, about 0.2 % of its DNN baseline); all sizes are config.
Batch normalisation keeps running statistics: call ``model.eval()`` for inference.

Example:
    >>> import torch
    >>> model = FCN(FCNConfig(channels=8, n_layers=3, kernel_size=11))
    >>> model(torch.randn(2, 1, 1000)).shape
    torch.Size([2, 1, 1000])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .layers import check_waveform, odd
from .registry import register_family


@dataclass
class FCNConfig:
    """FCN: number and width of hidden convolutions, filter length."""

    sample_rate: int = 16000
    #: hidden convolution layers (the output layer comes on top).
    n_layers: int = 6
    channels: int = 15
    #: odd, so that "same" padding is symmetric (non-causal, like the paper).
    kernel_size: int = 55
    leaky_slope: float = 0.3
    batch_norm: bool = True


class FCN(nn.Module):
    """Waveform in, waveform out: ``n_layers`` x (Conv1d, BatchNorm, LeakyReLU), then Conv1d + tanh.

    Shape:
        ``(B, 1, T)`` -> ``(B, 1, T)``.

    Example:
        >>> FCN(FCNConfig())(torch.zeros(1, 1, 500)).shape
        torch.Size([1, 1, 500])
    """

    def __init__(self, config: FCNConfig) -> None:
        super().__init__()
        self.config = config
        k = odd(config.kernel_size, "kernel_size")
        layers: list[nn.Module] = []
        in_ch = 1
        for _ in range(config.n_layers):
            layers.append(nn.Conv1d(in_ch, config.channels, k, padding=k // 2, bias=not config.batch_norm))
            if config.batch_norm:
                layers.append(nn.BatchNorm1d(config.channels))
            layers.append(nn.LeakyReLU(config.leaky_slope))
            in_ch = config.channels
        layers.append(nn.Conv1d(in_ch, 1, k, padding=k // 2))
        self.net = nn.Sequential(*layers)

    @property
    def receptive_field(self) -> int:
        """Input samples that one output sample depends on: ``(n_layers + 1) * (kernel_size - 1) + 1``."""
        return (self.config.n_layers + 1) * (self.config.kernel_size - 1) + 1

    def valid_length(self, n: int) -> int:
        """Any length works (no strides): returns ``n``."""
        return n

    def forward(self, noisy: Tensor) -> Tensor:
        return torch.tanh(self.net(check_waveform(noisy)))


register_family(
    "fcn", FCNConfig, FCN, "denoise",
    tiny=lambda: FCNConfig(n_layers=3, channels=8, kernel_size=11),
    summary="Fully convolutional raw-waveform denoiser (no dense layers, tanh output)",
    citation="Fu, Tsao, Lu and Kawai, Raw Waveform-based Speech Enhancement by Fully Convolutional Networks, "
             "APSIPA 2017",
)
