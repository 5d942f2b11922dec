"""Compressed spectral loss: power-law compressed magnitude and complex spectra, blended.

Reference: S. Braun and I. Tashev, "A consolidated view of loss functions for supervised deep
learning-based speech enhancement", TSP 2021 (arXiv:2009.12286), Sec. 2, eq. (5): with the STFTs
``S`` (target) and ``S_hat`` (estimate) and compression ``c``,

    L = (1 - a) * mean | |S_hat|^c - |S|^c |^2 + a * mean | |S_hat|^c e^{j phi_hat} - |S|^c e^{j phi} |^2

Their comparison found ``c = 0.3``, ``a = 0.3`` best on PESQ, CBAK/COVL and SI-SDR among the losses
tried (Sec. 4). Compression weighs quiet time-frequency regions (residual noise in pauses, weak
consonants) far more than a waveform or linear-spectrum loss does, which is what PESQ listens to.

Level: the loss is taken after both signals are divided by the target's RMS (``normalize=True``), so
quiet and loud training examples count alike; an all-zero target keeps unit scale.

Example:
    >>> import torch
    >>> loss = CompressedSpectralLoss()
    >>> x = torch.randn(2, 1, 4000)
    >>> float(loss(x, x))
    0.0
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import ParameterError
from .spectral import StftLossBase
from .time import check_pair, normalise_by_target


class CompressedSpectralLoss(StftLossBase):
    """Blend of compressed-magnitude and compressed-complex spectral MSE (Braun & Tashev 2021, eq. 5).

    Shape:
        estimate, target ``(batch, channels, time)`` -> scalar.
    """

    def __init__(self, n_fft: int = 512, hop_length: int = 128, compress: float = 0.3, complex_weight: float = 0.3,
                 normalize: bool = True, eps: float = 1e-8) -> None:
        super().__init__(n_fft, hop_length)
        if not 0 < compress <= 1 or not 0 <= complex_weight <= 1:
            raise ParameterError(f"need compress in (0, 1] and complex_weight in [0, 1], got {compress}, "
                                 f"{complex_weight}")
        self.compress, self.complex_weight, self.normalize, self.eps = compress, complex_weight, normalize, eps

    def _compressed(self, x: Tensor) -> tuple[Tensor, Tensor]:
        spec = self.stft(x)
        mag = torch.sqrt(spec.real.square() + spec.imag.square() + self.eps)
        comp = mag.pow(self.compress)
        return comp, spec * (comp / mag)

    def forward(self, estimate: Tensor, target: Tensor) -> Tensor:
        check_pair(estimate, target)
        if self.normalize:
            target, estimate = normalise_by_target(target, estimate)
        est_mag, est_c = self._compressed(estimate)
        tgt_mag, tgt_c = self._compressed(target)
        mag_term = (est_mag - tgt_mag).square().mean()
        cplx_term = (est_c - tgt_c).abs().square().mean()
        return (1 - self.complex_weight) * mag_term + self.complex_weight * cplx_term
