"""Mask-target loss: the spectral magnitude mask implied by the estimate against the ideal one.

Reference: Y. Wang, A. Narayanan and D. Wang, "On training targets for supervised speech separation",
IEEE/ACM TASLP 22(12), 2014: among the targets compared, ratio masks (the IRM and the spectral
magnitude mask ``|S| / |Y|``, their "FFT-mask") gave better PESQ and STOI than spectral mapping,
because every time-frequency unit counts alike instead of in proportion to its energy.

Here the mask is read off the estimate, ``min(|S_hat| / |Y|, 1)``, so any model that outputs a
waveform can use it; for a real-mask model it is that mask (up to STFT consistency). The target is the
spectral magnitude mask clipped to [0, 1], ``min(|S| / |Y|, 1)``, and the loss is the mean squared
difference over bins where the noisy power is above ``floor_db`` below the example's loudest bin (bins
of digital silence have no defined mask).

Example:
    >>> import torch
    >>> loss = MaskLoss(n_fft=256, hop_length=64)
    >>> y = torch.randn(1, 1, 2000); s = 0.5 * y
    >>> round(float(loss(s, s, y)), 6)
    0.0
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import ParameterError
from .time import check_pair


class MaskLoss(nn.Module):
    """MSE between implied and ideal spectral magnitude masks; called as ``loss(estimate, target, noisy)``.

    Shape:
        estimate, target, noisy ``(batch, channels, time)`` -> scalar.
    """

    needs_noisy = True
    window: Tensor

    def __init__(self, n_fft: int = 512, hop_length: int = 128, floor_db: float = 80.0) -> None:
        super().__init__()
        if not 0 < hop_length <= n_fft or floor_db <= 0:
            raise ParameterError(f"need 0 < hop_length <= n_fft and floor_db > 0, got {hop_length}, {n_fft}, "
                                 f"{floor_db}")
        self.n_fft, self.hop_length, self.floor = int(n_fft), int(hop_length), 10 ** (-floor_db / 10)
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)

    def _mag(self, x: Tensor) -> Tensor:
        spec = torch.stft(x.reshape(-1, x.shape[-1]).float(), self.n_fft, self.hop_length, window=self.window,
                          center=True, return_complex=True)
        return torch.sqrt(spec.real.square() + spec.imag.square() + 1e-12)

    def forward(self, estimate: Tensor, target: Tensor, noisy: Tensor) -> Tensor:
        check_pair(estimate, target)
        check_pair(noisy, target)
        y = self._mag(noisy)
        power = y.square()
        valid = power > self.floor * power.amax(dim=(-2, -1), keepdim=True)
        implied = (self._mag(estimate) / y).clamp(max=1.0)
        ideal = (self._mag(target) / y).clamp(max=1.0)
        err = (implied - ideal).square()
        return (err * valid).sum() / valid.sum().clamp_min(1)
