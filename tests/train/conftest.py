"""A tiny corpus on disk and tiny experiment configs for the training tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiorestore.train.experiment import ExperimentConfig, apply_overrides
from tests.conftest import speechlike

torch.set_num_threads(1)


def make_corpus(root: Path) -> Path:
    """4 clean 'speakers' (one at 22.05 kHz), 3 noises, 2 recorded pairs: enough for every split."""
    rng = np.random.default_rng(0)
    for i, (spk, sr) in enumerate([("s1", 16000), ("s2", 16000), ("s3", 22050), ("s4", 16000)]):
        p = root / "clean" / spk / f"{spk}_a.flac"
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(p, speechlike(int(0.4 * sr), sr, seed=i), sr)
    for name in ["hum", "hiss", "buzz"]:
        p = root / "noise" / f"{name}.flac"
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(p, (0.1 * rng.standard_normal(int(0.3 * 16000))).astype(np.float32), 16000)
    for i in range(2):
        c = speechlike(8000, 16000, seed=10 + i)
        for side, x in (("clean", c), ("noisy", c + 0.05 * rng.standard_normal(8000).astype(np.float32))):
            p = root / "pairs" / side / f"u{i}.flac"
            p.parent.mkdir(parents=True, exist_ok=True)
            sf.write(p, x, 16000)
    return root


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return make_corpus(tmp_path / "data")


def tiny_config(root: Path, out_dir: Path, *extra: str, family: str = "fcn") -> ExperimentConfig:
    """A few-step experiment on the tiny corpus (fast on one CPU thread)."""
    base = [
        f"data.root={root}", f"out_dir={out_dir}", f"model.family={family}", "model.tiny=true",
        "data.clean_dirs=clean", "data.noise_dirs=noise", "data.valid_clean=clean/s4",
        "data.valid_noise=noise/buzz*", "data.segment_s=0.064", "data.valid_segment_s=0.128",
        "data.batch_size=2", "data.num_workers=0", "data.valid_count=3", "data.snr_db=0,10",
        "trainer.steps=6", "trainer.log_every=1", "trainer.eval_every=3", "trainer.ckpt_every=2",
        "trainer.device=cpu", "trainer.metrics=si_sdr,snr", "trainer.samples=1", "optim.lr=0.003",
    ]
    return apply_overrides(ExperimentConfig(), base + list(extra))
