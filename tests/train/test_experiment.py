"""Experiment configs: TOML/YAML round trips, typed dotted overrides, resolution errors, resume guard."""

from __future__ import annotations

import dataclasses

import pytest

from audiorestore import config as cfgio
from audiorestore.errors import ParameterError
from audiorestore.train.experiment import (Experiment, ExperimentConfig, apply_overrides, load_experiment, resolve,
                                           step_kind)


def test_toml_and_yaml_round_trip_the_resolved_config(tmp_path):
    cfg = resolve(apply_overrides(ExperimentConfig(), [
        "model.family=segan", "model.tiny=true", "loss.weights.adv=1", "data.snr_db=0,15",
        "trainer.metrics=si_sdr,pesq_wb"]))
    for ext in ("toml", "yaml"):
        path = cfgio.save(cfg, tmp_path / f"exp.{ext}")
        again = load_experiment(path)
        assert again == cfg, ext
    assert tuple(cfg.model.config["channels"]) == (4, 8, 8, 16)  # the tiny config, written out in full
    assert step_kind(cfg) == "gan"


def test_degradation_tables_survive_toml(tmp_path):
    p = tmp_path / "e.toml"
    p.write_text('[model]\nfamily = "fcn"\n[data.degrade.clip]\nthreshold = [0.3, 0.6]\n[data.degrade.hum]\n')
    cfg = load_experiment(p)
    assert list(cfg.data.degrade) == ["clip", "hum"]
    assert load_experiment(cfgio.save(cfg, tmp_path / "again.toml")).data.degrade == cfg.data.degrade


def test_overrides_are_typed_by_the_family_config():
    cfg = apply_overrides(ExperimentConfig(), ["model.family=fcn", "model.config.channels=7", "trainer.steps=12",
                                               "loss.weights.mrstft=0.5", "trainer.ema=0.99"])
    assert cfg.model.config["channels"] == 7 and cfg.trainer.steps == 12 and cfg.trainer.ema == 0.99
    assert cfg.loss.weights == {"l1": 1.0, "mrstft": 0.5}
    with pytest.raises(ParameterError, match="unknown config key 'trainer.stepz'"):
        apply_overrides(cfg, ["trainer.stepz=3"])
    with pytest.raises(ParameterError, match="channels must be an integer"):
        apply_overrides(cfg, ["model.config.channels=many"])
    with pytest.raises(ParameterError, match="model.config of 'fcn': unknown config key 'nope'"):
        apply_overrides(cfg, ["model.config.nope=1"])


def test_resolve_rejects_inconsistent_configs():
    with pytest.raises(ParameterError, match="no discriminator"):
        resolve(apply_overrides(ExperimentConfig(), ["model.family=fcn", "loss.weights.adv=1"]))
    with pytest.raises(ParameterError, match="unknown loss 'l7'"):
        resolve(apply_overrides(ExperimentConfig(), ["loss.weights.l7=1"]))
    with pytest.raises(ParameterError, match="sample_rate is 16000 but data.sample_rate is 8000"):
        resolve(apply_overrides(ExperimentConfig(), ["model.family=fcn", "data.sample_rate=8000"]))
    with pytest.raises(ParameterError, match="unknown model family"):
        resolve(apply_overrides(ExperimentConfig(), ["model.family=nope"]))


def test_a_changed_model_refuses_to_resume_but_more_steps_may(tmp_path):
    cfg = resolve(apply_overrides(ExperimentConfig(), [f"out_dir={tmp_path}", "model.tiny=true"]))
    exp = Experiment(tmp_path)
    exp.save_config(cfg)
    exp.check_config(dataclasses.replace(cfg, trainer=dataclasses.replace(cfg.trainer, steps=10**6)))
    with pytest.raises(ParameterError, match="different config.*model.config.channels"):
        exp.check_config(apply_overrides(cfg, ["model.config.channels=3"]))


def test_a_model_field_added_after_the_run_resumes_at_its_default(tmp_path):
    cfg = resolve(apply_overrides(ExperimentConfig(), [f"out_dir={tmp_path}", "model.family=segan", "model.tiny=true",
                                                       "loss.weights.l1=1"]))
    exp = Experiment(tmp_path)
    exp.save_config(cfg)
    saved = exp.config_path.read_text()
    assert "residual = false" in saved
    exp.config_path.write_text(saved.replace("residual = false\n", ""))  # as written before the field existed
    exp.check_config(cfg)
    with pytest.raises(ParameterError, match="different config.*model.config.residual"):
        exp.check_config(apply_overrides(cfg, ["model.config.residual=true"]))


def test_split_file_is_merged_relative_to_the_config(tmp_path):
    (tmp_path / "splits.toml").write_text(
        '[valid]\nspeech = ["speech/a/s1/*"]\nnoise = ["noise/n1.flac"]\n'
        '[test]\nspeech = ["speech/a/s9/*"]\npairs = ["pairs/x/**/*.flac"]\n[never_train]\npaths = ["noise/n9.flac"]\n')
    (tmp_path / "exp.toml").write_text('[data]\nsplits = "splits.toml"\nexclude = ["speech/bad*"]\n')
    cfg = load_experiment(tmp_path / "exp.toml")
    assert cfg.data.valid_clean == ["speech/a/s1/*"] and cfg.data.valid_noise == ["noise/n1.flac"]
    assert cfg.data.exclude == ["speech/bad*", "speech/a/s9/*", "pairs/x/**/*.flac", "noise/n9.flac"]
    assert resolve(cfg) == cfg  # idempotent: a saved resolved config loads to itself
