"""Additive noise: coloured noise, babble, recorded noise files, and mixing at an exact SNR.

Coloured noise has a power spectral density proportional to ``1 / f**alpha``: white (0), pink (1),
brown/red (2), blue (-1), violet (-2). It is made by spectral shaping: white Gaussian noise is
transformed, each bin scaled by ``f**(-alpha/2)`` and transformed back, which gives the exact
expected slope at every frequency (Timmer & Koenig 1995, "On generating power law noise",
A&A 300:707, sec. 2, without the random amplitudes since a Gaussian spectrum already has them).

Babble is the sum of several talkers at equal level, the recipe of NOISEX-92's babble and of most
speech-enhancement corpora (e.g. Krishnamurthy & Hansen 2009, "Babble noise: modeling, analysis,
and applications", IEEE TASLP 17(7)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Sequence

import numpy as np

from ..errors import ParameterError
from .bank import AudioBank
from .base import (Degradation, FloatRange, IntRange, as_signal, check_choices, check_range, draw_choice,
                   draw_float, draw_int, draw_seed, like_input, stage_rng)

#: Spectral exponent ``alpha`` of each noise colour: PSD ~ 1 / f**alpha.
NOISE_COLORS: dict[str, float] = {"white": 0.0, "pink": 1.0, "brown": 2.0, "red": 2.0, "blue": -1.0,
                                  "violet": -2.0}
#: Default cross-fade (samples) where a short noise file is looped onto itself.
LOOP_CROSSFADE = 256


def _power(x: np.ndarray) -> np.ndarray:
    return np.mean(x * x, axis=-1, keepdims=True)


def colored_noise(color: str | float, num_samples: int, rng: np.random.Generator,
                  shape: tuple[int, ...] = ()) -> np.ndarray:
    """Gaussian noise with PSD ~ ``1/f**alpha`` and unit RMS per row.

    ``color`` is a name from :data:`NOISE_COLORS` or the exponent ``alpha`` itself. The DC bin is
    zero (a ``1/f**alpha`` spectrum is infinite there).

    Shape:
        returns ``(*shape, num_samples)`` float64.
    Example:
        >>> import numpy as np
        >>> pink = colored_noise("pink", 16000, np.random.default_rng(0))
        >>> round(float(np.sqrt(np.mean(pink ** 2))), 6)
        1.0
    """
    if isinstance(color, str):
        if color not in NOISE_COLORS:
            raise ParameterError(f"unknown noise colour '{color}' (use one of {', '.join(NOISE_COLORS)})")
        alpha = NOISE_COLORS[color]
    else:
        alpha = float(color)
    n = int(num_samples)
    if n < 2:
        raise ParameterError(f"coloured noise needs at least 2 samples, got {n}")
    white = rng.standard_normal((*shape, n))
    if alpha == 0.0:
        out = white - white.mean(axis=-1, keepdims=True)
    else:
        spec = np.fft.rfft(white, axis=-1)
        f = np.fft.rfftfreq(n)
        gain = np.zeros_like(f)
        gain[1:] = f[1:] ** (-alpha / 2.0)  # amplitude ~ f^(-alpha/2)  =>  power ~ f^(-alpha)
        out = np.fft.irfft(spec * gain, n=n, axis=-1)
    rms = np.sqrt(_power(out))
    return out / np.where(rms > 0, rms, 1.0)


def measure_snr(clean: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """SNR in dB of ``clean`` against ``noise`` over the last axis: ``10 log10(P_clean / P_noise)``."""
    c = np.asarray(clean, dtype=np.float64)
    v = np.asarray(noise, dtype=np.float64)
    return 10.0 * np.log10(np.mean(c * c, axis=-1) / np.mean(v * v, axis=-1))


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> tuple[np.ndarray, np.ndarray]:
    """Scale ``noise`` so that ``clean`` against it has exactly ``snr_db``; return ``(noisy, noise)``.

    Powers are means over the whole time axis of each row (each channel gets the exact SNR). The
    scale is computed in float64, so the measured SNR matches to about 1e-12 dB (1e-6 dB after a
    float32 cast).

    Shape:
        ``clean`` ``(..., time)``; ``noise`` the same shape or broadcastable to it (e.g. ``(time,)``).
        Both outputs have ``clean``'s shape and float dtype.
    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> s, v = rng.standard_normal(1000), rng.standard_normal(1000)
        >>> noisy, scaled = mix_at_snr(s, v, 10.0)
        >>> round(float(measure_snr(s, scaled)), 9)
        10.0
    """
    c = as_signal(clean, "clean signal")
    try:
        v = np.broadcast_to(as_signal(noise, "noise"), c.shape)
    except ValueError:
        raise ParameterError(f"noise of shape {np.shape(noise)} does not match clean signal of shape "
                             f"{c.shape}") from None
    if not math.isfinite(float(snr_db)):
        raise ParameterError(f"snr_db must be finite, got {snr_db}")
    pc, pv = _power(c), _power(v)
    if np.any(pv <= 0):
        raise ParameterError("noise is silent: no SNR can be reached")
    if np.any(pc <= 0):
        raise ParameterError("clean signal is silent: the SNR is undefined")
    scale = np.sqrt(pc / (pv * 10.0 ** (float(snr_db) / 10.0)))
    scaled = v * scale
    return like_input(c + scaled, clean), like_input(scaled, clean)


def _loop_period(noise_len: int, crossfade: int) -> tuple[int, int]:
    c = max(0, min(int(crossfade), noise_len // 4))
    return noise_len - c, c


def random_offset(noise_len: int, num_samples: int, rng: np.random.Generator,
                  crossfade: int = LOOP_CROSSFADE) -> int:
    """A uniformly drawn start in a noise of ``noise_len`` samples for an excerpt of ``num_samples``.

    A long noise is cropped (offset in ``0..noise_len - num_samples``); a short one is looped, and
    the offset is a phase in its loop period (see :func:`fit_noise`).
    """
    if noise_len < 1:
        raise ParameterError("noise has no samples")
    if noise_len >= num_samples:
        return int(rng.integers(0, noise_len - num_samples + 1))
    period, _ = _loop_period(noise_len, crossfade)
    return int(rng.integers(0, period))


def fit_noise(noise: np.ndarray, num_samples: int, rng: np.random.Generator | None = None, *,
              offset: int | None = None, crossfade: int = LOOP_CROSSFADE) -> np.ndarray:
    """Crop (long noise) or loop (short noise) ``noise`` to ``num_samples`` from ``offset``.

    ``offset`` is drawn with :func:`random_offset` when not given (then ``rng`` is required).
    A looped noise repeats a period of ``len - c`` samples whose first ``c = crossfade`` samples
    are an equal-power cross-fade from the noise's tail into its head, so the loop has no click.

    Shape:
        ``(..., noise_time)`` -> ``(..., num_samples)``.
    Example:
        >>> import numpy as np
        >>> fit_noise(np.arange(10.0), 4, offset=3)
        array([3., 4., 5., 6.])
    """
    v = as_signal(noise, "noise")
    n, length = int(num_samples), v.shape[-1]
    if offset is None:
        if rng is None:
            raise ParameterError("fit_noise needs an offset or a random generator")
        offset = random_offset(length, n, rng, crossfade)
    offset = int(offset)
    if length >= n:
        if not 0 <= offset <= length - n:
            raise ParameterError(f"offset {offset} is outside 0..{length - n} for a noise of {length} samples")
        return like_input(v[..., offset:offset + n].copy(), noise)
    period, c = _loop_period(length, crossfade)
    if not 0 <= offset < period:
        raise ParameterError(f"offset {offset} is outside the loop period 0..{period - 1}")
    body = v[..., :period].copy()
    if c:
        t = (np.arange(c) + 0.5) / c
        # equal-power fades keep the level of uncorrelated noise constant through the seam
        body[..., :c] = v[..., :c] * np.sin(0.5 * np.pi * t) + v[..., period:] * np.cos(0.5 * np.pi * t)
    reps = -(-(offset + n) // period)
    return like_input(np.tile(body, (1,) * (v.ndim - 1) + (reps,))[..., offset:offset + n], noise)


def _sum_talkers(signals: Sequence[np.ndarray], offsets: Sequence[int], num_samples: int,
                 crossfade: int) -> np.ndarray:
    total = np.zeros(num_samples)
    for sig, off in zip(signals, offsets):
        seg = fit_noise(sig, num_samples, offset=off, crossfade=crossfade)
        rms = float(np.sqrt(np.mean(seg * seg)))
        if rms > 0:  # equal level per talker; a silent excerpt contributes nothing
            total += seg / rms
    rms = float(np.sqrt(np.mean(total * total)))
    if rms == 0:
        raise ParameterError("babble is silent: every talker excerpt was silent")
    return total / rms


def babble(speech: Sequence[np.ndarray], num_samples: int, rng: np.random.Generator, talkers: int = 5,
           crossfade: int = LOOP_CROSSFADE) -> np.ndarray:
    """Babble noise: ``talkers`` excerpts of the ``speech`` signals, each at unit RMS, summed.

    Talkers are drawn without replacement when there are enough signals, each from a random offset
    (looped if shorter than ``num_samples``). The result has unit RMS.

    Shape:
        each signal ``(time,)``; returns ``(num_samples,)`` float64.
    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> b = babble([rng.standard_normal(800) for _ in range(6)], 1000, rng, talkers=4)
        >>> b.shape
        (1000,)
    """
    if not speech:
        raise ParameterError("babble needs at least one speech signal")
    if talkers < 1:
        raise ParameterError(f"talkers must be at least 1, got {talkers}")
    sigs = [as_signal(s, "speech").reshape(-1) for s in speech]
    idx = rng.choice(len(sigs), size=talkers, replace=talkers > len(sigs))
    offsets = [random_offset(sigs[i].shape[-1], num_samples, rng, crossfade) for i in idx]
    return _sum_talkers([sigs[i] for i in idx], offsets, num_samples, crossfade)


def _as_paths(name: str, files: Sequence[Any]) -> tuple[str, ...]:
    if isinstance(files, (str, bytes)):
        raise ParameterError(f"{name} must be a sequence of paths, not one string")
    return tuple(str(f) for f in files)


def _audible_offset(noise: np.ndarray, num_samples: int, rng: np.random.Generator, crossfade: int,
                    min_rel_db: float = -30.0, tries: int = 20) -> int:
    """A random offset whose excerpt is not (nearly) silent: recordings with pauses (birds, thunder,
    hens) would otherwise give excerpts at which no SNR can be reached. Redraws up to ``tries`` times,
    then keeps the loudest excerpt drawn."""
    flat = np.asarray(noise, dtype=np.float64).reshape(-1, np.shape(noise)[-1])
    file_power = float(np.mean(flat**2)) + 1e-20
    best, best_power = 0, -1.0
    for _ in range(tries):
        offset = random_offset(flat.shape[-1], num_samples, rng, crossfade)
        seg = fit_noise(flat, num_samples, offset=offset, crossfade=crossfade)
        power = float(np.mean(seg**2))
        if power >= file_power * 10 ** (min_rel_db / 10):
            return offset
        if power > best_power:
            best, best_power = offset, power
    return best


@dataclass(frozen=True)
class AddNoise(Degradation):
    """Add noise at a drawn SNR: a recorded file (cropped or looped at a random offset) or a colour.

    With ``files``, one is drawn per example; otherwise a colour from ``colors``. The SNR is that of
    the signal entering this stage against the added noise.

    Example:
        >>> import numpy as np
        >>> stage = AddNoise(colors=("pink",), snr_db=(0.0, 15.0))
        >>> params = stage.sample(np.random.default_rng(0), 16000, 16000)
        >>> sorted(params)
        ['color', 'seed', 'snr_db']
    """

    name = "add_noise"
    additive = True

    files: tuple[str, ...] = ()
    colors: tuple[str, ...] = ("white",)
    snr_db: FloatRange = (0.0, 20.0)
    crossfade: int = LOOP_CROSSFADE
    cache_size: int = field(default=8, compare=False)
    _bank: AudioBank = field(init=False, repr=False, compare=False, default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", _as_paths("files", self.files))
        if not self.files:
            object.__setattr__(self, "colors", check_choices("colors", self.colors, tuple(NOISE_COLORS)))
        object.__setattr__(self, "snr_db", check_range("snr_db", self.snr_db, -100.0, 200.0))
        object.__setattr__(self, "_bank", AudioBank(self.cache_size))

    def sample(self, rng: np.random.Generator, num_samples: int, sample_rate: int) -> dict[str, Any]:
        snr = draw_float(rng, self.snr_db)
        if self.files:
            f = draw_choice(rng, self.files)
            noise = self._bank.load(f, sample_rate)
            offset = _audible_offset(noise, num_samples, rng, self.crossfade)
            return {"file": f, "offset": offset, "crossfade": self.crossfade, "snr_db": snr}
        return {"color": draw_choice(rng, self.colors), "seed": draw_seed(rng), "snr_db": snr}

    def apply(self, x: np.ndarray, sample_rate: int, params: dict[str, Any],
              rng: np.random.Generator | None = None) -> np.ndarray:
        n = np.shape(x)[-1]
        if "file" in params:
            noise = self._bank.load(params["file"], sample_rate)
            seg = fit_noise(noise, n, offset=params["offset"], crossfade=params.get("crossfade", LOOP_CROSSFADE))
        else:
            seg = colored_noise(params["color"], n, stage_rng(params, rng), shape=np.shape(x)[:-1])
        return mix_at_snr(x, seg, params["snr_db"])[0]


@dataclass(frozen=True)
class Babble(Degradation):
    """Add babble made from speech ``files``: ``talkers`` excerpts at equal level, at a drawn SNR."""

    name = "babble"
    additive = True

    files: tuple[str, ...] = ()
    talkers: IntRange = (3, 7)
    snr_db: FloatRange = (0.0, 20.0)
    crossfade: int = LOOP_CROSSFADE
    cache_size: int = field(default=32, compare=False)
    _bank: AudioBank = field(init=False, repr=False, compare=False, default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", _as_paths("files", self.files))
        object.__setattr__(self, "talkers", check_range("talkers", self.talkers, 1, 1000, integer=True))
        object.__setattr__(self, "snr_db", check_range("snr_db", self.snr_db, -100.0, 200.0))
        object.__setattr__(self, "_bank", AudioBank(self.cache_size))

    def sample(self, rng: np.random.Generator, num_samples: int, sample_rate: int) -> dict[str, Any]:
        if not self.files:
            raise ParameterError("babble needs speech files")
        k = draw_int(rng, self.talkers)
        idx = rng.choice(len(self.files), size=k, replace=k > len(self.files))
        files = [self.files[int(i)] for i in idx]
        offsets = [random_offset(self._bank.num_samples(f, sample_rate), num_samples, rng, self.crossfade)
                   for f in files]
        return {"files": files, "offsets": offsets, "crossfade": self.crossfade,
                "snr_db": draw_float(rng, self.snr_db)}

    def apply(self, x: np.ndarray, sample_rate: int, params: dict[str, Any],
              rng: np.random.Generator | None = None) -> np.ndarray:
        n = np.shape(x)[-1]
        sigs = [self._bank.load(f, sample_rate) for f in params["files"]]
        noise = _sum_talkers(sigs, params["offsets"], n, params.get("crossfade", LOOP_CROSSFADE))
        return mix_at_snr(x, noise, params["snr_db"])[0]
