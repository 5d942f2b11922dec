"""Training: experiment configs, the Trainer, step functions, checkpoints, multi-process helpers.

Names are imported lazily (``audiorestore.train.Trainer`` loads :mod:`.trainer` on first use), so
that importing :mod:`audiorestore.train.checkpoint` from the model package stays light and free of
import cycles.

Example:
    >>> from audiorestore.train import ExperimentConfig, Trainer     # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Trainer": "trainer", "EMA": "trainer", "run_experiment": "trainer", "build_datasets": "trainer",
    "ExperimentConfig": "experiment", "Experiment": "experiment", "load_experiment": "experiment",
    "apply_overrides": "experiment", "resolve": "experiment",
    "StepContext": "steps", "supervised_step": "steps", "gan_step": "steps", "prior_fit_step": "steps",
    "save_model": "checkpoint", "load_model": "checkpoint",
}

__all__ = sorted(_EXPORTS)  # noqa: PLE0605


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
