"""Energy-conserving loss of the WaveNet denoiser (Rethage, Pons and Serra 2018, Sec. 3.4, Eq. 3).

The network predicts the speech ``s_hat``; the noise estimate is what remains of the input,
``b_hat = m - s_hat`` (the "energy-conserving" constraint: ``s_hat + b_hat = m``). The loss is the sum
of the L1 errors of both estimates, ``|s - s_hat| + |b - b_hat|`` with ``b = m - s``, so errors that
leave noise in the speech and errors that put speech in the noise are both penalised.

Per sample ``b - b_hat = s_hat - s`` whenever ``noisy`` is exactly ``target + noise``, so the value is
then twice the L1 error of the speech; the constraint itself is in the model (it predicts speech only).
"""

from __future__ import annotations

from torch import Tensor

from ..errors import AudioInputError


def energy_conserving_loss(estimate: Tensor, target: Tensor, noisy: Tensor) -> Tensor:
    """Mean L1 error of the speech estimate plus mean L1 error of the implied noise estimate.

    Shape:
        estimate, target, noisy: the same shape, e.g. ``(B, 1, T)`` (the target field). Returns a scalar.

    Example:
        >>> import torch
        >>> s, m = torch.zeros(1, 1, 4), torch.ones(1, 1, 4)
        >>> float(energy_conserving_loss(s, s, m))   # perfect speech estimate: both terms vanish
        0.0
    """
    if not (estimate.shape == target.shape == noisy.shape):
        raise AudioInputError(f"estimate, target and noisy must have one shape, found {tuple(estimate.shape)}, "
                              f"{tuple(target.shape)}, {tuple(noisy.shape)}")
    speech = (target - estimate).abs().mean()
    # b - b_hat = (m - s) - (m - s_hat) = s_hat - s in exact arithmetic; written out as in Eq. 3 so the
    # two terms stay separate when a caller passes a noisy input that differs from target + noise.
    noise = ((noisy - target) - (noisy - estimate)).abs().mean()
    return speech + noise
