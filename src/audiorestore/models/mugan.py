"""MU-GAN: multi-scale convolutional U-Net GAN for bandwidth extension (architecture only).

Kim and Sathe, "Bandwidth Extension on Raw Audio via Generative Adversarial Networks",
arXiv:1903.09027, 2019.

* Multi-scale convolutions (Sec. 3.1): every convolution is a bank of parallel convolutions of
  several widths (default 3, 9, 27, 81 samples) whose outputs are stacked on the channel axis, so one
  layer sees both fine and coarse structure (:class:`MultiScaleConv1d`).
* Superpixel downsampling and subpixel upsampling (Sec. 3.1): instead of strided convolutions or
  pooling, time is folded into channels (:func:`.layers.superpixel`, parameter-free and lossless) and
  unfolded again on the way up (:func:`.layers.subpixel_shuffle`), with stacked skip connections
  between mirror blocks as in AudioUNet; the output is added to the interpolated input.
* Discriminator (Sec. 3.2): multi-scale convolution blocks with batch normalisation, LeakyReLU and
  superpixel downsampling, then fully connected layers with dropout giving one score. The reference
  uses a flattening fully connected layer tied to one patch length; here the features are averaged
  over time first so that any length is accepted.
* Autoencoder feature loss (Sec. 3.3): an autoencoder with the generator's encoder and decoder but no
  skip connections (:class:`MUGANAutoencoder`, family ``mugan_ae``, task ``autoencode``) is trained
  without labels to reconstruct high-resolution audio; the distance between its encoder activations
  for the generated and the true signal is the feature loss
  (:class:`audiorestore.losses.ae_feature.AutoencoderFeatureLoss`). The generator loss is
  L2 + feature loss + a weighted adversarial loss; losses and training steps live outside this module.

Example:
    >>> import torch
    >>> cfg = MUGANConfig.tiny()
    >>> MUGAN(cfg).eval()(torch.randn(2, 1, 1000)).shape
    torch.Size([2, 1, 1000])
    >>> score, feats = MUGANDiscriminator(cfg)(torch.randn(2, 1, 1000))
    >>> score.shape
    torch.Size([2, 1])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from .audiounet import UNetDepth, _check_rates, check_waveform, pad_to, round_up
from .layers import SuperPixel1d, subpixel_shuffle
from .registry import register_family

CITATION = ("S. Kim, V. Sathe, Bandwidth Extension on Raw Audio via Generative Adversarial Networks, "
            "arXiv:1903.09027, 2019")


def _doc(text: str) -> dict:
    return {"doc": text}


def _odd_tuple(values: tuple[int, ...], name: str) -> tuple[int, ...]:
    values = tuple(int(v) for v in values)
    if not values or any(v < 1 or v % 2 != 1 for v in values):
        raise ValueError(f"{name} must be a non-empty list of odd positive widths, got {values}")
    return values


def _positive_tuple(values: tuple[int, ...], name: str, multiple: int) -> tuple[int, ...]:
    values = tuple(int(v) for v in values)
    if not values or any(v <= 0 or v % multiple for v in values):
        raise ValueError(f"{name} must be positive multiples of {multiple} (one per kernel width), got {values}")
    return values


@dataclass
class MUGANConfig(UNetDepth):
    """Hyper-parameters of the MU-GAN generator and discriminator."""

    filters: tuple[int, ...] = field(default=(32, 64, 128, 256),
                                     metadata=_doc("multi-scale filters of each downsampling block "
                                                   "(a multiple of the number of kernel widths)"))
    kernel_sizes: tuple[int, ...] = field(default=(3, 9, 27, 81),
                                          metadata=_doc("widths of the parallel convolutions (odd)"))
    bottleneck_filters: int = field(default=256, metadata=_doc("multi-scale filters of the bottleneck"))
    final_kernel: int = field(default=9, metadata=_doc("width of the last convolution (odd)"))
    dropout: float = field(default=0.5, metadata=_doc("dropout in the bottleneck and upsampling blocks"))
    sample_rate: int = field(default=48000, metadata=_doc("target (output) rate the model is trained for"))
    input_rate: int = field(default=16000, metadata=_doc("rate of the low-resolution input it is trained on"))
    interpolation: str = field(default="spline",
                               metadata=_doc("how inputs are brought to sample_rate: spline or sinc"))
    segment_length: int = field(default=8192, metadata=_doc("training patch length in samples"))
    disc_filters: tuple[int, ...] = field(default=(16, 32, 64, 64, 128, 128, 256, 256),
                                          metadata=_doc("discriminator multi-scale filters per block"))
    disc_kernel_sizes: tuple[int, ...] = field(default=(3, 9, 27, 81),
                                               metadata=_doc("discriminator convolution widths (odd)"))
    disc_hidden: int = field(default=64, metadata=_doc("units of the discriminator's hidden dense layer"))
    disc_dropout: float = field(default=0.5, metadata=_doc("dropout before the discriminator's last layer"))
    disc_leaky_slope: float = field(default=0.2, metadata=_doc("LeakyReLU slope in the discriminator"))
    disc_conditional: bool = field(default=False,
                                   metadata=_doc("also show the discriminator the interpolated input "
                                                 "(the paper's discriminator sees the waveform alone)"))

    def __post_init__(self) -> None:
        self.kernel_sizes = _odd_tuple(self.kernel_sizes, "kernel_sizes")
        self.filters = _positive_tuple(self.filters, "filters", len(self.kernel_sizes))
        _positive_tuple((self.bottleneck_filters,), "bottleneck_filters", len(self.kernel_sizes))
        self.disc_kernel_sizes = _odd_tuple(self.disc_kernel_sizes, "disc_kernel_sizes")
        self.disc_filters = _positive_tuple(self.disc_filters, "disc_filters", len(self.disc_kernel_sizes))
        if self.final_kernel % 2 != 1:
            raise ValueError(f"final_kernel must be odd, got {self.final_kernel}")
        if not 0.0 <= self.disc_dropout < 1.0:
            raise ValueError(f"disc_dropout must be in [0, 1), got {self.disc_dropout}")
        _check_rates(self.sample_rate, self.input_rate, self.interpolation, self.dropout)

    @classmethod
    def tiny(cls) -> MUGANConfig:
        """A few thousand parameters, for tests: two blocks, widths 3 and 9, a 3-block discriminator."""
        return cls(filters=(8, 16), kernel_sizes=(3, 9), bottleneck_filters=16, final_kernel=5, dropout=0.0,
                   segment_length=256, disc_filters=(4, 8, 8), disc_kernel_sizes=(3, 9), disc_hidden=8,
                   disc_dropout=0.0)


@dataclass
class MUGANAEConfig:
    """Hyper-parameters of the MU-GAN feature autoencoder (trained on high-resolution audio only)."""

    filters: tuple[int, ...] = field(default=(32, 64, 128, 256),
                                     metadata=_doc("multi-scale filters of each encoder block"))
    kernel_sizes: tuple[int, ...] = field(default=(3, 9, 27, 81),
                                          metadata=_doc("widths of the parallel convolutions (odd)"))
    bottleneck_filters: int = field(default=256, metadata=_doc("multi-scale filters of the bottleneck"))
    final_kernel: int = field(default=9, metadata=_doc("width of the last convolution (odd)"))
    sample_rate: int = field(default=48000, metadata=_doc("rate of the audio it is trained to reconstruct"))
    segment_length: int = field(default=8192, metadata=_doc("training patch length in samples"))

    def __post_init__(self) -> None:
        self.kernel_sizes = _odd_tuple(self.kernel_sizes, "kernel_sizes")
        self.filters = _positive_tuple(self.filters, "filters", len(self.kernel_sizes))
        _positive_tuple((self.bottleneck_filters,), "bottleneck_filters", len(self.kernel_sizes))
        if self.final_kernel % 2 != 1:
            raise ValueError(f"final_kernel must be odd, got {self.final_kernel}")

    @property
    def hop(self) -> int:
        return 2 ** (len(self.filters) + 1)

    @classmethod
    def tiny(cls) -> MUGANAEConfig:
        return cls(filters=(8, 16), kernel_sizes=(3, 9), bottleneck_filters=16, final_kernel=5,
                   segment_length=256)


class MultiScaleConv1d(nn.Module):
    """Parallel 'same' convolutions of several widths, outputs stacked on channels (Sec. 3.1).

    Shape:
        ``(B, in_channels, T)`` -> ``(B, out_channels, T)``; each width gets
        ``out_channels / len(kernel_sizes)`` channels.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_sizes: tuple[int, ...]) -> None:
        super().__init__()
        if out_channels % len(kernel_sizes):
            raise ValueError(f"out_channels {out_channels} must be a multiple of {len(kernel_sizes)} widths")
        per = out_channels // len(kernel_sizes)
        self.branches = nn.ModuleList(nn.Conv1d(in_channels, per, k, padding=k // 2) for k in kernel_sizes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([conv(x) for conv in self.branches], dim=1)


class _SuperpixelEncoder(nn.Module):
    """Multi-scale conv + PReLU + superpixel blocks, then the bottleneck (shared by generator and AE).

    Returns the output of every block (``2 * filters[b]`` channels at ``T / 2 ** (b + 1)``), the
    bottleneck's last (``2 * bottleneck_filters`` channels at ``T / 2 ** (depth + 1)``).
    """

    def __init__(self, filters: tuple[int, ...], kernels: tuple[int, ...], bottleneck: int, dropout: float) -> None:
        super().__init__()
        self.blocks = nn.ModuleList()
        c_in = 1
        for f in filters:
            self.blocks.append(nn.Sequential(MultiScaleConv1d(c_in, f, kernels), nn.PReLU(f), SuperPixel1d(2)))
            c_in = 2 * f
        self.bottleneck = nn.Sequential(MultiScaleConv1d(c_in, bottleneck, kernels), nn.Dropout(dropout),
                                        nn.PReLU(bottleneck), SuperPixel1d(2))
        self.out_channels = 2 * bottleneck

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        h = x
        for block in self.blocks:
            h = block(h)
            outs.append(h)
        outs.append(self.bottleneck(h))
        return outs


class MUGAN(nn.Module):
    """MU-GAN generator: interpolated low-resolution ``(B, 1, T)`` -> high-resolution ``(B, 1, T)``.

    Shape:
        x ``(batch, 1, time)`` at ``config.sample_rate`` -> ``(batch, 1, time)``.
    """

    def __init__(self, config: MUGANConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or MUGANConfig()
        self.encoder = _SuperpixelEncoder(cfg.filters, cfg.kernel_sizes, cfg.bottleneck_filters, cfg.dropout)
        # Upsampling block b: multi-scale conv to 2 * filters[b], subpixel to filters[b] channels at the
        # length of encoder block b, stacked with its 2 * filters[b] channels.
        self.up = nn.ModuleList()
        c_in = self.encoder.out_channels
        for f in reversed(cfg.filters):
            self.up.append(nn.Sequential(MultiScaleConv1d(c_in, 2 * f, cfg.kernel_sizes), nn.Dropout(cfg.dropout),
                                         nn.PReLU(2 * f)))
            c_in = 3 * f
        self.final = nn.Conv1d(c_in, 2, cfg.final_kernel, padding=cfg.final_kernel // 2)

    def valid_length(self, length: int) -> int:
        """Smallest length >= ``length`` the network maps exactly: a multiple of ``2 ** (depth + 1)``."""
        return round_up(length, self.config.hop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_waveform(x)
        n = x.shape[-1]
        *skips, h = self.encoder(pad_to(x, self.valid_length(n)))
        for block, skip in zip(self.up, reversed(skips)):
            h = torch.cat([subpixel_shuffle(block(h), 2), skip], dim=1)
        y = subpixel_shuffle(self.final(h), 2)
        return y[..., :n] + x


class MUGANDiscriminator(nn.Module):
    """MU-GAN discriminator: ``disc(x, cond=None) -> (score (B, 1) logits, features)``.

    ``features`` are the outputs of every convolution block (for feature matching). ``cond`` is the
    interpolated input; it is used only when ``config.disc_conditional`` (stacked on channels) and
    ignored otherwise, as the paper's discriminator judges the waveform alone.

    Shape:
        x ``(batch, 1, time)``, cond ``(batch, 1, time)`` or None -> score ``(batch, 1)``.
    """

    def __init__(self, config: MUGANConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or MUGANConfig()
        slope = cfg.disc_leaky_slope
        self.blocks = nn.ModuleList()
        c_in = 2 if cfg.disc_conditional else 1
        for i, f in enumerate(cfg.disc_filters):
            norm = nn.Identity() if i == 0 else nn.BatchNorm1d(f)  # no normalisation on the raw input
            self.blocks.append(nn.Sequential(MultiScaleConv1d(c_in, f, cfg.disc_kernel_sizes), norm,
                                             nn.LeakyReLU(slope), SuperPixel1d(2)))
            c_in = 2 * f
        self.head = nn.Sequential(nn.Linear(c_in, cfg.disc_hidden), nn.Dropout(cfg.disc_dropout),
                                  nn.LeakyReLU(slope), nn.Linear(cfg.disc_hidden, 1))

    def valid_length(self, length: int) -> int:
        hop = 2 ** len(self.config.disc_filters)
        return max(1, math.ceil(length / hop)) * hop

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        check_waveform(x)
        if self.config.disc_conditional:
            if cond is None:
                raise ValueError("this discriminator is conditional (disc_conditional=True): pass cond")
            check_waveform(cond, "cond")
            if cond.shape != x.shape:
                raise ValueError(f"cond shape {tuple(cond.shape)} differs from x shape {tuple(x.shape)}")
            x = torch.cat([x, cond], dim=1)
        h = pad_to(x, self.valid_length(x.shape[-1]))
        features = []
        for block in self.blocks:
            h = block(h)
            features.append(h)
        return self.head(h.mean(dim=-1)), features


class MUGANAutoencoder(nn.Module):
    """The feature autoencoder: high-resolution ``(B, 1, T)`` -> reconstruction ``(B, 1, T)``.

    Same encoder and decoder blocks as :class:`MUGAN` without skip connections or residual, so all
    information passes through the bottleneck; :meth:`features` gives the encoder activations used by
    the feature loss (Sec. 3.3).

    Shape:
        x ``(batch, 1, time)`` -> ``(batch, 1, time)``.
    """

    def __init__(self, config: MUGANAEConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or MUGANAEConfig()
        self.encoder = _SuperpixelEncoder(cfg.filters, cfg.kernel_sizes, cfg.bottleneck_filters, 0.0)
        self.decoder = nn.ModuleList()
        c_in = self.encoder.out_channels
        for f in reversed(cfg.filters):
            self.decoder.append(nn.Sequential(MultiScaleConv1d(c_in, 2 * f, cfg.kernel_sizes), nn.PReLU(2 * f)))
            c_in = f
        self.final = nn.Conv1d(c_in, 2, cfg.final_kernel, padding=cfg.final_kernel // 2)

    def valid_length(self, length: int) -> int:
        return round_up(length, self.config.hop)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Encoder activations, finest first, bottleneck last (each ``(B, C_b, T_b)``)."""
        check_waveform(x)
        return self.encoder(pad_to(x, self.valid_length(x.shape[-1])))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-1]
        h = self.features(x)[-1]
        for block in self.decoder:
            h = subpixel_shuffle(block(h), 2)
        return subpixel_shuffle(self.final(h), 2)[..., :n]


register_family("mugan", MUGANConfig, MUGAN, "upsample", tiny=MUGANConfig.tiny,
                summary="MU-GAN: multi-scale conv U-Net with superpixel/subpixel resampling, GAN + AE feature loss",
                citation=CITATION, discriminator=lambda cfg: MUGANDiscriminator(cfg))
register_family("mugan_ae", MUGANAEConfig, MUGANAutoencoder, "autoencode", tiny=MUGANAEConfig.tiny,
                summary="MU-GAN feature autoencoder trained on high-resolution audio (for the feature loss)",
                citation=CITATION)
