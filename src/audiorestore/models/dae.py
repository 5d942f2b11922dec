"""Denoising autoencoder on a moving window of noisy spectral frames (architecture only).

Maas, Le, O'Neil, Vinyals, Nguyen and Ng, "Recurrent Neural Networks for Noise Reduction in Robust
ASR", Interspeech 2012.

* Sec. 2 (model; this is the paper's non-recurrent deep denoising autoencoder): a feed-forward
  network sees a window of ``2 * context + 1`` noisy feature frames around frame ``t`` and predicts
  the clean features of the centre frame ``t``; sliding the window over the utterance denoises every
  frame. The paper works on MFCC features for a recogniser; here the features are STFT
  log-magnitudes (the model makes no assumption about the feature type, and Lu et al. 2013 work on
  spectra), so that the prediction can be turned back into audio.
* Resynthesis (our addition, as in Lu et al. 2013): the predicted clean log-magnitude is combined with
  the noisy phase and inverted by overlap-add.
* Features are normalised per utterance (mean and variance over all bins and frames), as feature
  normalisation is in the paper's ASR front end; the output is de-normalised with the same statistics.
* ``residual=True`` (default) predicts the clean frame as the noisy centre frame plus a learned
  correction, i.e. a log-domain gain; ``residual=False`` maps to the clean frame directly as in the
  paper. Either way the loss (L1 on the clean frame in the issue, on waveforms or spectra in a trainer)
  is outside this module.

The hidden layers are exposed (:attr:`DAE.hidden`, :meth:`DAE.stack_input`) for greedy layer-wise
pretraining (:func:`audiorestore.train.pretrain.pretrain_layerwise`).

Example:
    >>> import torch
    >>> model = DAE(DAEConfig(n_fft=128, hop_length=32, context=1, hidden_sizes=(32, 32)))
    >>> model(torch.randn(2, 1, 1000)).shape
    torch.Size([2, 1, 1000])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .layers import (StftFrontEnd, check_waveform, frame_context, hop_aligned_length, log_magnitude,
                     make_activation, normalize_utterance)
from .registry import register_family


@dataclass
class DAEConfig:
    """Denoising autoencoder: STFT (25 ms window, 10 ms hop at 16 kHz) and the hidden layer sizes."""

    sample_rate: int = 16000
    n_fft: int = 400
    hop_length: int = 160
    #: frames on each side of the centre frame; the window is ``2 * context + 1`` frames.
    context: int = 3
    hidden_sizes: tuple[int, ...] = (512, 512, 512)
    activation: str = "relu"
    #: predict a correction of the noisy centre frame (a log gain) instead of the clean frame itself.
    residual: bool = True
    #: floor of the magnitude before the log (about -100 dB re full scale).
    log_floor: float = 1e-5


class DAE(nn.Module):
    """Frame-window denoising autoencoder on STFT log-magnitudes with noisy-phase resynthesis.

    Shape:
        ``(B, 1, T)`` -> ``(B, 1, T)``; internally ``(B, N, F * (2 context + 1)) -> (B, F, N)``.

    Example:
        >>> model = DAE(DAEConfig(hidden_sizes=(64,)))
        >>> model(torch.zeros(1, 1, 3000)).shape
        torch.Size([1, 1, 3000])
    """

    def __init__(self, config: DAEConfig) -> None:
        super().__init__()
        self.config = config
        self.frontend = StftFrontEnd(config.n_fft, config.hop_length)
        n_freq = self.frontend.n_freq
        sizes = [n_freq * (2 * config.context + 1), *config.hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.activation = make_activation(config.activation)
        self.out = nn.Linear(sizes[-1], n_freq)
        # the largest magnitude a full-scale signal can reach with a Hann window is n_fft / 2
        self._log_max = math.log(config.n_fft)

    def valid_length(self, n: int) -> int:
        """Length ``>= n`` that fills whole hops (any length works; see ``hop_aligned_length``)."""
        return hop_aligned_length(n, self.config.hop_length)

    def analyse(self, noisy: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """STFT and normalised log-magnitude: ``(spec (B,F,N) complex, z (B,F,N), mean, std (B,1,1))``."""
        spec = self.frontend.stft(check_waveform(noisy))
        z, mean, std = normalize_utterance(log_magnitude(spec, self.config.log_floor))
        return spec, z, mean, std

    def stack_input(self, noisy: Tensor) -> Tensor:
        """Input of the first hidden layer: context windows of normalised frames, ``(B, N, D)``."""
        _, z, _, _ = self.analyse(noisy)
        return frame_context(z, self.config.context, self.config.context)

    def hidden_forward(self, x: Tensor) -> Tensor:
        """The hidden stack, ``(B, N, D) -> (B, N, H)``."""
        for layer in self.hidden:
            x = self.activation(layer(x))
        return x

    def synthesise(self, spec: Tensor, z_clean: Tensor, mean: Tensor, std: Tensor, length: int) -> Tensor:
        """Clean normalised log-magnitude + noisy phase -> waveform ``(B, 1, length)``."""
        log_mag = (z_clean * std + mean).clamp(max=self._log_max)
        return self.frontend.istft(torch.polar(torch.exp(log_mag), spec.angle()), length)

    def forward(self, noisy: Tensor) -> Tensor:
        spec, z, mean, std = self.analyse(noisy)
        x = frame_context(z, self.config.context, self.config.context)
        pred = self.out(self.hidden_forward(x)).transpose(1, 2)  # (B, F, N)
        z_clean = z + pred if self.config.residual else pred
        return self.synthesise(spec, z_clean, mean, std, noisy.shape[-1])


register_family(
    "dae", DAEConfig, DAE, "denoise",
    tiny=lambda: DAEConfig(n_fft=128, hop_length=32, context=1, hidden_sizes=(48, 48)),
    summary="Denoising autoencoder on a moving window of STFT log-magnitude frames, noisy-phase resynthesis",
    citation="Maas et al., Recurrent Neural Networks for Noise Reduction in Robust ASR, Interspeech 2012",
)
