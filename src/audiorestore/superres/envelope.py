"""Spectral-envelope correction of a bandwidth-extension network's added band.

A waveform network such as AudioUNet sees a few milliseconds of context at each output sample, so
the level of the band it adds follows the local waveform rather than the phone being spoken: on the
validation speakers of the 16 -> 48 kHz default, correcting its added band to the true level in
sixth-octave bands, frame by frame, lowered LSD from 1.01 to 0.82. That envelope is what classical
bandwidth extension estimates explicitly (P. Jax and P. Vary, "On artificial bandwidth extension of
telephone speech", Signal Processing 83(8), 2003; the envelope adjuster of SBR, ISO/IEC 14496-3).

:class:`EnvelopeNet` estimates it. From the log power of the network's output in mel bands (the
input's band, which it has, and the added band, as the network made it) over about a third of a second
(dilated convolutions over STFT frames), it predicts a log gain for each band above ``start_hz``,
interpolated smoothly over the STFT bins, and the corrected signal is resynthesised by overlap-add
with the network's own phase. Its last layer starts at zero, so an untrained corrector changes
nothing. It is trained on the log-spectral distance itself (``recipes/train_envelope.py``) and
travels inside the upsampler's checkpoint (``pkg["envelope"]``), where
:class:`~audiorestore.superres.neural.NeuralUpsampler` finds and applies it.

Example:
    >>> import numpy as np
    >>> net = EnvelopeNet(EnvelopeConfig(sample_rate=16000, start_hz=4000.0, n_fft=512, hop_length=128,
    ...                                  low_bands=8, high_bands=4, channels=8))
    >>> x = np.random.default_rng(0).standard_normal((1, 16000)).astype(np.float32)
    >>> bool(np.allclose(apply_envelope(net, x), x, atol=1e-5))   # untrained: the identity
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..dsp.stft import istft, stft
from ..errors import ParameterError
from ..metrics.spectral import LSD_FLOOR
from ..models.layers import mel_filterbank, mel_gain_to_linear


@dataclass
class EnvelopeConfig:
    """Shape of an :class:`EnvelopeNet` (stored in the checkpoint next to its weights)."""

    sample_rate: int = 48000
    start_hz: float = 5600.0   # bins above are corrected: the band the network adds
    n_fft: int = 2048
    hop_length: int = 512
    low_bands: int = 32   # mel bands over [0, start_hz): the input's band
    high_bands: int = 16   # mel bands over [start_hz, sample_rate / 2): one gain each
    channels: int = 64
    kernel_size: int = 3
    dilations: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 1])
    max_gain: float = 3.0   # |log10 power gain| bound: 30 dB

    def __post_init__(self) -> None:
        if not 0 < self.start_hz < self.sample_rate / 2:
            raise ParameterError(f"start_hz must lie in (0, {self.sample_rate / 2:g}) Hz, got {self.start_hz:g}")
        if self.n_fft < 2 or self.hop_length < 1 or self.hop_length > self.n_fft:
            raise ParameterError(f"need 1 <= hop_length <= n_fft, got {self.hop_length}, {self.n_fft}")
        if self.kernel_size % 2 == 0:
            raise ParameterError(f"kernel_size must be odd, got {self.kernel_size}")


class EnvelopeNet(nn.Module):
    """STFT power ``(B, F, N)`` of an upsampler's output -> log10 power gain per STFT bin ``(B, F, N)``
    (zero at and below ``start_hz``).

    Shape:
        ``(batch, n_fft // 2 + 1, frames)`` -> same.
    """

    def __init__(self, config: EnvelopeConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or EnvelopeConfig()
        low = mel_filterbank(c.low_bands, c.n_fft, c.sample_rate, 0.0, c.start_hz)
        high = mel_filterbank(c.high_bands, c.n_fft, c.sample_rate, c.start_hz, c.sample_rate / 2)
        fb = torch.cat([low, high])
        self.register_buffer("fb", fb / fb.sum(dim=1, keepdim=True), persistent=False)  # band mean power
        freqs = torch.arange(c.n_fft // 2 + 1) * c.sample_rate / c.n_fft
        interp = mel_gain_to_linear(high) * (freqs > c.start_hz).float()[:, None]
        self.register_buffer("interp", interp, persistent=False)   # (F, high_bands)
        self.inp = nn.Conv1d(c.low_bands + c.high_bands, c.channels, 1)
        self.blocks = nn.ModuleList(
            nn.Conv1d(c.channels, c.channels, c.kernel_size, dilation=d, padding=d * (c.kernel_size - 1) // 2)
            for d in c.dilations)
        self.out = nn.Conv1d(c.channels, c.high_bands, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @property
    def context_frames(self) -> int:
        """Frames on each side that reach one output frame."""
        c = self.config
        return sum(d * (c.kernel_size - 1) // 2 for d in c.dilations)

    def features(self, power: Tensor) -> Tensor:
        """Log10 mean power in the mel bands, centred for the network: ``(B, F, N)`` -> ``(B, bands, N)``."""
        return (torch.log10(torch.einsum("mf,bfn->bmn", self.fb, power.float()) + LSD_FLOOR) + 5.0) / 3.0

    def forward(self, power: Tensor) -> Tensor:
        h = torch.relu(self.inp(self.features(power)))
        for conv in self.blocks:
            h = h + torch.relu(conv(h))
        band_gain = self.config.max_gain * torch.tanh(self.out(h) / self.config.max_gain)   # (B, M, N)
        return torch.einsum("fm,bmn->bfn", self.interp, band_gain)


def envelope_lsd_loss(log_gain: Tensor, est_power: Tensor, ref_log_power: Tensor) -> Tensor:
    """The log-spectral distance (:func:`audiorestore.metrics.lsd`, floor included) of the corrected
    spectrum ``est_power * 10 ** log_gain`` from the reference, taken on STFT frames as they are
    (the resynthesis by overlap-add spreads each frame's gain a little over its neighbours).

    Shape:
        ``(B, F, N)`` each -> scalar.
    """
    est = torch.log10(est_power * torch.pow(10.0, log_gain) + LSD_FLOOR)
    return torch.sqrt(torch.mean((est - ref_log_power) ** 2, dim=1) + 1e-10).mean()


def envelope_from_package(entry: dict[str, Any]) -> EnvelopeNet:
    """Rebuild the corrector stored under ``pkg["envelope"]`` (``{"config": dataclasses.asdict(config),
    "state_dict": ...}``)."""
    net = EnvelopeNet(EnvelopeConfig(**entry["config"]))
    net.load_state_dict(entry["state_dict"], strict=True)
    return net.eval()


@torch.inference_mode()
def apply_envelope(net: EnvelopeNet, x: np.ndarray, block_frames: int = 2048) -> np.ndarray:
    """Correct the band above ``start_hz`` of ``(channels, time)`` audio at the net's rate.

    The signal is processed in blocks of ``block_frames`` STFT frames with enough context on each side
    (the net's receptive field plus one window) that the result equals whole-signal processing; memory
    is bounded by the block.

    Shape:
        ``(channels, time)`` -> ``(channels, time)`` float32.
    """
    c = net.config
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"expected (channels, time), found shape {x.shape}")
    hop, n = c.hop_length, x.shape[-1]
    ctx = net.context_frames + -(-c.n_fft // hop) + 1   # frames of context each side
    out = np.empty(x.shape, dtype=np.float32)
    for s in range(0, max(n, 1), block_frames * hop):
        e = min(n, s + block_frames * hop)
        a, b = max(0, s - ctx * hop), min(n, e + ctx * hop)
        seg = x[:, a:b].astype(np.float64)
        spec = stft(seg, n_fft=c.n_fft, hop_length=hop, window="hann")   # (C, F, N)
        gain = net(torch.from_numpy(np.abs(spec) ** 2)).double().numpy()
        y = istft(spec * 10.0 ** (gain / 2), hop_length=hop, window="hann", length=seg.shape[-1])
        out[:, s:e] = y[:, s - a:e - a]
    return out


__all__ = ["EnvelopeConfig", "EnvelopeNet", "envelope_lsd_loss", "envelope_from_package", "apply_envelope"]
