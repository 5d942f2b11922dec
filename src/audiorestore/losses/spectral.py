"""Spectral losses: single- and multi-resolution STFT loss (spectral convergence + log magnitude).

Pure functions first, then :class:`MultiResolutionSTFTLoss`, a thin module that only holds the
window buffers. All follow the shared signature ``loss(estimate, target) -> Tensor``.

Reference: R. Yamamoto, E. Song and J.-M. Kim, "Parallel WaveGAN", ICASSP 2020, Sec. 2.3, Eq. (4)-(6);
the multi-resolution idea is from S. Arik, H. Jun and G. Diamos, "Fast spectrogram inversion using
multi-head convolutional neural networks", IEEE SPL 2019.

Example:
    >>> import torch
    >>> loss = MultiResolutionSTFTLoss()
    >>> x = torch.randn(2, 1, 8000)
    >>> float(loss(x, x)) < 1e-5
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..errors import ParameterError
from .time import check_pair

#: (n_fft, hop_length, win_length) of Parallel WaveGAN (Yamamoto et al. 2020, Table 1 footnote),
#: also used by facebookresearch/denoiser.
DEFAULT_RESOLUTIONS: tuple[tuple[int, int, int], ...] = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))


def stft_magnitude(x: Tensor, n_fft: int, hop_length: int, win_length: int, window: Tensor | None = None,
                   eps: float = 1e-7) -> Tensor:
    """Magnitude spectrogram, computed in float32 (also under mixed precision).

    Shape:
        x ``(batch, channels, time)`` or ``(batch, time)`` -> ``(batch * channels, n_fft // 2 + 1, frames)``.
    Example:
        >>> stft_magnitude(torch.randn(2, 1, 1000), 256, 64, 256).shape
        torch.Size([2, 129, 16])
    """
    if x.dim() not in (2, 3):
        raise ParameterError(f"stft_magnitude expects (batch, channels, time) or (batch, time), found {tuple(x.shape)}")
    flat = x.reshape(-1, x.shape[-1]).float()
    if window is None:
        window = torch.hann_window(win_length, device=x.device)
    # reflect padding (torch's default) needs more than n_fft // 2 samples; short crops get zeros
    pad_mode = "reflect" if flat.shape[-1] > n_fft // 2 else "constant"
    spec = torch.stft(flat, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window.float(),
                      center=True, pad_mode=pad_mode, return_complex=True)
    # clamp before the square root: its gradient is infinite at zero
    return (spec.real.pow(2) + spec.imag.pow(2)).clamp_min(eps).sqrt()


def spectral_convergence(est_mag: Tensor, target_mag: Tensor) -> Tensor:
    """``|| |S| - |S_hat| ||_F / || |S| ||_F`` (Yamamoto et al. 2020, Eq. 4), over the whole batch.

    Shape:
        two magnitude spectrograms of equal shape -> scalar.
    Example:
        >>> m = torch.ones(1, 3, 4)
        >>> float(spectral_convergence(2 * m, m))
        1.0
    """
    return torch.linalg.vector_norm(target_mag - est_mag) / torch.linalg.vector_norm(target_mag).clamp_min(1e-7)


def log_magnitude_loss(est_mag: Tensor, target_mag: Tensor) -> Tensor:
    """Mean absolute difference of log magnitudes (Yamamoto et al. 2020, Eq. 5).

    Shape:
        two magnitude spectrograms of equal shape -> scalar.
    Example:
        >>> m = torch.ones(1, 3, 4)
        >>> round(float(log_magnitude_loss(m * 2.718281828, m)), 4)
        1.0
    """
    return (torch.log(target_mag) - torch.log(est_mag)).abs().mean()


def stft_loss(estimate: Tensor, target: Tensor, n_fft: int = 1024, hop_length: int = 120, win_length: int = 600,
              window: Tensor | None = None) -> Tensor:
    """Spectral convergence plus log-magnitude loss at one resolution.

    Shape:
        estimate, target ``(batch, channels, time)`` -> scalar.
    Example:
        >>> x = torch.randn(1, 1, 4000)
        >>> float(stft_loss(x, x)) < 1e-5
        True
    """
    check_pair(estimate, target)
    e = stft_magnitude(estimate, n_fft, hop_length, win_length, window)
    t = stft_magnitude(target, n_fft, hop_length, win_length, window)
    return spectral_convergence(e, t) + log_magnitude_loss(e, t)


def multi_resolution_stft_loss(estimate: Tensor, target: Tensor,
                               resolutions: Sequence[Sequence[int]] = DEFAULT_RESOLUTIONS) -> Tensor:
    """Average of :func:`stft_loss` over several (n_fft, hop_length, win_length) (Eq. 6).

    Shape:
        estimate, target ``(batch, channels, time)`` -> scalar.
    Example:
        >>> x = torch.randn(1, 1, 4000)
        >>> float(multi_resolution_stft_loss(x, x)) < 1e-5
        True
    """
    if not resolutions:
        raise ParameterError("multi_resolution_stft_loss needs at least one resolution")
    total = estimate.new_zeros((), dtype=torch.float32)
    for n_fft, hop, win in resolutions:
        total = total + stft_loss(estimate, target, int(n_fft), int(hop), int(win))
    return total / len(resolutions)


class MultiResolutionSTFTLoss(nn.Module):
    """Module form of :func:`multi_resolution_stft_loss`; holds one Hann window buffer per resolution.

    Shape:
        estimate, target ``(batch, channels, time)`` -> scalar.
    Example:
        >>> loss = MultiResolutionSTFTLoss(resolutions=((256, 64, 256),))
        >>> x = torch.randn(2, 1, 2000)
        >>> float(loss(x, x)) < 1e-5
        True
    """

    def __init__(self, resolutions: Sequence[Sequence[int]] = DEFAULT_RESOLUTIONS) -> None:
        super().__init__()
        if not resolutions:
            raise ParameterError("MultiResolutionSTFTLoss needs at least one resolution")
        self.resolutions = [tuple(int(v) for v in r) for r in resolutions]
        for i, (n_fft, hop, win) in enumerate(self.resolutions):
            if not (0 < hop <= win <= n_fft):
                raise ParameterError(f"resolution {i}: need 0 < hop_length <= win_length <= n_fft, "
                                     f"got ({n_fft}, {hop}, {win})")
            self.register_buffer(f"window_{i}", torch.hann_window(win), persistent=False)

    def forward(self, estimate: Tensor, target: Tensor) -> Tensor:
        check_pair(estimate, target)
        total = estimate.new_zeros((), dtype=torch.float32)
        for i, (n_fft, hop, win) in enumerate(self.resolutions):
            total = total + stft_loss(estimate, target, n_fft, hop, win, getattr(self, f"window_{i}"))
        return total / len(self.resolutions)


class StftLossBase(nn.Module):
    """Shared part of the single-resolution spectral losses: one Hann-window STFT of ``(B, C, T)``
    signals (channels folded into the batch), ``center=True``.

    Shape:
        :meth:`stft`: ``(B, C, T)`` -> ``(B * C, n_fft // 2 + 1, frames)`` complex; :meth:`magnitude` the same, real.
    """

    window: Tensor

    def __init__(self, n_fft: int, hop_length: int) -> None:
        super().__init__()
        if not 0 < hop_length <= n_fft:
            raise ParameterError(f"need 0 < hop_length <= n_fft, got {hop_length}, {n_fft}")
        self.n_fft, self.hop_length = int(n_fft), int(hop_length)
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)

    def stft(self, x: Tensor) -> Tensor:
        return torch.stft(x.reshape(-1, x.shape[-1]).float(), self.n_fft, self.hop_length, window=self.window,
                          center=True, return_complex=True)

    def magnitude(self, x: Tensor, eps: float = 1e-12) -> Tensor:
        return stft_magnitude(x, self.n_fft, self.hop_length, self.n_fft, self.window, eps)


class LogSpectralDistanceLoss(StftLossBase):
    """The log-spectral distance of the super-resolution papers as a training loss.

    Kuleshov, Enam and Ermon, "Audio super-resolution using neural networks", ICLR workshop 2017:
    ``mean_frames sqrt(mean_bins (log10(|X|^2 + floor) - log10(|X_hat|^2 + floor))^2)`` on a Hann STFT
    (defaults: 2048 points, hop 512, floor 1e-8, as :func:`audiorestore.metrics.lsd`). Waveform losses
    (L2, SI-SDR) pull a band whose phase cannot be predicted towards silence; this one only sees the
    level of every bin, so it asks for the missing band at its true level. ``eps`` keeps the square
    root differentiable at zero distance.

    Shape:
        estimate, target ``(batch, channels, time)`` -> scalar.
    Example:
        >>> import torch
        >>> x = torch.randn(1, 1, 4096)
        >>> float(LogSpectralDistanceLoss()(x, x))
        0.0
    """

    def __init__(self, n_fft: int = 2048, hop_length: int = 512, floor: float = 1e-8, eps: float = 1e-8) -> None:
        super().__init__(n_fft, hop_length)
        if floor <= 0:
            raise ParameterError(f"floor must be > 0, got {floor}")
        self.floor, self.eps = float(floor), float(eps)

    def forward(self, estimate: Tensor, target: Tensor) -> Tensor:
        check_pair(estimate, target)
        log_t = torch.log10(self.stft(target).abs().square() + self.floor)
        log_e = torch.log10(self.stft(estimate).abs().square() + self.floor)
        per_frame = (log_t - log_e).square().mean(dim=-2)  # (batch, frames)
        return (per_frame + self.eps).sqrt().mean() - self.eps ** 0.5
