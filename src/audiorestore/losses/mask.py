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
from torch import Tensor

from ..errors import ParameterError
from .spectral import StftLossBase
from .time import check_pair


class MaskLoss(StftLossBase):
    """MSE between implied and ideal spectral magnitude masks; called as ``loss(estimate, target, noisy)``.

    Shape:
        estimate, target, noisy ``(batch, channels, time)`` -> scalar.
    """

    needs_noisy = True

    def __init__(self, n_fft: int = 512, hop_length: int = 128, floor_db: float = 80.0) -> None:
        super().__init__(n_fft, hop_length)
        if floor_db <= 0:
            raise ParameterError(f"floor_db must be > 0, got {floor_db}")
        self.floor = 10 ** (-floor_db / 10)

    def forward(self, estimate: Tensor, target: Tensor, noisy: Tensor) -> Tensor:
        check_pair(estimate, target)
        check_pair(noisy, target)
        y = self.magnitude(noisy)
        power = y.square()
        valid = power > self.floor * power.amax(dim=(-2, -1), keepdim=True)
        implied = (self.magnitude(estimate) / y).clamp(max=1.0)
        ideal = (self.magnitude(target) / y).clamp(max=1.0)
        err = (implied - ideal).square()
        return (err * valid).sum() / valid.sum().clamp_min(1)


class LogSpectralAmplitudeLoss(StftLossBase):
    """Mean squared log-spectral amplitude error, the criterion the log-MMSE estimator minimises.

    Ephraim and Malah, "Speech enhancement using a minimum mean-square error log-spectral amplitude
    estimator", IEEE TASSP 33(2), 1985, eq. (3): ``E[(log A - log A_hat)^2]``. Amplitudes are floored
    at ``floor_db`` below the target's loudest bin, so digital silence does not dominate.

    Shape:
        estimate, target ``(batch, channels, time)`` -> scalar.
    Example:
        >>> import torch
        >>> x = torch.randn(1, 1, 2000)
        >>> float(LogSpectralAmplitudeLoss(n_fft=256, hop_length=64)(x, x))
        0.0
    """

    def __init__(self, n_fft: int = 512, hop_length: int = 128, floor_db: float = 60.0) -> None:
        super().__init__(n_fft, hop_length)
        if floor_db <= 0:
            raise ParameterError(f"floor_db must be > 0, got {floor_db}")
        self.floor = 10 ** (-floor_db / 20)

    def forward(self, estimate: Tensor, target: Tensor) -> Tensor:
        check_pair(estimate, target)
        a, a_hat = self.magnitude(target, 1e-20), self.magnitude(estimate, 1e-20)
        floor = (self.floor * a.amax(dim=(-2, -1), keepdim=True)).clamp_min(1e-8)
        return (torch.log(a_hat + floor) - torch.log(a + floor)).square().mean()
