"""Weighted speech-distortion loss: speech kept and noise removed, counted separately and weighted.

Reference: R. Xia, S. Braun, C. Reddy, H. Dubey, R. Cutler and I. Tashev, "Weighted speech distortion
losses for neural-network-based real-time speech enhancement", ICASSP 2020 (the NSNet2 paper). With a
real gain ``G`` on the noisy STFT ``Y = S + N``, the enhanced signal is ``G S + G N``: the first part
should equal the speech (speech distortion, SD), the second should vanish (noise residual, NR), and

    L = alpha * SD + (1 - alpha) * NR

puts the trade-off between them in one number. A plain spectral loss on ``G Y`` against ``S`` cannot
tell a gain that cuts speech from one that leaves noise; the weighted loss can, and a large ``alpha``
makes cutting speech the expensive error.

Here the gain is read off any model's output, ``G = min(|S_hat| / |Y|, 1)`` (for a real-mask model
that is its mask, up to STFT consistency), and both parts are taken on power-law compressed
magnitudes (Braun and Tashev 2021, ``c = 0.3`` as in their comparison): ``SD = mean (G^c |S|^c -
|S|^c)^2``, ``NR = mean (G^c |N|^c)^2``, with ``N = noisy - target``. Signals are divided by the
target's RMS first, so quiet and loud examples count alike.

Example:
    >>> import torch
    >>> loss = WeightedSpeechDistortionLoss(n_fft=256, hop_length=64, alpha=1.0)
    >>> s, n = torch.randn(1, 1, 2000), torch.randn(1, 1, 2000)
    >>> round(float(loss(s + n, s, s + n)), 6)   # alpha = 1: only speech distortion, none when G = 1
    0.0
"""

from __future__ import annotations

from torch import Tensor

from ..errors import ParameterError
from .spectral import StftLossBase
from .time import check_pair, normalise_by_target


class WeightedSpeechDistortionLoss(StftLossBase):
    """``alpha * SD + (1 - alpha) * NR`` on compressed magnitudes; called as ``loss(estimate, target, noisy)``.

    Shape:
        estimate, target, noisy ``(batch, channels, time)`` -> scalar.
    """

    needs_noisy = True

    def __init__(self, n_fft: int = 512, hop_length: int = 128, alpha: float = 0.7, compress: float = 0.3,
                 eps: float = 1e-8) -> None:
        super().__init__(n_fft, hop_length)
        if not 0 <= alpha <= 1 or not 0 < compress <= 1:
            raise ParameterError(f"need alpha in [0, 1] and compress in (0, 1], got {alpha}, {compress}")
        self.alpha, self.compress, self.eps = float(alpha), float(compress), float(eps)

    def parts(self, estimate: Tensor, target: Tensor, noisy: Tensor) -> tuple[Tensor, Tensor]:
        """The speech-distortion and noise-residual terms, each a scalar."""
        check_pair(estimate, target)
        check_pair(noisy, target)
        target, estimate, noisy = normalise_by_target(target, estimate, noisy)
        spec_y, spec_s = self.stft(noisy), self.stft(target)
        y = self._abs(spec_y)
        gain_c = (self._abs(self.stft(estimate)) / y).clamp(max=1.0).pow(self.compress)
        s_c = self._abs(spec_s).pow(self.compress)
        n_c = self._abs(spec_y - spec_s).pow(self.compress)  # the STFT is linear: N = Y - S
        speech = (gain_c * s_c - s_c).square().mean()
        noise = (gain_c * n_c).square().mean()
        return speech, noise

    def _abs(self, spec: Tensor) -> Tensor:
        return (spec.real.square() + spec.imag.square()).clamp_min(self.eps).sqrt()

    def forward(self, estimate: Tensor, target: Tensor, noisy: Tensor) -> Tensor:
        speech, noise = self.parts(estimate, target, noisy)
        return self.alpha * speech + (1 - self.alpha) * noise
