"""Quantisation: uniform PCM at a bit depth (optionally with TPDF dither) and mu-law companding.

Uniform quantisation of a full-scale sine gives an SNR of about ``6.02 b + 1.76`` dB. Triangular
(TPDF) dither of +-1 LSB makes the error signal-independent white noise (S. P. Lipshitz,
R. A. Wannamaker and J. Vanderkooy, "Quantization and dither: a theoretical survey", JAES 40(5),
1992). Mu-law compresses the amplitude logarithmically before a uniform quantiser, as telephony
does (ITU-T G.711, continuous form ``F(x) = sgn(x) ln(1 + mu |x|) / ln(1 + mu)``), and is also the
8-bit output coding of WaveNet (van den Oord et al. 2016, sec. 2.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ParameterError
from .base import (Degradation, FloatRange, IntRange, as_signal, check_range, draw_float, draw_int, draw_seed,
                   like_input, stage_rng)


def _check_bits(bits: int) -> int:
    if not isinstance(bits, (int, np.integer)) or not 1 <= int(bits) <= 32:
        raise ParameterError(f"bits must be an integer in 1..32, got {bits!r}")
    return int(bits)


def quantize(x: np.ndarray, bits: int, *, dither: bool = False, rng: np.random.Generator | None = None) -> np.ndarray:
    """Uniform mid-tread quantisation to ``bits`` on [-1, 1) (step ``2 / 2**bits``), values clipped.

    Shape:
        ``(..., time)`` -> ``(..., time)``.
    Example:
        >>> import numpy as np
        >>> quantize(np.array([0.3, -0.3, 0.99]), 2)
        array([ 0.5, -0.5,  0.5])
    """
    b = _check_bits(bits)
    s = as_signal(x)
    step = 2.0 / 2**b
    v = s / step
    if dither:
        if rng is None:
            raise ParameterError("dithered quantisation needs a random generator")
        v = v + rng.uniform(-0.5, 0.5, v.shape) + rng.uniform(-0.5, 0.5, v.shape)  # TPDF, +-1 LSB
    q = np.clip(np.round(v), -(2 ** (b - 1)), 2 ** (b - 1) - 1)
    return like_input(q * step, x)


def mu_law_encode(x: np.ndarray, mu: float = 255.0, bits: int = 8) -> np.ndarray:
    """Mu-law codes ``0 .. 2**bits - 1`` of ``x`` (clipped to [-1, 1]).

    Example:
        >>> import numpy as np
        >>> mu_law_encode(np.array([-1.0, 0.0, 1.0])).tolist()
        [0, 128, 255]
    """
    b = _check_bits(bits)
    if mu <= 0:
        raise ParameterError(f"mu must be positive, got {mu}")
    s = np.clip(as_signal(x), -1.0, 1.0)
    f = np.sign(s) * np.log1p(mu * np.abs(s)) / np.log1p(mu)
    return np.round((f + 1.0) / 2.0 * (2**b - 1)).astype(np.int64)


def mu_law_decode(codes: np.ndarray, mu: float = 255.0, bits: int = 8) -> np.ndarray:
    """Inverse of :func:`mu_law_encode`: codes back to amplitudes in [-1, 1] (float64)."""
    b = _check_bits(bits)
    if mu <= 0:
        raise ParameterError(f"mu must be positive, got {mu}")
    f = 2.0 * np.asarray(codes, dtype=np.float64) / (2**b - 1) - 1.0
    return np.sign(f) * np.expm1(np.abs(f) * np.log1p(mu)) / mu


def mu_law(x: np.ndarray, mu: float = 255.0, bits: int = 8) -> np.ndarray:
    """Mu-law encode then decode: logarithmic quantisation with ``2**bits`` levels.

    Shape:
        ``(..., time)`` -> ``(..., time)``.
    Example:
        >>> import numpy as np
        >>> y = mu_law(np.linspace(-1, 1, 10000))
        >>> len(np.unique(y))
        256
    """
    return like_input(mu_law_decode(mu_law_encode(x, mu, bits), mu, bits), x)


@dataclass(frozen=True)
class Quantize(Degradation):
    """Requantise to a drawn bit depth, optionally with TPDF dither."""

    name = "quantize"

    bits: IntRange = (6, 12)
    dither: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "bits", check_range("bits", self.bits, 1, 32, integer=True))

    def sample(self, rng: np.random.Generator, num_samples: int, sample_rate: int) -> dict[str, Any]:
        params: dict[str, Any] = {"bits": draw_int(rng, self.bits), "dither": bool(self.dither)}
        if self.dither:
            params["seed"] = draw_seed(rng)
        return params

    def apply(self, x: np.ndarray, sample_rate: int, params: dict[str, Any],
              rng: np.random.Generator | None = None) -> np.ndarray:
        dither = bool(params.get("dither", False))
        return quantize(x, int(params["bits"]), dither=dither, rng=stage_rng(params, rng) if dither else None)


@dataclass(frozen=True)
class MuLaw(Degradation):
    """Mu-law companding at ``bits`` (8-bit, mu = 255 is G.711 / WaveNet)."""

    name = "mu_law"

    mu: FloatRange = 255.0
    bits: IntRange = 8

    def __post_init__(self) -> None:
        object.__setattr__(self, "mu", check_range("mu", self.mu, 1e-3, 1e6))
        object.__setattr__(self, "bits", check_range("bits", self.bits, 1, 32, integer=True))

    def sample(self, rng: np.random.Generator, num_samples: int, sample_rate: int) -> dict[str, Any]:
        return {"mu": draw_float(rng, self.mu), "bits": draw_int(rng, self.bits)}

    def apply(self, x: np.ndarray, sample_rate: int, params: dict[str, Any],
              rng: np.random.Generator | None = None) -> np.ndarray:
        return mu_law(x, params["mu"], int(params["bits"]))
