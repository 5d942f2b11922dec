"""Deep Network Prior fitting: fit a network to one noisy file and derive a spectral mask from the
fluctuations of its outputs (Michelashvili & Wolf, arXiv:1904.07612, Sec. 3).

Algorithm (one file, no training data):

1. A :class:`~audiorestore.models.dnp.DNPNet` with random weights maps a fixed random input ``u`` to a
   waveform; Adam minimises ``MSE(net(u), noisy)`` for ``iterations`` steps (the authors: 1000 steps at
   learning rate 1e-3).
2. After every step the magnitude STFT ``S_t`` of the current output is taken. From iteration
   ``start_iteration`` on, two per-(frequency, frame) statistics are accumulated: the paper's
   accumulator of relative changes between consecutive iterations, ``A += |S_t - S_{t-1}| / S_t``, and
   the running mean and variance of ``S_t`` (Welford). Speech is captured early and then stays put;
   noise is modelled late and its bins keep changing, so a large accumulated fluctuation marks noise.
3. The chosen statistic (``"difference"``: ``A``, the paper's; ``"variation"``: the coefficient of
   variation ``std / mean`` of ``S_t``) is clipped to its ``[low_percentile, high_percentile]``
   range and turned into an attenuation map ``a = (max - A) / (max - min)`` in ``[residual, 1]``.
   The defaults (1st and 50th percentiles: the more-fluctuating half of the bins gets the floor) were
   chosen on synthetic tone-in-noise tests, not taken from the paper, which does not state them; the
   5th/95th pair gave a mask too mild to matter (about +0.6 dB instead of +4 dB on the test signal).
4. ``a`` is read as a speech-presence amplitude: the a-posteriori SNR is ``gamma = 1 / (1 - a)**2`` and
   the mask is the Ephraim-Malah log-spectral-amplitude gain with a-priori SNR ``xi = gamma - 1``
   (as in the authors' code), floored at ``residual``.
5. The mask multiplies the *noisy* STFT, which is inverted.

Nothing touches global random state: the weights and the input are drawn under ``seed`` inside
``torch.random.fork_rng``.

Example:
    >>> clean = dnp_denoise(noisy, 16000, iterations=300, seed=0)        # doctest: +SKIP
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import exp1

from ..dsp.stft import istft, stft
from ..errors import AudioInputError, ParameterError
from ..models.dnp import DNPConfig, DNPNet

log = logging.getLogger(__name__)

STATISTICS = ("difference", "variation")


@dataclass
class PriorFit:
    """What one fit produced. Spectral arrays are ``(n_fft // 2 + 1, frames)``."""

    mask: np.ndarray
    fluctuation: np.ndarray  # the statistic the mask was derived from (before clipping)
    mean_magnitude: np.ndarray
    var_magnitude: np.ndarray
    output: np.ndarray  # last network output, ``(time,)``, at the input's scale
    losses: list[float]


def lsa_gain(xi: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """Ephraim-Malah log-spectral amplitude gain ``xi/(1+xi) * exp(E1(v)/2)``, ``v = xi/(1+xi) * gamma``
    (Ephraim & Malah, IEEE TASSP 1985, eq. 20)."""
    xi = np.maximum(xi, 1e-10)
    r = xi / (1.0 + xi)
    v = np.maximum(r * gamma, 1e-10)
    return r * np.exp(0.5 * exp1(v))


def fluctuation_mask(fluctuation: np.ndarray, low_percentile: float = 1.0, high_percentile: float = 50.0,
                     residual: float = 0.05) -> np.ndarray:
    """Steps 3-4 above: accumulated fluctuation -> LSA mask in ``[residual, 1]``."""
    lo, hi = np.percentile(fluctuation, [low_percentile, high_percentile])
    acc = np.clip(fluctuation, lo, hi)
    span = hi - lo
    if span <= 0:  # no contrast at all: keep everything
        return np.ones_like(fluctuation)
    atten = np.maximum((hi - acc) / span, residual)
    gamma = 1.0 / np.maximum((1.0 - atten) ** 2, 1e-10)
    xi = np.maximum(gamma - 1.0, residual)
    return np.clip(lsa_gain(xi, gamma), residual, 1.0)


def fit_prior(noisy: np.ndarray, sample_rate: int, config: DNPConfig | None = None, iterations: int = 1000,
              lr: float = 1e-3, seed: int = 0, n_fft: int = 1024, hop_length: int = 256,
              start_iteration: int = 50, statistic: str = "difference", low_percentile: float = 1.0,
              high_percentile: float = 50.0, residual: float = 0.05, input_std: float = 0.1,
              device: str | torch.device = "cpu") -> PriorFit:
    """Fit a Deep Network Prior to one channel ``noisy`` ``(time,)`` and derive its mask.

    ``sample_rate`` is recorded for logging only: the method has no rate-dependent constant except
    ``n_fft``/``hop_length`` (samples), which the caller picks for the rate (1024/256 at 16 kHz).
    """
    x = np.asarray(noisy, dtype=np.float64)
    if x.ndim != 1:
        raise AudioInputError(f"fit_prior takes one channel of shape (time,), found shape {x.shape}")
    if x.shape[0] < 2 * hop_length:
        raise AudioInputError(f"too short for the prior: {x.shape[0]} samples (need at least {2 * hop_length})")
    if statistic not in STATISTICS:
        raise ParameterError(f"statistic must be one of {', '.join(STATISTICS)}, got '{statistic}'")
    if iterations <= start_iteration + 1:
        raise ParameterError(f"iterations ({iterations}) must exceed start_iteration + 1 ({start_iteration + 1})")
    cfg = config or DNPConfig()
    n = x.shape[0]
    peak = float(np.max(np.abs(x)))
    if peak == 0.0:
        raise AudioInputError("audio is silent; nothing to fit")
    scale = 0.9 / peak  # the network ends in tanh: fit the signal inside (-1, 1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = DNPNet(cfg)
        length = net.valid_length(n)
        u = torch.randn(1, cfg.in_channels, length) * input_std
    net = net.to(device).train()
    u = u.to(device)
    target = torch.as_tensor(x * scale, dtype=torch.float32, device=device).view(1, 1, n)
    window = torch.hann_window(n_fft, device=device, dtype=torch.float32)
    opt = torch.optim.Adam(net.parameters(), lr=lr)

    n_bins = n_fft // 2 + 1
    n_frames = 1 + n // hop_length
    acc = torch.zeros(n_bins, n_frames, dtype=torch.float64, device=device)
    mean = torch.zeros_like(acc)
    m2 = torch.zeros_like(acc)
    count = 0
    prev: torch.Tensor | None = None
    losses = []
    eps = 1e-8
    for it in range(iterations):
        opt.zero_grad(set_to_none=True)
        out = net(u)[..., :n]
        loss = F.mse_loss(out, target)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if it < start_iteration:
            continue
        with torch.no_grad():
            mag = torch.stft(out.view(-1).detach(), n_fft, hop_length, window=window, center=True,
                             pad_mode="constant", return_complex=True).abs().double()
            if prev is not None:
                acc += (mag - prev).abs() / (mag + eps)
            prev = mag
            count += 1  # Welford's running mean / variance of the magnitude
            delta = mag - mean
            mean += delta / count
            m2 += delta * (mag - mean)
        if (it + 1) % max(1, iterations // 5) == 0:
            log.debug("dnp fit (%d Hz): iteration %d/%d, mse %.3e", sample_rate, it + 1, iterations, losses[-1])
    var = m2 / max(1, count - 1)
    mean_np, var_np = mean.cpu().numpy(), var.cpu().numpy()
    if statistic == "difference":
        fluct = acc.cpu().numpy()
    else:
        fluct = np.sqrt(var_np) / (mean_np + eps)
    mask = fluctuation_mask(fluct, low_percentile, high_percentile, residual)
    return PriorFit(mask=mask, fluctuation=fluct, mean_magnitude=mean_np, var_magnitude=var_np,
                    output=out.detach().view(-1).cpu().double().numpy() / scale, losses=losses)


def apply_mask(noisy: np.ndarray, mask: np.ndarray, n_fft: int = 1024, hop_length: int = 256) -> np.ndarray:
    """Multiply the noisy STFT by ``mask`` and invert (same framing as :func:`fit_prior`)."""
    spec = stft(noisy, n_fft=n_fft, hop_length=hop_length)
    if spec.shape != mask.shape:
        raise ValueError(f"mask shape {mask.shape} does not match the STFT shape {spec.shape}")
    return istft(spec * mask, hop_length=hop_length, n_fft=n_fft, length=noisy.shape[-1])


def dnp_denoise(noisy: np.ndarray, sample_rate: int, config: DNPConfig | None = None, iterations: int = 1000,
                lr: float = 1e-3, seed: int = 0, n_fft: int = 1024, hop_length: int = 256,
                device: str | torch.device = "cpu", **fit_kwargs: float | int | str) -> np.ndarray:
    """Denoise one channel ``(time,)`` with a Deep Network Prior: fit, mask, invert.

    Shape:
        ``(time,)`` -> ``(time,)`` float64.
    """
    x = np.asarray(noisy, dtype=np.float64)
    fit = fit_prior(x, sample_rate, config, iterations=iterations, lr=lr, seed=seed, n_fft=n_fft,
                    hop_length=hop_length, device=device, **fit_kwargs)  # type: ignore[arg-type]
    return apply_mask(x, fit.mask, n_fft, hop_length)
