"""A chain of degradations sampled from one seed, returning (degraded, clean target, params).

The params of a chain are a JSON-serialisable dict: the input's rate and length, the seed, and one
``{"name", "params"}`` record per stage. :func:`replay` rebuilds the stages from the names alone, so
a manifest line is enough to regenerate its example bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..dsp.resample import resample
from ..errors import ParameterError
from .base import Degradation, as_signal, degradation_class, like_input, to_jsonable


class ChainResult(NamedTuple):
    """What a chain produced. ``noise`` is the sum of the additive stages' contributions (``y - x``
    of each noise, babble, hum or hiss stage) as they were added, at ``noise_rate``."""

    degraded: np.ndarray
    target: np.ndarray
    noise: np.ndarray | None
    sample_rate: int
    noise_rate: int | None


@dataclass(frozen=True)
class Chain:
    """Degradation stages applied in order.

    Shape:
        ``x`` ``(..., time)``; the target keeps ``x``'s shape and rate; the degraded signal too unless
        a stage changes the rate (``LowpassDecimate(restore=False)``).
    Example:
        >>> import numpy as np
        >>> from audiorestore.simulate import AddNoise, Chain, Clip
        >>> chain = Chain((AddNoise(colors=("pink",), snr_db=10.0), Clip(threshold=0.8)))
        >>> clean = np.sin(np.linspace(0, 400, 16000))
        >>> noisy, target, params = chain(clean, 16000, seed=0)
        >>> replayed, _ = chain.apply(clean, 16000, params)
        >>> bool(np.array_equal(noisy, replayed))
        True
    """

    stages: tuple[Degradation, ...] = ()

    def __post_init__(self) -> None:
        stages = tuple(self.stages)
        for s in stages:
            if not isinstance(s, Degradation):
                raise ParameterError(f"chain stages must be Degradation instances, got {type(s).__name__}")
        object.__setattr__(self, "stages", stages)

    def sample(self, rng: np.random.Generator, num_samples: int, sample_rate: int) -> dict[str, Any]:
        """Draw every stage's parameters, in order, from ``rng``."""
        records = []
        n, rate = int(num_samples), int(sample_rate)
        for stage in self.stages:
            p = to_jsonable(stage.sample(rng, n, rate))
            records.append({"name": stage.name, "params": p})
            out_rate = stage.output_rate(rate, p)
            if out_rate != rate:
                n, rate = int(round(n * out_rate / rate)), out_rate
        return {"sample_rate": int(sample_rate), "num_samples": int(num_samples), "stages": records}

    def process(self, x: np.ndarray, sample_rate: int, params: dict[str, Any]) -> ChainResult:
        """Apply recorded ``params``; also return the additive noise and the output rate."""
        records = params.get("stages", [])
        names = [r.get("name") for r in records]
        if names != [s.name for s in self.stages]:
            raise ParameterError(f"params are for stages {names}, this chain has {[s.name for s in self.stages]}")
        s = as_signal(x)
        y, target, rate = s, s.copy(), int(sample_rate)
        noise: np.ndarray | None = None
        noise_rate: int | None = None
        for stage, rec in zip(self.stages, records):
            p = rec["params"]
            out = np.asarray(stage.apply(y, rate, p), dtype=np.float64)
            if stage.additive:
                part = out - y
                if noise is None:
                    noise, noise_rate = part, rate
                else:
                    if noise_rate != rate:
                        noise, noise_rate = resample(noise, int(noise_rate), rate), rate  # type: ignore[arg-type]
                    noise = noise + part
            target = np.asarray(stage.apply_target(target, int(sample_rate), p), dtype=np.float64)
            y, rate = out, stage.output_rate(rate, p)
        return ChainResult(like_input(y, x), like_input(target, x),
                           None if noise is None else like_input(noise, x), rate, noise_rate)

    def apply(self, x: np.ndarray, sample_rate: int, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Apply recorded ``params``: returns ``(degraded, clean_target)``."""
        r = self.process(x, sample_rate, params)
        return r.degraded, r.target

    def output_rate(self, sample_rate: int, params: dict[str, Any]) -> int:
        """The degraded signal's rate for these params."""
        rate = int(sample_rate)
        for stage, rec in zip(self.stages, params.get("stages", [])):
            rate = stage.output_rate(rate, rec["params"])
        return rate

    def __call__(self, x: np.ndarray, sample_rate: int,
                 seed: int | np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Sample with ``seed`` (an int, recorded in the params, or a Generator) and apply.

        Returns ``(degraded, clean_target, params)``.
        """
        if isinstance(seed, np.random.Generator):
            rng, recorded = seed, None
        else:
            rng, recorded = np.random.default_rng(int(seed)), int(seed)
        params = self.sample(rng, np.shape(x)[-1], sample_rate)
        params["seed"] = recorded
        degraded, target = self.apply(x, sample_rate, params)
        return degraded, target, params


def chain_from_params(params: dict[str, Any]) -> Chain:
    """A chain of default-configured stages named in recorded ``params`` (apply needs only params)."""
    try:
        return Chain(tuple(degradation_class(r["name"])() for r in params["stages"]))
    except (KeyError, TypeError):
        raise ParameterError("params must hold a list of {'name', 'params'} stage records") from None


def replay(x: np.ndarray, sample_rate: int, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Regenerate ``(degraded, clean_target)`` from recorded chain ``params`` alone (e.g. a manifest line).

    Example:
        >>> import numpy as np
        >>> from audiorestore.simulate import Chain, Hum
        >>> x = np.sin(np.linspace(0, 300, 8000))
        >>> y, _, params = Chain((Hum(),))(x, 8000, seed=3)
        >>> bool(np.array_equal(replay(x, 8000, params)[0], y))
        True
    """
    return chain_from_params(params).apply(x, sample_rate, params)

