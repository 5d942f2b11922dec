"""Fixtures for super-resolution tests: harmonic test tones and tiny checkpoints in tmp_path."""

from __future__ import annotations

from pathlib import Path
from collections.abc import Callable

import numpy as np
import pytest
import torch

from audiorestore.models.registry import build_model, get_family
from audiorestore.train.checkpoint import save_model


def harmonic_tone(n: int, sample_rate: int, f0_hz: float = 400.0, top_hz: float = 20000.0) -> np.ndarray:
    """Sawtooth-like tone: harmonics of ``f0_hz`` with 1/k amplitudes up to ``top_hz`` (float64)."""
    t = np.arange(n) / sample_rate
    ks = range(1, int(min(top_hz, 0.49 * sample_rate) / f0_hz) + 1)
    return 0.2 * sum(np.sin(2 * np.pi * k * f0_hz * t) / k for k in ks)


@pytest.fixture
def tiny_checkpoint(tmp_path: Path) -> Callable[[str], Path]:
    """``tiny_checkpoint(family) -> Path`` of a seeded, untrained tiny model saved in the checkpoint format."""

    def _make(family: str) -> Path:
        torch.manual_seed(0)
        cfg = get_family(family).tiny()
        model = build_model(family, cfg)
        return save_model(tmp_path / f"{family}.pt", model, family, cfg, cfg.sample_rate)

    return _make
