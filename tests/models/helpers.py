"""Shared contract checks for model families: tiny synthetic data, shape, overfit, checkpoint, seed.

Import as ``from tests.models.helpers import ...``. Every helper asserts; tests call them with a tiny
config on CPU.
"""

from __future__ import annotations

import math
from pathlib import Path
from collections.abc import Callable

import torch
from torch import Tensor, nn

from audiorestore.models.registry import build_model, get_family
from audiorestore.train.checkpoint import load_model, save_model

LossFn = Callable[[Tensor, Tensor], Tensor]


def speechlike_pair(batch: int = 2, length: int = 4000, sample_rate: int = 16000, snr_db: float = 5.0,
                    seed: int = 0) -> tuple[Tensor, Tensor]:
    """``(noisy, clean)`` of shape ``(batch, 1, length)``: harmonic tones with a 4 Hz envelope + white noise.

    Uses its own ``torch.Generator``; the global random state is untouched.
    """
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(length, dtype=torch.float64) / sample_rate
    rows = []
    for b in range(batch):
        f0 = 120.0 + 40.0 * b
        x = sum(torch.sin(2 * math.pi * k * f0 * t + float(torch.rand(1, generator=gen)) * 6.28) / k
                for k in range(1, 8))
        env = 0.5 * (1 - torch.cos(2 * math.pi * 4 * t))
        rows.append(0.3 * x * env)
    clean = torch.stack(rows).unsqueeze(1).float()
    noise = torch.randn(clean.shape, generator=gen)
    scale = clean.pow(2).mean(-1, keepdim=True).sqrt() / noise.pow(2).mean(-1, keepdim=True).sqrt()
    noisy = clean + noise * scale * 10 ** (-snr_db / 20)
    return noisy, clean


def seeded(family: str, config: object | None = None, seed: int = 0) -> nn.Module:
    """Build a family's model (tiny config by default) under ``torch.manual_seed(seed)`` without
    disturbing the caller's random state."""
    cfg = get_family(family).tiny() if config is None else config
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(family, cfg)


def assert_shape_preserved(model: nn.Module, lengths: tuple[int, ...] = (1, 100, 1001, 2048, 3333),
                           batch: int = 2) -> None:
    """``model((B, 1, T))`` has shape ``(B, 1, T)`` and is finite for every T in ``lengths``."""
    model.eval()
    with torch.no_grad():
        for n in lengths:
            y = model(torch.randn(batch, 1, n, generator=torch.Generator().manual_seed(n)))
            assert y.shape == (batch, 1, n), f"length {n}: output shape {tuple(y.shape)}"
            assert torch.isfinite(y).all(), f"length {n}: non-finite output"


def overfit(model: nn.Module, noisy: Tensor, clean: Tensor, steps: int = 40, lr: float = 3e-3,
            loss_fn: LossFn | None = None) -> tuple[float, float]:
    """Adam on one fixed batch; returns ``(initial loss, final loss)`` (L1 on waveforms by default)."""
    loss_fn = loss_fn or (lambda est, ref: (est - ref).abs().mean())
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    first = last = math.nan
    for step in range(steps):
        loss = loss_fn(model(noisy), clean)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step == 0:
            first = float(loss.detach())
    model.eval()
    with torch.no_grad():
        last = float(loss_fn(model(noisy), clean))
    return first, last


def assert_checkpoint_round_trip(tmp_path: Path, family: str, model: nn.Module, config: object,
                                 length: int = 2000) -> None:
    """save_model -> load_model (strict) gives a model with identical outputs and the same config."""
    model.eval()
    rate: int = config.sample_rate  # type: ignore[attr-defined]
    path = save_model(tmp_path / f"{family}.pt", model, family, config, sample_rate=rate)
    loaded, meta = load_model(path)
    assert meta["family"] == family and meta["sample_rate"] == rate
    assert type(loaded) is type(model)
    x = torch.randn(2, 1, length, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def assert_deterministic(family: str, length: int = 1500) -> None:
    """Two builds under one seed have equal weights and outputs; another seed differs."""
    x = torch.randn(1, 1, length, generator=torch.Generator().manual_seed(3))
    a, b, c = seeded(family, seed=0).eval(), seeded(family, seed=0).eval(), seeded(family, seed=1).eval()
    with torch.no_grad():
        ya, yb, yc = a(x), b(x), c(x)
    assert torch.equal(ya, yb)
    assert not torch.equal(ya, yc)
