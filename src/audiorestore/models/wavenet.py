"""WaveNet denoiser: non-causal dilated residual stacks predicting a target field (architecture only).

Rethage, Pons and Serra, "A Wavenet for Speech Denoising", ICASSP 2018 (arXiv:1706.07162).

* Sec. 3.1 (non-causal WaveNet): the causal convolutions of WaveNet are replaced by symmetric
  ("non-causal") dilated convolutions of filter length 3, so each output sample sees past and future
  context. ``n_stacks`` stacks of ``layers_per_stack`` residual layers with dilations 1, 2, ..., 2^(L-1)
  (the paper: 3 stacks of 10 layers, dilations 1..512).
* Each residual layer (WaveNet's gated unit): ``z = tanh(W_f * x) * sigmoid(W_g * x)``
  (:class:`audiorestore.models.layers.GatedDilatedConv1d`), a 1x1 convolution back to the residual
  channels added to the layer input, and a 1x1 convolution to the skip channels. The skip outputs of
  all layers are summed, then ReLU -> 3-tap conv -> ReLU -> 3-tap conv -> 1x1 conv to one output
  channel, a real-valued sample (Sec. 3.3: regression instead of WaveNet's softmax over mu-law bins).
* Sec. 3.2 (target field): every convolution is "valid", so an input of ``target_field +
  receptive_field - 1`` samples gives ``target_field`` output samples at once
  (:meth:`WaveNet.forward_target_field`, how the paper trains: 1601-sample target fields).
  :meth:`WaveNet.forward` pads ``(receptive_field - 1) / 2`` zeros on both sides so that the
  output has the input's length.
* Sec. 3.4 (energy-conserving loss): the network predicts speech only and the noise estimate is
  ``noisy - speech``; the loss is :func:`audiorestore.losses.energy.energy_conserving_loss`.

Not included: the paper's speaker conditioning (one-hot speaker identity on the gates), which needs
speaker labels; an unconditioned model is what the paper uses for unseen speakers.

Receptive field (all kernels odd)::

    R = (input_kernel_size - 1) + n_stacks * (kernel_size - 1) * (2^L - 1) + 2 * (output_kernel_size - 1) + 1

With the defaults ``R = 0 + 3 * 2 * 1023 + 4 + 1 = 6143`` samples (384 ms at 16 kHz); the paper's
6139 counts the dilated stacks only.

Example:
    >>> import torch
    >>> model = WaveNet(WaveNetConfig(n_stacks=1, layers_per_stack=3, residual_channels=8,
    ...                                       skip_channels=8, output_channels=(16, 8)))
    >>> model.receptive_field
    19
    >>> model(torch.randn(2, 1, 1000)).shape
    torch.Size([2, 1, 1000])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import AudioInputError, ParameterError
from .layers import GatedDilatedConv1d, check_waveform, odd
from .registry import register_family


@dataclass
class WaveNetConfig:
    """Non-causal WaveNet denoiser: stacks, layers, channels, kernel sizes, final layers."""

    sample_rate: int = 16000
    n_stacks: int = 3
    layers_per_stack: int = 10
    kernel_size: int = 3
    residual_channels: int = 128
    skip_channels: int = 128
    #: channels of the two 3-tap convolutions after the skip sum (the paper: 2048 and 256).
    output_channels: tuple[int, ...] = (2048, 256)
    output_kernel_size: int = 3
    #: 1 keeps the receptive field equal to the paper's stack formula plus the output convolutions.
    input_kernel_size: int = 1
    #: samples predicted per training example (Sec. 3.2); documentation for trainers, not used here.
    target_field: int = 1601


class _ResidualLayer(nn.Module):
    """Gated dilated conv -> (1x1 residual, 1x1 skip); valid convolution, residual path cropped."""

    def __init__(self, channels: int, skip_channels: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        self.gated = GatedDilatedConv1d(channels, channels, kernel_size, dilation, padding="valid")
        self.res = nn.Conv1d(channels, channels, 1)
        self.skip = nn.Conv1d(channels, skip_channels, 1)
        self.shrink = self.gated.shrink

    def forward(self, x: Tensor, skip_length: int) -> tuple[Tensor, Tensor]:
        z = self.gated(x)
        side = self.shrink // 2
        out = x[..., side: x.shape[-1] - side] + self.res(z)
        # only the last `skip_length` centre samples reach the output: skip-convolve just those
        start = (z.shape[-1] - skip_length) // 2
        return out, self.skip(z[..., start: start + skip_length])


class WaveNet(nn.Module):
    """Non-causal WaveNet predicting clean speech samples from noisy ones.

    Shape:
        :meth:`forward`: ``(B, 1, T)`` -> ``(B, 1, T)``.
        :meth:`forward_target_field`: ``(B, 1, L)`` -> ``(B, 1, L - receptive_field + 1)``.

    Example:
        >>> import torch
        >>> model = WaveNet(WaveNetConfig(n_stacks=1, layers_per_stack=2, residual_channels=4,
        ...                                       skip_channels=4, output_channels=(4,)))
        >>> model.forward_target_field(torch.zeros(1, 1, model.receptive_field + 9)).shape
        torch.Size([1, 1, 10])
    """

    def __init__(self, config: WaveNetConfig) -> None:
        super().__init__()
        self.config = config
        for name in ("kernel_size", "output_kernel_size", "input_kernel_size"):
            odd(getattr(config, name), name)
        if config.n_stacks < 1 or config.layers_per_stack < 1:
            raise ParameterError("n_stacks and layers_per_stack must be >= 1")
        c, s = config.residual_channels, config.skip_channels
        self.input = nn.Conv1d(1, c, config.input_kernel_size)
        self.layers = nn.ModuleList(
            _ResidualLayer(c, s, config.kernel_size, 2 ** i)
            for _ in range(config.n_stacks) for i in range(config.layers_per_stack))
        head: list[nn.Module] = []
        in_ch = s
        for ch in config.output_channels:
            head += [nn.ReLU(), nn.Conv1d(in_ch, ch, config.output_kernel_size)]
            in_ch = ch
        head += [nn.ReLU(), nn.Conv1d(in_ch, 1, 1)]
        self.head = nn.Sequential(*head)

    @property
    def receptive_field(self) -> int:
        """Input samples each output sample depends on (see the module docstring's formula)."""
        cfg = self.config
        stacks = cfg.n_stacks * (cfg.kernel_size - 1) * (2 ** cfg.layers_per_stack - 1)
        head = len(cfg.output_channels) * (cfg.output_kernel_size - 1)
        return (cfg.input_kernel_size - 1) + stacks + head + 1

    def valid_length(self, n: int) -> int:
        """:meth:`forward` pads internally, so any length works: returns ``n``."""
        return n

    def input_length(self, target_field: int) -> int:
        """Input samples needed to predict ``target_field`` samples with :meth:`forward_target_field`."""
        return target_field + self.receptive_field - 1

    def forward_target_field(self, x: Tensor) -> Tensor:
        """Predict the ``L - receptive_field + 1`` centre samples of an input of ``L`` samples."""
        check_waveform(x)
        out_len = x.shape[-1] - self.receptive_field + 1
        if out_len < 1:
            raise AudioInputError(f"input of {x.shape[-1]} samples is shorter than the receptive field "
                                  f"({self.receptive_field}); found shape {tuple(x.shape)}")
        head_shrink = len(self.config.output_channels) * (self.config.output_kernel_size - 1)
        skip_len = out_len + head_shrink
        h = self.input(x)
        skips: Tensor | None = None
        for layer in self.layers:
            h, s = layer(h, skip_len)
            skips = s if skips is None else skips + s
        assert skips is not None
        return self.head(skips)

    def forward(self, noisy: Tensor) -> Tensor:
        pad = (self.receptive_field - 1) // 2
        return self.forward_target_field(F.pad(check_waveform(noisy), (pad, pad)))


register_family(
    "wavenet", WaveNetConfig, WaveNet, "denoise",
    tiny=lambda: WaveNetConfig(n_stacks=1, layers_per_stack=3, residual_channels=8, skip_channels=8,
                               output_channels=(16, 8), target_field=64),
    summary="Non-causal WaveNet denoiser: dilated gated residual stacks, target-field prediction",
    citation="Rethage, Pons and Serra, A Wavenet for Speech Denoising, ICASSP 2018",
)
