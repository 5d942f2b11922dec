"""Shared building blocks of the neural model families (STYLE.md point 5).

Pure tensor functions first (shape checks, STFT helpers, frame context, mel filterbanks), then thin
``nn.Module`` wrappers that only hold buffers or parameters (:class:`StftFrontEnd`,
:class:`GatedDilatedConv1d`). Family modules import from here; none of this holds training logic.

Signal contract: waveforms are ``(batch, 1, time)`` float32; spectrograms are ``(batch, freq, frames)``
complex, as returned by ``torch.stft``.

Example:
    >>> import torch
    >>> fe = StftFrontEnd(n_fft=512, hop_length=128)
    >>> x = torch.randn(2, 1, 16000)
    >>> spec = fe.stft(x)                      # (2, 257, 126) complex
    >>> y = fe.istft(spec, length=x.shape[-1])  # (2, 1, 16000), equal to x to float precision
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import AudioInputError, ParameterError


# ----------------------------------------------------------------------------------------- checks
def check_waveform(x: Tensor, name: str = "noisy") -> Tensor:
    """Raise unless ``x`` is a ``(batch, 1, time)`` waveform with at least one sample; return it.

    Shape:
        x ``(B, 1, T)``.

    Example:
        >>> check_waveform(torch.zeros(1, 1, 10)).shape
        torch.Size([1, 1, 10])
    """
    if x.dim() != 3 or x.shape[1] != 1 or x.shape[-1] == 0:
        raise AudioInputError(f"{name} must have shape (batch, 1, time) with time > 0, found {tuple(x.shape)}")
    return x


def odd(value: int, name: str) -> int:
    """Return ``value`` if it is a positive odd integer, else raise ParameterError (non-causal 'same' convs)."""
    if value < 1 or value % 2 == 0:
        raise ParameterError(f"{name} must be a positive odd integer, got {value}")
    return value


# ------------------------------------------------------------------------------------------- STFT
def hop_aligned_length(n: int, hop_length: int) -> int:
    """Smallest length ``>= n`` that is a whole number of hops (the frames then end with the signal).

    Models built on :class:`StftFrontEnd` accept any length (``istft(..., length=T)`` crops), so this is
    what ``valid_length`` returns for them: the length at which no partial frame is padded.

    Example:
        >>> hop_aligned_length(1000, 128)
        1024
    """
    if n < 1:
        raise ParameterError(f"length must be positive, got {n}")
    return int(math.ceil(n / hop_length) * hop_length)


class StftFrontEnd(nn.Module):
    """``torch.stft`` / ``torch.istft`` with a fixed window held as a (non-persistent) buffer.

    ``center=True`` with zero padding, so any length works and ``istft(stft(x), length=T)`` returns
    ``x`` (window-square normalised overlap-add). The window is not part of the state dict: it is
    rebuilt from the config, which keeps checkpoints independent of it.

    Shape:
        :meth:`stft`: ``(B, 1, T)`` -> ``(B, n_fft // 2 + 1, frames)`` complex, ``frames = T // hop + 1``.
        :meth:`istft`: ``(B, F, frames)`` complex -> ``(B, 1, length)``.

    Example:
        >>> fe = StftFrontEnd(256, 64)
        >>> fe.stft(torch.zeros(1, 1, 1000)).shape
        torch.Size([1, 129, 16])
    """

    window: Tensor

    def __init__(self, n_fft: int, hop_length: int, win_length: int | None = None) -> None:
        super().__init__()
        win_length = win_length or n_fft
        if not (0 < hop_length <= win_length <= n_fft):
            raise ParameterError(
                f"need 0 < hop_length <= win_length <= n_fft, got {hop_length}, {win_length}, {n_fft}")
        self.n_fft, self.hop_length, self.win_length = n_fft, hop_length, win_length
        self.register_buffer("window", torch.hann_window(win_length), persistent=False)

    @property
    def n_freq(self) -> int:
        return self.n_fft // 2 + 1

    def stft(self, x: Tensor) -> Tensor:
        check_waveform(x)
        return torch.stft(x[:, 0], self.n_fft, self.hop_length, self.win_length, self.window.to(x.dtype),
                          center=True, pad_mode="constant", return_complex=True)

    def istft(self, spec: Tensor, length: int) -> Tensor:
        y = torch.istft(spec, self.n_fft, self.hop_length, self.win_length, self.window.to(spec.real.dtype),
                        center=True, length=length)
        return y.unsqueeze(1)


def log_magnitude(spec: Tensor, floor: float = 1e-5) -> Tensor:
    """``log(max(|spec|, floor))``: the log-magnitude features of the spectral autoencoders.

    Shape:
        ``(..., F, N)`` complex -> same shape, real.

    Example:
        >>> log_magnitude(torch.tensor([1 + 0j, 0j])).tolist()[0]
        0.0
    """
    return torch.log(spec.abs().clamp_min(floor))


def normalize_utterance(feats: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor, Tensor]:
    """Per-example mean/variance normalisation over frequency and time (one scalar pair per example).

    A level change of the input shifts log features by a constant, which this removes; models undo it
    on their output with the returned ``(mean, std)``.

    Shape:
        ``(B, D, N)`` -> ``((B, D, N), (B, 1, 1), (B, 1, 1))``.

    Example:
        >>> z, m, s = normalize_utterance(torch.randn(2, 5, 7) * 3 + 1)
        >>> bool(z.mean().abs() < 1e-5)
        True
    """
    mean = feats.mean(dim=(1, 2), keepdim=True)
    std = feats.std(dim=(1, 2), keepdim=True, unbiased=False).clamp_min(eps) if feats[0].numel() > 1 \
        else torch.ones_like(mean)
    return (feats - mean) / std, mean, std


def frame_context(feats: Tensor, left: int, right: int) -> Tensor:
    """Stack each frame with its ``left`` past and ``right`` future neighbours (a moving window).

    Edges repeat the first/last frame. The window is flattened frame-major: element
    ``[b, n, k * D + d]`` is feature ``d`` of frame ``n - left + k``.

    Shape:
        ``(B, D, N)`` -> ``(B, N, D * (left + right + 1))``.

    Example:
        >>> frame_context(torch.arange(3.).view(1, 1, 3), 1, 1)[0].tolist()
        [[0.0, 0.0, 1.0], [0.0, 1.0, 2.0], [1.0, 2.0, 2.0]]
    """
    if left < 0 or right < 0:
        raise ParameterError(f"context sizes must be >= 0, got left={left}, right={right}")
    b, d, n = feats.shape
    if left or right:
        feats = F.pad(feats, (left, right), mode="replicate")
    win = feats.unfold(-1, left + right + 1, 1)  # (B, D, N, K)
    return win.permute(0, 2, 3, 1).reshape(b, n, (left + right + 1) * d)


# -------------------------------------------------------------------------------------------- mel
def hz_to_mel(f_hz: Tensor) -> Tensor:
    """HTK mel scale, ``2595 log10(1 + f / 700)``."""
    return 2595.0 * torch.log10(1.0 + f_hz / 700.0)


def mel_to_hz(mel: Tensor) -> Tensor:
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(n_mels: int, n_fft: int, sample_rate: int, f_min_hz: float = 0.0,
                   f_max_hz: float | None = None) -> Tensor:
    """Triangular HTK-mel filterbank with unit peaks (torchaudio's ``melscale_fbanks``, norm=None, htk).

    Shape:
        ``(n_mels, n_fft // 2 + 1)``.

    Example:
        >>> mel_filterbank(40, 512, 16000).shape
        torch.Size([40, 257])
    """
    f_max_hz = sample_rate / 2 if f_max_hz is None else f_max_hz
    if not (0 <= f_min_hz < f_max_hz <= sample_rate / 2):
        raise ParameterError(f"need 0 <= f_min_hz < f_max_hz <= {sample_rate / 2}, got {f_min_hz}, {f_max_hz}")
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    edges = mel_to_hz(torch.linspace(float(hz_to_mel(torch.tensor(f_min_hz))),
                                     float(hz_to_mel(torch.tensor(f_max_hz))), n_mels + 2, dtype=torch.float64))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None] - lo) / (mid - lo)
    down = (hi - freqs[None]) / (hi - mid)
    fb = torch.clamp(torch.minimum(up, down), min=0.0)
    if bool((fb.sum(dim=1) == 0).any()):
        raise ParameterError(f"{n_mels} mel bands are too many for n_fft={n_fft}: some bands hold no FFT bin")
    return fb.float()


def mel_gain_to_linear(fb: Tensor) -> Tensor:
    """Matrix interpolating per-band gains to per-bin gains: each bin takes the filter-weighted mean.

    Bin ``f`` gets ``sum_m fb[m, f] g[m] / sum_m fb[m, f]``; bins no filter covers (outside
    ``[f_min, f_max]``) take the gain of the nearest band. Rows sum to one, so a constant gain maps to
    the same constant and gains stay non-negative, unlike the pseudo-inverse of ``fb``.

    Shape:
        ``fb (M, F)`` -> ``(F, M)``.

    Example:
        >>> w = mel_gain_to_linear(mel_filterbank(20, 256, 16000))
        >>> bool(torch.allclose(w.sum(1), torch.ones(129)))
        True
    """
    w = fb.t().clone()
    total = w.sum(dim=1)
    empty = total <= 0
    if bool(empty.any()):
        peak_bin = fb.argmax(dim=1).to(torch.float32)  # (M,)
        bins = torch.nonzero(empty).flatten()
        nearest = (bins[:, None].float() - peak_bin[None]).abs().argmin(dim=1)
        w[bins] = 0.0
        w[bins, nearest] = 1.0
        total = w.sum(dim=1)
    return w / total[:, None]


# ---------------------------------------------------------------------------------- convolutions
class GatedDilatedConv1d(nn.Module):
    """Non-causal dilated convolution with a gated activation, ``tanh(W_f * x) * sigmoid(W_g * x)``.

    The gate of WaveNet (van den Oord et al. 2016, Sec. 2.3), used non-causally by Rethage et al.
    2018 (Sec. 3.1). ``padding="valid"`` shortens the signal by ``dilation * (kernel_size - 1)``;
    ``padding="same"`` zero-pads symmetrically (kernel_size must then be odd). Both halves come from one
    convolution with ``2 * out_channels`` outputs.

    Shape:
        ``(B, C_in, T)`` -> ``(B, C_out, T')`` with ``T' = T`` ("same") or
        ``T - dilation * (kernel_size - 1)`` ("valid").

    Example:
        >>> conv = GatedDilatedConv1d(4, 8, kernel_size=3, dilation=2)
        >>> conv(torch.randn(1, 4, 100)).shape
        torch.Size([1, 8, 96])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, dilation: int = 1,
                 padding: str = "valid") -> None:
        super().__init__()
        if padding not in ("valid", "same"):
            raise ParameterError(f"padding must be 'valid' or 'same', got {padding!r}")
        if padding == "same":
            odd(kernel_size, "kernel_size")
        pad = dilation * (kernel_size - 1) // 2 if padding == "same" else 0
        self.out_channels = out_channels
        self.shrink = 0 if padding == "same" else dilation * (kernel_size - 1)
        self.conv = nn.Conv1d(in_channels, 2 * out_channels, kernel_size, dilation=dilation, padding=pad)

    def forward(self, x: Tensor) -> Tensor:
        filt, gate = self.conv(x).chunk(2, dim=1)
        return torch.tanh(filt) * torch.sigmoid(gate)


# ------------------------------------------------------------------ super-resolution blocks (1-D)
# Subpixel / superpixel shuffling and Temporal FiLM, shared by AudioUNet, TFiLM and MU-GAN.
import torch as _torch_sr  # noqa: E402
import torch.nn.functional as _F_sr  # noqa: E402
from torch import nn as _nn_sr  # noqa: E402


def subpixel_shuffle(x: _torch_sr.Tensor, factor: int) -> _torch_sr.Tensor:
    """1-D subpixel shuffle: trade channels for time (Kuleshov et al. 2017, Sec. 3, "subpixel layer";
    Shi et al. 2016 in 2-D). Channel ``c * factor + i`` becomes the ``i``-th sample of every group.

    Shape:
        ``(B, C * factor, T)`` -> ``(B, C, T * factor)``. Exact inverse of :func:`superpixel`.

    Example:
        >>> subpixel_shuffle(_torch_sr.arange(4.).view(1, 2, 2), 2).tolist()
        [[[0.0, 2.0, 1.0, 3.0]]]
    """
    if x.dim() != 3:
        raise ValueError(f"subpixel_shuffle expects (batch, channels, time), found shape {tuple(x.shape)}")
    b, c, t = x.shape
    if factor < 1 or c % factor:
        raise ValueError(f"channels ({c}) must be a multiple of the factor ({factor})")
    return x.reshape(b, c // factor, factor, t).permute(0, 1, 3, 2).reshape(b, c // factor, t * factor)


def superpixel(x: _torch_sr.Tensor, factor: int) -> _torch_sr.Tensor:
    """1-D superpixel (space-to-channel): trade time for channels, a parameter-free downsampling
    (Kim and Sathe 2019, Sec. 3.1). Sample ``t * factor + i`` of channel ``c`` goes to channel
    ``c * factor + i`` at time ``t``.

    Shape:
        ``(B, C, T * factor)`` -> ``(B, C * factor, T)``. Exact inverse of :func:`subpixel_shuffle`.

    Example:
        >>> superpixel(_torch_sr.tensor([[[0., 2., 1., 3.]]]), 2).tolist()
        [[[0.0, 1.0], [2.0, 3.0]]]
    """
    if x.dim() != 3:
        raise ValueError(f"superpixel expects (batch, channels, time), found shape {tuple(x.shape)}")
    b, c, t = x.shape
    if factor < 1 or t % factor:
        raise ValueError(f"time ({t}) must be a multiple of the factor ({factor})")
    return x.reshape(b, c, t // factor, factor).permute(0, 1, 3, 2).reshape(b, c * factor, t // factor)


class SubPixel1d(_nn_sr.Module):
    """Module form of :func:`subpixel_shuffle` (no parameters)."""

    def __init__(self, factor: int = 2) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: _torch_sr.Tensor) -> _torch_sr.Tensor:
        return subpixel_shuffle(x, self.factor)


class SuperPixel1d(_nn_sr.Module):
    """Module form of :func:`superpixel` (no parameters)."""

    def __init__(self, factor: int = 2) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: _torch_sr.Tensor) -> _torch_sr.Tensor:
        return superpixel(x, self.factor)


class TFiLM(_nn_sr.Module):
    """Temporal feature-wise linear modulation (Birnbaum et al. 2019, Sec. 3, Algorithm 1).

    The time axis is cut into blocks of ``block_size`` steps; each block is max-pooled to one vector,
    an LSTM runs over the block sequence, and its output gives a per-block, per-channel scale and
    shift applied to every step of that block: ``y[b] = gamma_b * x[b] + beta_b``. A linear read-out
    maps the LSTM state to ``(gamma, beta)``; gamma is parameterised as ``1 + delta`` so an untrained
    layer is close to the identity (the reference code multiplies by the raw LSTM output instead).
    A last partial block is pooled over the steps it has, so any length is accepted.

    Shape:
        ``(B, C, T)`` -> ``(B, C, T)`` for any ``T >= 1``.

    Example:
        >>> layer = TFiLM(8, block_size=4)
        >>> layer(_torch_sr.randn(2, 8, 10)).shape
        torch.Size([2, 8, 10])
    """

    def __init__(self, channels: int, block_size: int = 8, hidden: int | None = None) -> None:
        super().__init__()
        if block_size < 1:
            raise ValueError(f"block_size must be at least 1, got {block_size}")
        self.channels, self.block_size = channels, block_size
        hidden = hidden or channels
        self.rnn = _nn_sr.LSTM(channels, hidden, batch_first=True)
        self.proj = _nn_sr.Linear(hidden, 2 * channels)
        _nn_sr.init.zeros_(self.proj.weight)
        _nn_sr.init.zeros_(self.proj.bias)

    def forward(self, x: _torch_sr.Tensor) -> _torch_sr.Tensor:
        if x.dim() != 3 or x.shape[1] != self.channels:
            raise ValueError(f"TFiLM expects (batch, {self.channels}, time), found shape {tuple(x.shape)}")
        t = x.shape[-1]
        pooled = _F_sr.max_pool1d(x, self.block_size, self.block_size, ceil_mode=True)  # (B, C, n_blocks)
        h, _ = self.rnn(pooled.transpose(1, 2))                                          # (B, n_blocks, H)
        gamma, beta = self.proj(h).transpose(1, 2).chunk(2, dim=1)                        # (B, C, n_blocks)
        gamma = (1.0 + gamma).repeat_interleave(self.block_size, dim=-1)[..., :t]
        beta = beta.repeat_interleave(self.block_size, dim=-1)[..., :t]
        return gamma * x + beta


# ------------------------------------------------------------------------------------ activations
_ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "elu": nn.ELU,
                "leaky_relu": nn.LeakyReLU, "prelu": nn.PReLU}


def make_activation(name: str) -> nn.Module:
    """Activation module by name: relu, sigmoid, tanh, elu, leaky_relu (slope 0.01) or prelu.

    Example:
        >>> make_activation("relu")(torch.tensor([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """
    if name not in _ACTIVATIONS:
        raise ParameterError(f"unknown activation {name!r} (known: {', '.join(sorted(_ACTIVATIONS))})")
    return _ACTIVATIONS[name]()
