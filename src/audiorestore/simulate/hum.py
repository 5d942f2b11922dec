"""Mains hum (50/60 Hz and harmonics) and amplifier hiss.

Hum leaks in from the power line through ground loops and unshielded cables; its spectrum is the
line frequency and its harmonics (odd ones strongest for the magnetic buzz of transformers, even ones
from rectifiers), which is why the classical remedy is a notch comb (see ``classical.filtering``).
Hiss is the thermal and shot noise of amplifiers and tape: broadband, white or tilted upwards
(tape hiss is mostly above a few kHz), modelled as white Gaussian noise with an optional high-pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from collections.abc import Sequence

import numpy as np
from scipy import signal

from ..errors import ParameterError
from .base import (Degradation, FloatRange, IntRange, as_signal, check_choices, check_range, draw_choice,
                   draw_float, draw_int, draw_seed, stage_rng)
from .noise import mix_at_snr


def hum(num_samples: int, sample_rate: int, freq_hz: float = 50.0, harmonics: int | Sequence[float] = 5,
        level_db: float = -30.0, phases: Sequence[float] | np.random.Generator | None = None) -> np.ndarray:
    """Mains hum: ``sum_k a_k sin(2 pi k f0 t + phi_k)`` at an RMS of ``level_db`` dBFS.

    ``harmonics`` is a count ``K`` (amplitudes ``1/k``, ``k = 1..K``) or the amplitudes themselves;
    harmonics at or above Nyquist are dropped. ``phases`` are given, drawn from a generator, or zero.

    Shape:
        returns ``(num_samples,)`` float64.
    Example:
        >>> h = hum(16000, 16000, 60.0, harmonics=3, level_db=-20.0)
        >>> round(20 * float(np.log10(np.sqrt(np.mean(h ** 2)))), 6)
        -20.0
    """
    if freq_hz <= 0:
        raise ParameterError(f"hum frequency must be positive, got {freq_hz}")
    amps = (np.array([1.0 / k for k in range(1, int(harmonics) + 1)]) if isinstance(harmonics, (int, np.integer))
            else np.asarray(harmonics, dtype=np.float64))
    if amps.size == 0:
        raise ParameterError("hum needs at least one harmonic")
    if isinstance(phases, np.random.Generator):
        ph = phases.uniform(0.0, 2 * np.pi, amps.size)
    elif phases is None:
        ph = np.zeros(amps.size)
    else:
        ph = np.asarray(phases, dtype=np.float64)
        if ph.size != amps.size:
            raise ParameterError(f"got {ph.size} phases for {amps.size} harmonics")
    t = np.arange(int(num_samples)) / sample_rate
    out = np.zeros(int(num_samples))
    for k, (a, p) in enumerate(zip(amps, ph), start=1):
        if k * freq_hz < sample_rate / 2:
            out += a * np.sin(2 * np.pi * k * freq_hz * t + p)
    rms = float(np.sqrt(np.mean(out * out))) if out.size else 0.0
    if rms == 0:
        raise ParameterError(f"no hum harmonic of {freq_hz:g} Hz lies below Nyquist ({sample_rate / 2:g} Hz)")
    return out * (10.0 ** (level_db / 20.0) / rms)


def hiss(num_samples: int, rng: np.random.Generator, level_db: float = -60.0, *, sample_rate: int | None = None,
         highpass_hz: float | None = None, shape: tuple[int, ...] = ()) -> np.ndarray:
    """Amplifier/tape hiss: white Gaussian noise (optionally high-passed) at ``level_db`` dBFS RMS.

    Shape:
        returns ``(*shape, num_samples)`` float64.
    Example:
        >>> import numpy as np
        >>> h = hiss(16000, np.random.default_rng(0), -40.0)
        >>> round(20 * float(np.log10(np.sqrt(np.mean(h ** 2)))), 6)
        -40.0
    """
    v = rng.standard_normal((*shape, int(num_samples)))
    if highpass_hz is not None:
        if sample_rate is None:
            raise ParameterError("a hiss high-pass needs the sample rate")
        if not 0 < highpass_hz < sample_rate / 2:
            raise ParameterError(f"hiss high-pass {highpass_hz} Hz must lie in (0, {sample_rate / 2:g}) Hz")
        sos = signal.butter(2, highpass_hz, btype="highpass", fs=sample_rate, output="sos")
        v = signal.sosfilt(sos, v, axis=-1)
    rms = np.sqrt(np.mean(v * v, axis=-1, keepdims=True))
    return v * (10.0 ** (level_db / 20.0) / np.where(rms > 0, rms, 1.0))


@dataclass(frozen=True)
class Hum(Degradation):
    """Add mains hum: a line frequency from ``freq_hz``, ``harmonics`` (1/k amplitudes, random phases),
    at a drawn signal-to-hum ratio ``snr_db``."""

    name = "hum"
    additive = True

    freq_hz: tuple[float, ...] = (50.0, 60.0)
    harmonics: IntRange = (3, 8)
    snr_db: FloatRange = (10.0, 40.0)

    def __post_init__(self) -> None:
        freqs = check_choices("freq_hz", self.freq_hz)
        if any(not isinstance(f, (int, float)) or f <= 0 for f in freqs):
            raise ParameterError(f"freq_hz must be positive frequencies, got {self.freq_hz}")
        object.__setattr__(self, "freq_hz", tuple(float(f) for f in freqs))
        object.__setattr__(self, "harmonics", check_range("harmonics", self.harmonics, 1, 200, integer=True))
        object.__setattr__(self, "snr_db", check_range("snr_db", self.snr_db, -100.0, 200.0))

    def sample(self, rng: np.random.Generator, num_samples: int, sample_rate: int) -> dict[str, Any]:
        f0 = draw_choice(rng, self.freq_hz)
        k = draw_int(rng, self.harmonics)
        return {"freq_hz": f0, "harmonics": k, "phases": [float(p) for p in rng.uniform(0, 2 * np.pi, k)],
                "snr_db": draw_float(rng, self.snr_db)}

    def apply(self, x: np.ndarray, sample_rate: int, params: dict[str, Any],
              rng: np.random.Generator | None = None) -> np.ndarray:
        h = hum(np.shape(x)[-1], sample_rate, params["freq_hz"], int(params["harmonics"]), 0.0, params["phases"])
        return mix_at_snr(x, h, params["snr_db"])[0]


@dataclass(frozen=True)
class Hiss(Degradation):
    """Add hiss (white, or high-passed at ``highpass_hz``) at a drawn signal-to-hiss ratio ``snr_db``."""

    name = "hiss"
    additive = True

    snr_db: FloatRange = (20.0, 50.0)
    highpass_hz: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "snr_db", check_range("snr_db", self.snr_db, -100.0, 200.0))
        if self.highpass_hz is not None and self.highpass_hz <= 0:
            raise ParameterError(f"highpass_hz must be positive, got {self.highpass_hz}")

    def sample(self, rng: np.random.Generator, num_samples: int, sample_rate: int) -> dict[str, Any]:
        hp = self.highpass_hz
        if hp is not None and hp >= sample_rate / 2:
            raise ParameterError(f"hiss high-pass {hp} Hz is above Nyquist at {sample_rate} Hz")
        return {"snr_db": draw_float(rng, self.snr_db), "highpass_hz": hp, "seed": draw_seed(rng)}

    def apply(self, x: np.ndarray, sample_rate: int, params: dict[str, Any],
              rng: np.random.Generator | None = None) -> np.ndarray:
        s = as_signal(x)
        v = hiss(s.shape[-1], stage_rng(params, rng), 0.0, sample_rate=sample_rate,
                 highpass_hz=params.get("highpass_hz"), shape=s.shape[:-1])
        return mix_at_snr(x, v, params["snr_db"])[0]
