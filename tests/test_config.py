"""Typed dataclass configs (audiorestore.config): overrides, file round trips, errors."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from typing import Literal

import pytest

from audiorestore import config
from audiorestore.errors import ParameterError


@dataclass
class Optim:
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    kind: Literal["adam", "sgd"] = "adam"


@dataclass
class Data:
    sample_rate: int = 16000
    segment_s: float = 1.0
    corpora: list[str] = field(default_factory=lambda: ["vctk"])


@dataclass
class Experiment:
    name: str = "run"
    steps: int = 100
    amp: bool = False
    seed: int | None = None
    note: str | None = None
    optim: Optim = field(default_factory=Optim)
    data: Data = field(default_factory=Data)
    weights: dict[str, float] = field(default_factory=lambda: {"l1": 1.0, "stft": 0.5})


# ------------------------------------------------------------------------------------- overrides
def test_apply_overrides_coerces_each_type_and_leaves_the_original_alone():
    base = Experiment()
    cfg = config.apply_overrides(base, [
        "steps=5", "amp=yes", "seed=3", "name = a=b", "optim.lr=1e-2", "optim.betas=0.5,0.6", "optim.kind=sgd",
        "data.corpora=[vctk, dns]", "data.sample_rate=8e3", "weights.l1=2",
    ])
    assert cfg.steps == 5 and cfg.amp is True and cfg.seed == 3
    assert cfg.name == " a=b"  # only the first '=' splits; the value is taken as given
    assert cfg.optim == Optim(lr=0.01, betas=(0.5, 0.6), kind="sgd")
    assert cfg.data.corpora == ["vctk", "dns"] and cfg.data.sample_rate == 8000
    assert isinstance(cfg.data.sample_rate, int)
    assert cfg.weights == {"l1": 2.0, "stft": 0.5}
    assert base == Experiment()


def test_later_overrides_win_and_none_clears_an_optional():
    cfg = config.apply_overrides(Experiment(seed=1), ["steps=1", "steps=2", "seed=none"])
    assert cfg.steps == 2 and cfg.seed is None


@pytest.mark.parametrize("override,message", [
    ("nope=1", "unknown config key 'nope'"),
    ("optim.nope=1", "unknown config key 'optim.nope'"),
    ("steps.x=1", "unknown config key 'steps.x'"),
    ("weights.new=1", "unknown config key 'weights.new'"),
    ("steps", "is not of the form key=value"),
    ("steps=abc", "steps must be an integer, got 'abc'"),
    ("steps=2.5", "steps must be an integer"),
    ("optim.lr=fast", "optim.lr must be a number"),
    ("amp=maybe", "amp must be true or false"),
    ("optim.kind=rmsprop", "optim.kind must be one of adam, sgd"),
    ("optim=3", "optim is a section (Optim)"),
])
def test_bad_overrides_are_parameter_errors(override, message):
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config.apply_overrides(Experiment(), [override])


def test_coerce_value_examples():
    assert config.coerce_value("1e3", int) == 1000
    assert config.coerce_value("off", bool) is False
    assert config.coerce_value("null", int | None) is None
    assert config.coerce_value("7", int | None) == 7
    assert config.coerce_value("(1, 2)", tuple[int, ...]) == (1, 2)
    assert config.coerce_value(3, float) == 3.0


def test_configs_defined_inside_a_function_still_nest():
    # With postponed annotations a local class's annotations cannot be resolved by name; nested
    # sections must still be rebuilt as dataclasses, not left as dicts.
    @dataclass
    class Inner:
        lr: float = 0.1

    @dataclass
    class Outer:
        inner: Inner = field(default_factory=Inner)
        steps: int = 1

    cfg = config.apply_overrides(Outer(), ["inner.lr=0.5", "steps=4"])
    assert isinstance(cfg.inner, Inner) and cfg.inner.lr == 0.5 and cfg.steps == 4


# -------------------------------------------------------------------------------------- dict I/O
def test_from_dict_rejects_unknown_keys_naming_the_class():
    with pytest.raises(ParameterError, match=r"Experiment: unknown keys \['stepz'\]"):
        config.from_dict(Experiment, {"stepz": 1})
    with pytest.raises(ParameterError, match=r"Optim: unknown keys \['lrr'\] \(known: \['betas', 'kind', 'lr'\]\)"):
        config.from_dict(Experiment, {"optim": {"lrr": 1}})


def test_from_dict_of_to_dict_is_identity():
    cfg = Experiment(name="x", seed=5, optim=Optim(kind="sgd"), data=Data(corpora=[]))
    assert config.from_dict(Experiment, config.to_dict(cfg)) == cfg


# ------------------------------------------------------------------------------------ file I/O
TRICKY = Experiment(
    name='quotes " and \\ backslash\ttab\nnewline, ünïcödé, emoji 😀',
    steps=123456789,
    amp=True,
    seed=0,
    optim=Optim(lr=1e-5, betas=(0.0, 1.0), kind="sgd"),
    data=Data(sample_rate=48000, segment_s=math.inf, corpora=["a b", "c,d", ""]),
    weights={"l1": 1.0, "mr stft": 0.25, "feature.vgg": 1e-3},
)


@pytest.mark.parametrize("suffix", [".toml", ".json", ".yaml"])
def test_save_load_round_trip(tmp_path, suffix):
    if suffix == ".yaml":
        pytest.importorskip("yaml")
    path = config.save(TRICKY, tmp_path / "exp" / f"config{suffix}")  # parent folder is created
    assert path.exists()
    assert config.load(Experiment, path) == TRICKY
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_toml_file_is_plain_readable_toml(tmp_path):
    import tomllib

    path = config.save(Experiment(), tmp_path / "c.toml")
    text = path.read_text(encoding="utf-8")
    assert "[optim]" in text and 'kind = "adam"' in text and "steps = 100" in text
    assert "seed" not in text  # None has no TOML spelling: it is omitted and comes back as the default
    assert tomllib.loads(text)["weights"] == {"l1": 1.0, "stft": 0.5}
    assert config.load(Experiment, path) == Experiment()


def test_dumps_toml_handles_nested_tables():
    text = config.dumps_toml({"a": 1, "b": {"c": [1, 2], "d": {"e": "x"}}})
    import tomllib

    assert tomllib.loads(text) == {"a": 1, "b": {"c": [1, 2], "d": {"e": "x"}}}


def test_load_applies_overrides_after_the_file(tmp_path):
    path = config.save(Experiment(steps=7), tmp_path / "c.toml")
    cfg = config.load(Experiment, path, ["optim.lr=0.5"])
    assert cfg.steps == 7 and cfg.optim.lr == 0.5


def test_load_errors(tmp_path):
    with pytest.raises(ParameterError, match="config file not found"):
        config.load(Experiment, tmp_path / "missing.toml")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"steps": 1, "optimiser": {"lr": 1}}))
    with pytest.raises(ParameterError, match=r"unknown keys \['optimiser'\]"):
        config.load(Experiment, bad)
    wrong_type = tmp_path / "wrong.toml"
    wrong_type.write_text('steps = "many"\n')
    with pytest.raises(ParameterError, match="steps must be an integer"):
        config.load(Experiment, wrong_type)


def test_field_doc_reads_metadata():
    @dataclass
    class Documented:
        x: int = field(default=1, metadata={"doc": "the x"})
        y: int = 2

    fx, fy = dataclasses.fields(Documented)
    assert config.field_doc(fx) == "the x" and config.field_doc(fy) == ""


def test_a_config_file_extends_its_base(tmp_path):
    from audiorestore.config import load_dict

    (tmp_path / "a.toml").write_text('name = "a"\n[t]\nx = 1\ny = [1, 2]\n[u]\nz = 3\n')
    (tmp_path / "b.toml").write_text('base = "a.toml"\nname = "b"\n[t]\ny = [5]\n')
    assert load_dict(tmp_path / "b.toml") == {"name": "b", "t": {"x": 1, "y": [5]}, "u": {"z": 3}}
    (tmp_path / "c.toml").write_text('base = "d.toml"\n')
    (tmp_path / "d.toml").write_text('base = "c.toml"\n')
    with pytest.raises(ParameterError, match="loop"):
        load_dict(tmp_path / "c.toml")
