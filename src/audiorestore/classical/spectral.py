"""Short-time spectral denoisers: spectral subtraction, Wiener, MMSE-STSA, log-MMSE, OM-LSA, spectral gating.

Each method multiplies the STFT of the noisy signal by a real gain ``G(k, l)`` computed from the noisy
power ``|Y(k, l)|**2`` and a noise PSD ``lambda_d(k, l)`` (from a noise sample, the leading silence,
minimum statistics, MCRA or the SPP tracker: :mod:`.noise_estimation`), keeps the noisy phase and resynthesises by
weighted overlap-add. The gain rules are pure functions of arrays (first half of this module); the
registered methods are thin :class:`~audiorestore.enhancer.Enhancer` dataclasses (second half).

Notation (Ephraim & Malah 1984): a posteriori SNR ``gamma = |Y|^2 / lambda_d``, a priori SNR ``xi``
(estimated by the decision-directed rule), ``v = xi * gamma / (1 + xi)``.

Frame lengths are given in milliseconds and scaled to the sample rate (``win_ms``, ``hop_ms``), or in
samples (``n_fft``, ``win_length``, ``hop_length``), so every method runs from 8 kHz to 96 kHz. Input
shorter than one analysis window is returned unchanged.

Example:
    >>> import numpy as np
    >>> from audiorestore.enhancer import get_method
    >>> x = np.random.default_rng(0).standard_normal(16000) * 0.1
    >>> y = get_method("logmmse")(x, 16000)
    >>> y.shape
    (16000,)
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import ClassVar
from collections.abc import Callable

import numpy as np
from scipy import ndimage
from scipy.special import digamma, exp1, expit, gamma as gamma_fn, i0e, i1e, zeta

from ..dsp.stft import istft, stft
from ..enhancer import Enhancer, register
from .noise_estimation import (NOISE_ESTIMATORS, estimate_noise_psd, hann_kernel, leading_silence_psd,
                               noise_psd_from_sample)

log = logging.getLogger(__name__)

#: Relative floor of the noise PSD and of the a posteriori SNR (keeps every gain finite).
_TINY = 1e-12
#: Mean and standard deviation (dB) of 10 log10 of an exponential variable of mean 1: the periodogram
#: of Gaussian noise in one bin, relative to its PSD (-10 gamma_E / ln 10, 10 pi / (sqrt(6) ln 10)).
EXP_MEAN_DB = -10 * np.euler_gamma / math.log(10)
EXP_STD_DB = 10 * math.pi / (math.sqrt(6) * math.log(10))


def _doc(text: str) -> dict:
    return {"doc": text}


_NOISE_ESTIMATOR_DOC = _doc(
    "noise PSD when no noise sample is given: 'silence' (leading silence), 'minstat' (Martin 2001), "
    "'mcra' (Cohen & Berdugo 2002) or 'spp' (Gerkmann & Hendriks 2012)")


def _db(power: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """10 log10 of ``power (..., freq, frames)``, floored relative to the per-channel maximum of ``ref``."""
    peak = np.max(ref, axis=(-2, -1), keepdims=True) if ref.size else np.zeros(ref.shape[:-2] + (1, 1))
    return 10 * np.log10(np.maximum(power, np.where(peak > 0, _TINY * peak, _TINY)))


def _floored(den: np.ndarray, causal: bool = False) -> np.ndarray:
    """``den`` floored relative to its own scale per channel (the last two axes are ``(freq, frames)``):
    its maximum over the whole signal, or (``causal``) over each frame's bins."""
    den = np.asarray(den, dtype=np.float64)
    if den.size == 0:
        return np.maximum(den, _TINY)
    if den.ndim < 2:
        scale = np.max(den)
    else:
        scale = np.max(den, axis=-2 if causal else (-2, -1), keepdims=True)
    return np.maximum(den, np.where(scale > 0, _TINY * scale, _TINY))


def _ratio(num: np.ndarray, den: np.ndarray, causal: bool = False) -> np.ndarray:
    """``num / den`` with ``den`` floored by :func:`_floored`, so zeros give zeros, not NaN, and channels
    stay independent."""
    return num / _floored(den, causal)


# ------------------------------------------------------------------------------------ gain rules
def spectral_subtraction_gain(power: np.ndarray, noise_psd: np.ndarray, exponent: float = 2.0,
                              alpha0: float = 4.0, alpha_slope: float = 3 / 20, beta: float = 0.01,
                              snr_range_db: tuple[float, float] = (-5.0, 20.0), causal: bool = False) -> np.ndarray:
    """Generalised spectral subtraction with over-subtraction and a spectral floor.

    ``|S|^p = |Y|^p - alpha * E|N|^p`` (Boll 1979, Sec. II, with ``p = 1``; Berouti, Schwartz & Makhoul
    1979 for ``p = 2``), floored at ``beta * E|N|^p`` (Berouti's spectral floor). The over-subtraction factor
    follows Berouti's rule ``alpha = alpha0 - alpha_slope * SNR`` per frame, with the frame SNR in dB
    clamped to ``snr_range_db``. ``E|N|^p = lambda_d^(p/2) * Gamma(1 + p/2)`` for complex Gaussian
    noise (the mean magnitude sqrt(pi lambda_d) / 2 for Boll's ``p = 1``). The gain never exceeds 1.
    ``causal`` floors the ratios per frame instead of over the whole signal (:func:`_floored`), so each
    frame's gain depends on that frame alone.

    Shape:
        power ``(..., freq, frames)``, noise_psd broadcastable to it -> gain, same shape as power.
    """
    if exponent <= 0:
        raise ValueError(f"exponent must be positive, got {exponent}")
    power = np.asarray(power, dtype=np.float64)
    noise_psd = np.broadcast_to(noise_psd, power.shape)
    # frame SNR: a priori estimate from the totals over frequency (Berouti's segmental SNR)
    snr = _ratio(power.sum(-2, keepdims=True), noise_psd.sum(-2, keepdims=True), causal) - 1.0
    snr_db = np.clip(10 * np.log10(np.maximum(snr, 1e-10)), *snr_range_db)
    alpha = alpha0 - alpha_slope * snr_db
    noise_mag = noise_psd ** (exponent / 2) * gamma_fn(1 + exponent / 2)
    mag = power ** (exponent / 2)
    clean = np.maximum(mag - alpha * noise_mag, beta * noise_mag)
    gain = _ratio(clean, mag, causal) ** (1 / exponent)
    return np.minimum(gain, 1.0)


def wiener_gain(xi: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """Wiener gain ``xi / (1 + xi)`` (Scalart & Vieira Filho 1996; Loizou 2013, Speech Enhancement, ch. 6)."""
    return xi / (1.0 + xi)


def mmse_stsa_gain(xi: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """MMSE short-time spectral amplitude gain (Ephraim & Malah 1984, IEEE TASSP 32(6), eq. 7).

    ``G = sqrt(pi)/2 * sqrt(v)/gamma * exp(-v/2) [(1+v) I0(v/2) + v I1(v/2)]``, written with the
    exponentially scaled Bessel functions ``i0e, i1e`` so the product stays finite for large v.
    """
    v = xi * gamma / (1.0 + xi)
    half = 0.5 * v
    return (0.5 * math.sqrt(math.pi)) * np.sqrt(v) / gamma * ((1.0 + v) * i0e(half) + v * i1e(half))


def log_mmse_gain(xi: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """MMSE log-spectral amplitude gain (Ephraim & Malah 1985, IEEE TASSP 33(2), eq. 20).

    ``G = xi / (1 + xi) * exp(E1(v) / 2)`` with the exponential integral ``E1``.
    """
    v = np.maximum(xi * gamma / (1.0 + xi), _V_MIN)
    return xi / (1.0 + xi) * np.exp(0.5 * exp1(v))


#: Range of v over which the special functions are tabulated; v is floored at _V_MIN.
_V_MIN, _V_MAX = 1e-10, 1e5


class TabulatedGain:
    """A gain rule whose special function is interpolated from a table on a uniform grid in log v.

    scipy's ``exp1`` and ``i0e``/``i1e`` cost about 0.1-0.5 us per value, more than all the rest of a
    decision-directed frame; a 4096-point table, interpolated linearly in ``log v`` at an index
    computed directly (no search), matches them to about 1e-5 (relative) and keeps the per-frame work
    to a few vector operations. The table is built per call (under 1 ms), not cached at module level.

    ``kind='logmmse'`` tabulates ``exp(E1(v) / 2)`` (Ephraim & Malah 1985, eq. 20), which is 1 beyond
    the table; ``kind='mmse'`` tabulates ``[(1+v) i0e(v/2) + v i1e(v/2)] / sqrt(1+v)`` (1984, eq. 7),
    which is flat at both ends (1 and 2/sqrt(pi)), so clamping outside the table is exact in the limit.
    Below ``v = 1e-10`` both are held at their value there (as :func:`log_mmse_gain` floors v).
    """

    def __init__(self, kind: str, size: int = 4096) -> None:
        if kind not in ("logmmse", "mmse"):
            raise ValueError(f"kind must be 'logmmse' or 'mmse', got '{kind}'")
        self.kind = kind
        self.v_min, self.v_max = _V_MIN, _V_MAX  # the tabulated range of v
        lo, hi = math.log(_V_MIN), math.log(_V_MAX)
        self.index_scale = (size - 1) / (hi - lo)    # table index of v: log(v) * index_scale - index_offset
        self.index_offset = lo * self.index_scale
        self._last = float(size - 1)
        v = np.exp(np.linspace(lo, hi, size))
        if kind == "logmmse":
            self.table = np.exp(0.5 * exp1(v))
        else:
            self.table = ((1.0 + v) * i0e(0.5 * v) + v * i1e(0.5 * v)) / np.sqrt(1.0 + v)
        self._step = np.append(np.diff(self.table), 0.0)

    def lookup(self, v: np.ndarray) -> np.ndarray:
        """The tabulated function at ``v > 0`` (linear in log v between nodes, clamped at the ends)."""
        u = np.log(v)
        u *= self.index_scale
        u -= self.index_offset
        np.maximum(u, 0.0, out=u)
        np.minimum(u, self._last, out=u)
        i = u.astype(np.intp)
        u -= i
        f = self.table[i]
        u *= self._step[i]
        f += u
        return f

    def __call__(self, xi: np.ndarray, gamma: np.ndarray) -> np.ndarray:
        w = xi / (1.0 + xi)
        v = w * gamma
        f = self.lookup(v)
        if self.kind == "logmmse":
            f *= w
            return f
        # sqrt(pi)/2 * sqrt(v)/gamma * sqrt(1+v) * f = sqrt(pi)/2 * sqrt(w (1+v) / gamma) * f
        return (0.5 * math.sqrt(math.pi)) * np.sqrt(w * (1.0 + v) / gamma) * f


GainRule = Callable[[np.ndarray, np.ndarray], np.ndarray]


def decision_directed_gain(power: np.ndarray, noise_psd: np.ndarray, rule: GainRule, alpha: float = 0.98,
                           xi_min_db: float = -25.0, return_xi: bool = False, state: dict | None = None
                           ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Gains of ``rule(xi, gamma)`` with the decision-directed a priori SNR (Ephraim & Malah 1984, eq. 51).

    ``xi(l) = alpha * G(l-1)^2 gamma(l-1) + (1 - alpha) * max(gamma(l) - 1, 0)``, floored at
    ``xi_min`` (Cappe 1994, IEEE TSAP 2(2):345-349: alpha and the floor control the musical noise); the first frame uses
    the maximum-likelihood term alone. The recursion runs frame by frame over all bins at once.

    ``state`` (a dict, empty for the first call) continues the recursion from the last frame of the
    previous call (streaming), with the ratios floored per frame (:func:`_floored`).

    Shape:
        power ``(..., freq, frames)``, noise_psd broadcastable to it -> gain, same shape as power
        (``return_xi``: the pair ``(gain, xi)``, the a priori SNR each gain was computed from).
    """
    if not 0 <= alpha < 1:
        raise ValueError(f"alpha must be in [0, 1), got {alpha}")
    power = np.asarray(power, dtype=np.float64)
    gamma = np.maximum(_ratio(power, np.broadcast_to(noise_psd, power.shape), state is not None), _TINY)
    n_frames = power.shape[-1]
    # (frames, channels * freq): one contiguous 1-D slice per frame (the rules are element-wise)
    g_t = np.ascontiguousarray(np.moveaxis(gamma, -1, 0).reshape(n_frames, -1))
    ml = (1 - alpha) * np.maximum(g_t - 1.0, 0.0)          # (1 - alpha) * max(gamma - 1, 0), all frames
    xi_min = 10.0 ** (xi_min_db / 10)
    a_gamma = alpha * g_t                                   # alpha * gamma, to weight G^2 of each frame
    out = np.empty_like(g_t)
    xis = np.empty_like(g_t) if return_xi else None
    prev = None if state is None else state.get("dd")  # alpha * G^2 gamma of the previous call's last frame
    for t in range(n_frames):
        if t == 0 and prev is None:
            xi = np.maximum(g_t[0] - 1.0, xi_min)
        else:
            # alpha * A_hat(l-1)^2 / lambda_d(l-1) = alpha * G(l-1)^2 gamma(l-1), eq. (51)
            if t == 0:
                xi = prev + ml[0]
            else:
                g = out[t - 1]
                xi = g * g
                xi *= a_gamma[t - 1]
                xi += ml[t]
            np.maximum(xi, xi_min, out=xi)
        if xis is not None:
            xis[t] = xi
        out[t] = rule(xi, g_t[t])
    if state is not None and n_frames:
        state["dd"] = out[-1] * out[-1] * a_gamma[-1]
    shaped = lambda a: np.moveaxis(a.reshape((n_frames,) + power.shape[:-1]), 0, -1)  # noqa: E731
    return (shaped(out), shaped(xis)) if xis is not None else shaped(out)


def tcs_a_priori_snr(power: np.ndarray, noise_psd: np.ndarray, sample_rate: int, xi_ml_min_db: float = -30.0,
                     alpha_high: float = 0.97, alpha_envelope: float = 0.5, alpha_mid: float = 0.7,
                     alpha_pitch: float = 0.2, alpha_return: float = 0.96, pitch_threshold: float = 0.2,
                     state: dict | None = None) -> np.ndarray:
    """A priori SNR by selective temporal cepstrum smoothing (TCS; Breithaupt, Gerkmann & Martin, ICASSP
    2008), with the bias correction of Gerkmann & Martin (IEEE TSP 57(11), 2009) for independent bins.

    The maximum-likelihood speech power ``max(gamma - 1, xi_ml_min) * lambda_d`` of each frame goes to
    the cepstral domain, where speech occupies few coefficients: the spectral envelope (the lowest
    quefrencies, up to ``fs / 8 kHz``, smoothed over time with ``alpha_envelope``; up to ``fs / 800 Hz``
    with ``alpha_mid``) and, in voiced frames, the pitch peak (quefrency ``fs / f0`` for f0 in 70..300 Hz,
    where the peak of the smoothed cepstrum exceeds ``pitch_threshold * 16 kHz / fs``; there, and two
    coefficients per 16 kHz either side, ``alpha_pitch``, relaxing back by ``alpha_return`` per frame).
    Every other coefficient, mostly the noise's fine structure that makes musical noise, is smoothed
    strongly (``alpha_high``). Back in the spectral domain, ``exp`` of the smoothed log spectrum is
    scaled up by ``exp(psi(mu) - psi(1)) / mu``, where ``mu`` is the shape of the gamma variable whose log
    has the variance the smoothing left (no smoothing: 1; infinite smoothing: ``exp(gamma_E)``).

    ``state`` (a dict, empty for the first call) continues the smoothing from the previous call's last
    frame (streaming), with the noise PSD floored per frame (:func:`_floored`).

    Shape:
        power ``(..., freq, frames)`` with ``freq = n_fft / 2 + 1``, noise_psd broadcastable -> xi, same
        shape as power.
    """
    power = np.asarray(power, dtype=np.float64)
    lam = _floored(np.broadcast_to(noise_psd, power.shape), state is not None)
    n_bins, n_frames = power.shape[-2:]
    n_fft = 2 * (n_bins - 1)
    speech = np.maximum(power / lam - 1.0, 10.0 ** (xi_ml_min_db / 10)) * lam
    ceps = np.fft.irfft(np.log(np.moveaxis(speech, -2, -1)), n=n_fft)[..., :n_bins]  # (..., frames, quefrency)
    # voicing and pitch from the ML cepstrum, zero-phase smoothed over quefrency (Hamming, fs / 2 kHz taps)
    taps = max(int(sample_rate / 2000), 1)
    win = np.hamming(taps) if taps > 1 else np.ones(1)
    smooth = ndimage.convolve1d(ceps, win / win.sum(), axis=-1, mode="nearest")
    width = max(int(2 * sample_rate / 16000), 1)  # half-width of the pitch peak, in coefficients
    low, high = int(sample_rate / 300) + 1, min(n_bins - width, int(sample_rate / 70) + 1)  # f0 300..70 Hz
    if high > low:
        peak = low + np.argmax(smooth[..., low:high], axis=-1)
        voiced = (np.take_along_axis(smooth, peak[..., None], -1)[..., 0] > pitch_threshold * 16000 / sample_rate)
        voiced &= ceps[..., 1] > 0
    else:  # too few bins for a pitch range (tiny FFTs)
        peak, voiced = np.zeros(ceps.shape[:-1], dtype=int), np.zeros(ceps.shape[:-1], dtype=bool)
    const = np.full(n_bins, float(alpha_high))
    const[:int(round(sample_rate / 8000)) + 1] = alpha_envelope
    const[int(round(sample_rate / 8000)) + 1:int(round(sample_rate / 800))] = alpha_mid
    lead = ceps.shape[:-2]
    c2 = ceps.reshape(-1, n_frames, n_bins)
    pk, vc = peak.reshape(-1, n_frames), voiced.reshape(-1, n_frames)
    out = np.empty_like(c2)
    st = {} if state is None else state
    alpha = st["alpha"] if "alpha" in st else np.broadcast_to(const, (c2.shape[0], n_bins)).copy()
    last = st.get("last")  # the previous call's last smoothed cepstrum
    reduction = np.empty((c2.shape[0], n_frames))  # variance left: mean over bins of (1 - a) / (1 + a)
    nu = np.full(n_bins, 2.0)
    nu[0] = nu[-1] = 1.0  # the end coefficients appear once in the symmetric cepstrum
    nu /= n_fft
    rows = np.arange(c2.shape[0])
    offsets = np.arange(-width, width + 1)
    for t in range(n_frames):
        if t == 0 and last is None:
            out[:, 0] = c2[:, 0]
            a = np.zeros_like(alpha)
        else:
            alpha *= alpha_return
            alpha += (1 - alpha_return) * const
            idx = np.clip(pk[:, t, None] + offsets, 0, n_bins - 1)
            v = vc[:, t]
            if v.any():
                alpha[rows[v, None], idx[v]] = alpha_pitch
            a = alpha
            out[:, t] = a * (out[:, t - 1] if t else last) + (1 - a) * c2[:, t]
        reduction[:, t] = ((1 - a) / (1 + a)) @ nu
    if n_frames:
        st["alpha"], st["last"] = alpha, out[:, -1].copy()
    full = np.concatenate([out, out[..., -2:0:-1]], axis=-1)
    log_speech = np.fft.rfft(full, axis=-1).real  # (rows, frames, bins)
    est = np.exp(log_speech) * tcs_bias(reduction)[..., None]
    est = np.moveaxis(est.reshape(lead + (n_frames, n_bins)), -1, -2)
    return est / lam


def tcs_bias(reduction: np.ndarray) -> np.ndarray:
    """TCS's bias factor ``exp(psi(mu) - psi(1)) / mu`` (Gerkmann & Martin 2009) for the variance
    ``reduction`` the cepstral smoothing left (1: none): ``mu`` is the shape of the gamma variable whose
    log has that variance, ``trigamma(mu) = trigamma(1) * reduction``, solved by Newton on ``log mu``.

    Shape:
        any -> same shape.
    """
    target = np.maximum(zeta(2, 1.0) * np.asarray(reduction, dtype=np.float64), 1e-6)  # trigamma(1)
    mu = np.maximum(1.0 / target, 1.0)
    for _ in range(30):
        # trigamma = zeta(2, mu), tetragamma = -2 zeta(3, mu): scipy's polygamma computes exactly these
        # (times 1 and -2), through a slower Python wrapper
        f = zeta(2, mu) - target
        step = f / (-2.0 * zeta(3, mu) * mu)
        mu = np.maximum(mu * np.exp(-step), 1e-3)
        if np.max(np.abs(step), initial=0.0) < 1e-13:  # converged (Newton: a few iterations)
            break
    return np.exp(digamma(mu) - digamma(1.0)) / mu


#: The a priori SNR estimators of the decision-directed family and of nmmse's classical part.
PRIORS: tuple[str, ...] = ("dd", "tcs")


def tcs_gain(power: np.ndarray, noise_psd: np.ndarray, rule: GainRule, sample_rate: int, xi_min_db: float = -25.0,
             return_xi: bool = False, state: dict | None = None) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Gains of ``rule(xi, gamma)`` with the a priori SNR of :func:`tcs_a_priori_snr` floored at
    ``xi_min_db``: the counterpart of :func:`decision_directed_gain` (same shapes, ``return_xi`` and
    ``state``)."""
    xi = np.maximum(tcs_a_priori_snr(power, noise_psd, sample_rate, state=state), 10.0 ** (xi_min_db / 10))
    gamma = np.maximum(_ratio(power, np.broadcast_to(noise_psd, np.shape(power)), state is not None), _TINY)
    gain = rule(xi, gamma)
    return (gain, xi) if return_xi else gain


def _triangle(half_width: int) -> np.ndarray:
    """Normalised triangular kernel of ``2 * half_width + 1`` taps (no zero end taps)."""
    k = np.bartlett(2 * half_width + 3)[1:-1]
    return k / k.sum()


def smooth_mask(mask: np.ndarray, freq_bins: int, time_frames: int) -> np.ndarray:
    """Smooth a ``(..., freq, frames)`` mask with a separable triangular kernel (edges held)."""
    out = np.asarray(mask, dtype=np.float64)
    if freq_bins > 0:
        out = ndimage.convolve1d(out, _triangle(freq_bins), axis=-2, mode="nearest")
    if time_frames > 0:
        out = ndimage.convolve1d(out, _triangle(time_frames), axis=-1, mode="nearest")
    return out


def _zero_phase_smooth(x: np.ndarray, coeff: float) -> np.ndarray:
    """One-pole low-pass along the last axis, run forward then backward (no delay), edges held."""
    from scipy.signal import lfilter  # here, not at import: scipy.signal is slow to import

    b, a = [1 - coeff], [1, -coeff]
    y = lfilter(b, a, x, axis=-1, zi=coeff * x[..., :1])[0]
    y = lfilter(b, a, y[..., ::-1], axis=-1, zi=coeff * y[..., -1:])[0]
    return y[..., ::-1]


def spectral_gating_gain(power: np.ndarray, frame_period_s: float, bin_hz: float, stationary: bool = True,
                         noise_db_mean: np.ndarray | None = None, noise_db_std: np.ndarray | None = None,
                         n_std_thresh: float = 1.5, time_constant_s: float = 2.0, thresh_n_mult: float = 0.5,
                         sigmoid_slope: float = 10.0, prop_decrease: float = 1.0,
                         freq_mask_smooth_hz: float = 50.0, time_mask_smooth_ms: float = 25.0) -> np.ndarray:
    """Spectral gating gains after the noisereduce algorithm (Sainburg, Thielk & Gentner 2020, PLoS
    Comput. Biol. 16(10): e1008228, Methods; Sainburg's ``noisereduce``), implemented from its description.

    Stationary: a bin passes when its level in dB exceeds ``noise_db_mean + n_std_thresh *
    noise_db_std`` (per frequency, from a noise sample or a noise PSD). Non-stationary: the noise
    floor is the spectrogram magnitude smoothed in time (zero-phase, ``time_constant_s``), and a bin's
    mask is a sigmoid of how far its magnitude rises above that floor, relative to it. The mask is
    smoothed with a triangular kernel of half-widths ``freq_mask_smooth_hz`` and ``time_mask_smooth_ms``
    (removing isolated passing bins, the source of musical noise) and the gain is
    ``1 - prop_decrease * (1 - mask)``.

    Shape:
        power ``(..., freq, frames)``; noise_db_mean/std broadcastable to it -> gain, same shape.
    """
    power = np.asarray(power, dtype=np.float64)
    if stationary:
        if noise_db_mean is None or noise_db_std is None:
            raise ValueError("stationary gating needs noise_db_mean and noise_db_std")
        level_db = _db(power, power)
        mask = (level_db > noise_db_mean + n_std_thresh * noise_db_std).astype(np.float64)
    else:
        mag = np.sqrt(power)
        if mag.shape[-1] == 0:
            return np.ones_like(mag)
        floor = _zero_phase_smooth(mag, math.exp(-frame_period_s / time_constant_s))
        excess = _ratio(mag - floor, floor)
        mask = expit(sigmoid_slope * (excess - thresh_n_mult))
    f_bins = int(round(freq_mask_smooth_hz / bin_hz)) if bin_hz > 0 else 0   # half-widths of the kernel
    t_frames = int(round(time_mask_smooth_ms * 1e-3 / frame_period_s))
    mask = smooth_mask(mask, f_bins, t_frames)
    return 1.0 - prop_decrease * (1.0 - mask)


# ------------------------------------------------------------------------------------- enhancers
@dataclass
class Frames:
    """STFT geometry of one call and the optional noise sample, handed to a gain rule."""

    sample_rate: int
    n_fft: int
    hop_length: int
    win_length: int
    noise: np.ndarray | None  # (channels, time') noise-only sample, or None
    #: The causal variant's recursions, carried from call to call (None: offline): sub-dicts 'noise'
    #: (the tracker), 'gain' (the a priori SNR and the gain rule's recursions) and the cached noise PSD.
    state: dict | None = None

    def sub_state(self, key: str) -> dict | None:
        """The part of :attr:`state` one stage keeps (None offline)."""
        return None if self.state is None else self.state.setdefault(key, {})

    @property
    def frame_period_s(self) -> float:
        return self.hop_length / self.sample_rate

    @property
    def bin_hz(self) -> float:
        return self.sample_rate / self.n_fft


def _next_pow2(n: int) -> int:
    return 1 << max(int(n) - 1, 0).bit_length()


@dataclass
class SpectralEnhancer(Enhancer):
    """Shared STFT analysis/synthesis and noise PSD front end of the spectral methods (not registered).

    Subclasses implement :meth:`spectral_gain`. Channels are processed together, each independently.
    """

    win_ms: float = field(default=32.0, metadata=_doc("analysis window length (scaled to the rate)"))
    hop_ms: float = field(default=8.0, metadata=_doc("frame step (scaled to the rate)"))
    n_fft: int | None = field(default=None, metadata=_doc("FFT size in samples (default: next power of 2 >= window)"))
    win_length: int | None = field(default=None, metadata=_doc("window length in samples (overrides win_ms)"))
    hop_length: int | None = field(default=None, metadata=_doc("frame step in samples (overrides hop_ms)"))
    window: str = field(default="hann", metadata=_doc("window (scipy.signal.get_window name)"))
    noise_estimator: str = field(default="minstat", metadata=_NOISE_ESTIMATOR_DOC)
    silence_s: float = field(default=0.25, metadata=_doc("leading noise-only duration for noise_estimator='silence'"))
    causal: bool = field(default=False, metadata=_doc(
        "use no future frame (the streaming variant, audiorestore.stream): noise trackers unnormalised with "
        "an absolute floor and a causal start, ratios floored per frame instead of over the whole file"))

    #: Why the method has no causal variant ('' when it has one).
    not_causal: ClassVar[str] = ""

    def __post_init__(self) -> None:
        if self.noise_estimator not in NOISE_ESTIMATORS:
            raise ValueError(f"noise_estimator must be one of {', '.join(NOISE_ESTIMATORS)}, "
                             f"got '{self.noise_estimator}'")
        if self.causal and self.not_causal:
            raise ValueError(f"{self.name} has no causal variant: {self.not_causal}")
        if self.causal and self.noise_estimator == "silence":
            raise ValueError("noise_estimator='silence' reads the first silence_s of the input before the first "
                             "frame, so it cannot run causally; use spp, mcra or minstat, or give a noise sample")
        if self.win_ms <= 0 or self.hop_ms <= 0:
            raise ValueError(f"win_ms and hop_ms must be positive, got {self.win_ms} and {self.hop_ms}")

    def stft_params(self, sample_rate: int) -> tuple[int, int, int]:
        """``(n_fft, hop_length, win_length)`` in samples at ``sample_rate``."""
        win = self.win_length or max(int(round(self.win_ms * 1e-3 * sample_rate)), 4)
        hop = self.hop_length or max(int(round(self.hop_ms * 1e-3 * sample_rate)), 1)
        n_fft = self.n_fft or _next_pow2(win)
        if not 0 < hop <= win <= n_fft:
            raise ValueError(f"need 0 < hop_length <= win_length <= n_fft, got {hop}, {win}, {n_fft}")
        return n_fft, hop, win

    def noise_psd(self, x: np.ndarray, power: np.ndarray, frames: Frames) -> np.ndarray:
        """Noise PSD ``(channels, freq, 1 or frames)`` from the noise sample, or estimated from ``x``."""
        if frames.state is not None and "noise_psd" in frames.state:
            return frames.state["noise_psd"]
        if frames.noise is not None:
            psd = noise_psd_from_sample(frames.noise, frames.n_fft, frames.hop_length, frames.win_length,
                                        self.window)[..., None]
            if frames.state is not None:  # computed once per stream
                frames.state["noise_psd"] = psd
            return psd
        if self.noise_estimator == "silence":
            return leading_silence_psd(x, frames.sample_rate, frames.n_fft, frames.hop_length, frames.win_length,
                                       self.window, self.silence_s)[..., None]
        return estimate_noise_psd(power, frames.frame_period_s, self.noise_estimator, frames.sub_state("noise"))

    def spectral_gain(self, x: np.ndarray, power: np.ndarray, frames: Frames) -> np.ndarray:
        """Real gains ``(channels, freq, frames)`` for the noisy power spectrogram ``power``."""
        raise NotImplementedError(f"{type(self).__name__} must override spectral_gain")

    def enhance(self, audio: np.ndarray, sample_rate: int, noise: np.ndarray | None) -> np.ndarray:
        x = np.asarray(audio, dtype=np.float64)
        n_fft, hop, win = self.stft_params(sample_rate)
        if x.shape[-1] < win:
            log.debug("%s: input of %d samples is shorter than one window (%d); returned unchanged",
                      self.name, x.shape[-1], win)
            return x.copy()
        frames = Frames(sample_rate, n_fft, hop, win, None if noise is None else np.asarray(noise, np.float64),
                        {} if self.causal else None)
        spec = stft(x, n_fft, hop, win, self.window)
        power = spec.real ** 2 + spec.imag ** 2
        gain = self.spectral_gain(x, power, frames)
        return istft(spec * gain, hop, win, self.window, length=x.shape[-1], n_fft=n_fft)


@register
@dataclass
class SpectralSubtraction(SpectralEnhancer):
    """Spectral subtraction with Berouti's over-subtraction and spectral floor."""

    name = "specsub"
    summary = "spectral subtraction (Boll 1979) with over-subtraction and spectral floor (Berouti et al. 1979)"
    citation = ("Boll 1979, IEEE TASSP 27(2):113-120; Berouti, Schwartz & Makhoul 1979, ICASSP, "
                "Enhancement of speech corrupted by acoustic noise")

    exponent: float = field(default=2.0, metadata=_doc(
        "1 = magnitude subtraction (Boll), 2 = power subtraction (Berouti)"))
    alpha0: float = field(default=4.0, metadata=_doc("over-subtraction factor at 0 dB frame SNR"))
    alpha_slope: float = field(default=3 / 20, metadata=_doc("decrease of the over-subtraction factor per dB of SNR"))
    beta: float = field(default=0.01, metadata=_doc("spectral floor, as a fraction of the noise power"))

    def spectral_gain(self, x: np.ndarray, power: np.ndarray, frames: Frames) -> np.ndarray:
        return spectral_subtraction_gain(power, self.noise_psd(x, power, frames), self.exponent, self.alpha0,
                                         self.alpha_slope, self.beta, causal=frames.state is not None)


@dataclass
class _DecisionDirected(SpectralEnhancer):
    """A gain rule of (xi, gamma) driven by the decision-directed a priori SNR."""

    alpha: float = field(default=0.98, metadata=_doc("decision-directed weight of the previous frame's estimate"))
    xi_min_db: float = field(default=-25.0, metadata=_doc("floor of the a priori SNR (limits musical noise)"))
    prior: str = field(default="dd", metadata=_doc(
        "a priori SNR estimator: 'dd' (decision-directed, Ephraim & Malah 1984) or 'tcs' (selective temporal "
        "cepstrum smoothing, Breithaupt, Gerkmann & Martin 2008; alpha is then unused)"))

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {', '.join(PRIORS)}, got '{self.prior}'")

    def gain_rule(self) -> GainRule:
        """The rule ``(xi, gamma) -> gain`` for this call."""
        raise NotImplementedError

    def spectral_gain(self, x: np.ndarray, power: np.ndarray, frames: Frames) -> np.ndarray:
        noise = self.noise_psd(x, power, frames)
        state = frames.sub_state("gain")
        if state is None:
            rule = self.gain_rule()
        else:  # built once per stream
            rule = state["rule"] = state.get("rule") or self.gain_rule()
        if self.prior == "dd":
            return decision_directed_gain(power, noise, rule, self.alpha, self.xi_min_db, state=state)
        return tcs_gain(power, noise, rule, frames.sample_rate, self.xi_min_db, state=state)


@register
@dataclass
class Wiener(_DecisionDirected):
    """Wiener filter with the decision-directed a priori SNR."""

    name = "wiener"
    summary = "Wiener filter with decision-directed a priori SNR"
    citation = ("Scalart & Vieira Filho 1996, ICASSP, Speech enhancement based on a priori signal to noise "
                "estimation; Ephraim & Malah 1984, IEEE TASSP 32(6):1109-1121")

    def gain_rule(self) -> GainRule:
        return wiener_gain


@register
@dataclass
class MMSESTSA(_DecisionDirected):
    """Ephraim-Malah MMSE short-time spectral amplitude estimator."""

    name = "mmse"
    summary = "MMSE short-time spectral amplitude estimator (Ephraim & Malah 1984)"
    citation = "Ephraim & Malah 1984, IEEE TASSP 32(6):1109-1121"

    def gain_rule(self) -> GainRule:
        return TabulatedGain("mmse")


@register
@dataclass
class LogMMSE(_DecisionDirected):
    """Ephraim-Malah MMSE log-spectral amplitude estimator."""

    name = "logmmse"
    summary = "MMSE log-spectral amplitude estimator (Ephraim & Malah 1985)"
    citation = ("Ephraim & Malah 1985, IEEE TASSP 33(2):443-445; noise PSD: Gerkmann & Hendriks 2012, "
                "IEEE TASLP 20(4):1383-1393; a priori SNR: Breithaupt, Gerkmann & Martin 2008, ICASSP")

    # The default denoiser while no model ships. Its noise tracker was chosen on the validation
    # mixtures (benchmarks/devset.py valid split, 32 files): PESQ-wb 1.511 with 'spp' against 1.440
    # with 'minstat' and 1.372 with 'mcra', STOI 0.862 / 0.863 / 0.855. Its a priori SNR estimator and
    # floor on those and the six recorded VoiceBank-DEMAND p287 pairs (2026-12-03, 16 combinations of
    # prior x xi_min_db x tracker): 'tcs' at -20 dB against 'dd' at -25 dB, paired differences
    # PESQ-wb / STOI / COVL -0.004 +- 0.028 / +0.007 +- 0.004 / +0.027 +- 0.032 on the mixtures and
    # +0.063 +- 0.063 / +0.011 +- 0.005 / +0.148 +- 0.090 on p287.
    noise_estimator: str = field(default="spp", metadata=_NOISE_ESTIMATOR_DOC)
    xi_min_db: float = field(default=-20.0, metadata=_doc("floor of the a priori SNR (limits musical noise)"))
    prior: str = field(default="tcs", metadata=_doc(
        "a priori SNR estimator: 'tcs' (selective temporal cepstrum smoothing, Breithaupt, Gerkmann & Martin "
        "2008) or 'dd' (decision-directed, Ephraim & Malah 1984)"))

    def gain_rule(self) -> GainRule:
        return TabulatedGain("logmmse")


def _presence_ramp(zeta: np.ndarray, low: float, high: float) -> np.ndarray:
    """0 below ``low``, 1 above ``high``, linear in log between (Cohen & Berdugo 2001, eq. 27)."""
    out = np.log(np.maximum(zeta, 1e-30) / low) / math.log(high / low)
    return np.clip(out, 0.0, 1.0)


def om_lsa_gain(power: np.ndarray, noise_psd: np.ndarray, alpha: float = 0.92, xi_min_db: float = -25.0,
                gain_min_db: float = -25.0, beta: float = 0.7, q_max: float = 0.95,
                local_bins: int = 1, global_bins: int = 15, zeta_min_db: float = -10.0,
                zeta_max_db: float = -5.0, peak_min_db: float = 0.0, peak_max_db: float = 10.0,
                state: dict | None = None) -> np.ndarray:
    """Optimally-modified log-spectral amplitude gains (OM-LSA) with the a priori speech absence
    probability of I. Cohen and B. Berdugo, "Speech enhancement for non-stationary noise environments",
    Signal Processing 81(11):2403-2418, 2001 (their default constants).

    Per frame, vectorised over bins:

    * decision-directed a priori SNR with the speech-present gain ``G_H1`` (eq. 32), floored at ``xi_min``:
      the recursion of :func:`decision_directed_gain` with the log-MMSE rule, which also gives ``G_H1``;
    * its recursive average ``zeta`` (``beta``, eq. 26), averaged over ``2 local_bins + 1`` and
      ``2 global_bins + 1`` bins with Hann windows and over the whole frame: three "speech is likely"
      indicators ramping from ``zeta_min`` to ``zeta_max`` (eqs. 27-30; the frame indicator is relative
      to the last speech peak, clipped to ``[peak_min, peak_max]``);
    * a priori speech absence ``q = min(1 - P_local P_global P_frame, q_max)`` (eq. 31);
    * speech presence probability ``p = 1 / (1 + q / (1 - q) (1 + xi) exp(-v))`` (eq. 16);
    * the gain ``G_H1^p G_min^(1 - p)`` (eq. 20), with ``G_H1`` the log-MMSE gain.

    Every recursion runs forward in time; ``state`` (a dict, empty for the first call) carries them
    from call to call (streaming), with the ratios floored per frame (:func:`_floored`).

    Shape:
        power ``(..., freq, frames)``, noise_psd broadcastable to it -> gain, same shape as power.
    """
    power = np.asarray(power, dtype=np.float64)
    st = {} if state is None else state
    gamma = np.maximum(_ratio(power, np.broadcast_to(noise_psd, power.shape), state is not None), _TINY)
    if "rule" not in st:
        st["rule"] = TabulatedGain("logmmse")
    g_h1, xi = decision_directed_gain(power, noise_psd, st["rule"], alpha, xi_min_db, return_xi=True, state=state)
    z_min, z_max = 10.0 ** (zeta_min_db / 10), 10.0 ** (zeta_max_db / 10)
    p_min, p_max = 10.0 ** (peak_min_db / 10), 10.0 ** (peak_max_db / 10)
    from scipy.signal import lfilter  # here, not at import: scipy.signal is slow to import

    # eq. (26): recursive average over frames, started at the first frame's value
    zeta, st["zeta_zi"] = lfilter([1 - beta], [1, -beta], xi, axis=-1, zi=st.get("zeta_zi", beta * xi[..., :1]))
    p_local = _presence_ramp(ndimage.convolve1d(zeta, hann_kernel(local_bins), axis=-2, mode="nearest"), z_min, z_max)
    p_global = _presence_ramp(ndimage.convolve1d(zeta, hann_kernel(global_bins), axis=-2, mode="nearest"),
                              z_min, z_max)
    # eqs. (28)-(30): the frame indicator, relative to the last rise of the frame's mean
    zeta_frame = zeta.mean(axis=-2)                          # (..., frames)
    p_frame = np.empty_like(zeta_frame)
    prev = st.get("prev", np.zeros(zeta_frame.shape[:-1]))
    peak = st.get("peak", np.full(zeta_frame.shape[:-1], p_min))
    for t in range(zeta_frame.shape[-1]):
        z = zeta_frame[..., t]
        rising = z > prev
        peak = np.where(rising, np.clip(z, p_min, p_max), peak)
        mu = _presence_ramp(z / peak, z_min, z_max)
        p_frame[..., t] = np.where(z <= z_min, 0.0, np.where(rising, 1.0, mu))
        prev = z
    st["prev"], st["peak"] = prev, peak
    q = np.minimum(1.0 - p_local * p_global * p_frame[..., None, :], q_max)
    v = xi * gamma / (1.0 + xi)
    presence = 1.0 / (1.0 + q / (1.0 - q) * (1.0 + xi) * np.exp(-np.minimum(v, 700.0)))
    return g_h1 ** presence * (10.0 ** (gain_min_db / 20)) ** (1.0 - presence)


@register
@dataclass
class OMLSA(SpectralEnhancer):
    """Optimally-modified log-spectral amplitude estimator with speech presence probability (Cohen)."""

    name = "omlsa"
    summary = "optimally-modified log-MMSE with speech presence probability (Cohen & Berdugo 2001)"
    citation = ("Cohen & Berdugo 2001, Signal Processing 81(11):2403-2418; Cohen 2002, IEEE SPL 9(4):113-116; "
                "Ephraim & Malah 1985, IEEE TASSP 33(2):443-445")

    alpha: float = field(default=0.92, metadata=_doc("decision-directed weight of the previous frame's estimate"))
    xi_min_db: float = field(default=-25.0, metadata=_doc("floor of the a priori SNR"))
    gain_min_db: float = field(default=-25.0, metadata=_doc("gain where speech is absent (G_min)"))
    q_max: float = field(default=0.95, metadata=_doc("largest a priori speech absence probability"))

    def spectral_gain(self, x: np.ndarray, power: np.ndarray, frames: Frames) -> np.ndarray:
        return om_lsa_gain(power, self.noise_psd(x, power, frames), self.alpha, self.xi_min_db,
                           self.gain_min_db, q_max=self.q_max, state=frames.sub_state("gain"))


@register
@dataclass
class SpectralGating(SpectralEnhancer):
    """Spectral gating: stationary (fixed threshold per frequency) or non-stationary (time-smoothed floor)."""

    name = "gating"
    summary = "spectral gating, stationary or non-stationary (noisereduce algorithm)"
    citation = ("Sainburg, Thielk & Gentner 2020, PLoS Comput. Biol. 16(10):e1008228; "
                "Sainburg, noisereduce (software), 2019")
    not_causal = ("its mask is smoothed over a centred window of frames (and the non-stationary floor is "
                  "smoothed forward and backward)")

    stationary: bool = field(default=True, metadata=_doc(
        "True: fixed threshold from the noise statistics; False: threshold follows a time-smoothed floor "
        "(then the noise sample and noise_estimator are not used)"))
    n_std_thresh: float = field(default=1.5, metadata=_doc(
        "stationary: threshold in standard deviations of the noise level (dB)"))
    time_constant_s: float = field(default=2.0, metadata=_doc("non-stationary: time constant of the smoothed floor"))
    thresh_n_mult: float = field(default=0.5, metadata=_doc(
        "non-stationary: relative rise above the floor at the sigmoid's midpoint (noisereduce: 2, tuned for "
        "animal vocalisations; 0.5 suits speech)"))
    sigmoid_slope: float = field(default=10.0, metadata=_doc("non-stationary: slope of the sigmoid mask"))
    prop_decrease: float = field(default=1.0, metadata=_doc("fraction of the gated noise removed (0..1)"))
    freq_mask_smooth_hz: float = field(default=50.0, metadata=_doc(
        "half-width of the mask smoothing across frequency (noisereduce's setting amounts to 250 Hz; a narrow "
        "kernel keeps speech harmonics)"))
    time_mask_smooth_ms: float = field(default=25.0, metadata=_doc("half-width of the mask smoothing across time"))

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.prop_decrease <= 1:
            raise ValueError(f"prop_decrease must be in [0, 1], got {self.prop_decrease}")

    def noise_db_stats(self, x: np.ndarray, power: np.ndarray, frames: Frames) -> tuple[np.ndarray, np.ndarray]:
        """Per-frequency mean and standard deviation of the noise level in dB, ``(channels, freq, 1)`` each.

        From the noise sample's spectrogram when one is given (as noisereduce does); otherwise from the
        noise PSD, around which the periodogram of Gaussian noise is exponentially distributed. A
        tracked PSD is reduced to its median over time, since this mode assumes stationary noise.
        """
        noise = frames.noise
        if noise is not None and noise.shape[-1] >= frames.win_length + 3 * frames.hop_length:
            npow = np.abs(stft(noise, frames.n_fft, frames.hop_length, frames.win_length, self.window,
                               center=False)) ** 2
            db = _db(npow, power)
            return db.mean(-1, keepdims=True), db.std(-1, keepdims=True)
        psd = np.median(self.noise_psd(x, power, frames), axis=-1, keepdims=True)
        mean = _db(psd, power) + EXP_MEAN_DB
        return mean, np.full_like(mean, EXP_STD_DB)

    def enhance(self, audio: np.ndarray, sample_rate: int, noise: np.ndarray | None) -> np.ndarray:
        if noise is not None and not self.stationary:
            log.debug("gating: the non-stationary mode does not use the noise sample")
        return super().enhance(audio, sample_rate, noise if self.stationary else None)

    def spectral_gain(self, x: np.ndarray, power: np.ndarray, frames: Frames) -> np.ndarray:
        mean = std = None
        if self.stationary:
            mean, std = self.noise_db_stats(x, power, frames)
        return spectral_gating_gain(power, frames.frame_period_s, frames.bin_hz, self.stationary, mean, std,
                                    self.n_std_thresh, self.time_constant_s, self.thresh_n_mult,
                                    self.sigmoid_slope, self.prop_decrease, self.freq_mask_smooth_hz,
                                    self.time_mask_smooth_ms)
