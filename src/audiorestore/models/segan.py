"""SEGAN: speech enhancement generative adversarial network (architecture only).

Pascual, Bonafonte and Serrà, "SEGAN: Speech Enhancement Generative Adversarial Network",
Interspeech 2017 (arXiv:1703.09452).

* Generator (Sec. 3, Fig. 2): a fully convolutional encoder-decoder on the waveform. The encoder is a
  stack of strided 1-D convolutions (kernel 31, stride 2, PReLU), 16 -> 32 -> ... -> 1024 channels, so
  a 16384-sample window becomes an 8 x 1024 "thought vector" c. A latent code z of the same shape is
  drawn from N(0, I) and concatenated to c on channels. The decoder mirrors the encoder with transposed
  convolutions, and every decoder layer is concatenated with the encoder output of the same length
  (skip connections, "to pass fine-grained information of the waveform"). The last layer is a tanh.
* Discriminator (Sec. 3 and 4.2): the same encoder applied to the pair (x, cond) stacked on channels,
  with virtual batch normalisation and LeakyReLU(0.3); a 1x1 convolution reduces it to 8 x 1 and a
  fully connected layer gives the score.
* Signal processing (Sec. 4.2): 16 kHz audio, windows of 16384 samples (about 1 s), a pre-emphasis
  filter with coefficient 0.95 on every input, and the matching de-emphasis on the output.

The model maps raw noisy audio to raw clean audio: :meth:`SEGAN.forward` applies the pre-emphasis,
runs the network in the emphasised domain (:meth:`SEGAN.forward_emphasized`, where the paper computes
its losses) and de-emphasises the result. Losses (LSGAN plus 100 x L1, Sec. 3) and the GAN training
step live in ``audiorestore.losses`` / ``audiorestore.train``, not here.

The latent code: during training pass a ``torch.Generator`` (or an explicit ``z``) so that every call
draws a new, reproducible sample. Without either, ``z`` is drawn from a fresh generator seeded with
``config.z_seed`` (default 0), so inference is deterministic: the same input always gives the same
output. ``z_channels=0`` removes the latent code altogether (the authors' later finding that the
generator learns to ignore it).

``residual=True`` (not in the paper, off by default) makes the generator predict a correction added to
its input, starting from the identity. It was tried because a short CPU training of the paper's generator
stays below the noisy input; within 30 CPU minutes it stayed at the identity instead
(recipes/denoise_segan.toml lists the runs).

Example:
    >>> import torch
    >>> model = SEGAN(SEGANConfig.tiny()).eval()
    >>> model(torch.randn(2, 1, 1000)).shape
    torch.Size([2, 1, 1000])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .registry import register_family

CITATION = ("S. Pascual, A. Bonafonte, J. Serrà, SEGAN: Speech Enhancement Generative Adversarial Network, "
            "Interspeech 2017 (arXiv:1703.09452)")


def _doc(text: str) -> dict:
    return {"doc": text}


@dataclass
class SEGANConfig:
    """Hyper-parameters of the SEGAN generator and discriminator (defaults: the paper's, Sec. 4.2)."""

    channels: tuple[int, ...] = field(
        default=(16, 32, 32, 64, 64, 128, 128, 256, 256, 512, 1024),
        metadata=_doc("encoder output channels per layer; the decoder mirrors them"))
    kernel_size: int = field(default=31, metadata=_doc("convolution width (odd)"))
    stride: int = field(default=2, metadata=_doc("decimation per encoder layer"))
    z_channels: int = field(default=1024, metadata=_doc("channels of the latent code at the bottleneck (0: none)"))
    z_seed: int = field(default=0, metadata=_doc("seed of the latent code when no generator/z is given"))
    preemphasis: float = field(default=0.95, metadata=_doc("pre-emphasis coefficient (0 disables)"))
    sample_rate: int = field(default=16000, metadata=_doc("rate the model is trained at"))
    segment_length: int = field(default=16384, metadata=_doc("training window in samples"))
    disc_leaky_slope: float = field(default=0.3, metadata=_doc("LeakyReLU slope in the discriminator"))
    vbn_eps: float = field(default=1e-5, metadata=_doc("virtual batch norm epsilon"))
    residual: bool = field(default=False, metadata=_doc(
        "NOT IN THE PAPER: add the (pre-emphasised) input to the generator's output and start its last "
        "layer at zero, with no tanh (which saturated and stopped learning at lr 1e-3), so that an untrained "
        "generator passes the input through and training learns a correction"))

    def __post_init__(self) -> None:
        self.channels = tuple(int(c) for c in self.channels)
        if not self.channels or min(self.channels) <= 0:
            raise ValueError(f"channels must be a non-empty list of positive ints, got {self.channels}")
        if self.kernel_size % 2 != 1 or self.kernel_size < self.stride:
            raise ValueError(f"kernel_size must be odd and >= stride, got {self.kernel_size}")
        if self.stride < 2:
            raise ValueError(f"stride must be at least 2, got {self.stride}")
        if not 0.0 <= self.preemphasis < 1.0:
            raise ValueError(f"preemphasis must be in [0, 1), got {self.preemphasis}")
        if self.segment_length % self.hop != 0:
            raise ValueError(f"segment_length {self.segment_length} must be a multiple of {self.hop}")

    @property
    def n_layers(self) -> int:
        return len(self.channels)

    @property
    def hop(self) -> int:
        """Total decimation of the encoder (stride ** n_layers)."""
        return self.stride ** self.n_layers

    @classmethod
    def tiny(cls) -> SEGANConfig:
        """A few thousand parameters, for tests: 4 layers, kernel 15, 256-sample windows."""
        return cls(channels=(4, 8, 8, 16), kernel_size=15, z_channels=8, segment_length=256)


# ------------------------------------------------------------------------------ pre/de-emphasis
def preemphasis(x: torch.Tensor, coef: float) -> torch.Tensor:
    """First-order high-pass ``y[n] = x[n] - coef * x[n-1]`` (with ``x[-1] = 0``), Sec. 4.2.

    Shape:
        ``(..., time)`` -> ``(..., time)``
    """
    if coef == 0.0:
        return x
    return torch.cat([x[..., :1], x[..., 1:] - coef * x[..., :-1]], dim=-1)


def deemphasis(x: torch.Tensor, coef: float) -> torch.Tensor:
    """Exact inverse of :func:`preemphasis`: ``y[n] = x[n] + coef * y[n-1]``.

    The recursion is evaluated as a convolution with its impulse response ``coef ** k`` (all ``time``
    taps, so the result is exact, not truncated) through an FFT of twice the length: differentiable
    and free of a Python loop over samples.

    Shape:
        ``(..., time)`` -> ``(..., time)``
    """
    if coef == 0.0:
        return x
    n = x.shape[-1]
    n_fft = 1 << (2 * n - 1).bit_length()
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    k = torch.arange(n, device=x.device, dtype=torch.float64)
    h = torch.exp(k * math.log(coef)).to(dtype)  # coef ** k, underflows cleanly to 0
    y = torch.fft.irfft(torch.fft.rfft(x.to(dtype), n_fft) * torch.fft.rfft(h, n_fft), n_fft)[..., :n]
    return y.to(x.dtype)


def _check_waveform(x: torch.Tensor, name: str = "x") -> None:
    if x.dim() != 3 or x.shape[1] != 1:
        raise ValueError(f"{name} must have shape (batch, 1, time), found {tuple(x.shape)}")


# ----------------------------------------------------------------------------------- generator
class SEGAN(nn.Module):
    """SEGAN generator: raw noisy ``(B, 1, T)`` -> raw clean ``(B, 1, T)``.

    Any ``T`` is accepted: the input is zero-padded to :meth:`valid_length` and the output cropped.

    Shape:
        x ``(batch, 1, time)`` -> ``(batch, 1, time)``; z (optional)
        ``(batch, z_channels, valid_length(time) // hop)``.
    Example:
        >>> y = SEGAN(SEGANConfig.tiny())(torch.randn(1, 1, 512), generator=torch.Generator().manual_seed(1))
    """

    def __init__(self, config: SEGANConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or SEGANConfig()
        pad = cfg.kernel_size // 2
        chans = (1,) + cfg.channels
        self.encoder = nn.ModuleList()
        for c_in, c_out in zip(chans[:-1], chans[1:]):
            self.encoder.append(nn.Sequential(
                nn.Conv1d(c_in, c_out, cfg.kernel_size, cfg.stride, padding=pad), nn.PReLU(c_out)))
        # Decoder layer j undoes encoder layer L-1-j. Its input is the previous decoder output
        # concatenated with the encoder output of the same length (Fig. 2); the first one takes [c, z].
        self.decoder = nn.ModuleList()
        rev = cfg.channels[::-1]
        for j in range(cfg.n_layers):
            c_in = rev[0] + cfg.z_channels if j == 0 else 2 * rev[j]
            last = j == cfg.n_layers - 1
            c_out = 1 if last else rev[j + 1]
            conv = nn.ConvTranspose1d(c_in, c_out, cfg.kernel_size, cfg.stride, padding=pad,
                                      output_padding=cfg.stride - 1)
            if not last:
                act: nn.Module = nn.PReLU(c_out)
            elif cfg.residual:  # a correction that starts at zero, unbounded
                nn.init.zeros_(conv.weight)
                nn.init.zeros_(conv.bias)
                act = nn.Identity()
            else:
                act = nn.Tanh()
            self.decoder.append(nn.Sequential(conv, act))

    def valid_length(self, length: int) -> int:
        """Smallest length >= ``length`` that the strided encoder maps exactly: a multiple of
        ``stride ** n_layers`` (2 ** 11 = 2048 with the default config)."""
        hop = self.config.hop
        return max(1, math.ceil(length / hop)) * hop

    def sample_z(self, batch: int, length: int, generator: torch.Generator | None = None,
                 device: torch.device | str = "cpu") -> torch.Tensor:
        """Latent code for a (padded) input of ``length`` samples, drawn on the CPU so that a seed gives
        the same ``z`` on every device. Without a generator, one seeded with ``config.z_seed`` is used
        (deterministic inference)."""
        if generator is None:
            generator = torch.Generator().manual_seed(self.config.z_seed)
        shape = (batch, self.config.z_channels, length // self.config.hop)
        return torch.randn(shape, generator=generator).to(device)

    def forward_emphasized(self, x: torch.Tensor, z: torch.Tensor | None = None,
                           generator: torch.Generator | None = None) -> torch.Tensor:
        """The network proper, on pre-emphasised audio whose length is a :meth:`valid_length`
        (this is the domain where the paper computes its L1 and adversarial losses)."""
        _check_waveform(x)
        cfg = self.config
        if x.shape[-1] % cfg.hop:
            raise ValueError(f"length {x.shape[-1]} is not a multiple of {cfg.hop}; pad to valid_length()")
        skips = []
        h = x
        for layer in self.encoder:
            h = layer(h)
            skips.append(h)
        if cfg.z_channels:
            if z is None:
                z = self.sample_z(x.shape[0], x.shape[-1], generator, x.device)
            expected = (x.shape[0], cfg.z_channels, h.shape[-1])
            if tuple(z.shape) != expected:
                raise ValueError(f"z must have shape {expected}, found {tuple(z.shape)}")
            h = torch.cat([h, z.to(h.dtype)], dim=1)
        for j, layer in enumerate(self.decoder):
            if j > 0:
                h = torch.cat([h, skips[cfg.n_layers - 1 - j]], dim=1)
            h = layer(h)
        return x + h if cfg.residual else h

    def loss_view(self, x: torch.Tensor) -> torch.Tensor:
        """The domain of the paper's losses (Sec. 4.2: every signal is pre-emphasised, the generator's
        L1 and the discriminator work there, de-emphasis only makes the final output): the training
        steps map the estimate, the target and the noisy condition through this before any loss. On
        the raw waveform an L1 term is dominated by the loud low frequencies of speech; pre-emphasis
        flattens the spectrum so that the 1-8 kHz band counts too. ``loss_view(forward(x))`` is the
        network's own pre-emphasised output (pre-emphasis inverts the de-emphasis)."""
        return preemphasis(x, self.config.preemphasis)

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Raw noisy waveform in, raw enhanced waveform out (pre-emphasis in, de-emphasis out)."""
        _check_waveform(x)
        n = x.shape[-1]
        padded = self.valid_length(n)
        h = preemphasis(x, self.config.preemphasis)
        h = F.pad(h, (0, padded - n))
        y = self.forward_emphasized(h, z, generator)[..., :n]
        return deemphasis(y, self.config.preemphasis)


# ---------------------------------------------------------------------- virtual batch norm
class VirtualBatchNorm(nn.Module):
    """Virtual batch normalisation (Salimans et al., "Improved Techniques for Training GANs", NeurIPS
    2016, Sec. 3.4): each example is normalised with the statistics of a fixed *reference batch*
    together with the example itself, so that an output never depends on the other examples of its
    minibatch.

    Per channel, with reference mean ``mu_r`` and mean square ``s_r`` (over reference examples and
    time) and the example's own ``mu_i``, ``s_i`` (over time), the virtual batch {x_i} U reference of
    N + 1 examples has ``mu = (mu_i + N mu_r) / (N + 1)`` and ``var = (s_i + N s_r) / (N + 1) - mu**2``.

    Call :meth:`reference_stats` on the reference activations first (it also stores them, detached,
    in the ``ref_*`` buffers), then :meth:`forward` with those stats. With ``stats=None`` the stored
    buffers are used, which is what happens at inference (and after loading a checkpoint).

    Shape:
        ``(batch, channels, time)`` -> same.
    """

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(1, num_features, 1))
        self.bias = nn.Parameter(torch.zeros(1, num_features, 1))
        self.register_buffer("ref_mean", torch.zeros(1, num_features, 1))
        self.register_buffer("ref_meansq", torch.ones(1, num_features, 1))
        self.register_buffer("ref_size", torch.zeros((), dtype=torch.long))

    def reference_stats(self, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Mean and mean square of reference activations ``(N, C, T)`` (kept in the graph)."""
        mean = ref.mean(dim=(0, 2), keepdim=True)
        meansq = (ref * ref).mean(dim=(0, 2), keepdim=True)
        with torch.no_grad():
            self.ref_mean.copy_(mean.detach())
            self.ref_meansq.copy_(meansq.detach())
            self.ref_size.fill_(ref.shape[0])
        return mean, meansq, ref.shape[0]

    def forward(self, x: torch.Tensor,
                stats: tuple[torch.Tensor, torch.Tensor, int] | None = None) -> torch.Tensor:
        if stats is None:
            if int(self.ref_size) == 0:
                raise RuntimeError("VirtualBatchNorm has no reference statistics yet: "
                                   "set a reference batch (SEGANDiscriminator.set_reference) first")
            ref_mean, ref_meansq, n = self.ref_mean, self.ref_meansq, int(self.ref_size)
        else:
            ref_mean, ref_meansq, n = stats
        w_new = 1.0 / (n + 1.0)
        mean = w_new * x.mean(dim=2, keepdim=True) + (1.0 - w_new) * ref_mean
        meansq = w_new * (x * x).mean(dim=2, keepdim=True) + (1.0 - w_new) * ref_meansq
        var = (meansq - mean * mean).clamp_min(0.0)
        return (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias


# ------------------------------------------------------------------------------- discriminator
class SEGANDiscriminator(nn.Module):
    """SEGAN discriminator ``D(x, cond)``: is ``x`` the clean version of ``cond`` (the noisy input)?

    The encoder of the generator on 2 input channels, with virtual batch norm and LeakyReLU(0.3) after
    every strided convolution, a 1x1 convolution to one channel and a fully connected layer from the
    ``segment_length // hop`` remaining samples to one score (Sec. 3; Sec. 4.2). Inputs of another
    valid length are average-pooled to that size before the linear layer (identity at the training
    window). LSGAN training drives the score towards 1 for real and 0 for fake pairs.

    Reference batch (VBN): call :meth:`set_reference` once with a fixed batch of real pairs at the
    start of training. In training mode every forward then re-propagates the reference batch through
    the current weights to get each layer's statistics (as Salimans et al. do), with gradients. Without
    a reference, the first training batch becomes the reference. In eval mode the statistics stored
    at the last training forward are used and the reference batch is not needed.

    Shape:
        x, cond ``(batch, 1, time)`` with time a multiple of ``hop`` -> score ``(batch, 1)`` and
        features: a list of ``(batch, channels_l, time / stride ** (l + 1))`` activations.
    """

    def __init__(self, config: SEGANConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or SEGANConfig()
        pad = cfg.kernel_size // 2
        chans = (2,) + cfg.channels
        self.convs = nn.ModuleList(nn.Conv1d(a, b, cfg.kernel_size, cfg.stride, padding=pad)
                                   for a, b in zip(chans[:-1], chans[1:]))
        self.norms = nn.ModuleList(VirtualBatchNorm(c, cfg.vbn_eps) for c in cfg.channels)
        self.reduce = nn.Conv1d(cfg.channels[-1], 1, 1)
        self.fc = nn.Linear(cfg.segment_length // cfg.hop, 1)
        self._reference: torch.Tensor | None = None  # (N, 2, T), not saved: the stats buffers are

    def valid_length(self, length: int) -> int:
        hop = self.config.hop
        return max(1, math.ceil(length / hop)) * hop

    def set_reference(self, x: torch.Tensor, cond: torch.Tensor) -> None:
        """Fix the VBN reference batch (real clean ``x`` and its noisy ``cond``), ``(N, 1, T)`` each."""
        _check_waveform(x, "x")
        _check_waveform(cond, "cond")
        self._reference = torch.cat([x, cond], dim=1).detach().clone()

    def _layer(self, i: int, h: torch.Tensor, stats: tuple | None) -> torch.Tensor:
        return F.leaky_relu(self.norms[i](self.convs[i](h), stats), self.config.disc_leaky_slope)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        _check_waveform(x, "x")
        if cond is None:
            raise ValueError("SEGANDiscriminator is conditional: pass cond (the noisy input)")
        _check_waveform(cond, "cond")
        if x.shape != cond.shape:
            raise ValueError(f"x and cond must have the same shape, found {tuple(x.shape)} and {tuple(cond.shape)}")
        if x.shape[-1] % self.config.hop:
            raise ValueError(f"length {x.shape[-1]} is not a multiple of {self.config.hop}; pad to valid_length()")
        h = torch.cat([x, cond], dim=1)
        ref = None
        if self.training:
            if self._reference is None:
                self._reference = h.detach().clone()
            ref = self._reference.to(h.device, h.dtype)
        features = []
        for i in range(len(self.convs)):
            stats = None
            if ref is not None:
                ref_pre = self.convs[i](ref)
                stats = self.norms[i].reference_stats(ref_pre)
                ref = F.leaky_relu(self.norms[i](ref_pre, stats), self.config.disc_leaky_slope)
            h = self._layer(i, h, stats)
            features.append(h)
        h = self.reduce(h).squeeze(1)  # (B, T')
        if h.shape[-1] != self.fc.in_features:
            h = F.adaptive_avg_pool1d(h.unsqueeze(1), self.fc.in_features).squeeze(1)
        return self.fc(h), features


register_family("segan", SEGANConfig, SEGAN, "denoise", tiny=SEGANConfig.tiny,
                summary="SEGAN: strided conv encoder-decoder GAN with skips and latent code (waveform)",
                citation=CITATION, discriminator=lambda cfg: SEGANDiscriminator(cfg))
