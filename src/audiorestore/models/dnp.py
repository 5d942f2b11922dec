"""Deep Network Prior: the network that is fitted to one noisy file (architecture only).

Michelashvili and Wolf, "Speech Denoising by Accumulating Per-Frequency Modeling Fluctuations"
(first version: "Audio Denoising with Deep Network Priors"), arXiv:1904.07612, 2019.

The method (Sec. 3) trains, per file and without any training data, a network that maps a fixed
random input to the noisy waveform, in the spirit of the Deep Image Prior. Structured (speech) content
is fitted early and stably; noise is fitted late and its spectral bins keep fluctuating between
iterations. The fitting loop and the mask derived from those fluctuations live in
:mod:`audiorestore.train.prior`; the enhancer is ``dnp`` (:mod:`audiorestore.models.dnp_method`).

The network is the Wave-U-Net the authors use (Stoller et al., ISMIR 2018): ``n_layers`` down-sampling
blocks (1-D convolution of width 15, batch norm, LeakyReLU(0.1), then decimation by 2 keeping every
other sample) with ``(i + 1) * base_channels`` channels, a bottleneck convolution, ``n_layers``
up-sampling blocks (linear interpolation by 2, concatenation with the encoder features of the same
length, convolution of width 5, batch norm, LeakyReLU), the network input concatenated at the end and
a 1x1 convolution with tanh.

Example:
    >>> import torch
    >>> net = DNPNet(DNPConfig.tiny())
    >>> net(torch.randn(1, 1, net.valid_length(1000))).shape
    torch.Size([1, 1, 1008])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .registry import register_family

CITATION = ("M. Michelashvili, L. Wolf, Speech Denoising by Accumulating Per-Frequency Modeling Fluctuations "
            "(Audio Denoising with Deep Network Priors), arXiv:1904.07612, 2019")


def _doc(text: str) -> dict:
    return {"doc": text}


@dataclass
class DNPConfig:
    """Wave-U-Net prior network (defaults: the authors' code, 12 levels of 24 filters)."""

    n_layers: int = field(default=12, metadata=_doc("down/up-sampling levels (each halves/doubles time)"))
    base_channels: int = field(default=24, metadata=_doc("level i has (i + 1) * base_channels channels"))
    in_channels: int = field(default=1, metadata=_doc("channels of the fixed random input"))
    down_kernel: int = field(default=15, metadata=_doc("width of the down-sampling convolutions (odd)"))
    up_kernel: int = field(default=5, metadata=_doc("width of the up-sampling convolutions (odd)"))
    leaky_slope: float = field(default=0.1, metadata=_doc("LeakyReLU slope"))

    def __post_init__(self) -> None:
        if self.n_layers <= 0 or self.base_channels <= 0 or self.in_channels <= 0:
            raise ValueError(f"n_layers, base_channels and in_channels must be positive, got {self}")
        if self.down_kernel % 2 != 1 or self.up_kernel % 2 != 1:
            raise ValueError(f"kernel widths must be odd, got {self.down_kernel} and {self.up_kernel}")

    @classmethod
    def tiny(cls) -> DNPConfig:
        return cls(n_layers=3, base_channels=4)


class DNPNet(nn.Module):
    """Wave-U-Net: fixed random input ``(B, in_channels, T)`` -> waveform ``(B, 1, T)`` in (-1, 1).

    ``T`` must be a :meth:`valid_length` (a multiple of ``2 ** n_layers``).

    Shape:
        ``(batch, in_channels, time)`` -> ``(batch, 1, time)``
    """

    def __init__(self, config: DNPConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or DNPConfig()
        c = [(i + 1) * cfg.base_channels for i in range(cfg.n_layers)]
        enc_in = [cfg.in_channels] + c[:-1]
        self.down = nn.ModuleList(self._block(a, b, cfg.down_kernel) for a, b in zip(enc_in, c))
        self.middle = self._block(c[-1], c[-1], cfg.down_kernel)
        # up level j (deepest first) joins the upsampled features with encoder level n-1-j
        self.up = nn.ModuleList()
        prev = c[-1]
        for j in range(cfg.n_layers):
            skip = c[cfg.n_layers - 1 - j]
            self.up.append(self._block(prev + skip, skip, cfg.up_kernel))
            prev = skip
        self.out = nn.Conv1d(prev + cfg.in_channels, 1, 1)

    def _block(self, c_in: int, c_out: int, kernel: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2), nn.BatchNorm1d(c_out),
                             nn.LeakyReLU(self.config.leaky_slope))

    def valid_length(self, length: int) -> int:
        """Smallest multiple of ``2 ** n_layers`` that is >= ``length``."""
        hop = 2 ** self.config.n_layers
        return max(1, math.ceil(length / hop)) * hop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        if x.dim() != 3 or x.shape[1] != cfg.in_channels:
            raise ValueError(f"expected input of shape (batch, {cfg.in_channels}, time), found {tuple(x.shape)}")
        if x.shape[-1] % (2 ** cfg.n_layers):
            raise ValueError(f"length {x.shape[-1]} is not a multiple of {2 ** cfg.n_layers}; use valid_length()")
        skips = []
        h = x
        for block in self.down:
            h = block(h)
            skips.append(h)
            h = h[..., ::2]  # decimation (Wave-U-Net keeps every other sample)
        h = self.middle(h)
        for j, block in enumerate(self.up):
            h = F.interpolate(h, scale_factor=2.0, mode="linear", align_corners=False)
            h = block(torch.cat([h, skips[cfg.n_layers - 1 - j]], dim=1))
        return torch.tanh(self.out(torch.cat([h, x], dim=1)))


# task "prior": the network maps a fixed random code to the noisy signal, not noisy to clean; the
# denoiser built on it is the "dnp" Enhancer.
register_family("dnp", DNPConfig, DNPNet, "prior", tiny=DNPConfig.tiny,
                summary="Deep Network Prior: Wave-U-Net fitted per file; fluctuation-based spectral mask",
                citation=CITATION)
