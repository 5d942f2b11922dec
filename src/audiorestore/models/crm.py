"""Compact complex-ratio-mask denoiser: a causal conv + GRU network estimating a bounded cRM.

Williamson, Wang and Wang, "Complex Ratio Masking for Monaural Speech Separation", IEEE/ACM TASLP
24(3), 2016; mask bounding after Hu et al., "DCCRN: Deep Complex Convolution Recurrent Network for
Phase-Aware Speech Enhancement", Interspeech 2020.

Why phase (Williamson et al., Sec. I): magnitude-only masks and mappings reuse the noisy phase,
which limits quality at low SNR. The complex ideal ratio mask ``M = S / Y`` (Sec. II) is the
complex gain that turns the noisy STFT ``Y`` into the clean ``S``; estimating its real and imaginary
parts corrects both magnitude and phase, and a complex multiply applies it: ``S_hat = M_hat * Y``.

* Input features: the noisy STFT with power-law compressed magnitude, ``|Y|^c`` and
  ``|Y|^c * e^{j angle Y}`` (real and imaginary parts) as three channels. Compression (c = 0.3)
  evens out the dynamic range; real and imaginary parts hand the network the phase.
* Network (ours, sized for real time on one CPU thread): two 2-D convolutions over (time, frequency),
  causal in time (kernel 2 frames, padded on the past side) and strided by 2 in frequency, ELU; a
  linear bottleneck; a unidirectional GRU over frames; a linear layer to the mask's real and imaginary
  parts for every bin. Nothing looks at future frames, so the model can stream frame by frame (the
  algorithmic latency is one STFT window).
* Bounded mask (Williamson et al., Sec. II, compress the unbounded cIRM with a hyperbolic tangent;
  DCCRN-E, Sec. 2.3, bounds it in polar form): with the network output ``z = z_r + j z_i``,
  ``M = mask_bound * tanh(|z|) * z / |z|``, so ``|M| < mask_bound`` while the phase is free.
* Initialisation: the output bias starts at ``z = init_mask_logit`` (real), a mask of
  ``mask_bound * tanh(init_mask_logit)`` in every bin, so training starts from a pass-through.

Example:
    >>> import torch
    >>> model = CRM(CRMConfig(n_fft=256, hop_length=64, conv_channels=(4, 8), hidden_size=32))
    >>> model(torch.randn(2, 1, 1000)).shape
    torch.Size([2, 1, 1000])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ParameterError
from .layers import StftFrontEnd, check_waveform, hop_aligned_length
from .registry import register_family


@dataclass
class CRMConfig:
    """Complex ratio mask network: STFT, conv, GRU and mask settings.

    The STFT is 32 ms Hann windows with a 16 ms hop at 16 kHz (as FullSubNet); an 8 ms hop doubles the
    cost, since every layer runs once per frame.
    """

    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 256
    #: channels of the frequency-strided causal 2-D convolutions.
    conv_channels: tuple[int, ...] = (16, 32)
    #: kernel along frequency (odd) and along time (frames, causal).
    freq_kernel: int = 5
    time_kernel: int = 2
    hidden_size: int = 256
    rnn_layers: int = 2
    #: power-law compression exponent of the input magnitude.
    compress: float = 0.3
    #: the mask magnitude stays below this (1.0 as in DCCRN-E).
    mask_bound: float = 1.0
    #: initial |z| of every bin; tanh(2.0) = 0.96 starts near pass-through.
    init_mask_logit: float = 2.0


def bounded_complex_mask(z_real: Tensor, z_imag: Tensor, bound: float, eps: float = 1e-8) -> Tensor:
    """Polar tanh bound of a complex mask, ``bound * tanh(|z|) * z / |z|`` (DCCRN-E, Sec. 2.3).

    Shape:
        ``z_real, z_imag (...)`` -> complex ``(...)`` with ``|mask| < bound``.

    Example:
        >>> m = bounded_complex_mask(torch.tensor([100.0]), torch.tensor([0.0]), 1.0)
        >>> round(float(m.real), 4), float(m.imag)
        (1.0, 0.0)
    """
    mag = torch.sqrt(z_real.square() + z_imag.square() + eps)
    scale = bound * torch.tanh(mag) / mag
    return torch.complex(z_real * scale, z_imag * scale)


class CRM(nn.Module):
    """Causal conv + GRU estimating a bounded complex ratio mask applied to the noisy STFT.

    Shape:
        ``(B, 1, T)`` -> ``(B, 1, T)``; :meth:`mask`: ``(B, 1, T)`` -> ``(B, F, N)`` complex.

    Example:
        >>> model = CRM(CRMConfig())
        >>> sum(p.numel() for p in model.parameters()) < 2_000_000
        True
    """

    def __init__(self, config: CRMConfig) -> None:
        super().__init__()
        self.config = config
        if config.freq_kernel < 1 or config.freq_kernel % 2 == 0 or config.time_kernel < 1:
            raise ParameterError(f"freq_kernel must be odd and time_kernel >= 1, got {config.freq_kernel}, "
                                 f"{config.time_kernel}")
        if config.mask_bound <= 0 or not 0 < config.compress <= 1:
            raise ParameterError("mask_bound must be > 0 and compress in (0, 1]")
        self.frontend = StftFrontEnd(config.n_fft, config.hop_length)
        n_freq = self.frontend.n_freq
        convs: list[nn.Module] = []
        in_ch, bins = 3, n_freq
        for ch in config.conv_channels:
            convs += [nn.Conv2d(in_ch, ch, (config.time_kernel, config.freq_kernel), stride=(1, 2),
                                padding=(0, config.freq_kernel // 2)), nn.ELU()]
            in_ch, bins = ch, (bins - 1) // 2 + 1
        self.encoder = nn.Sequential(*convs)
        self.bottleneck = nn.Sequential(nn.Linear(in_ch * bins, config.hidden_size), nn.ELU())
        self.rnn = nn.GRU(config.hidden_size, config.hidden_size, num_layers=config.rnn_layers, batch_first=True)
        self.out = nn.Linear(config.hidden_size, 2 * n_freq)
        with torch.no_grad():  # start from a near pass-through mask (module docstring)
            self.out.weight.mul_(0.1)
            self.out.bias.zero_()
            self.out.bias[:n_freq] = config.init_mask_logit
        self._n_convs = len(config.conv_channels)

    def valid_length(self, n: int) -> int:
        """Length ``>= n`` that fills whole hops (any length works)."""
        return hop_aligned_length(n, self.config.hop_length)

    def features(self, spec: Tensor) -> Tensor:
        """Compressed magnitude, real and imaginary parts: ``(B, F, N)`` complex -> ``(B, 3, N, F)``."""
        mag = spec.abs()
        comp = mag.clamp_min(1e-8).pow(self.config.compress)
        unit = spec / mag.clamp_min(1e-8)  # noisy phase as a unit phasor (0 where the bin is silent)
        feats = torch.stack([comp, comp * unit.real, comp * unit.imag], dim=1)
        return feats.transpose(2, 3)

    def mask_from_spec(self, spec: Tensor, state: dict | None = None) -> Tensor:
        """Bounded complex mask ``(B, F, N)`` for a noisy STFT ``(B, F, N)``.

        ``state`` (a dict, empty for the first call) resumes from the previous call's frames: the
        convolutions' past frames and the GRU's hidden state, so calls on consecutive frames give the
        mask of one call on all of them (streaming, :mod:`audiorestore.stream`).
        """
        x = self.features(spec)  # (B, 3, N, F)
        b, _, n, n_freq = x.shape
        past = self.config.time_kernel - 1
        for i, layer in enumerate(self.encoder):
            if isinstance(layer, nn.Conv2d):  # causal in time: pad the past only (or the previous frames)
                if state is None:
                    x = F.pad(x, (0, 0, past, 0))
                else:
                    x = torch.cat([state.get(i, x.new_zeros(b, x.shape[1], past, x.shape[3])), x], dim=2)
                    state[i] = x[:, :, x.shape[2] - past:]
            x = layer(x)
        h = self.bottleneck(x.permute(0, 2, 1, 3).reshape(b, n, -1))  # (B, N, C * F')
        h, h_n = self.rnn(h, None if state is None else state.get("rnn"))
        if state is not None:
            state["rnn"] = h_n
        z = self.out(h)  # (B, N, 2F)
        mask = bounded_complex_mask(z[..., :n_freq], z[..., n_freq:], self.config.mask_bound)
        return mask.transpose(1, 2)

    def mask(self, noisy: Tensor) -> Tensor:
        """The estimated complex ratio mask of a waveform, ``(B, F, N)`` complex."""
        return self.mask_from_spec(self.frontend.stft(check_waveform(noisy)))

    def apply_mask(self, spec: Tensor, mask: Tensor, length: int) -> Tensor:
        """``istft(mask * spec)``: the complex multiply of Williamson et al., Sec. II, then overlap-add."""
        return self.frontend.istft(spec * mask, length)

    def forward(self, noisy: Tensor) -> Tensor:
        spec = self.frontend.stft(check_waveform(noisy))
        return self.apply_mask(spec, self.mask_from_spec(spec), noisy.shape[-1])


register_family(
    "crm", CRMConfig, CRM, "denoise",
    tiny=lambda: CRMConfig(n_fft=256, hop_length=64, conv_channels=(4, 8), hidden_size=32, rnn_layers=1),
    summary="Compact causal conv+GRU complex ratio mask (phase-aware), real time on one CPU thread",
    citation="Williamson, Wang and Wang, Complex Ratio Masking for Monaural Speech Separation, TASLP 2016",
)
