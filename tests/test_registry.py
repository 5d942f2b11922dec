"""Pretrained registry: every family builds from its tiny config, checkpoints round-trip strictly,
shipped weights are checksum-verified, and ``audiorestore models`` lists them."""

from __future__ import annotations

import json

import pytest
import torch

from audiorestore import registry
from audiorestore.cli.main import main
from audiorestore.errors import AudioRestoreError, ParameterError
from audiorestore.models.registry import build_model, list_families
from audiorestore.train.checkpoint import load_model, save_model

torch.set_num_threads(1)

FAMILIES = [s.name for s in list_families()]


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_builds_tiny_and_round_trips_strictly(family, tmp_path):
    model, meta = registry.load(f"{family}_unittest")
    assert meta["family"] == family and not model.training
    again, _ = registry.load(f"{family}_unittest")  # fixed seed: the same weights every time
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    path = save_model(tmp_path / f"{family}.pt", model, family, meta["config"], meta["sample_rate"])
    loaded, lmeta = load_model(path)  # strict=True inside
    assert lmeta["family"] == family and lmeta["sample_rate"] == meta["sample_rate"]
    sd, ld = model.state_dict(), loaded.state_dict()
    assert sd.keys() == ld.keys() and all(torch.equal(sd[k], ld[k]) for k in sd)
    assert type(build_model(family, meta["config"])) is type(model)


def test_list_models_has_one_unittest_entry_per_family():
    names = registry.names()
    assert {f"{f}_unittest" for f in FAMILIES} <= set(names)
    assert all(m.task == "denoise" for m in registry.list_models(task="denoise"))
    with pytest.raises(ParameterError, match="unknown pretrained model 'nope'"):
        registry.load("nope")


def test_shipped_weights_are_verified(tmp_path, monkeypatch):
    model, meta = registry.load("fcn_unittest")
    save_model(tmp_path / "fcn_small.pt", model, "fcn", meta["config"], 16000)
    entry = dict(name="fcn_small", task="denoise", family="fcn", sample_rate=16000, file="fcn_small.pt",
                 sha256=registry.sha256_file(tmp_path / "fcn_small.pt"), description="test", license="CC0",
                 default=True)
    (tmp_path / "models.json").write_text(json.dumps([entry]))
    monkeypatch.setattr(registry, "PRETRAINED_DIR", tmp_path)
    monkeypatch.setattr(registry, "INDEX_FILE", tmp_path / "models.json")
    loaded, lmeta = registry.load("fcn_small")
    assert lmeta["family"] == "fcn" and registry.list_models()[0].name == "fcn_small"
    assert registry.default_for("fcn").name == "fcn_small" and registry.default_for("segan") is None
    from audiorestore.enhancer import get_method

    assert get_method("fcn").checkpoint == "fcn_small"  # the family's default model, no --checkpoint needed
    with (tmp_path / "fcn_small.pt").open("ab") as f:
        f.write(b"x")
    with pytest.raises(AudioRestoreError, match="corrupt: sha256"):
        registry.load("fcn_small")


def test_models_cli_lists_entries_and_families(capsys):
    assert main(["models", "--task", "denoise", "--unittest"]) == 0
    out = capsys.readouterr().out
    assert "segan_unittest" in out and "audiounet_unittest" not in out
    assert main(["models"]) == 0  # the tiny untrained models are hidden by default
    out = capsys.readouterr().out
    assert "_unittest" not in out and "upsample_16to48" in out
    assert main(["models", "--families"]) == 0
    assert "segan" in capsys.readouterr().out


def test_denoise_defaults_to_the_shipped_default_model_else_logmmse(tmp_path, monkeypatch):
    import numpy as np

    import audiorestore as ar
    from audiorestore.api import default_denoise_method
    from audiorestore.enhancer import get_method

    shipped = tmp_path / "pretrained"
    monkeypatch.setattr(registry, "PRETRAINED_DIR", shipped)
    monkeypatch.setattr(registry, "INDEX_FILE", shipped / "models.json")
    x = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    assert default_denoise_method() == "logmmse"
    np.testing.assert_array_equal(ar.denoise(x, 16000), get_method("logmmse")(x, 16000))
    model, meta = registry.load("crm_unittest")
    ckpt = save_model(tmp_path / "crm.pt", model, "crm", meta["config"], 16000)
    registry.add_model(ckpt, "crm_test", "tiny", "CC0", default=True)
    assert default_denoise_method() == "crm" and registry.default_for("crm").name == "crm_test"
    np.testing.assert_allclose(ar.denoise(x, 16000), get_method("crm", checkpoint=str(ckpt))(x, 16000), atol=1e-6)
