"""Super-resolution through the Trainer: a tiny AudioUNet trains and resumes exactly, MU-GAN trains with
the feature loss of an autoencoder trained by the same loop, the recipes resolve."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

from audiorestore.data.superres import SuperResDataset
from audiorestore.errors import ParameterError
from audiorestore.train.checkpoint import load_model
from audiorestore.train.experiment import ExperimentConfig, apply_overrides, data_kind, load_experiment, resolve
from audiorestore.train.trainer import Trainer
from tests.train.conftest import tiny_config

REPO = Path(__file__).resolve().parents[2]
SR = ["model.config.sample_rate=16000", "model.config.input_rate=8000", "data.noise_dirs=", "data.valid_noise=",
      "trainer.metrics=lsd,lsd_hf,snr", "data.segment_s=0.064", "data.valid_segment_s=0.128",
      "trainer.best_metric=valid/lsd", "loss.weights.l1=0", "loss.weights.l2=1", "optim.lr=0.003"]


def _weights(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "checkpoints" / "last.pt", weights_only=True)["train_state"]["model"]


def test_tiny_audiounet_trains_three_steps_and_resumes_exactly(corpus, tmp_path):
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    extra = [*SR, "trainer.steps=3", "trainer.eval_every=3", "trainer.ckpt_every=1"]
    cfg = tiny_config(corpus, straight, *extra, family="audiounet")
    assert data_kind(cfg) == "superres"
    trainer = Trainer(cfg)
    last = trainer.fit()
    train, valid = trainer.datasets()
    assert isinstance(train, SuperResDataset) and train.input_rate == 8000 and trainer.cutoff_hz == 4000
    assert len(valid) == 3 and all(n.shape == c.shape == (1, 2048) for n, c in valid)  # fixed, model-length
    assert last["step"] == 3 and {"valid/lsd", "valid/lsd_hf", "valid/snr", "valid/l2"} <= set(last)
    assert last["valid/lsd_hf"] > 0 and last["valid/lsd"] > 0

    Trainer(tiny_config(corpus, stopped, *extra, family="audiounet")).fit(stop_at=2)
    assert torch.load(stopped / "checkpoints" / "last.pt", weights_only=True)["train_state"]["step"] == 2
    torch.manual_seed(99)  # a resumed process starts from another global random state
    Trainer(tiny_config(corpus, stopped, *extra, family="audiounet")).fit()
    a, b = _weights(straight), _weights(stopped)
    assert all(torch.equal(a[k], b[k]) for k in a)
    hist = [json.loads(line) for line in (stopped / "history.jsonl").read_text().splitlines()]
    assert [r["step"] for r in hist if "train/l2" in r] == [1, 2, 3]
    model, meta = load_model(straight / "checkpoints" / "best.pt")
    assert meta["family"] == "audiounet" and model.config.input_rate == 8000


def test_mugan_trains_with_the_feature_loss_of_a_trained_autoencoder(corpus, tmp_path):
    ae_dir = tmp_path / "ae"
    ae_cfg = tiny_config(corpus, ae_dir, *SR[2:], "model.config.sample_rate=16000", "trainer.metrics=snr",
                         "trainer.best_metric=valid/loss", "trainer.steps=2", "trainer.eval_every=2", family="mugan_ae")
    assert data_kind(ae_cfg) == "autoencode"
    ae = Trainer(ae_cfg)
    ae.fit()
    noisy, clean = ae.datasets()[0][0]
    assert torch.equal(noisy, clean)  # an autoencoder learns to reproduce full-band audio
    ckpt = ae_dir / "checkpoints" / "best.pt"
    assert ckpt.exists()

    gan = tiny_config(corpus, tmp_path / "gan", *SR, "loss.weights.ae_feature=1", "loss.weights.adv=0.01",
                      f"loss.params.ae_feature.checkpoint={ckpt}", "loss.conditional=false", "trainer.steps=2",
                      "trainer.eval_every=2", family="mugan")
    last = Trainer(gan).fit()
    rec = json.loads((tmp_path / "gan" / "history.jsonl").read_text().splitlines()[0])
    assert {"train/l2", "train/ae_feature", "train/adv", "train/disc", "train/loss"} <= set(rec)
    assert rec["train/ae_feature"] > 0 and "valid/ae_feature" in last

    wrong_rate = apply_overrides(gan, ["model.config.sample_rate=22050", "model.config.input_rate=11025",
                                       "data.sample_rate=22050", f"out_dir={tmp_path / 'wrong'}"])
    with pytest.raises(ParameterError, match="trained on 16000 Hz audio"):
        Trainer(wrong_rate)
    with pytest.raises(ParameterError, match="needs a mugan_ae checkpoint"):
        Trainer(apply_overrides(gan, ["loss.params.ae_feature.checkpoint="]))


def test_config_errors():
    with pytest.raises(ParameterError, match="super-resolution models"):
        resolve(apply_overrides(ExperimentConfig(), ["model.family=fcn", "data.kind=superres"]))
    with pytest.raises(ParameterError, match="fixed_filter_fraction"):
        resolve(apply_overrides(ExperimentConfig(), ["model.family=audiounet", "data.sample_rate=48000",
                                                     "data.fixed_filter_fraction=1.5"]))
    assert data_kind(apply_overrides(ExperimentConfig(), ["model.family=fcn"])) == "mixing"


def _benchmark_module():
    spec = importlib.util.spec_from_file_location("bench_superres", REPO / "benchmarks" / "superres.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def test_recipes_resolve_and_hold_out_the_benchmark_sets():
    recipes = sorted((REPO / "recipes").glob("superres_*.toml"))
    assert len(recipes) == 10
    bench = _benchmark_module()
    for path in recipes:
        cfg = load_experiment(path, ["data.root=/data"])
        fam = cfg.model.config
        assert data_kind(cfg) == ("autoencode" if cfg.model.family == "mugan_ae" else "superres"), path.name
        if cfg.model.family != "mugan_ae":
            assert (fam["input_rate"], fam["sample_rate"]) in bench.RATIOS.values(), path.name
            assert cfg.trainer.best_metric == "valid/lsd"
        if path.stem.endswith("piano"):  # the rendered test pieces are never trained on
            assert sorted(cfg.data.exclude) == sorted(f"{p}.*" for p in bench.PIANO_TEST_PIECES)
        else:  # the fixed splits: RAVDESS actors 19-20 and the 16 kHz test speakers are never read
            assert "speech/ravdess_48k/Actor_19/*.flac" in cfg.data.exclude
            assert "speech/ravdess_48k/Actor_17/*.flac" in cfg.data.valid_clean
        if cfg.model.family == "mugan":
            assert cfg.loss.weights["adv"] > 0 and cfg.loss.params["ae_feature"]["checkpoint"]
