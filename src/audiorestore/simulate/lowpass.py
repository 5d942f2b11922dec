"""Band-limiting for super-resolution pairs: low-pass filter plus decimation, or plain subsampling.

The classic recipe (V. Kuleshov, S. Z. Enam and S. Ermon, "Audio super resolution using neural
networks", ICLR workshop 2017, sec. 4) is ``scipy.signal.decimate``: an order-8 Chebyshev type I
filter with 0.05 dB ripple and its edge at 0.8 of the new Nyquist, then keeping every q-th sample;
the model's input is that signal interpolated back to the high rate. Models trained on one filter
overfit to its exact roll-off, so later work draws the filter family and order at random (H. Liu
et al., "VoiceFixer: toward general speech restoration with neural vocoder", 2021; H. Liu et al.,
"Neural vocoder is all you need for speech super-resolution" (NVSR), Interspeech 2022), which
:class:`LowpassDecimate` does. Plain subsampling without a filter aliases
the upper band down, a different (and harder) degradation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import interpolate

from ..dsp.filters import FILTER_KINDS, apply_filter, design_filter
from ..dsp.resample import resample
from ..errors import ParameterError
from .base import (Degradation, FloatRange, IntRange, as_signal, check_choices, check_range, draw_choice,
                   draw_float, draw_int, like_input)

#: Filter families usable for low-pass simulation, plus "subsample" (no filter: aliasing).
LOWPASS_KINDS: tuple[str, ...] = FILTER_KINDS + ("subsample",)
UPSAMPLE_METHODS = ("soxr", "cubic", "linear")


def default_cutoff_ratio(kind: str) -> float:
    """Filter edge as a fraction of the new Nyquist: 0.8 (scipy's ``decimate``), or 1.0 for
    Chebyshev II, whose design frequency is where its stop band *starts*."""
    return 1.0 if kind == "cheby2" else 0.8


def settle_samples(coeffs: np.ndarray, tolerance: float = 1e-8) -> int:
    """How long (samples) a filter's impulse response takes to decay below ``tolerance``.

    For SOS it follows from the largest pole radius ``r``: ``r**k < tolerance``; for FIR taps it is
    their number.
    """
    c = np.asarray(coeffs)
    if c.ndim == 1:
        return int(c.size)
    r = max(float(np.max(np.abs(np.roots(sec[3:])))) if np.any(sec[4:]) else 0.0 for sec in c)
    if r <= 0:
        return 3 * c.shape[0]
    if r >= 1:
        raise ParameterError("the low-pass filter is unstable (a pole on or outside the unit circle)")
    return int(np.ceil(np.log(tolerance) / np.log(r))) + 3 * c.shape[0]


def _zero_phase(x: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    # Forward-backward filtering pads the ends by odd extension (2 x[end] - x[end - k]) over a few
    # dozen samples; for a signal that does not end at zero that adds a DC step whose ringing the
    # narrow, high-order filters used here carry far into the signal, and cropping it leaks energy
    # above the cutoff. Mirror-padding by the filter's settling time keeps both ends clean.
    pad = min(settle_samples(coeffs), x.shape[-1] - 1)
    if pad < 1:
        return apply_filter(x, coeffs, zero_phase=True)
    xp = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)], mode="reflect")
    return apply_filter(xp, coeffs, zero_phase=True)[..., pad:pad + x.shape[-1]]


def lowpass(x: np.ndarray, sample_rate: int, cutoff_hz: float, kind: str = "cheby1", order: int = 8,
            ripple_db: float = 0.05, stopband_db: float = 60.0, zero_phase: bool = True) -> np.ndarray:
    """Low-pass ``x`` at ``sample_rate`` (no rate change) with a filter from ``dsp.filters``.

    ``zero_phase`` filters forward and backward (squared magnitude response, no delay), with the
    ends mirror-padded by the filter's settling time; otherwise the filter is causal, from rest.

    Shape:
        ``(..., time)`` -> ``(..., time)``.
    Example:
        >>> import numpy as np
        >>> y = lowpass(np.random.default_rng(0).standard_normal(16000), 16000, 3200.0)
        >>> y.shape
        (16000,)
    """
    s = as_signal(x)
    try:
        coeffs = design_filter(kind, "lowpass", cutoff_hz, sample_rate, order, ripple_db, stopband_db)
    except ValueError as exc:
        raise ParameterError(str(exc)) from None
    return like_input(_zero_phase(s, coeffs) if zero_phase else apply_filter(s, coeffs), x)


def subsample(x: np.ndarray, factor: int) -> np.ndarray:
    """Keep every ``factor``-th sample, with no anti-aliasing filter.

    Example:
        >>> import numpy as np
        >>> subsample(np.arange(7.0), 3)
        array([0., 3., 6.])
    """
    if int(factor) != factor or factor < 1:
        raise ParameterError(f"subsampling factor must be a positive integer, got {factor}")
    s = as_signal(x)
    return like_input(s[..., ::int(factor)].copy(), x)


def lowpass_decimate(x: np.ndarray, sample_rate: int, target_rate: int, kind: str = "cheby1", order: int = 8,
                     ripple_db: float = 0.05, stopband_db: float = 60.0, zero_phase: bool = True,
                     cutoff_ratio: float | None = None) -> np.ndarray:
    """Low-pass below ``target_rate / 2`` then decimate to ``target_rate``.

    The filter edge is ``cutoff_ratio * target_rate / 2`` (default :func:`default_cutoff_ratio`).
    An integer rate ratio keeps every q-th sample; another ratio is finished with soxr (whose own
    anti-alias filter then also applies). ``kind="subsample"`` skips the filter (aliasing; integer
    ratios only). The output has ``round(time * target_rate / sample_rate)`` samples.

    Shape:
        ``(..., time)`` -> ``(..., round(time * target_rate / sample_rate))``.
    Example:
        >>> import numpy as np
        >>> lowpass_decimate(np.zeros(16000) + 0.1, 16000, 4000).shape
        (4000,)
    """
    if not 0 < target_rate < sample_rate:
        raise ParameterError(f"target rate {target_rate} Hz must lie between 0 and the signal's rate {sample_rate} Hz")
    if kind not in LOWPASS_KINDS:
        raise ParameterError(f"unknown low-pass kind '{kind}' (use one of {', '.join(LOWPASS_KINDS)})")
    s = as_signal(x)
    n_out = int(round(s.shape[-1] * target_rate / sample_rate))
    q = sample_rate / target_rate
    integer = abs(q - round(q)) < 1e-9
    if kind == "subsample":
        if not integer:
            raise ParameterError(f"plain subsampling needs an integer rate ratio, got {sample_rate}/{target_rate}")
        y = subsample(s, int(round(q)))
    else:
        ratio = default_cutoff_ratio(kind) if cutoff_ratio is None else float(cutoff_ratio)
        if not 0 < ratio <= 1:
            raise ParameterError(f"cutoff_ratio must lie in (0, 1], got {ratio}")
        filtered = lowpass(s, sample_rate, ratio * target_rate / 2, kind, order, ripple_db, stopband_db, zero_phase)
        y = filtered[..., ::int(round(q))] if integer else resample(filtered, sample_rate, target_rate)
    y = y[..., :n_out] if y.shape[-1] >= n_out else np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, n_out - y.shape[-1])])
    return like_input(y, x)


def upsample(x: np.ndarray, rate: int, target_rate: int, num_samples: int | None = None,
             method: str = "soxr") -> np.ndarray:
    """Bring a low-rate signal back to ``target_rate`` (and exactly ``num_samples``) for paired data.

    ``method``: ``"soxr"`` (band-limited), ``"cubic"`` (cubic spline through the samples, the input
    of Kuleshov et al.'s AudioUNet) or ``"linear"``.

    Shape:
        ``(..., time)`` -> ``(..., num_samples)`` (default ``round(time * target_rate / rate)``).
    Example:
        >>> import numpy as np
        >>> upsample(np.ones(100), 8000, 16000, 201, method="linear").shape
        (201,)
    """
    if method not in UPSAMPLE_METHODS:
        raise ParameterError(f"unknown upsampling method '{method}' (use one of {', '.join(UPSAMPLE_METHODS)})")
    s = as_signal(x)
    n_out = int(round(s.shape[-1] * target_rate / rate)) if num_samples is None else int(num_samples)
    if method == "soxr":
        y = resample(s, rate, target_rate)
    else:
        t_in = np.arange(s.shape[-1]) / rate
        t_out = np.arange(n_out) / target_rate
        if method == "cubic" and s.shape[-1] >= 4:
            y = interpolate.CubicSpline(t_in, s, axis=-1, extrapolate=True)(np.minimum(t_out, t_in[-1]))
        else:
            flat = s.reshape(-1, s.shape[-1])
            y = np.stack([np.interp(t_out, t_in, r) for r in flat]).reshape(*s.shape[:-1], n_out)
    y = y[..., :n_out] if y.shape[-1] >= n_out else np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, n_out - y.shape[-1])])
    return like_input(y, x)


@dataclass(frozen=True)
class LowpassDecimate(Degradation):
    """Simulate a lower sample rate: a drawn rate, filter family, order and ripple, then decimation.

    ``restore=True`` brings the result back to the input's rate and length (with
    ``upsample_method``), so degraded and clean stay sample-aligned pairs; ``restore=False`` leaves
    it at the low rate (the stage's :meth:`output_rate`).
    """

    name = "lowpass_decimate"

    target_rates: tuple[int, ...] = (8000,)
    kinds: tuple[str, ...] = ("cheby1",)
    order: IntRange = 8
    ripple_db: FloatRange = 0.05
    stopband_db: FloatRange = 60.0
    zero_phase: bool = True
    cutoff_ratio: FloatRange | None = None
    restore: bool = True
    upsample_method: Literal["soxr", "cubic", "linear"] = "soxr"

    def __post_init__(self) -> None:
        rates = check_choices("target_rates", self.target_rates)
        if any(int(r) != r or r <= 0 for r in rates):
            raise ParameterError(f"target_rates must be positive integers, got {self.target_rates}")
        object.__setattr__(self, "target_rates", tuple(int(r) for r in rates))
        object.__setattr__(self, "kinds", check_choices("kinds", self.kinds, LOWPASS_KINDS))
        object.__setattr__(self, "order", check_range("order", self.order, 1, 64, integer=True))
        object.__setattr__(self, "ripple_db", check_range("ripple_db", self.ripple_db, 1e-4, 20.0))
        object.__setattr__(self, "stopband_db", check_range("stopband_db", self.stopband_db, 1.0, 200.0))
        if self.cutoff_ratio is not None:
            object.__setattr__(self, "cutoff_ratio", check_range("cutoff_ratio", self.cutoff_ratio, 1e-3, 1.0))
        check_choices("upsample_method", (self.upsample_method,), UPSAMPLE_METHODS)

    def sample(self, rng: np.random.Generator, num_samples: int, sample_rate: int) -> dict[str, Any]:
        rates = [r for r in self.target_rates if r < sample_rate]
        if not rates:
            raise ParameterError(f"no target rate in {list(self.target_rates)} is below the signal's {sample_rate} Hz")
        kind = draw_choice(rng, self.kinds)
        rate = draw_choice(rng, rates)
        params: dict[str, Any] = {"target_rate": int(rate), "kind": kind}
        if kind != "subsample":
            params.update(order=draw_int(rng, self.order), ripple_db=draw_float(rng, self.ripple_db),
                          stopband_db=draw_float(rng, self.stopband_db), zero_phase=bool(self.zero_phase),
                          cutoff_ratio=(default_cutoff_ratio(kind) if self.cutoff_ratio is None
                                        else draw_float(rng, self.cutoff_ratio)))
        elif not math.isclose(sample_rate / rate, round(sample_rate / rate)):
            raise ParameterError(f"plain subsampling needs an integer rate ratio, got {sample_rate}/{rate}")
        params.update(restore=bool(self.restore), upsample_method=self.upsample_method)
        return params

    def apply(self, x: np.ndarray, sample_rate: int, params: dict[str, Any],
              rng: np.random.Generator | None = None) -> np.ndarray:
        rate = int(params["target_rate"])
        low = lowpass_decimate(x, sample_rate, rate, params["kind"], int(params.get("order", 8)),
                               params.get("ripple_db", 0.05), params.get("stopband_db", 60.0),
                               bool(params.get("zero_phase", True)), params.get("cutoff_ratio"))
        if params.get("restore", True):
            return upsample(low, rate, sample_rate, np.shape(x)[-1], params.get("upsample_method", "soxr"))
        return low

    def output_rate(self, sample_rate: int, params: dict[str, Any]) -> int:
        return sample_rate if params.get("restore", True) else int(params["target_rate"])
