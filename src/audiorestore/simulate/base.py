"""The degradation protocol: sample parameters with an explicit generator, then apply them.

This is audiotools' instantiate/transform split (STYLE.md point 11). A :class:`Degradation` is a
frozen dataclass whose fields describe *distributions* of parameters (a number is fixed, a pair
``(low, high)`` is drawn uniformly, a tuple of names is a choice). :meth:`Degradation.sample` turns
them into one concrete, JSON-serialisable ``params`` dict using only the generator it is given;
:meth:`Degradation.apply` is a pure function of the signal and ``params``. Stages whose output
needs random numbers of their own (a noise waveform, a synthetic room response) draw a ``seed``
into ``params``, so re-applying recorded params reproduces the output bit for bit without the
generator that produced them.

Nothing here touches numpy's global random state.
"""

from __future__ import annotations

import abc
import math
from typing import Any, ClassVar, TypeVar
from collections.abc import Sequence

import numpy as np

from ..errors import AudioInputError, ParameterError

T = TypeVar("T")

#: A number (fixed) or ``(low, high)`` (drawn uniformly).
FloatRange = float | tuple[float, float]
#: An integer (fixed) or ``(low, high)`` inclusive (drawn uniformly).
IntRange = int | tuple[int, int]

_REGISTRY: dict[str, type[Degradation]] = {}


def as_signal(x: np.ndarray, what: str = "audio") -> np.ndarray:
    """Check ``x`` is a non-empty finite float array shaped ``(..., time)``; return it as float64."""
    a = np.asarray(x)
    if a.ndim == 0 or a.shape[-1] == 0:
        raise AudioInputError(f"expected {what} of shape (..., time), found shape {a.shape}")
    if a.dtype.kind not in "fiu":
        raise AudioInputError(f"expected real-valued {what}, found dtype {a.dtype}")
    a = a.astype(np.float64, copy=False)
    if not np.all(np.isfinite(a)):
        raise AudioInputError(f"{what} contains NaN or infinite samples")
    return a


def like_input(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Cast a float64 result back to the input's float dtype (float32 in, float32 out)."""
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.float64
    return np.asarray(y, dtype=dtype)


def check_range(name: str, spec: Any, low: float = -math.inf, high: float = math.inf,
                integer: bool = False) -> Any:
    """Validate a :data:`FloatRange`/:data:`IntRange`; lists become tuples. Raises ParameterError."""
    kind = int if integer else (int, float)
    if isinstance(spec, (list, tuple)):
        if len(spec) != 2 or not all(isinstance(v, kind) and not isinstance(v, bool) for v in spec):
            raise ParameterError(f"{name} must be a number or a (low, high) pair, got {spec!r}")
        lo, hi = spec
        if lo > hi:
            raise ParameterError(f"{name}: low {lo} is above high {hi}")
        values = (lo, hi)
        spec = tuple(spec)
    elif isinstance(spec, kind) and not isinstance(spec, bool):
        values = (spec,)
    else:
        raise ParameterError(f"{name} must be {'an integer' if integer else 'a number'} or a (low, high) pair, "
                             f"got {spec!r}")
    for v in values:
        if not (low <= v <= high) or (isinstance(v, float) and not math.isfinite(v)):
            raise ParameterError(f"{name} must lie in [{low:g}, {high:g}], got {v!r}")
    return spec


def check_choices(name: str, options: Sequence[T], allowed: Sequence[T] | None = None) -> tuple[T, ...]:
    """Validate a non-empty tuple of choices (optionally from ``allowed``)."""
    if isinstance(options, (str, int, float)):
        options = (options,)  # type: ignore[assignment]
    opts = tuple(options)
    if not opts:
        raise ParameterError(f"{name} needs at least one choice")
    if allowed is not None:
        bad = [o for o in opts if o not in allowed]
        if bad:
            raise ParameterError(f"{name}: unknown {bad[0]!r} (use one of {', '.join(map(str, allowed))})")
    return opts


def draw_float(rng: np.random.Generator, spec: FloatRange) -> float:
    """A fixed number, or a uniform draw from ``(low, high)``."""
    if isinstance(spec, (tuple, list)):
        lo, hi = float(spec[0]), float(spec[1])
        return lo if hi == lo else float(rng.uniform(lo, hi))
    return float(spec)


def draw_int(rng: np.random.Generator, spec: IntRange) -> int:
    """A fixed integer, or a uniform draw from ``low..high`` inclusive."""
    if isinstance(spec, (tuple, list)):
        lo, hi = int(spec[0]), int(spec[1])
        return lo if hi == lo else int(rng.integers(lo, hi + 1))
    return int(spec)


def draw_choice(rng: np.random.Generator, options: Sequence[T]) -> T:
    """One of ``options``, uniformly (no draw is consumed when there is a single option)."""
    if len(options) == 1:
        return options[0]
    return options[int(rng.integers(len(options)))]


def draw_seed(rng: np.random.Generator) -> int:
    """A 32-bit seed for a stage's own generator (JSON-safe in every reader)."""
    return int(rng.integers(0, 2**32))


def stage_rng(params: dict[str, Any], rng: np.random.Generator | None) -> np.random.Generator:
    """The generator a stage uses at apply time: its recorded ``seed``, else the one passed in."""
    if "seed" in params and params["seed"] is not None:
        return np.random.default_rng(int(params["seed"]))
    if rng is None:
        raise ParameterError("params hold no 'seed' and no random generator was given")
    return rng


def to_jsonable(value: Any) -> Any:
    """numpy scalars/arrays and tuples -> plain Python numbers and lists (for JSON manifests)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


class Degradation(abc.ABC):
    """Base of every degradation stage. Subclasses are frozen dataclasses with a unique ``name``.

    Shape:
        ``apply`` takes ``x`` of shape ``(..., time)`` at ``sample_rate`` and returns the same shape,
        except for stages whose :meth:`output_rate` differs (length ``round(time * rate_out / rate_in)``).
    Example:
        >>> import numpy as np
        >>> from audiorestore.simulate import Clip
        >>> stage = Clip(threshold=(0.3, 0.6))
        >>> params = stage.sample(np.random.default_rng(0), 16000, 16000)
        >>> y = stage.apply(np.sin(np.linspace(0, 100, 16000)), 16000, params)
    """

    name: ClassVar[str] = ""
    #: Whether the stage adds a signal (noise, hum, hiss); its ``y - x`` is then a noise component.
    additive: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name", "")
        if name:
            if name in _REGISTRY and _REGISTRY[name].__qualname__ != cls.__qualname__:
                raise ValueError(f"degradation name '{name}' is used twice")
            _REGISTRY[name] = cls

    @abc.abstractmethod
    def sample(self, rng: np.random.Generator, num_samples: int, sample_rate: int) -> dict[str, Any]:
        """Draw concrete parameters for a signal of ``num_samples`` at ``sample_rate``."""

    @abc.abstractmethod
    def apply(self, x: np.ndarray, sample_rate: int, params: dict[str, Any],
              rng: np.random.Generator | None = None) -> np.ndarray:
        """Apply ``params`` to ``x``; ``rng`` is only used when ``params`` hold no ``seed``."""

    def apply_target(self, target: np.ndarray, sample_rate: int, params: dict[str, Any]) -> np.ndarray:
        """What this stage does to the clean training target (nothing, for most stages)."""
        return target

    def output_rate(self, sample_rate: int, params: dict[str, Any]) -> int:
        """Sample rate of :meth:`apply`'s output."""
        return sample_rate

    def __call__(self, x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        """Sample parameters with ``rng`` and apply them."""
        x = np.asarray(x)
        return self.apply(x, sample_rate, self.sample(rng, x.shape[-1], sample_rate), rng)


def degradation_class(name: str) -> type[Degradation]:
    """The degradation class registered under ``name`` (as recorded in manifests)."""
    if name not in _REGISTRY:
        raise ParameterError(f"unknown degradation '{name}' (known: {', '.join(sorted(_REGISTRY))})")
    return _REGISTRY[name]


def list_degradations() -> list[str]:
    """Names of all registered degradation stages, sorted."""
    return sorted(_REGISTRY)
