"""Clipping: an overdriven amplifier or converter flattening the peaks.

Hard clipping is what an ADC does at full scale; soft (tanh) clipping is an overdriven analogue
stage. Declipping papers (e.g. Zaviska et al., "A survey on the restoration of clipped audio
signals", ICASSP 2021) specify the threshold relative to the signal's peak, which is what
:class:`Clip` draws, so that the amount of clipping does not depend on the recording level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ParameterError
from .base import Degradation, FloatRange, as_signal, check_range, draw_float, like_input


def clip(x: np.ndarray, threshold: float, *, soft: bool = False) -> np.ndarray:
    """Clip ``x`` at ``+-threshold``: hard (``np.clip``) or soft (``threshold * tanh(x / threshold)``).

    Shape:
        ``(..., time)`` -> ``(..., time)``.
    Example:
        >>> import numpy as np
        >>> clip(np.array([-2.0, 0.2, 0.7]), 0.5)
        array([-0.5,  0.2,  0.5])
    """
    if not threshold > 0:
        raise ParameterError(f"clipping threshold must be positive, got {threshold}")
    s = as_signal(x)
    y = threshold * np.tanh(s / threshold) if soft else np.clip(s, -threshold, threshold)
    return like_input(y, x)


def clipped_fraction(x: np.ndarray, threshold: float) -> float:
    """Fraction of samples whose magnitude is at or above ``threshold``."""
    s = np.abs(np.asarray(x, dtype=np.float64))
    return float(np.mean(s >= threshold * (1 - 1e-12))) if s.size else 0.0


@dataclass(frozen=True)
class Clip(Degradation):
    """Clip at a drawn threshold, relative to the signal's peak (``relative=True``) or absolute."""

    name = "clip"

    threshold: FloatRange = (0.3, 0.9)
    relative: bool = True
    soft: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "threshold", check_range("threshold", self.threshold, 1e-6, 1e6))
        if self.relative:
            check_range("threshold", self.threshold, 1e-6, 1.0)

    def sample(self, rng: np.random.Generator, num_samples: int, sample_rate: int) -> dict[str, Any]:
        return {"threshold": draw_float(rng, self.threshold), "relative": bool(self.relative), "soft": bool(self.soft)}

    def apply(self, x: np.ndarray, sample_rate: int, params: dict[str, Any],
              rng: np.random.Generator | None = None) -> np.ndarray:
        t = float(params["threshold"])
        if params.get("relative", True):
            peak = float(np.max(np.abs(as_signal(x))))
            if peak == 0:
                return np.array(x, copy=True)
            t *= peak
        return clip(x, t, soft=bool(params.get("soft", False)))
