"""TFiLM U-Net: AudioUNet with temporal feature-wise linear modulation (architecture only).

Birnbaum, Kuleshov, Enam, Koh and Ermon, "Temporal FiLM: Capturing Long-Range Sequence Dependencies
with Feature-Wise Modulations", NeurIPS 2019 (arXiv:1909.06628).

The convolutional backbone is the AudioUNet of Kuleshov et al. (see :mod:`.audiounet`) as in the
authors' audio super-resolution code: each downsampling block is a dilated convolution (dilation 2),
max-pooling by 2 and LeakyReLU(0.2); the bottleneck adds dropout; each upsampling block is a
convolution to twice the filters, dropout, ReLU and a subpixel shuffle, then stacked with the mirror
block's output. After every block a TFiLM layer (Sec. 3, Algorithm 1; :class:`.layers.TFiLM`)
max-pools the features over blocks of ``block_size`` steps, runs an LSTM over the block sequence and
scales and shifts every channel of each block with the LSTM's output, giving the convolutions a
receptive field that spans the whole input. The output is added to the interpolated input.

The LSTM makes the output depend on everything before a sample, so chunked inference is close to,
but not exactly equal to, whole-signal inference (the chunk context bounds the difference).

Example:
    >>> import torch
    >>> model = TFiLMNet(TFiLMConfig.tiny()).eval()
    >>> model(torch.randn(2, 1, 1000)).shape
    torch.Size([2, 1, 1000])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .audiounet import AudioUNetConfig, check_waveform, pad_to, round_up
from .layers import TFiLM, subpixel_shuffle
from .registry import register_family

CITATION = ("S. Birnbaum, V. Kuleshov, S. Z. Enam, P. W. Koh, S. Ermon, Temporal FiLM: Capturing Long-Range "
            "Sequence Dependencies with Feature-Wise Modulations, NeurIPS 2019 (arXiv:1909.06628)")


def _doc(text: str) -> dict:
    return {"doc": text}


@dataclass
class TFiLMConfig(AudioUNetConfig):
    """AudioUNet's hyper-parameters plus the TFiLM ones (defaults: the authors' super-resolution code)."""

    filters: tuple[int, ...] = field(default=(128, 256, 512, 512),
                                     metadata=_doc("filters of each downsampling block"))
    dilation: int = field(default=2, metadata=_doc("dilation of the block convolutions"))
    block_size: int = field(default=8, metadata=_doc("TFiLM block length in time steps of each layer"))

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.dilation < 1 or self.block_size < 1:
            raise ValueError(f"dilation and block_size must be positive, got {self.dilation}, {self.block_size}")

    @classmethod
    def tiny(cls) -> TFiLMConfig:
        """About 10k parameters, for tests: two blocks of 8 and 16 filters, TFiLM blocks of 4 steps."""
        return cls(filters=(8, 16), kernel_sizes=(9, 5), bottleneck_filters=16, bottleneck_kernel=5,
                   final_kernel=5, block_size=4, dropout=0.0, segment_length=256)


def _conv(c_in: int, c_out: int, kernel: int, dilation: int) -> nn.Conv1d:
    return nn.Conv1d(c_in, c_out, kernel, dilation=dilation, padding=dilation * (kernel // 2))


class TFiLMNet(nn.Module):
    """TFiLM U-Net generator: interpolated low-resolution ``(B, 1, T)`` -> high-resolution ``(B, 1, T)``.

    Shape:
        x ``(batch, 1, time)`` at ``config.sample_rate`` -> ``(batch, 1, time)``.
    """

    def __init__(self, config: TFiLMConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or TFiLMConfig()
        d, slope = cfg.dilation, cfg.leaky_slope
        self.down = nn.ModuleList()
        self.down_film = nn.ModuleList()
        c_in = 1
        for f, k in zip(cfg.filters, cfg.kernel_sizes):
            self.down.append(nn.Sequential(_conv(c_in, f, k, d), nn.MaxPool1d(2), nn.LeakyReLU(slope)))
            self.down_film.append(TFiLM(f, cfg.block_size))
            c_in = f
        self.bottleneck = nn.Sequential(_conv(c_in, cfg.bottleneck_filters, cfg.bottleneck_kernel, d),
                                        nn.MaxPool1d(2), nn.Dropout(cfg.dropout), nn.LeakyReLU(slope))
        self.bottleneck_film = TFiLM(cfg.bottleneck_filters, cfg.block_size)
        self.up = nn.ModuleList()
        self.up_film = nn.ModuleList()
        c_in = cfg.bottleneck_filters
        for f, k in reversed(list(zip(cfg.filters, cfg.kernel_sizes))):
            self.up.append(nn.Sequential(_conv(c_in, 2 * f, k, d), nn.Dropout(cfg.dropout), nn.ReLU()))
            self.up_film.append(TFiLM(f, cfg.block_size))  # applied after the subpixel shuffle
            c_in = 2 * f
        self.final = nn.Conv1d(c_in, 2, cfg.final_kernel, padding=cfg.final_kernel // 2)

    def valid_length(self, length: int) -> int:
        """Smallest length >= ``length`` the network maps exactly: a multiple of ``2 ** (depth + 1)``."""
        return round_up(length, self.config.hop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_waveform(x)
        n = x.shape[-1]
        h = pad_to(x, self.valid_length(n))
        skips = []
        for block, film in zip(self.down, self.down_film):
            h = film(block(h))
            skips.append(h)
        h = self.bottleneck_film(self.bottleneck(h))
        for block, film, skip in zip(self.up, self.up_film, reversed(skips)):
            h = torch.cat([film(subpixel_shuffle(block(h), 2)), skip], dim=1)
        y = subpixel_shuffle(self.final(h), 2)
        return y[..., :n] + x


register_family("tfilm", TFiLMConfig, TFiLMNet, "upsample", tiny=TFiLMConfig.tiny,
                summary="TFiLM: AudioUNet with block-wise LSTM feature modulation (long-range context)",
                citation=CITATION)
