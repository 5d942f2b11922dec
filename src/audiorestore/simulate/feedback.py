"""Acoustic feedback: a microphone feeding a loudspeaker that the microphone hears again.

The closed loop of a public-address system is (T. van Waterschoot and M. Moonen, "Fifty years of
acoustic feedback control: state of the art and future challenges", Proc. IEEE 99(2), 2011,
sec. II, eq. 1-4)::

    y[n] = sat( x[n] + g * (f * y)[n - d] )

with ``x`` the source at the microphone, ``g`` the amplifier gain, ``d`` the loop delay and ``f``
the loudspeaker-room-microphone path. By the Nyquist criterion the loop is unstable (it *howls*)
at a frequency where the loop gain ``|g F(w)| >= 1`` and the loop phase is a multiple of 2 pi; with
a delay of many samples the phase wraps quickly, so in practice a peak loop gain above 1 howls.
Here ``f`` is a band-pass "loudspeaker" (2nd-order Butterworth band-pass) optionally followed by a
room response, normalised so that its peak magnitude is 1: ``gain`` *is* the peak loop gain. A
real amplifier clips, so the loop output goes through a soft limiter and stays bounded (the howl
settles at the limiter's level instead of growing without end).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import signal

from ..errors import ParameterError
from .base import (Degradation, FloatRange, as_signal, check_range, draw_float, draw_seed, like_input,
                   stage_rng)
from .reverb import synthetic_rir


def soft_limit(v: np.ndarray, limit: float = 1.0, knee: float = 0.8) -> np.ndarray:
    """Linear below ``knee * limit``, then a tanh curve approaching ``limit`` (continuous slope).

    Example:
        >>> import numpy as np
        >>> soft_limit(np.array([0.5, 100.0]))
        array([0.5, 1. ])
    """
    k = knee * limit
    a = np.abs(v)
    over = a > k
    out = np.array(v, dtype=np.float64, copy=True)
    out[over] = np.sign(v[over]) * (k + (limit - k) * np.tanh((a[over] - k) / (limit - k)))
    return out


def feedback_path(sample_rate: int, band_hz: tuple[float, float] = (200.0, 5000.0),
                  rir: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None, float]:
    """The loop's path: loudspeaker SOS, optional room FIR, and the scale making its peak gain 1."""
    low, high = float(band_hz[0]), float(band_hz[1])
    nyq = sample_rate / 2
    if not 0 < low < high < nyq:
        raise ParameterError(f"feedback band {low:g}-{high:g} Hz must satisfy 0 < low < high < {nyq:g} Hz")
    sos = signal.butter(2, [low, high], btype="bandpass", fs=sample_rate, output="sos")
    fir = None if rir is None else np.asarray(rir, dtype=np.float64).reshape(-1)
    nfft = 1 << int(np.ceil(np.log2(max(16384, 4 * (0 if fir is None else fir.size)))))
    _, h = signal.sosfreqz(sos, worN=nfft // 2 + 1, fs=sample_rate)
    if fir is not None:
        h = h * np.fft.rfft(fir, nfft)
    peak = float(np.max(np.abs(h)))
    if peak <= 0:
        raise ParameterError("the feedback path has zero gain")
    return sos, fir, 1.0 / peak


def feedback(x: np.ndarray, sample_rate: int, gain: float, delay_s: float, *,
             band_hz: tuple[float, float] = (200.0, 5000.0), rir: np.ndarray | None = None,
             limit: float = 1.0) -> np.ndarray:
    """Run ``x`` through a microphone-amplifier-loudspeaker loop of peak loop gain ``gain``.

    ``gain < 1``: coloured ringing that dies away; ``gain >= 1``: howling, held at ``limit`` by the
    amplifier's soft clipping. The recursion is computed in blocks of ``d`` samples (the loop delay),
    each of which only depends on output already computed, so it is exact and vectorised.

    Shape:
        ``(..., time)`` -> ``(..., time)``.
    Example:
        >>> import numpy as np
        >>> y = feedback(np.random.default_rng(0).standard_normal(8000) * 0.1, 16000, 0.5, 0.01)
        >>> y.shape
        (8000,)
    """
    s = as_signal(x)
    d = int(round(delay_s * sample_rate))
    if d < 1:
        raise ParameterError(f"loop delay {delay_s} s is below one sample at {sample_rate} Hz")
    if gain < 0:
        raise ParameterError(f"loop gain must be non-negative, got {gain}")
    if limit <= 0:
        raise ParameterError(f"limit must be positive, got {limit}")
    sos, fir, scale = feedback_path(sample_rate, band_hz, rir)
    lead, n = s.shape[:-1], s.shape[-1]
    xs = s.reshape(-1, n)
    rows = xs.shape[0]
    y = np.zeros_like(xs)
    zi_sos = np.zeros((sos.shape[0], rows, 2))
    zi_fir = None if fir is None or fir.size < 2 else np.zeros((rows, fir.size - 1))
    g = gain * scale
    for start in range(0, n, d):
        stop = min(start + d, n)
        if start >= d:
            u = y[:, start - d:stop - d]
        else:  # the loop has carried nothing back yet
            u = np.zeros((rows, stop - start))
        v, zi_sos = signal.sosfilt(sos, u, axis=-1, zi=zi_sos)
        if fir is not None:
            if zi_fir is None:
                v = v * fir[0]
            else:
                v, zi_fir = signal.lfilter(fir, [1.0], v, axis=-1, zi=zi_fir)
        y[:, start:stop] = soft_limit(xs[:, start:stop] + g * v, limit)
    return like_input(y.reshape(*lead, n), x)


@dataclass(frozen=True)
class Feedback(Degradation):
    """Acoustic feedback of drawn peak loop gain and delay; optionally through a synthetic room.

    A ``gain`` range reaching past 1 gives a mix of ringing and howling examples.
    """

    name = "feedback"

    gain: FloatRange = (0.5, 1.2)
    delay_s: FloatRange = (0.005, 0.05)
    band_hz: tuple[float, float] = (200.0, 5000.0)
    room_rt60_s: FloatRange | None = None
    limit: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "gain", check_range("gain", self.gain, 0.0, 100.0))
        object.__setattr__(self, "delay_s", check_range("delay_s", self.delay_s, 1e-5, 10.0))
        if self.room_rt60_s is not None:
            object.__setattr__(self, "room_rt60_s", check_range("room_rt60_s", self.room_rt60_s, 0.01, 10.0))
        band = tuple(float(b) for b in self.band_hz)
        if len(band) != 2 or not 0 < band[0] < band[1]:
            raise ParameterError(f"band_hz must be (low, high) with 0 < low < high, got {self.band_hz}")
        object.__setattr__(self, "band_hz", band)
        if self.limit <= 0:
            raise ParameterError(f"limit must be positive, got {self.limit}")

    def sample(self, rng: np.random.Generator, num_samples: int, sample_rate: int) -> dict[str, Any]:
        high = min(self.band_hz[1], 0.45 * sample_rate)
        if not self.band_hz[0] < high:
            raise ParameterError(f"feedback band {self.band_hz} does not fit below Nyquist at {sample_rate} Hz")
        params: dict[str, Any] = {"gain": draw_float(rng, self.gain), "delay_s": draw_float(rng, self.delay_s),
                                  "low_hz": self.band_hz[0], "high_hz": high, "limit": float(self.limit)}
        if self.room_rt60_s is not None:
            params["room_rt60_s"] = draw_float(rng, self.room_rt60_s)
            params["seed"] = draw_seed(rng)
        return params

    def apply(self, x: np.ndarray, sample_rate: int, params: dict[str, Any],
              rng: np.random.Generator | None = None) -> np.ndarray:
        rir = None
        if params.get("room_rt60_s") is not None:
            rir = synthetic_rir(params["room_rt60_s"], sample_rate, stage_rng(params, rng))
        return feedback(x, sample_rate, params["gain"], params["delay_s"],
                        band_hz=(params["low_hz"], params["high_hz"]), rir=rir, limit=params["limit"])
