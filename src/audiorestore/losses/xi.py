"""Deep Xi's training target: the mapped a priori SNR of each time-frequency bin.

Reference: A. Nicolson and K. K. Paliwal, "Deep learning for minimum mean-square error approaches to
speech enhancement", Speech Communication 111, 2019, Sec. 3: the network estimates the a priori SNR
``xi = |S|^2 / |D|^2`` of every bin, mapped to [0, 1] by the normal CDF of its value in dB,
``xi_bar = Phi((xi_dB - mu) / sigma)``, with a sigmoid output and binary cross-entropy; the gain is then
an MMSE estimator's gain rule of the estimated ``xi``. The target is known from the separate speech
and noise of a training mixture (``D = Y - S``: the STFT is linear).

The loss needs the model's logits, not its waveform: it is marked ``needs_model`` and called as
``loss(model, noisy, target)`` by the training step (a model with ``output = "xi"``, e.g. ``nmmse``).

Example:
    >>> import torch
    >>> from audiorestore.models.nmmse import NMMSE, NMMSEConfig
    >>> model = NMMSE(NMMSEConfig(n_fft=256, hop_length=64, hidden_size=16, rnn_layers=1, output="xi"))
    >>> s, n = torch.randn(1, 1, 4000), 0.3 * torch.randn(1, 1, 4000)
    >>> float(XiTargetLoss()(model, s + n, s)) > 0
    True
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ParameterError
from .time import check_pair


class XiTargetLoss(nn.Module):
    """Binary cross-entropy of a model's mapped a priori SNR logits against the true mapped SNR.

    Shape:
        noisy, target ``(batch, 1, time)`` -> scalar.
    """

    needs_model = True

    def __init__(self, eps: float = 1e-10) -> None:
        super().__init__()
        if eps <= 0:
            raise ParameterError(f"eps must be > 0, got {eps}")
        self.eps = float(eps)

    def target(self, model: nn.Module, noisy: Tensor, target: Tensor) -> Tensor:
        """The true mapped a priori SNR ``(B, F, N)`` of the mixture ``noisy`` of speech ``target``."""
        return self._mapped_snr(model, model.frontend.stft(noisy), target)

    def _mapped_snr(self, model: nn.Module, spec_y: Tensor, target: Tensor) -> Tensor:
        spec_s = model.frontend.stft(target)
        spec_d = spec_y - spec_s
        speech = spec_s.real.square() + spec_s.imag.square()
        noise = spec_d.real.square() + spec_d.imag.square()
        return model.xi_probability((speech + self.eps) / (noise + self.eps))

    def forward(self, model: nn.Module, noisy: Tensor, target: Tensor) -> Tensor:
        model = getattr(model, "module", model)  # through a DistributedDataParallel wrapper
        if not hasattr(model, "xi_logits"):
            raise ParameterError(f"the xi loss needs a model with xi_logits (nmmse with output = 'xi'), "
                                 f"got {type(model).__name__}")
        check_pair(noisy, target)
        spec_y = model.frontend.stft(noisy)
        logits = model.xi_logits(spec_y)
        with torch.no_grad():
            goal = self._mapped_snr(model, spec_y, target)
        return F.binary_cross_entropy_with_logits(logits, goal)
