"""data.level_db: training examples at a drawn input level; inference scales the whole input there once."""

from __future__ import annotations

import numpy as np
import torch

from audiorestore.data.datasets import MixingDataset
from audiorestore.models.neural import NeuralDenoiser, level_gain, trained_level_db
from audiorestore.models.registry import build_model, get_family
from audiorestore.train.checkpoint import save_model
from tests.train.conftest import make_corpus


def _rms_db(x) -> float:
    x = np.asarray(x, dtype=np.float64)
    return 10 * np.log10(np.mean(x * x))


def test_mixing_examples_sit_at_the_drawn_level(tmp_path):
    from audiorestore.data.datasets import scan_files

    root = make_corpus(tmp_path)
    clean = scan_files(root, ["clean"])
    noise = scan_files(root, ["noise"])
    ds = MixingDataset(clean, noise, 16000, 4000, (0.0, 10.0), (-20.0, 0.0), seed=3, level_db=(-30.0, -20.0))
    for i in range(6):
        noisy, cl = ds[i]
        assert -30.0 - 1e-3 <= _rms_db(noisy.numpy()) <= -20.0 + 1e-3
        # clean and noisy share one factor: the SNR of the pair is unchanged by the level
        assert np.isfinite(_rms_db(cl.numpy()))


def test_level_gain_reaches_the_level_and_leaves_silence_alone():
    x = np.stack([np.full(100, 0.01, np.float32), np.zeros(100, np.float32)])
    g = level_gain(x, -20.0)
    assert np.isclose(_rms_db(x[0] * g[0]), -20.0, atol=1e-4) and g[1, 0] == 1.0
    t = torch.from_numpy(x)
    torch.testing.assert_close(level_gain(t, -20.0), torch.from_numpy(g))


def test_level_trained_checkpoint_makes_inference_scale_equivariant(tmp_path):
    spec = get_family("fcn")
    cfg = spec.tiny()
    torch.manual_seed(0)
    model = build_model("fcn", cfg).eval()
    ckpt = tmp_path / "fcn.pt"
    save_model(ckpt, model, "fcn", cfg, 16000, extra={"experiment": {"data": {"level_db": [-30.0, -20.0]}}})
    den = NeuralDenoiser(checkpoint=str(ckpt))
    den.load()
    assert trained_level_db(den._meta) == -25.0
    x = (np.random.default_rng(0).standard_normal((1, 4000)) * 0.05).astype(np.float32)
    y_loud = den(x, 16000)
    y_quiet = den(x * 0.01, 16000)
    np.testing.assert_allclose(y_quiet, y_loud * 0.01, rtol=1e-3, atol=1e-7)
