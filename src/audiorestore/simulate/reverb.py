"""Room reverberation and echo.

A synthetic room impulse response follows Polack's statistical model (J.-D. Polack, "Playing
billiards in the concert hall: the mathematical foundations of geometrical room acoustics",
Applied Acoustics 38, 1993, eq. 1): after the direct sound the response is Gaussian noise under an
exponential envelope ``exp(-delta t)`` with ``delta = 3 ln(10) / RT60``, so that the energy falls by
60 dB in RT60 seconds. The reverberation time of a response is measured by Schroeder's backward
integration (M. R. Schroeder, "New method of measuring reverberation time", JASA 37, 1965) with a
straight-line fit between -5 and -25 dB, extrapolated to 60 dB (ISO 3382-1 "T20").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import signal

from ..errors import ParameterError
from .bank import AudioBank
from .base import (Degradation, FloatRange, IntRange, as_signal, check_choices, check_range, draw_choice,
                   draw_float, draw_int, draw_seed, like_input, stage_rng)

#: Length of the "early" part of a response (after the direct path) kept in an early-reverb target.
EARLY_S = 0.05


def synthetic_rir(rt60_s: float, sample_rate: int, rng: np.random.Generator, *, drr_db: float = 0.0,
                  length_s: float | None = None) -> np.ndarray:
    """A room impulse response: a unit direct path then a Polack exponentially decaying noise tail.

    ``drr_db`` is the direct-to-reverberant energy ratio (direct path energy 1 against the tail's
    energy). ``length_s`` defaults to ``1.2 * rt60_s`` (the tail has decayed by 72 dB).

    Shape:
        returns ``(length,)`` float64, direct path at index 0.
    Example:
        >>> import numpy as np
        >>> h = synthetic_rir(0.5, 16000, np.random.default_rng(0))
        >>> h.shape, float(h[0])
        ((9600,), 1.0)
    """
    if not 0.01 <= rt60_s <= 30.0:
        raise ParameterError(f"rt60_s must lie in [0.01, 30] seconds, got {rt60_s}")
    length = int(round((1.2 * rt60_s if length_s is None else length_s) * sample_rate))
    if length < 2:
        raise ParameterError(f"impulse response of {length} samples is too short")
    t = np.arange(1, length) / sample_rate
    delta = 3.0 * math.log(10.0) / rt60_s  # amplitude decay rate: energy exp(-2 delta t) is -60 dB at RT60
    tail = rng.standard_normal(length - 1) * np.exp(-delta * t)
    tail *= math.sqrt(10.0 ** (-drr_db / 10.0) / np.sum(tail * tail))
    return np.concatenate([[1.0], tail])


def schroeder_decay(rir: np.ndarray) -> np.ndarray:
    """Energy decay curve in dB (0 dB at the start) by Schroeder's backward integration.

    Shape:
        ``(..., time)`` -> ``(..., time)``.
    """
    h = as_signal(rir, "impulse response")
    energy = np.cumsum((h * h)[..., ::-1], axis=-1)[..., ::-1]
    return 10.0 * np.log10(np.maximum(energy / energy[..., :1], 1e-300))


def measure_rt60(rir: np.ndarray, sample_rate: int, db_range: tuple[float, float] = (-5.0, -25.0)) -> float:
    """Reverberation time (s) of a 1-D response: line fit of the decay curve in ``db_range``, x 60 dB.

    Example:
        >>> import numpy as np
        >>> h = synthetic_rir(0.6, 16000, np.random.default_rng(1))
        >>> abs(measure_rt60(h, 16000) - 0.6) < 0.09
        True
    """
    edc = schroeder_decay(np.reshape(rir, -1))
    hi, lo = max(db_range), min(db_range)
    idx = np.nonzero((edc <= hi) & (edc >= lo))[0]
    if idx.size < 2:
        raise ParameterError(f"the decay curve never spans {hi:g}..{lo:g} dB: response too short")
    slope, _ = np.polyfit(idx / sample_rate, edc[idx], 1)
    if slope >= 0:
        raise ParameterError("the response does not decay")
    return float(-60.0 / slope)


def _aligned(rir: np.ndarray) -> np.ndarray:
    h = as_signal(rir, "impulse response").reshape(-1)
    return h[int(np.argmax(np.abs(h))):]


def reverberate(x: np.ndarray, rir: np.ndarray, *, align: bool = True, rescale: bool = True) -> np.ndarray:
    """Convolve ``x`` with a room impulse response, keeping the input's length.

    ``align`` drops what precedes the response's largest peak (the direct path), so the output is
    time-aligned with ``x`` (paired data stays paired). ``rescale`` matches the output's RMS to the
    input's, per row, so reverberation does not change the level.

    Shape:
        ``x`` ``(..., time)``, ``rir`` ``(taps,)`` -> ``(..., time)``.
    Example:
        >>> import numpy as np
        >>> reverberate(np.array([1.0, 0, 0, 0]), np.array([0, 1.0, 0.5]), rescale=False)
        array([1. , 0.5, 0. , 0. ])
    """
    s = as_signal(x)
    h = _aligned(rir) if align else as_signal(rir, "impulse response").reshape(-1)
    y = _convolve(s, h)
    if rescale:
        y = _match_rms(y, s)
    return like_input(y, x)


def _convolve(s: np.ndarray, h: np.ndarray) -> np.ndarray:
    # direct for short responses (exact), FFT for long ones; "full" then cropped to the input length
    return signal.convolve(s, h.reshape((1,) * (s.ndim - 1) + (-1,)), method="auto")[..., :s.shape[-1]]


def _match_rms(y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    py = np.sqrt(np.mean(y * y, axis=-1, keepdims=True))
    pr = np.sqrt(np.mean(ref * ref, axis=-1, keepdims=True))
    return y * np.where(py > 0, pr / np.where(py > 0, py, 1.0), 1.0)


def echo(x: np.ndarray, sample_rate: int, delay_s: float, gain: float, echoes: int = 1) -> np.ndarray:
    """Discrete echoes: ``y[n] = x[n] + sum_k gain**k x[n - k d]`` for ``k = 1..echoes``.

    Shape:
        ``(..., time)`` -> ``(..., time)``.
    Example:
        >>> import numpy as np
        >>> echo(np.array([1.0, 0, 0, 0, 0]), 1, delay_s=2, gain=0.5, echoes=2)
        array([1.  , 0.  , 0.5 , 0.  , 0.25])
    """
    s = as_signal(x)
    d = int(round(delay_s * sample_rate))
    if d < 1:
        raise ParameterError(f"echo delay {delay_s} s is below one sample at {sample_rate} Hz")
    if echoes < 1:
        raise ParameterError(f"echoes must be at least 1, got {echoes}")
    y = s.copy()
    for k in range(1, echoes + 1):
        if k * d >= s.shape[-1]:
            break
        y[..., k * d:] += gain ** k * s[..., :-k * d]
    return like_input(y, x)


@dataclass(frozen=True)
class Reverb(Degradation):
    """Convolve with a synthetic response of drawn RT60 and DRR, or with one of ``rir_files``.

    ``target`` says what the clean training target becomes: ``"dry"`` (unchanged, dereverberation),
    ``"reverberant"`` (denoising only) or ``"early"`` (direct path plus the first 50 ms).
    """

    name = "reverb"

    rt60_s: FloatRange = (0.2, 0.8)
    drr_db: FloatRange = (0.0, 6.0)
    rir_files: tuple[str, ...] = ()
    target: Literal["dry", "reverberant", "early"] = "dry"
    _bank: AudioBank = field(init=False, repr=False, compare=False, default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, "rt60_s", check_range("rt60_s", self.rt60_s, 0.01, 30.0))
        object.__setattr__(self, "drr_db", check_range("drr_db", self.drr_db, -40.0, 40.0))
        object.__setattr__(self, "rir_files", tuple(str(f) for f in self.rir_files))
        check_choices("target", (self.target,), ("dry", "reverberant", "early"))
        object.__setattr__(self, "_bank", AudioBank(16))

    def sample(self, rng: np.random.Generator, num_samples: int, sample_rate: int) -> dict[str, Any]:
        if self.rir_files:
            return {"rir_file": draw_choice(rng, self.rir_files), "target": self.target}
        return {"rt60_s": draw_float(rng, self.rt60_s), "drr_db": draw_float(rng, self.drr_db),
                "seed": draw_seed(rng), "target": self.target}

    def rir(self, sample_rate: int, params: dict[str, Any], rng: np.random.Generator | None = None) -> np.ndarray:
        """The impulse response ``params`` describe, at ``sample_rate``, direct path first."""
        if "rir_file" in params:
            return _aligned(self._bank.load(params["rir_file"], sample_rate))
        return synthetic_rir(params["rt60_s"], sample_rate, stage_rng(params, rng), drr_db=params["drr_db"])

    def apply(self, x: np.ndarray, sample_rate: int, params: dict[str, Any],
              rng: np.random.Generator | None = None) -> np.ndarray:
        return reverberate(x, self.rir(sample_rate, params, rng))

    def apply_target(self, target: np.ndarray, sample_rate: int, params: dict[str, Any]) -> np.ndarray:
        kind = params.get("target", "dry")
        if kind == "dry":
            return target
        h = self.rir(sample_rate, params)
        if kind == "reverberant":
            return reverberate(target, h)
        s = as_signal(target)
        full = _convolve(s, h)
        early = _convolve(s, h[:max(1, int(round(EARLY_S * sample_rate)))])
        # the same gain as the degraded signal got, so the early part of the input equals the target
        pf = np.sqrt(np.mean(full * full, axis=-1, keepdims=True))
        ps = np.sqrt(np.mean(s * s, axis=-1, keepdims=True))
        return like_input(early * np.where(pf > 0, ps / np.where(pf > 0, pf, 1.0), 1.0), target)


@dataclass(frozen=True)
class Echo(Degradation):
    """Discrete echoes of drawn delay and gain (a wall reflection, a telephone line echo)."""

    name = "echo"

    delay_s: FloatRange = (0.05, 0.3)
    gain: FloatRange = (0.2, 0.6)
    echoes: IntRange = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "delay_s", check_range("delay_s", self.delay_s, 0.0, 60.0))
        object.__setattr__(self, "gain", check_range("gain", self.gain, -1.0, 1.0))
        object.__setattr__(self, "echoes", check_range("echoes", self.echoes, 1, 100, integer=True))

    def sample(self, rng: np.random.Generator, num_samples: int, sample_rate: int) -> dict[str, Any]:
        return {"delay_s": draw_float(rng, self.delay_s), "gain": draw_float(rng, self.gain),
                "echoes": draw_int(rng, self.echoes)}

    def apply(self, x: np.ndarray, sample_rate: int, params: dict[str, Any],
              rng: np.random.Generator | None = None) -> np.ndarray:
        return echo(x, sample_rate, params["delay_s"], params["gain"], params["echoes"])
