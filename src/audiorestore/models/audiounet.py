"""AudioUNet: audio super-resolution with a 1-D U-Net (architecture only).

Kuleshov, Enam and Ermon, "Audio Super-Resolution Using Neural Networks", ICLR workshop 2017
(arXiv:1708.00853).

* Input (Sec. 2 and 3): the low-resolution signal is first interpolated to the target rate (cubic
  spline in the paper); the network predicts a correction that is added to that input (the
  "residual connection" of Sec. 3), so it only has to generate the missing high band.
* Downsampling blocks (Sec. 3, Fig. 1): a strided convolution (stride 2) followed by LeakyReLU(0.2);
  block ``b`` has ``filters[b]`` filters of width ``kernel_sizes[b]`` (reference code: 128, 384, 512,
  512 filters of widths 65, 33, 17, 9 for four blocks).
* Bottleneck: one more strided convolution, dropout (p = 0.5) and LeakyReLU.
* Upsampling blocks: a convolution with twice the block's filters, dropout, ReLU, then a subpixel
  shuffle that turns the doubled channels into doubled time resolution, and the output of the mirror
  downsampling block is stacked onto it on the channel axis ("stacked" skip connections).
* A last convolution to 2 channels and a subpixel shuffle give one channel at the input's length.

Every stage halves or doubles time, so the network needs lengths that are multiples of
``2 ** (depth + 1)``; :meth:`AudioUNet.forward` zero-pads and crops so any length is accepted.
Training on patches (8192 samples in the paper, Sec. 4) with an L2 loss lives in ``audiorestore.train``.

Example:
    >>> import torch
    >>> model = AudioUNet(AudioUNetConfig.tiny()).eval()
    >>> model(torch.randn(2, 1, 1000)).shape
    torch.Size([2, 1, 1000])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .layers import subpixel_shuffle
from .registry import register_family

CITATION = ("V. Kuleshov, S. Z. Enam, S. Ermon, Audio Super-Resolution Using Neural Networks, "
            "ICLR workshop 2017 (arXiv:1708.00853)")


def _doc(text: str) -> dict:
    return {"doc": text}


class UNetDepth:
    """``depth`` and ``hop`` of a U-Net config with one ``filters`` entry per downsampling block."""

    filters: tuple[int, ...]

    @property
    def depth(self) -> int:
        return len(self.filters)

    @property
    def hop(self) -> int:
        """Total decimation at the bottleneck: ``2 ** (depth + 1)``."""
        return 2 ** (self.depth + 1)


@dataclass
class AudioUNetConfig(UNetDepth):
    """Hyper-parameters of AudioUNet (defaults: the reference code's four-block network)."""

    filters: tuple[int, ...] = field(default=(128, 384, 512, 512),
                                     metadata=_doc("filters of each downsampling block"))
    kernel_sizes: tuple[int, ...] = field(default=(65, 33, 17, 9),
                                          metadata=_doc("convolution width of each block (odd)"))
    bottleneck_filters: int = field(default=512, metadata=_doc("filters of the bottleneck convolution"))
    bottleneck_kernel: int = field(default=9, metadata=_doc("width of the bottleneck convolution (odd)"))
    final_kernel: int = field(default=9, metadata=_doc("width of the last convolution (odd)"))
    dropout: float = field(default=0.5, metadata=_doc("dropout in the bottleneck and upsampling blocks"))
    leaky_slope: float = field(default=0.2, metadata=_doc("LeakyReLU slope in the downsampling blocks"))
    sample_rate: int = field(default=48000, metadata=_doc("target (output) rate the model is trained for"))
    input_rate: int = field(default=16000, metadata=_doc("rate of the low-resolution input it is trained on"))
    interpolation: str = field(default="spline",
                               metadata=_doc("how inputs are brought to sample_rate before the network: "
                                             "spline (the paper) or sinc"))
    segment_length: int = field(default=8192, metadata=_doc("training patch length in samples (Sec. 4)"))

    def __post_init__(self) -> None:
        self.filters = tuple(int(c) for c in self.filters)
        self.kernel_sizes = tuple(int(k) for k in self.kernel_sizes)
        _check_blocks(self.filters, self.kernel_sizes)
        for name in ("bottleneck_kernel", "final_kernel"):
            if getattr(self, name) % 2 != 1:
                raise ValueError(f"{name} must be odd, got {getattr(self, name)}")
        _check_rates(self.sample_rate, self.input_rate, self.interpolation, self.dropout)

    @classmethod
    def tiny(cls) -> AudioUNetConfig:
        """About 10k parameters, for tests: two blocks of 8 and 16 filters, no dropout."""
        return cls(filters=(8, 16), kernel_sizes=(9, 5), bottleneck_filters=16, bottleneck_kernel=5,
                   final_kernel=5, dropout=0.0, segment_length=256)


def _check_blocks(filters: tuple[int, ...], kernels: tuple[int, ...]) -> None:
    if not filters or min(filters) <= 0:
        raise ValueError(f"filters must be a non-empty list of positive ints, got {filters}")
    if len(kernels) != len(filters):
        raise ValueError(f"kernel_sizes needs one width per block ({len(filters)}), got {len(kernels)}")
    if any(k % 2 != 1 for k in kernels):
        raise ValueError(f"kernel sizes must be odd, got {kernels}")


def _check_rates(sample_rate: int, input_rate: int, interpolation: str, dropout: float) -> None:
    if not 0 < input_rate <= sample_rate:
        raise ValueError(f"need 0 < input_rate <= sample_rate, got {input_rate} and {sample_rate}")
    if interpolation not in ("spline", "sinc", "linear"):
        raise ValueError(f"interpolation must be spline, sinc or linear, got '{interpolation}'")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")


def check_waveform(x: torch.Tensor, name: str = "x") -> None:
    """Raise a ValueError naming the shape unless ``x`` is ``(batch, 1, time)``."""
    if x.dim() != 3 or x.shape[1] != 1:
        raise ValueError(f"{name} must have shape (batch, 1, time), found {tuple(x.shape)}")


def round_up(length: int, hop: int) -> int:
    """Smallest positive multiple of ``hop`` that is >= ``length`` (the lengths a U-Net maps exactly)."""
    return max(1, math.ceil(length / hop)) * hop


def pad_to(x: torch.Tensor, length: int) -> torch.Tensor:
    """Zero-pad the time axis on the right to ``length`` samples."""
    return x if x.shape[-1] == length else F.pad(x, (0, length - x.shape[-1]))


class AudioUNet(nn.Module):
    """AudioUNet generator: interpolated low-resolution ``(B, 1, T)`` -> high-resolution ``(B, 1, T)``.

    Shape:
        x ``(batch, 1, time)`` at ``config.sample_rate`` -> ``(batch, 1, time)``.
    Example:
        >>> AudioUNet(AudioUNetConfig.tiny())(torch.randn(1, 1, 300)).shape
        torch.Size([1, 1, 300])
    """

    def __init__(self, config: AudioUNetConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or AudioUNetConfig()
        self.down = nn.ModuleList()
        c_in = 1
        for f, k in zip(cfg.filters, cfg.kernel_sizes):
            self.down.append(nn.Sequential(nn.Conv1d(c_in, f, k, stride=2, padding=k // 2),
                                           nn.LeakyReLU(cfg.leaky_slope)))
            c_in = f
        kb = cfg.bottleneck_kernel
        self.bottleneck = nn.Sequential(nn.Conv1d(c_in, cfg.bottleneck_filters, kb, stride=2, padding=kb // 2),
                                        nn.Dropout(cfg.dropout), nn.LeakyReLU(cfg.leaky_slope))
        # Upsampling block b mirrors downsampling block b: conv to 2 * filters[b], subpixel back to
        # filters[b] channels at twice the length, then stacked with the skip (2 * filters[b] channels).
        self.up = nn.ModuleList()
        c_in = cfg.bottleneck_filters
        for f, k in reversed(list(zip(cfg.filters, cfg.kernel_sizes))):
            self.up.append(nn.Sequential(nn.Conv1d(c_in, 2 * f, k, padding=k // 2),
                                         nn.Dropout(cfg.dropout), nn.ReLU()))
            c_in = 2 * f
        self.final = nn.Conv1d(c_in, 2, cfg.final_kernel, padding=cfg.final_kernel // 2)

    def valid_length(self, length: int) -> int:
        """Smallest length >= ``length`` the network maps exactly: a multiple of ``2 ** (depth + 1)``
        (32 with the default config)."""
        return round_up(length, self.config.hop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_waveform(x)
        n = x.shape[-1]
        h = pad_to(x, self.valid_length(n))
        skips = []
        for block in self.down:
            h = block(h)
            skips.append(h)
        h = self.bottleneck(h)
        for block, skip in zip(self.up, reversed(skips)):
            h = torch.cat([subpixel_shuffle(block(h), 2), skip], dim=1)
        y = subpixel_shuffle(self.final(h), 2)
        return y[..., :n] + x  # residual on the interpolated input (Sec. 3)


register_family("audiounet", AudioUNetConfig, AudioUNet, "upsample", tiny=AudioUNetConfig.tiny,
                summary="AudioUNet: strided-conv U-Net with subpixel upsampling and stacked skips (waveform)",
                citation=CITATION)
