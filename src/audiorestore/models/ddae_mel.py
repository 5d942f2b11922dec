"""Deep denoising autoencoder on log-power Mel spectra (architecture only).

Lu, Tsao, Matsuda and Hori, "Speech Enhancement Based on Deep Denoising Autoencoder", Interspeech 2013.

* Sec. 2 (DDAE): a stack of fully connected layers maps noisy log-power Mel spectra (a short window of
  frames around the current one) to the clean log-power Mel spectrum of the current frame. It is
  built as stacked denoising autoencoders: each layer is first pretrained greedily as a denoising
  autoencoder on the previous layer's output, then the whole network is fine-tuned on noisy -> clean
  pairs (Sec. 2). The pretraining lives in :func:`audiorestore.train.pretrain.pretrain_layerwise`
  (it uses :attr:`DDAEMel.hidden` and :meth:`DDAEMel.stack_input`); the fine-tuning is the ordinary
  supervised training step.
* Reconstruction (the paper's experimental setup): the enhanced spectrum is combined with the noisy
  phase and inverted by overlap-add.

Mel to linear frequency (our choice, since the paper's Mel spectrum is not invertible): the network's
clean log-Mel estimate is turned into a per-band amplitude gain ``g_m = sqrt(clean_m / noisy_m)``,
the gains are interpolated to the linear FFT bins with the filterbank's own weights
(:func:`audiorestore.models.layers.mel_gain_to_linear`: each bin takes the filter-weighted mean of the
gains of the bands that cover it) and applied to the noisy STFT. Unlike the pseudo-inverse of the
filterbank this keeps magnitudes non-negative and keeps the noisy signal's harmonic fine structure
within each band, which a 40-band envelope cannot describe; the noisy phase is kept as in the paper.
The gain is capped at ``max_gain`` (bands may come out louder than the noisy input, by at most that).

Example:
    >>> import torch
    >>> model = DDAEMel(DDAEMelConfig(n_fft=256, hop_length=64, n_mels=20, hidden_sizes=(32, 32)))
    >>> model(torch.randn(2, 1, 1000)).shape
    torch.Size([2, 1, 1000])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .layers import (StftFrontEnd, check_waveform, frame_context, hop_aligned_length, make_activation,
                     mel_filterbank, mel_gain_to_linear, normalize_utterance)
from .registry import register_family


@dataclass
class DDAEMelConfig:
    """DDAE on log-power Mel spectra: STFT (32 ms / 8 ms at 16 kHz), Mel bands, layer sizes, gain cap."""

    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 128
    n_mels: int = 40
    f_min_hz: float = 0.0
    #: None: half the sample rate.
    f_max_hz: float | None = None
    #: frames on each side of the current one in the input window.
    context: int = 2
    hidden_sizes: tuple[int, ...] = (512, 512, 512)
    activation: str = "sigmoid"
    #: predict a correction of the noisy log-Mel frame (a log gain) rather than the clean frame itself.
    residual: bool = True
    #: largest amplitude gain per band (1.0: never louder than the noisy input).
    max_gain: float = 2.0
    power_floor: float = 1e-10


class DDAEMel(nn.Module):
    """Stacked denoising autoencoder on log-Mel power frames, mel-gain resynthesis with the noisy phase.

    Shape:
        ``(B, 1, T)`` -> ``(B, 1, T)``; internally ``(B, N, n_mels * (2 context + 1)) -> (B, n_mels, N)``.

    Example:
        >>> model = DDAEMel(DDAEMelConfig(hidden_sizes=(64,)))
        >>> model(torch.zeros(1, 1, 3000)).shape
        torch.Size([1, 1, 3000])
    """

    fb: Tensor
    interp: Tensor

    def __init__(self, config: DDAEMelConfig) -> None:
        super().__init__()
        self.config = config
        self.frontend = StftFrontEnd(config.n_fft, config.hop_length)
        fb = mel_filterbank(config.n_mels, config.n_fft, config.sample_rate, config.f_min_hz, config.f_max_hz)
        # derived from the config, so kept out of the state dict
        self.register_buffer("fb", fb, persistent=False)
        self.register_buffer("interp", mel_gain_to_linear(fb), persistent=False)
        sizes = [config.n_mels * (2 * config.context + 1), *config.hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.activation = make_activation(config.activation)
        self.out = nn.Linear(sizes[-1], config.n_mels)
        self._log_max_gain = 2.0 * math.log(config.max_gain)  # in log power

    def valid_length(self, n: int) -> int:
        """Length ``>= n`` that fills whole hops (any length works)."""
        return hop_aligned_length(n, self.config.hop_length)

    def analyse(self, noisy: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """``(spec (B,F,N), log_mel (B,M,N), z (B,M,N) normalised, mean, std (B,1,1))``."""
        spec = self.frontend.stft(check_waveform(noisy))
        power = spec.real.square() + spec.imag.square()
        log_mel = torch.log(torch.einsum("mf,bfn->bmn", self.fb, power) + self.config.power_floor)
        z, mean, std = normalize_utterance(log_mel)
        return spec, log_mel, z, mean, std

    def stack_input(self, noisy: Tensor) -> Tensor:
        """Input of the first hidden layer: context windows of normalised log-Mel frames, ``(B, N, D)``."""
        z = self.analyse(noisy)[2]
        return frame_context(z, self.config.context, self.config.context)

    def hidden_forward(self, x: Tensor) -> Tensor:
        for layer in self.hidden:
            x = self.activation(layer(x))
        return x

    def clean_log_mel(self, noisy: Tensor) -> Tensor:
        """The network's estimate of the clean log-power Mel spectrum, ``(B, n_mels, N)``."""
        _, log_mel, z, mean, std = self.analyse(noisy)
        return self._estimate(z, mean, std)

    def _estimate(self, z: Tensor, mean: Tensor, std: Tensor) -> Tensor:
        x = frame_context(z, self.config.context, self.config.context)
        pred = self.out(self.hidden_forward(x)).transpose(1, 2)
        return (z + pred if self.config.residual else pred) * std + mean

    def forward(self, noisy: Tensor) -> Tensor:
        spec, log_mel, z, mean, std = self.analyse(noisy)
        log_gain_power = (self._estimate(z, mean, std) - log_mel).clamp(max=self._log_max_gain)
        band_gain = torch.exp(0.5 * log_gain_power)                       # amplitude gain (B, M, N)
        gain = torch.einsum("fm,bmn->bfn", self.interp, band_gain)        # (B, F, N)
        return self.frontend.istft(spec * gain, noisy.shape[-1])


register_family(
    "ddae_mel", DDAEMelConfig, DDAEMel, "denoise",
    tiny=lambda: DDAEMelConfig(n_fft=256, hop_length=64, n_mels=16, context=1, hidden_sizes=(32, 32),
                               activation="relu"),
    summary="Deep denoising autoencoder on log-Mel power spectra (layer-wise pretrained), noisy phase",
    citation="Lu et al., Speech Enhancement Based on Deep Denoising Autoencoder, Interspeech 2013",
)
