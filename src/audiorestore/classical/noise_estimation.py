"""Noise power spectral density (PSD) estimation for the spectral denoisers.

Four sources of a noise PSD ``lambda_d(k, l)`` (frequency bin ``k``, frame ``l``), all in the units of
``|STFT|**2`` so that ``power / noise_psd`` is the a posteriori SNR:

* :func:`noise_psd_from_sample`: a noise-only recording the user supplies (``--noise FILE``): the mean
  periodogram over its frames (Welch's method).
* :func:`leading_silence_psd`: the same, over the first fraction of a second of the input, which is
  assumed to hold no speech.
* :func:`minimum_statistics`: Martin (2001), optimal smoothing and bias-compensated minimum tracking.
* :func:`mcra`: Cohen & Berdugo (2002), minima-controlled recursive averaging.
* :func:`spp_mmse`: Gerkmann & Hendriks (2012), MMSE noise power with a speech presence probability
  from a fixed a priori SNR (no minimum search, so it follows rising noise within a fraction of a
  second instead of the 1.5 s window of the minimum trackers).

The trackers work on a power spectrogram ``(..., freq, frames)`` and return one estimate per frame.
They loop over frames (the recursions require it) but every step is vectorised over frequency and
over any leading axes (channels). The per-frame constants of the papers are given here as time
constants, converted with the frame step, so the behaviour does not depend on the sample rate or hop.

Example:
    >>> import numpy as np
    >>> from audiorestore.dsp import stft
    >>> x = np.random.default_rng(0).standard_normal(16000)
    >>> power = np.abs(stft(x, 512, 256)) ** 2
    >>> mcra(power, frame_period_s=256 / 16000).shape
    (257, 63)
"""

from __future__ import annotations

import logging
import math
from typing import Literal

import numpy as np
from ..dsp.stft import get_window, stft

log = logging.getLogger(__name__)

NoiseEstimator = Literal["silence", "minstat", "mcra", "spp"]
NOISE_ESTIMATORS: tuple[str, ...] = ("silence", "minstat", "mcra", "spp")
#: The estimators that track the noise from the noisy power alone (:func:`estimate_noise_psd`).
TRACKERS: tuple[str, ...] = ("minstat", "mcra", "spp")

#: Smallest value a PSD takes relative to the signal's mean power (keeps ratios finite on silence).
_REL_FLOOR = 1e-12
#: The same floor for the causal (``state``) variants, which cannot know the signal's mean power in
#: advance: an absolute floor far below any recorded noise (24-bit quantisation gives about 1e-12).
_ABS_FLOOR = 1e-20


def _prepare(power: np.ndarray, state: dict | None) -> tuple[np.ndarray, np.ndarray | float, float]:
    """``(power at the working scale, scale, floor)``: normalised by the whole signal's mean power with
    the relative floor (offline), or as it is with the absolute floor (causal: ``state`` given)."""
    if state is None:
        p_in, scale = _normalise(power)
        return p_in, scale, _REL_FLOOR
    power = np.asarray(power, dtype=np.float64)
    if power.ndim < 2:
        raise ValueError(f"expected a power spectrogram of shape (..., freq, frames), found shape {power.shape}")
    return power, 1.0, _ABS_FLOOR


def _normalise(power: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Divide ``(..., freq, frames)`` by its per-channel mean power; returns (scaled, scale).

    The trackers compare powers with ratios and fixed floors; working at unit scale makes them exactly
    scale invariant and keeps all-zero input finite (its scale is 0, so its estimate is 0).
    """
    power = np.asarray(power, dtype=np.float64)
    if power.ndim < 2:
        raise ValueError(f"expected a power spectrogram of shape (..., freq, frames), found shape {power.shape}")
    scale = np.mean(power, axis=(-2, -1), keepdims=True)
    return power / np.where(scale > 0, scale, 1.0), scale


def hann_kernel(half_width: int) -> np.ndarray:
    """Normalised Hann window of ``2 * half_width + 1`` taps (no zero end taps), for smoothing across bins."""
    k = np.hanning(2 * half_width + 3)[1:-1]
    return k / k.sum()


def _frames_to_last(a: np.ndarray) -> np.ndarray:
    """``(T, ..., F)`` loop layout back to ``(..., F, T)``."""
    return np.moveaxis(a, 0, -1)


# ----------------------------------------------------------------------------------- noise sample
def noise_psd_from_sample(noise: np.ndarray, n_fft: int, hop_length: int, win_length: int | None = None,
                          window: str = "hann") -> np.ndarray:
    """Mean periodogram of a noise-only recording, in ``|STFT|**2`` units of :func:`audiorestore.dsp.stft`.

    Frames are taken without centre padding (padding would bias the estimate low). A sample shorter
    than one window cannot give a spectral shape; it is treated as white noise of its measured power.

    Shape:
        noise ``(..., time)`` -> ``(..., n_fft // 2 + 1)``.
    """
    noise = np.asarray(noise, dtype=np.float64)
    win_length = win_length or n_fft
    n_freq = n_fft // 2 + 1
    if noise.shape[-1] >= win_length:
        if noise.shape[-1] < n_fft:  # window shorter than n_fft: frames only need win_length samples
            left = (n_fft - win_length) // 2
            noise = np.pad(noise, [(0, 0)] * (noise.ndim - 1) + [(left, n_fft - noise.shape[-1] - left)])
        power = np.abs(stft(noise, n_fft, hop_length, win_length, window, center=False)) ** 2
        return power.mean(axis=-1)
    # E|X(k)|^2 = sigma^2 * sum(w^2) for white noise of variance sigma^2
    w = get_window(window, win_length)
    var = np.mean(noise ** 2, axis=-1, keepdims=True) if noise.shape[-1] else np.zeros(noise.shape[:-1] + (1,))
    if noise.shape[-1]:
        log.warning("noise sample of %d samples is shorter than one window (%d); assuming white noise",
                    noise.shape[-1], win_length)
    return np.broadcast_to(var * np.sum(w ** 2), noise.shape[:-1] + (n_freq,)).copy()


def leading_silence_psd(x: np.ndarray, sample_rate: int, n_fft: int, hop_length: int,
                        win_length: int | None = None, window: str = "hann",
                        silence_s: float = 0.25) -> np.ndarray:
    """Noise PSD from the first ``silence_s`` seconds of ``x``, assumed to hold noise only.

    This is the classic assumption of Boll (1979, Sec. II) and of most early speech enhancers: the
    recording starts before the talker does.

    Shape:
        x ``(..., time)`` -> ``(..., n_fft // 2 + 1)``.
    """
    if silence_s <= 0:
        raise ValueError(f"silence_s must be positive, got {silence_s}")
    win_length = win_length or n_fft
    n = max(int(round(silence_s * sample_rate)), win_length)
    return noise_psd_from_sample(np.asarray(x)[..., :n], n_fft, hop_length, win_length, window)


# ------------------------------------------------------------------------------ minimum statistics
# Martin (2006), "Bias compensation methods for minimum statistics noise PSD estimation", Signal
# Processing 86, Table 5: M(D) for the bias of the minimum of D correlated smoothed periodograms.
_MD_D = np.array([1, 2, 5, 8, 10, 15, 20, 30, 40, 60, 80, 120, 140, 160, 180, 220, 260, 300], dtype=float)
_MD_M = np.array([0, 0.26, 0.48, 0.58, 0.61, 0.668, 0.705, 0.762, 0.8, 0.841, 0.865, 0.89, 0.9, 0.91,
                  0.92, 0.93, 0.935, 0.94])


def _m_of_d(d: int) -> float:
    """M(D), interpolated in sqrt(D) between the table entries (Martin 2001, eq. 17 and Table III)."""
    return float(np.interp(math.sqrt(d), np.sqrt(_MD_D), _MD_M))


def _pool_frames(power: np.ndarray, k: int) -> np.ndarray:
    """Average groups of ``k`` consecutive frames (last axis); a short last group is averaged as is."""
    if k == 1:
        return power
    n = power.shape[-1]
    n_groups = -(-n // k)
    sums = np.add.reduceat(power, np.arange(0, n_groups * k, k), axis=-1)
    counts = np.minimum(k, n - np.arange(0, n_groups * k, k))
    return sums / counts


def minimum_statistics(power: np.ndarray, frame_period_s: float, window_s: float = 1.536,
                       subwindows: int = 8, step_s: float | None = 0.016, state: dict | None = None) -> np.ndarray:
    """Noise PSD by minimum statistics with optimal smoothing (Martin 2001, IEEE TSAP 9(5):504-512).

    The periodogram is smoothed with a time- and frequency-dependent factor chosen to minimise the
    mean squared error to the noise PSD (Sec. III, eqs. 3-12), the variance of the smoothed
    periodogram gives the equivalent degrees of freedom that set the bias of the minimum (Sec. IV,
    eqs. 15-23), and the minimum over a ``window_s`` window is tracked in ``subwindows`` sub-windows
    so that a rising noise floor is followed within about one sub-window (Sec. V). Time constants
    reproduce the paper's per-frame values at its 16 ms frame step (alpha_max = 0.96, beta_max = 0.8,
    alpha_c smoothing 0.7, ...), and M(D) comes from Martin (2006), Table 5.

    With ``step_s`` set, consecutive periodograms are averaged so the tracker runs at about that frame
    step (the rate its constants were designed for) and its estimate is held over the pooled frames;
    the averaging lowers the periodogram variance, which the Q_eq estimate of Sec. IV accounts for.

    ``state`` (a dict, empty for the first call) makes the estimator causal and resumable: consecutive
    calls on consecutive frames give the estimate of one call on all of them (streaming). The causal
    variant works on the unnormalised power with an absolute floor, and the frames of a pooled group
    get the estimate of the previous group until their own group is complete (the last frame of a
    group gets its group's estimate; the offline estimator gives it to every frame of the group); the
    first group gets the first frame's periodogram.

    Shape:
        power ``(..., freq, frames)`` (``|STFT|**2``) -> same shape.
    """
    if frame_period_s <= 0:
        raise ValueError(f"frame_period_s must be positive, got {frame_period_s}")
    p_in, scale, floor = _prepare(power, state)
    lead, (n_freq, n_frames_in) = p_in.shape[:-2], p_in.shape[-2:]
    if n_frames_in == 0:
        return np.zeros_like(p_in)
    k = max(int(round(step_s / frame_period_s)), 1) if step_s else 1
    if state is not None:
        return _minstat_causal(p_in.reshape(-1, n_freq, n_frames_in), frame_period_s * k, window_s, subwindows,
                               k, state).reshape(p_in.shape)
    pooled = _pool_frames(p_in, k).reshape(-1, n_freq, (n_frames_in + k - 1) // k)
    # channels are independent: one frame loop per channel keeps the per-frame scalars Python floats
    est = np.stack([_MinStat(ch[:, 0], frame_period_s * k, window_s, subwindows, floor).run(
        np.ascontiguousarray(ch.T)) for ch in pooled])
    est = est.transpose(0, 2, 1).reshape(*lead, n_freq, -1)
    if k > 1:
        est = np.repeat(est, k, axis=-1)[..., :n_frames_in]
    return est * scale


def _minstat_causal(p: np.ndarray, tinc: float, window_s: float, subwindows: int, k: int,
                    state: dict) -> np.ndarray:
    """The causal minimum statistics of :func:`minimum_statistics` on ``(channels, freq, frames)``."""
    n_ch, n_freq, n_frames = p.shape
    out = np.empty_like(p)
    if "pool" not in state:
        state.update(pool=np.zeros((n_ch, n_freq)), count=0, held=np.maximum(p[..., 0], _ABS_FLOOR), trackers=None)
    for t in range(n_frames):
        state["pool"] += p[..., t]
        state["count"] += 1
        if state["count"] == k:
            pooled = state["pool"] / k
            if state["trackers"] is None:
                state["trackers"] = [_MinStat(pooled[c], tinc, window_s, subwindows, _ABS_FLOOR) for c in range(n_ch)]
            state["held"] = np.stack([tr.run(pooled[c][None])[0] for c, tr in enumerate(state["trackers"])])
            state["pool"][:] = 0.0
            state["count"] = 0
        out[..., t] = state["held"]
    return out


class _MinStat:
    """Martin (2001) on one channel's periodograms, resumable: :meth:`run` continues from the last frame.

    ``y0`` ``(freq,)`` is the first frame (it starts the smoothed periodogram); ``floor`` the smallest
    PSD at the periodograms' scale.
    """

    def __init__(self, y0: np.ndarray, tinc: float, window_s: float, subwindows: int, floor: float) -> None:
        n_freq = y0.shape[0]
        self.floor = floor
        self.a_c = math.exp(-tinc / 0.0449)           # smoothing of the correction factor alpha_c, eq. (10): 0.7
        self.alpha_max = math.exp(-tinc / 0.392)      # eq. (11): 0.96
        self.alpha_min_hi = math.exp(-tinc / 0.0133)  # upper bound of the lower limit of alpha, eq. (12): 0.3
        self.snr_exp = -tinc / 0.064                  # eq. (12): alpha >= min(0.3, SNR^-0.25)
        self.beta_max = math.exp(-tinc / 0.0717)      # eq. (20): 0.8
        self.n_sub = max(int(round(window_s / (tinc * subwindows))), 4)    # V frames per sub-window
        self.n_u = max(int(round(window_s / (tinc * self.n_sub))), 1)      # U sub-windows
        md, mv = _m_of_d(self.n_u * self.n_sub), _m_of_d(self.n_sub)
        # maximum noise slope allowed for a local minimum, per 1/Q_eq band (Sec. V: 8, 4, 2, 1.2 at 16 ms)
        self.slope_max = [10.0 ** (db * self.n_sub * tinc / 10.0) for db in (47.0, 31.4, 15.7, 4.1)]
        self.two_m = np.array([[2 * md], [2 * mv]])
        self.c_dv = np.array([[2 * (self.n_u * self.n_sub - 1) * (1 - md)], [2 * (self.n_sub - 1) * (1 - mv)]])
        # State. The moments of eqs. (20)-(21) are stacked so each update is one vector operation:
        # mom = [P, P^2] drives avg = [P_bar, P2_bar].
        self.mom = np.empty((2, n_freq))
        self.mom[0] = y0                        # smoothed periodogram P(l, k), eq. (3)
        self.mom[1] = y0 * y0
        self.avg = self.mom.copy()
        self.sn2 = np.maximum(self.mom[0], floor)   # noise PSD estimate sigma_N^2
        self.sum_sn2 = float(self.sn2.sum())
        self.ac = 1.0
        self.act_min = np.full(n_freq, np.inf)
        self.act_min_sub = np.full(n_freq, np.inf)
        self.p_min_u = self.mom[0].copy()
        self.buf = np.full((self.n_u, n_freq), np.inf)
        self.i_buf = -1
        self.lmin_flag = np.zeros(n_freq, dtype=bool)
        self.sub_count = self.n_sub - 1         # force a buffer switch on the first frame
        self.t = 0

    def run(self, y: np.ndarray) -> np.ndarray:
        """Estimates ``(frames, freq)`` for the next periodograms ``y`` ``(frames, freq)``."""
        n_frames, n_freq = y.shape
        floor, mom, avg, act_min, act_min_sub, buf, lmin_flag = (
            self.floor, self.mom, self.avg, self.act_min, self.act_min_sub, self.buf, self.lmin_flag)
        p, sn2, p_min_u, ac, sum_sn2 = mom[0], self.sn2, self.p_min_u, self.ac, self.sum_sn2
        i_buf, sub_count, n_sub, n_u = self.i_buf, self.sub_count, self.n_sub, self.n_u
        av = 2.12                                # B_c = 1 + av * sqrt(mean 1/Q_eq), Sec. IV-C
        qeqi_max, qeqi_min = 1 / 2.0, 1 / 14.0   # limits of 1/Q_eq, eq. (23)
        q_thresh = (0.03, 0.05, 0.06)
        out = np.empty_like(y)
        tmp, alpha, beta, qeqi = (np.empty(n_freq) for _ in range(4))
        b_min = np.empty((2, n_freq))
        sum_y = y.sum(axis=1) + floor
        for i in range(n_frames):
            t = self.t + i
            yt = y[i]
            sum_p = float(p.sum())
            # correction factor of the smoothing, eqs. (9)-(10)
            ratio = sum_p / sum_y[i] - 1.0
            ac = self.a_c * ac + (1 - self.a_c) * max(1.0 / (1.0 + ratio * ratio), 0.7)
            # optimal smoothing parameter, eq. (11), with the lower limit of eq. (12)
            np.divide(p, sn2, out=tmp)
            tmp -= 1.0
            np.multiply(tmp, tmp, out=tmp)
            tmp += 1.0
            np.divide(self.alpha_max * ac, tmp, out=alpha)
            np.maximum(alpha, min(self.alpha_min_hi, max(sum_p / sum_sn2, floor) ** self.snr_exp), out=alpha)
            # P = alpha P + (1 - alpha) |Y|^2, eq. (3)
            p -= yt
            p *= alpha
            p += yt
            # moments of P with beta = min(alpha^2, beta_max), eqs. (20)-(21)
            np.multiply(alpha, alpha, out=beta)
            np.minimum(beta, self.beta_max, out=beta)
            np.multiply(p, p, out=mom[1])
            avg -= mom
            avg *= beta
            avg += mom
            # 1/Q_eq = var(P) / (2 sigma_N^4), limited, eq. (23)
            np.multiply(avg[0], avg[0], out=qeqi)
            np.subtract(avg[1], qeqi, out=qeqi)
            np.multiply(sn2, sn2, out=tmp)
            tmp *= 2.0
            qeqi /= tmp
            np.minimum(qeqi, qeqi_max, out=qeqi)
            np.maximum(qeqi, qeqi_min / (t + 1), out=qeqi)
            q_avg = float(qeqi.sum()) / n_freq
            # bias of the minimum over D and over V frames, eq. (17): B_min = 1 + c / (1/Q_eq - 2M),
            # times the overall correction B_c = 1 + av sqrt(mean 1/Q_eq) (Sec. IV-C)
            np.reciprocal(qeqi, out=qeqi)
            np.subtract(qeqi, self.two_m, out=b_min)
            np.divide(self.c_dv, b_min, out=b_min)
            b_min += 1.0
            np.multiply(p, 1.0 + av * math.sqrt(q_avg), out=tmp)
            b_min *= tmp
            k_mod = b_min[0] < act_min
            np.minimum(act_min, b_min[0], out=act_min)
            np.copyto(act_min_sub, b_min[1], where=k_mod)
            if sub_count >= n_sub - 1:  # end of a sub-window: store its minimum (Sec. V)
                i_buf = (i_buf + 1) % n_u
                buf[i_buf] = act_min
                p_min_u = buf.min(axis=0)
                nsm = self.slope_max[sum(q_avg >= q for q in q_thresh)]
                # a local minimum in the last sub-window, not far above the window's one: the noise rose
                lmin = lmin_flag & ~k_mod & (act_min_sub < nsm * p_min_u) & (act_min_sub > p_min_u)
                if lmin.any():
                    p_min_u[lmin] = act_min_sub[lmin]
                    buf[:, lmin] = p_min_u[lmin]
                lmin_flag[:] = False
                act_min[:] = np.inf
                sub_count = 0
            else:
                if sub_count > 0:
                    lmin_flag |= k_mod
                    np.minimum(act_min_sub, p_min_u, out=p_min_u)
                sn2 = np.maximum(p_min_u, floor)
                sum_sn2 = float(sn2.sum())
                sub_count += 1
            out[i] = sn2
        self.t += n_frames
        self.sn2, self.p_min_u, self.ac, self.sum_sn2 = sn2, p_min_u, ac, sum_sn2
        self.i_buf, self.sub_count = i_buf, sub_count
        return out


# -------------------------------------------------------------------------------------------- MCRA
def _running_block_min(s: np.ndarray, n_block: int, state: dict | None = None) -> np.ndarray:
    """Minimum of ``s`` over the current and the previous block of ``n_block`` frames (last axis).

    This is exactly what the S_min / S_tmp recursion of Cohen & Berdugo (2002, eqs. 8-11) computes
    (S_tmp restarts every L frames and seeds the next S_min), evaluated without a frame loop; with
    ``state`` (a dict) frame by frame, continuing from the previous call.
    """
    if state is not None:
        out = np.empty_like(s)
        if "cur" not in state:
            state.update(cur=np.full(s.shape[:-1], np.inf), prev=np.full(s.shape[:-1], np.inf), pos=0)
        for t in range(s.shape[-1]):
            if state["pos"] == 0:  # a block starts: the finished one becomes the previous block
                state["prev"], state["cur"] = state["cur"], s[..., t].copy()
            else:
                np.minimum(state["cur"], s[..., t], out=state["cur"])
            out[..., t] = np.minimum(state["cur"], state["prev"])
            state["pos"] = (state["pos"] + 1) % n_block
        return out
    n = s.shape[-1]
    n_blocks = -(-n // n_block)
    pad = n_blocks * n_block - n
    sp = np.pad(s, [(0, 0)] * (s.ndim - 1) + [(0, pad)], constant_values=np.inf)
    blocks = sp.reshape(s.shape[:-1] + (n_blocks, n_block))
    run = np.minimum.accumulate(blocks, axis=-1)
    prev = np.concatenate([np.full(s.shape[:-1] + (1,), np.inf), run[..., :-1, -1]], axis=-1)
    return np.minimum(run, prev[..., None]).reshape(sp.shape)[..., :n]


def mcra(power: np.ndarray, frame_period_s: float, delta: float = 5.0, window_s: float = 1.0,
         smoothing_s: float = 0.0717, presence_s: float = 0.00994, noise_s: float = 0.312,
         freq_width: int = 1, state: dict | None = None) -> np.ndarray:
    """Noise PSD by minima-controlled recursive averaging (Cohen & Berdugo 2002, IEEE SPL 9(1):12-15).

    The noisy power, smoothed over ``2 * freq_width + 1`` bins (eq. 6) and in time (eq. 7), is compared
    with its minimum over the last ``window_s`` to ``2 * window_s`` seconds (eqs. 8-11); a ratio above
    ``delta`` marks speech (eq. 12), whose smoothed indicator is the speech presence probability p
    (eq. 14). The noise PSD is a recursive average of the periodogram whose smoothing factor moves
    from ``alpha_d`` towards 1 as p rises (eqs. 4-5), so speech does not leak into the estimate.

    The paper's per-frame constants alpha_s = 0.8, alpha_p = 0.2 and alpha_d = 0.95 are given here as
    time constants (``smoothing_s``, ``presence_s``, ``noise_s``) taken at a 16 ms frame step, an
    assumption of this implementation that makes it independent of hop and sample rate.

    ``state`` (a dict, empty for the first call) makes it causal and resumable, as in
    :func:`minimum_statistics`: unnormalised power with an absolute floor, otherwise the same recursions.

    Shape:
        power ``(..., freq, frames)`` (``|STFT|**2``) -> same shape.
    """
    if frame_period_s <= 0:
        raise ValueError(f"frame_period_s must be positive, got {frame_period_s}")
    p_in, scale, floor = _prepare(power, state)
    n_freq, n_frames = p_in.shape[-2:]
    if n_frames == 0:
        return np.zeros_like(p_in)
    a_s = math.exp(-frame_period_s / smoothing_s)
    a_p = math.exp(-frame_period_s / presence_s)
    a_d = math.exp(-frame_period_s / noise_s)
    # eq. (6): frequency smoothing with a normalised Hann window of 2w+1 bins
    if freq_width > 0 and n_freq > 1:
        b = hann_kernel(freq_width)
        padded = np.pad(p_in, [(0, 0)] * (p_in.ndim - 2) + [(freq_width, freq_width), (0, 0)], mode="edge")
        s_f = sum(b[i] * padded[..., i:i + n_freq, :] for i in range(b.size))
    else:
        s_f = p_in
    from scipy.signal import lfilter  # here, not at import: scipy.signal is slow to import

    st = {} if state is None else state
    # eq. (7): first-order recursive smoothing in time, started at the first frame
    s, st["s_zi"] = lfilter([1 - a_s], [1, -a_s], s_f, axis=-1, zi=st.get("s_zi", a_s * s_f[..., :1]))
    s_min = _running_block_min(s, max(int(round(window_s / frame_period_s)), 1), state)
    # eqs. (12)-(14): speech presence indicator and its smoothed probability
    presence = (s > delta * np.maximum(s_min, floor)).astype(np.float64)
    prob, st["p_zi"] = lfilter([1 - a_p], [1, -a_p], presence, axis=-1,
                               zi=st.get("p_zi", np.zeros(presence.shape[:-1] + (1,))))
    # eqs. (4)-(5): time-varying recursive average; the one recursion that needs a frame loop
    a = a_d + (1 - a_d) * prob
    a_t = np.ascontiguousarray(np.moveaxis(a, -1, 0))
    drive = np.ascontiguousarray(np.moveaxis((1 - a) * p_in, -1, 0))
    out = np.empty_like(a_t)
    lam = st.get("lam", np.moveaxis(p_in, -1, 0)[0]).copy()
    for t in range(n_frames):
        np.multiply(a_t[t], lam, out=lam)
        lam += drive[t]
        out[t] = lam
    st["lam"] = lam
    return np.maximum(_frames_to_last(out), floor) * scale


def spp_update(y: np.ndarray, lam: np.ndarray, p_bar: np.ndarray, a_n: float, a_p: float, ratio: float,
               prior: float) -> np.ndarray:
    """One frame of :func:`spp_mmse`'s recursion (before its floor): the a posteriori SPP (eq. 18),
    its cap against stagnation (``p_bar``, the smoothed SPP, is updated in place; Sec. IV-C) and the
    recursive MMSE noise estimate (eqs. 8, 22). ``ratio = xi_H1 / (1 + xi_H1)``, ``prior = 1 + xi_H1``.

    Shape:
        y, lam, p_bar ``(..., freq)`` -> the new noise estimate, same shape.
    """
    spp = 1.0 / (1.0 + prior * np.exp(-np.minimum(y / lam * ratio, 700.0)))
    p_bar *= a_p
    p_bar += (1 - a_p) * spp
    spp = np.where(p_bar > 0.99, np.minimum(spp, 0.99), spp)
    return a_n * lam + (1 - a_n) * ((1 - spp) * y + spp * lam)


def spp_mmse(power: np.ndarray, frame_period_s: float, xi_h1_db: float = 15.0, noise_s: float = 0.0717,
             presence_s: float = 0.152, init_s: float = 0.1, state: dict | None = None) -> np.ndarray:
    """Noise PSD by the MMSE estimator with a speech presence probability (SPP), after T. Gerkmann and
    R. C. Hendriks, "Unbiased MMSE-based noise power estimation with low complexity and low tracking
    delay", IEEE TASLP 20(4):1383-1393, 2012.

    Per frame, with the previous estimate ``lambda`` and the periodogram ``|y|^2``:

    * a posteriori SPP with a fixed a priori SNR under speech presence ``xi_H1`` (15 dB) and equal
      priors (eq. 18): ``P = 1 / (1 + (1 + xi_H1) exp(-|y|^2 / lambda * xi_H1 / (1 + xi_H1)))``;
    * against stagnation when the noise rises: where ``P`` smoothed over frames (0.9 per frame)
      exceeds 0.99, ``P`` is capped at 0.99 (Sec. IV-C);
    * the noise periodogram's MMSE estimate ``(1 - P) |y|^2 + P lambda`` (eq. 22), averaged
      recursively (0.8 per frame, eq. 8).

    The paper's per-frame constants (0.8, 0.9, at a 16 ms frame step) are time constants here
    (``noise_s``, ``presence_s``), as in :func:`mcra`; the first ``init_s`` seconds give the start.
    The fixed ``xi_H1`` makes the estimate unbiased without the minimum trackers' bias compensation.

    ``state`` (a dict, empty for the first call) makes it causal and resumable, as in
    :func:`minimum_statistics`: unnormalised power with an absolute floor, and during the first
    ``init_s`` the estimate is the mean of the periodograms received so far (offline: the mean over
    the first ``init_s``, known in advance, starts the recursion at the first frame); the recursion
    starts from that mean once ``init_s`` have passed.

    Shape:
        power ``(..., freq, frames)`` (``|STFT|**2``) -> same shape.
    """
    if frame_period_s <= 0:
        raise ValueError(f"frame_period_s must be positive, got {frame_period_s}")
    p_in, scale, floor = _prepare(power, state)
    n_frames = p_in.shape[-1]
    if n_frames == 0:
        return np.zeros_like(p_in)
    a_n = math.exp(-frame_period_s / noise_s)
    a_p = math.exp(-frame_period_s / presence_s)
    xi_h1 = 10.0 ** (xi_h1_db / 10)
    ratio, prior = xi_h1 / (1 + xi_h1), 1 + xi_h1
    y_t = np.ascontiguousarray(np.moveaxis(p_in, -1, 0))
    n_init = max(int(round(init_s / frame_period_s)), 1)
    out = np.empty_like(y_t)
    first = 0
    if state is None:
        lam = np.maximum(y_t[:n_init].mean(axis=0), floor)
        p_bar = np.zeros_like(lam)
    else:
        if "t" not in state:
            state.update(t=0, total=np.zeros_like(y_t[0]), p_bar=np.zeros_like(y_t[0]))
        while state["t"] < n_init and first < n_frames:  # causal start: the running mean
            state["total"] += y_t[first]
            state["t"] += 1
            out[first] = state["lam"] = np.maximum(state["total"] / state["t"], floor)
            first += 1
        lam, p_bar = state["lam"], state["p_bar"]
    for t in range(first, n_frames):
        lam = spp_update(y_t[t], lam, p_bar, a_n, a_p, ratio, prior)
        np.maximum(lam, floor, out=lam)
        out[t] = lam
    if state is not None:
        state["lam"], state["p_bar"] = lam, p_bar
    return _frames_to_last(out) * scale


def estimate_noise_psd(power: np.ndarray, frame_period_s: float, method: str = "mcra",
                       state: dict | None = None) -> np.ndarray:
    """Track the noise PSD of a power spectrogram with ``method`` in ('minstat', 'mcra', 'spp').

    ('silence' needs the waveform: use :func:`leading_silence_psd`.) ``state``: the causal, resumable
    variant of each tracker (a dict carried from call to call; see :func:`minimum_statistics`).

    Shape:
        power ``(..., freq, frames)`` -> same shape.
    """
    if method == "minstat":
        return minimum_statistics(power, frame_period_s, state=state)
    if method == "mcra":
        return mcra(power, frame_period_s, state=state)
    if method == "spp":
        return spp_mmse(power, frame_period_s, state=state)
    raise ValueError(f"noise estimator must be one of {', '.join(TRACKERS)} here, got '{method}'")
