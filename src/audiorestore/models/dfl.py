"""Deep feature loss denoiser: context aggregation network and its audio-classification loss network.

Germain, Chen and Koltun, "Speech Denoising with Deep Feature Losses", Interspeech 2019
(arXiv:1806.10522). Architecture only; the loss lives in :mod:`audiorestore.losses.deep_feature` and
the training of the loss network in :mod:`audiorestore.train.lossnet`.

* :class:`DFLNet`, the denoising network (Sec. 2.1): a context aggregation network (CAN) on the raw
  waveform. An input layer, 13 layers of 3x1 dilated convolutions with dilation 2**0 ... 2**12
  (exponentially growing receptive field, about 16k samples = 1 s at 16 kHz), one more 3x1 layer with
  dilation 1, then a linear 1x1 output layer. Every intermediate layer has W = 64 channels, zero
  padding keeps the length, and is followed by adaptive normalisation ``a * x + b * BN(x)`` with
  learnable scalars a, b (Chen, Xu, Koltun, "Fast image processing with fully-convolutional networks",
  ICCV 2017) and a LeakyReLU (slope 0.2). The output layer has no normalisation and no non-linearity.
* :class:`LossNet`, the feature-loss network (Sec. 2.2): a VGG-like classifier of 15 layers of 3x1
  convolutions with stride 2 (each halves the length), batch norm, LeakyReLU and zero padding; 32
  channels in the first block of 5 layers, doubled every 5 layers; the last layer is average-pooled
  over time and fed to one linear classifier per task. The paper trains it on acoustic scene
  classification and domestic audio tagging (DCASE 2016); here it is trained on the tasks
  :mod:`audiorestore.train.lossnet` builds from the bundled data (see that module).

Example:
    >>> import torch
    >>> DFLNet(DFLConfig.tiny())(torch.randn(2, 1, 300)).shape
    torch.Size([2, 1, 300])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .registry import register_family

CITATION = ("F. G. Germain, Q. Chen, V. Koltun, Speech Denoising with Deep Feature Losses, "
            "Interspeech 2019 (arXiv:1806.10522)")


def _doc(text: str) -> dict:
    return {"doc": text}


def _check_waveform(x: torch.Tensor) -> None:
    if x.dim() != 3 or x.shape[1] != 1:
        raise ValueError(f"expected a waveform of shape (batch, 1, time), found {tuple(x.shape)}")


# ------------------------------------------------------------------------------- denoising CAN
@dataclass
class DFLConfig:
    """The denoising context aggregation network (defaults: Sec. 2.1 of the paper)."""

    channels: int = field(default=64, metadata=_doc("feature maps W of every intermediate layer"))
    n_dilated: int = field(default=13, metadata=_doc("dilated layers, dilation 2**0 ... 2**(n-1)"))
    kernel_size: int = field(default=3, metadata=_doc("width of every convolution (odd)"))
    leaky_slope: float = field(default=0.2, metadata=_doc("LeakyReLU slope"))
    sample_rate: int = field(default=16000, metadata=_doc("rate the model is trained at"))

    def __post_init__(self) -> None:
        if self.kernel_size % 2 != 1 or self.channels <= 0 or self.n_dilated <= 0:
            raise ValueError(f"need odd kernel_size and positive channels/n_dilated, got {self}")

    @classmethod
    def tiny(cls) -> DFLConfig:
        return cls(channels=8, n_dilated=4)

    @property
    def receptive_field(self) -> int:
        """Samples seen by one output sample (all layers, dilations summed)."""
        k = self.kernel_size - 1
        return 1 + k * (1 + sum(2 ** i for i in range(self.n_dilated)) + 1)


class AdaptiveNorm(nn.Module):
    """``a * x + b * BN(x)`` with learnable scalars a (init 1) and b (init 0) (Chen et al. 2017, Sec. 3.2):
    the network can learn how much batch normalisation to use.

    Shape:
        ``(batch, channels, time)`` -> same.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.ones(()))
        self.b = nn.Parameter(torch.zeros(()))
        self.bn = nn.BatchNorm1d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a * x + self.b * self.bn(x)


class DFLNet(nn.Module):
    """Context aggregation network: noisy ``(B, 1, T)`` -> enhanced ``(B, 1, T)`` for any ``T``.

    Shape:
        ``(batch, 1, time)`` -> ``(batch, 1, time)``
    """

    def __init__(self, config: DFLConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or DFLConfig()
        w, k = cfg.channels, cfg.kernel_size
        # input layer, then n_dilated layers with dilation 2**i, then one more layer with dilation 1
        dilations = [1] + [2 ** i for i in range(cfg.n_dilated)] + [1]
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for i, d in enumerate(dilations):
            self.convs.append(nn.Conv1d(1 if i == 0 else w, w, k, dilation=d, padding=d * (k // 2), bias=False))
            self.norms.append(AdaptiveNorm(w))
        self.out = nn.Conv1d(w, 1, 1)  # linear output layer (1x1 conv with bias)

    def valid_length(self, length: int) -> int:
        """Every length is valid (no strides)."""
        return length

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_waveform(x)
        h = x
        for conv, norm in zip(self.convs, self.norms):
            h = F.leaky_relu(norm(conv(h)), self.config.leaky_slope)
        return self.out(h)


# -------------------------------------------------------------------------------- loss network
@dataclass
class LossNetConfig:
    """The VGG-like audio classifier whose activations define the deep feature loss (Sec. 2.2).

    ``tasks`` and ``n_classes`` are parallel: one linear head per task.
    """

    n_layers: int = field(default=15, metadata=_doc("3x1 stride-2 convolution layers"))
    base_channels: int = field(default=32, metadata=_doc("channels of the first block"))
    double_every: int = field(default=5, metadata=_doc("channels double every this many layers"))
    kernel_size: int = field(default=3, metadata=_doc("convolution width (odd)"))
    leaky_slope: float = field(default=0.2, metadata=_doc("LeakyReLU slope"))
    tasks: tuple[str, ...] = field(default=("noise", "speaker", "emotion"), metadata=_doc("task names"))
    n_classes: tuple[int, ...] = field(default=(8, 48, 7), metadata=_doc("classes per task"))
    sample_rate: int = field(default=16000, metadata=_doc("rate of the input waveform"))

    def __post_init__(self) -> None:
        self.tasks = tuple(str(t) for t in self.tasks)
        self.n_classes = tuple(int(c) for c in self.n_classes)
        if len(self.tasks) != len(self.n_classes) or not self.tasks:
            raise ValueError(f"tasks {self.tasks} and n_classes {self.n_classes} must be parallel and non-empty")
        if min(self.n_classes) < 2:
            raise ValueError(f"every task needs at least 2 classes, got {self.n_classes}")
        if self.kernel_size % 2 != 1 or self.n_layers <= 0:
            raise ValueError(f"need odd kernel_size and positive n_layers, got {self}")

    @classmethod
    def tiny(cls) -> LossNetConfig:
        return cls(n_layers=6, base_channels=4, double_every=3, tasks=("task",), n_classes=(2,))

    def layer_channels(self) -> list[int]:
        return [self.base_channels * 2 ** (i // self.double_every) for i in range(self.n_layers)]


class LossNet(nn.Module):
    """VGG-like 1-D classifier: waveform ``(B, 1, T)`` -> ``{task: logits (B, n_classes)}``.

    :meth:`features` returns the activations of the first ``n`` layers (after the LeakyReLU), which
    is what the deep feature loss compares.

    Shape:
        ``(batch, 1, time)`` -> dict of ``(batch, n_classes[task])``; layer l has
        ``ceil(time / 2 ** (l + 1))`` samples.
    """

    def __init__(self, config: LossNetConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or LossNetConfig()
        chans = [1] + cfg.layer_channels()
        self.convs = nn.ModuleList(nn.Conv1d(a, b, cfg.kernel_size, stride=2, padding=cfg.kernel_size // 2,
                                             bias=False) for a, b in zip(chans[:-1], chans[1:]))
        self.norms = nn.ModuleList(nn.BatchNorm1d(c) for c in chans[1:])
        self.heads = nn.ModuleDict({t: nn.Linear(chans[-1], n) for t, n in zip(cfg.tasks, cfg.n_classes)})

    def valid_length(self, length: int) -> int:
        """Any length works (odd lengths are zero-padded by the strided convolutions)."""
        return length

    def features(self, x: torch.Tensor, n_layers: int | None = None) -> list[torch.Tensor]:
        """Activations of the first ``n_layers`` layers (all by default)."""
        _check_waveform(x)
        n = len(self.convs) if n_layers is None else n_layers
        if not 0 < n <= len(self.convs):
            raise ValueError(f"n_layers must be in 1..{len(self.convs)}, got {n_layers}")
        out = []
        h = x
        for conv, norm in zip(self.convs[:n], self.norms[:n]):
            h = F.leaky_relu(norm(conv(h)), self.config.leaky_slope)
            out.append(h)
        return out

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        pooled = self.features(x)[-1].mean(dim=-1)  # average pooling over time (Sec. 2.2)
        return {task: head(pooled) for task, head in self.heads.items()}


register_family("dfl", DFLConfig, DFLNet, "denoise", tiny=DFLConfig.tiny,
                summary="deep feature loss denoiser: dilated context aggregation network (waveform)",
                citation=CITATION)
register_family("dfl_lossnet", LossNetConfig, LossNet, "classify", tiny=LossNetConfig.tiny,
                summary="VGG-like audio classifier whose activations define the deep feature loss",
                citation=CITATION)
