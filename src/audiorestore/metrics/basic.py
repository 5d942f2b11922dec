"""Waveform-domain measures: SNR, segmental SNR, SI-SDR, and the helpers every metric shares.

Every metric takes ``(reference, estimate, sample_rate)`` as 1-D float arrays and returns a float.
The two signals are truncated to their common length first (:func:`align`), so a file that is a few
samples longer than its reference is scored over the overlap.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import AudioInputError, ParameterError

#: float64 machine epsilon: MATLAB's ``eps``, which Loizou's code adds to both signals.
EPS = float(np.finfo(np.float64).eps)

#: Hu & Loizou (2008) limit frame SNRs to [-10, 35] dB (``comp_snr.m``).
SEGSNR_MIN_DB = -10.0
SEGSNR_MAX_DB = 35.0


def _as_signal(x: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise AudioInputError(f"{name} must be a 1-D (mono) signal, found shape {a.shape}")
    if a.size == 0:
        raise AudioInputError(f"{name} is empty")
    if not np.all(np.isfinite(a)):
        raise AudioInputError(f"{name} contains NaN or infinite samples")
    return a


def align(reference: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check both signals are finite 1-D arrays and truncate them to their common length (float64).

    Shape:
        ``(n,)``, ``(m,)`` -> ``(min(n, m),)``, ``(min(n, m),)``.
    Example:
        >>> r, e = align(np.ones(5), np.ones(3))
        >>> r.shape, e.shape
        ((3,), (3,))
    """
    r = _as_signal(reference, "reference")
    e = _as_signal(estimate, "estimate")
    n = min(r.size, e.size)
    return r[:n], e[:n]


def _ratio_db(signal_energy: float, noise_energy: float) -> float:
    """``10 log10(signal / noise)``; a noise energy below float64 resolution of the signal counts as
    that resolution, so identical signals give a finite ~156.5 dB instead of infinity."""
    if signal_energy <= 0:
        return -math.inf if noise_energy > 0 else 0.0
    return 10.0 * math.log10(signal_energy / max(noise_energy, EPS * signal_energy))


def snr(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Global signal-to-noise ratio in dB: ``10 log10(sum(s^2) / sum((s - s_hat)^2))``.

    Shape:
        ``reference``, ``estimate``: ``(time,)``.
    Example:
        >>> s = np.sin(np.arange(1000.0)); round(snr(s, 1.1 * s, 16000), 3)
        20.0
    """
    r, e = align(reference, estimate)
    return _ratio_db(float(np.sum(r * r)), float(np.sum((r - e) ** 2)))


def si_sdr(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al., "SDR - half-baked or well
    done?", ICASSP 2019), on zero-mean signals as the paper recommends.

    ``alpha = <s_hat, s> / ||s||^2``, ``SI-SDR = 10 log10(||alpha s||^2 / ||alpha s - s_hat||^2)``;
    unchanged when the estimate is multiplied by any non-zero constant.

    Shape:
        ``reference``, ``estimate``: ``(time,)``.
    """
    r, e = align(reference, estimate)
    r = r - r.mean()
    e = e - e.mean()
    ref_energy = float(np.dot(r, r))
    if ref_energy <= 0:
        raise AudioInputError("SI-SDR is undefined for a constant reference")
    target = (float(np.dot(e, r)) / ref_energy) * r
    return _ratio_db(float(np.dot(target, target)), float(np.sum((target - e) ** 2)))


def loizou_frame_params(sample_rate: int) -> tuple[int, int]:
    """Frame and hop length of the Hu & Loizou measures: 30 ms frames, 75 % overlap
    (``winlength = round(30 fs / 1000)``, ``skiprate = floor(winlength / 4)``)."""
    if sample_rate <= 0:
        raise ParameterError(f"sample_rate must be positive, got {sample_rate}")
    win = int(round(30 * sample_rate / 1000))
    return win, win // 4


def loizou_frames(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Hanning-windowed 30 ms frames with 75 % overlap, as in Loizou's ``snr``/``llr``/``wss`` code.

    The frame count is ``floor(len/hop - win/hop)`` (one fewer than a sliding window would give),
    and the window is ``0.5 (1 - cos(2 pi n / (win + 1)))``, n = 1..win: both kept from the reference
    MATLAB implementation (Loizou, *Speech Enhancement: Theory and Practice*, 2nd ed., 2013) so that the
    numbers match the published ones.

    Shape:
        ``(time,)`` -> ``(frames, win)``.
    """
    win, hop = loizou_frame_params(sample_rate)
    n_frames = math.floor(x.size / hop - win / hop)
    if n_frames < 1:
        raise AudioInputError(f"too short for 30 ms frame analysis: {x.size} samples at {sample_rate} Hz "
                              f"(at least {win + hop} needed)")
    idx = np.arange(n_frames)[:, None] * hop + np.arange(win)[None, :]
    window = 0.5 * (1.0 - np.cos(2.0 * np.pi * np.arange(1, win + 1) / (win + 1)))
    return x[idx] * window


def segsnr_frames(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per-frame segmental SNR in dB, limited to [-10, 35] (Hu & Loizou 2008; ``comp_snr.m``).

    Shape:
        ``(time,)``, ``(time,)`` -> ``(frames,)``.
    """
    r, e = align(reference, estimate)
    fr = loizou_frames(r, sample_rate)
    fe = loizou_frames(e, sample_rate)
    signal_energy = np.sum(fr * fr, axis=1)
    noise_energy = np.sum((fr - fe) ** 2, axis=1)
    seg = 10.0 * np.log10(signal_energy / (noise_energy + EPS) + EPS)
    return np.clip(seg, SEGSNR_MIN_DB, SEGSNR_MAX_DB)


def segsnr(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Segmental SNR in dB: mean over 30 ms frames (75 % overlap) of the frame SNR limited to
    [-10, 35] dB (Hu & Loizou, IEEE TASLP 16(1), 2008; ``comp_snr.m``). The result lies in [-10, 35].

    Shape:
        ``reference``, ``estimate``: ``(time,)``.
    """
    return float(np.mean(segsnr_frames(reference, estimate, sample_rate)))
