"""Experiment configs and folders.

An experiment is a typed :class:`ExperimentConfig` (a TOML/YAML file is a serialised instance, with
dotted ``key=value`` overrides) and a directory::

    out_dir/
      config.toml           the resolved config (model config complete, every default written out)
      history.jsonl         one JSON record per log or validation event: {"step": .., "train/l1": ..}
      metrics.json          latest validation scores and the best so far
      checkpoints/last.pt   model + training state (optimizers, schedulers, EMA, RNG, step), atomic
      checkpoints/best.pt   model only, by ``trainer.best_metric``
      samples/              validation audio: noisy/clean once, the estimate at every validation

Re-running the same command in the same ``out_dir`` resumes from ``checkpoints/last.pt``.

Example:
    >>> cfg = load_experiment("recipes/denoise_fcn.toml", ["trainer.steps=10"])   # doctest: +SKIP
    >>> cfg.trainer.steps                                                         # doctest: +SKIP
    10
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .. import config as cfgio
from ..errors import ParameterError
from ..losses import ADVERSARIAL_TERMS, RECONSTRUCTION_LOSSES, check_loss_params
from ..models.registry import get_family
from ..io import write_text_atomic

log = logging.getLogger(__name__)


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@dataclass
class ModelSection:
    """Which network: a registered family and its config (a dict of that family's config fields)."""

    family: str = field(default="fcn", metadata=_doc("model family (see 'audiorestore models --families')"))
    tiny: bool = field(default=False, metadata=_doc("start from the family's tiny test config"))
    config: dict[str, Any] = field(default_factory=dict, metadata=_doc("family config fields"))


@dataclass
class DataSection:
    """Where the audio comes from, how examples are made and which files are held out."""

    kind: Literal["auto", "mixing", "superres", "autoencode"] = field(default="auto", metadata=_doc(
        "how examples are made: mixing (clean_dirs + noise/degrade, paired_dirs), superres (full-band "
        "clean_dirs band-limited on the fly to model.config.input_rate), autoencode (clean_dirs patches "
        "as input and target); auto: from the model family's task"))
    root: str = field(default="", metadata=_doc("folder every data path is relative to"))
    splits: str = field(default="", metadata=_doc("split file ([valid], [test], [never_train] patterns) to apply"))
    clean_dirs: list[str] = field(default_factory=list, metadata=_doc("clean speech folders (on-the-fly mixing)"))
    noise_dirs: list[str] = field(default_factory=list, metadata=_doc("noise folders (on-the-fly mixing)"))
    paired_dirs: list[str] = field(default_factory=list, metadata=_doc("folders with noisy/ and clean/ pairs"))
    manifests: list[str] = field(default_factory=list,
                                 metadata=_doc("corpus manifests ('audiorestore data prepare'); relative to root"))
    manifest_split: str = field(default="train", metadata=_doc("manifest split to train on"))
    manifest_valid_split: str = field(default="valid",
                                      metadata=_doc("manifest split held out for validation ('' for none)"))
    exclude: list[str] = field(default_factory=list, metadata=_doc("patterns never used (test sets)"))
    valid_clean: list[str] = field(default_factory=list, metadata=_doc("held-out speakers: clean patterns"))
    valid_noise: list[str] = field(default_factory=list, metadata=_doc("held-out noise file patterns"))
    valid_paired: list[str] = field(default_factory=list, metadata=_doc("held-out pairs: noisy-file patterns"))
    sample_rate: int = field(default=16000, metadata=_doc("training rate (files are resampled)"))
    segment_s: float = field(default=1.0, metadata=_doc("training crop length"))
    snr_db: tuple[float, float] = field(default=(-5.0, 20.0), metadata=_doc("mixing SNR range"))
    noise_colors: list[str] = field(default_factory=list, metadata=_doc(
        "synthetic coloured noises (white, pink, brown, blue, violet) mixed in instead of a noise file "
        "for a color_fraction share of the training examples (hiss and broadband noise)"))
    color_fraction: float = field(default=0.0, metadata=_doc("share of training examples with coloured noise"))
    noise_augment: float = field(default=0.0, metadata=_doc(
        "share of noise-file examples whose noise gets a random speed, a random equaliser and sometimes a "
        "second noise (widens a small noise collection)"))
    speech_augment: float = field(default=0.0, metadata=_doc(
        "share of training examples whose clean speech (input and target alike) goes through a random "
        "equaliser of +-speech_eq_db, so that a network cannot learn one corpus's microphone and voices "
        "as the shape of speech (RNNoise, Valin 2018, Sec. 4)"))
    speech_eq_db: float = field(default=10.0, metadata=_doc("largest gain of the speech equaliser (dB)"))
    speech_speed: list[float] = field(default_factory=list, metadata=_doc(
        "[low, high]: play the clean speech of speech_augment's share of examples at a random speed in this "
        "range as well (log-uniform; pitch and formants move together, like another, shorter or longer "
        "vocal tract: speed perturbation, Ko et al., Interspeech 2015); empty: off"))
    gain_db: tuple[float, float] = field(default=(-10.0, 0.0), metadata=_doc("random level of each example"))
    level_db: list[float] = field(default_factory=list, metadata=_doc(
        "[low, high] dBFS: scale each example so its noisy RMS sits at a level drawn from this range "
        "(instead of gain_db on the file's own level); inference then scales the whole input to the "
        "middle of the range, so waveform models see the levels they were trained on"))
    mix: dict[str, Any] = field(default_factory=dict, metadata=_doc(
        "non-empty: train (and validate) on data.speech_mix.SpeechMixDataset instead of the simple mixer: "
        "speakers drawn evenly, rooms, 1-3 noise sources, babble; keys are its arguments plus babble_dirs "
        "and babble (patterns of speakers held apart for babble only) and rir_files (relative to root)"))
    paired_fraction: float = field(default=0.5, metadata=_doc("share of recorded pairs when both kinds exist"))
    degrade: dict[str, Any] = field(default_factory=dict,
                                    metadata=_doc("simulate chain: {stage name: {param: value or [lo, hi]}}"))
    fixed_filter_fraction: float = field(default=0.5, metadata=_doc(
        "superres: share of examples band-limited by Kuleshov et al.'s filter (Chebyshev I, order 8); "
        "the rest draw a filter from data.degrade.lowpass_decimate (or the defaults)"))
    noise_floor_db: list[float] = field(default_factory=list, metadata=_doc(
        "superres: [low, high] dB relative to a patch's RMS: a white or pink noise floor added to the "
        "full-band patch (target and input alike) for a noise_floor_fraction share of the examples, as "
        "real recordings have"))
    noise_floor_fraction: float = field(default=0.0, metadata=_doc("superres: share of examples with a noise floor"))
    batch_size: int = field(default=16, metadata=_doc("examples per step (per process)"))
    num_workers: int = field(default=2, metadata=_doc("data loading processes"))
    valid_count: int = field(default=64, metadata=_doc("mixed validation examples"))
    valid_segment_s: float = field(default=4.0, metadata=_doc("validation example length"))


@dataclass
class OptimSection:
    name: Literal["adam", "adamw"] = field(default="adam", metadata=_doc("optimizer"))
    lr: float = field(default=3e-4, metadata=_doc("learning rate (generator)"))
    disc_lr: float = field(default=0.0, metadata=_doc("discriminator learning rate (0: same as lr)"))
    betas: tuple[float, float] = field(default=(0.9, 0.999), metadata=_doc("Adam betas"))
    weight_decay: float = field(default=0.0, metadata=_doc("weight decay"))


@dataclass
class ScheduleSection:
    kind: Literal["constant", "cosine", "step"] = field(default="constant", metadata=_doc("learning-rate schedule"))
    warmup_steps: int = field(default=0, metadata=_doc("linear warm-up steps"))
    min_lr_ratio: float = field(default=0.0, metadata=_doc("cosine: final lr / lr"))
    step_size: int = field(default=10000, metadata=_doc("step: steps between decays"))
    gamma: float = field(default=0.5, metadata=_doc("step: decay factor"))


@dataclass
class LossSection:
    weights: dict[str, float] = field(default_factory=lambda: {"l1": 1.0},
                                      metadata=_doc("{loss name: weight}; 'adv', 'feature_matching' for GANs"))
    params: dict[str, dict[str, Any]] = field(
        default_factory=dict,
        metadata=_doc("{loss name: {parameter: value}} passed to the loss, e.g. [loss.params.deep_feature] "
                      "checkpoint = \"lossnet.pt\" (relative paths: to the working directory)"))
    gan: Literal["lsgan", "hinge", "nsgan"] = field(default="lsgan", metadata=_doc("adversarial loss kind"))
    conditional: bool = field(default=True, metadata=_doc("give the discriminator the noisy input as cond"))
    disc_start: int = field(default=0, metadata=_doc("steps of reconstruction-only training first"))


@dataclass
class TrainerSection:
    step: Literal["auto", "supervised", "gan"] = field(default="auto",
                                                       metadata=_doc("step function (auto: gan if adv weight > 0)"))
    steps: int = field(default=100_000, metadata=_doc("total optimisation steps"))
    log_every: int = field(default=50, metadata=_doc("steps between training log records"))
    eval_every: int = field(default=1000, metadata=_doc("steps between validations"))
    ckpt_every: int = field(default=500, metadata=_doc("steps between checkpoints"))
    keep_every: int = field(default=0, metadata=_doc(
        "steps between kept model-only snapshots checkpoints/step_NNNNNNN.pt, for choosing a checkpoint "
        "afterwards on other validation sets (0: off)"))
    grad_clip: float = field(default=0.0, metadata=_doc("max gradient norm (0: off)"))
    ema: float = field(default=0.0, metadata=_doc("EMA decay of the weights (0: off), e.g. 0.999"))
    amp: bool = field(default=True, metadata=_doc("mixed precision (CUDA only)"))
    seed: int = field(default=0, metadata=_doc("seed of model init, data and latent codes"))
    device: str = field(default="auto", metadata=_doc("auto, cpu, cuda, cuda:1, ..."))
    metrics: list[str] = field(default_factory=lambda: ["si_sdr"], metadata=_doc("validation metrics"))
    best_metric: str = field(default="valid/loss", metadata=_doc("history key that selects best.pt"))
    best_mode: Literal["min", "max"] = field(default="min", metadata=_doc("lower or higher is better"))
    samples: int = field(default=2, metadata=_doc("validation examples written as audio"))
    init_from: str = field(default="", metadata=_doc(
        "checkpoint whose model weights start a new run (fine-tuning; same family and sizes); a resumed "
        "run continues from its own checkpoint"))
    pretrain_steps: int = field(default=0, metadata=_doc(
        "greedy layer-wise pretraining steps per hidden layer before training (dae, rdae, ddae_mel; "
        "Lu et al. 2013, Sec. 2); 0: off"))


@dataclass
class ExperimentConfig:
    """Everything a training run needs; the file a recipe holds."""

    name: str = field(default="", metadata=_doc("free-form experiment name"))
    out_dir: str = field(default="experiments/run", metadata=_doc("experiment directory"))
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    optim: OptimSection = field(default_factory=OptimSection)
    schedule: ScheduleSection = field(default_factory=ScheduleSection)
    loss: LossSection = field(default_factory=LossSection)
    trainer: TrainerSection = field(default_factory=TrainerSection)


# ------------------------------------------------------------------------------------ resolution
def family_config(model: ModelSection) -> Any:
    """The family's config dataclass: defaults (or the tiny config), updated with ``model.config``."""
    spec = get_family(model.family)
    base = spec.tiny() if model.tiny else spec.config_cls()
    merged = {**dataclasses.asdict(base), **model.config}
    try:
        return cfgio.from_dict(spec.config_cls, merged)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ParameterError):
            raise
        raise ParameterError(f"model.config for '{model.family}': {exc}") from None


def complete_model(model: ModelSection) -> ModelSection:
    """``model`` with every field of its family's config written out (defaults filled in)."""
    return dataclasses.replace(model, config=cfgio.to_dict(family_config(model)))


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def apply_splits(data: DataSection) -> DataSection:
    """Merge a split file into the data section: its ``[valid]`` speech and noise patterns are held
    out for validation, its ``[test]`` and ``[never_train]`` patterns are excluded from everything.

    The file (e.g. ``recipes/splits.toml``) fixes the held-out speakers and noise recordings once for
    every recipe and benchmark. Merging is idempotent, so a resolved config can be resolved again.
    """
    if not data.splits:
        return data
    sp = cfgio.load_dict(data.splits)
    valid, test = sp.get("valid", {}), sp.get("test", {})
    never = sp.get("never_train", {}).get("paths", [])
    held = [*test.get("speech", []), *test.get("noise", []), *test.get("pairs", []), *never]
    return dataclasses.replace(
        data, valid_clean=_unique([*data.valid_clean, *valid.get("speech", [])]),
        valid_noise=_unique([*data.valid_noise, *valid.get("noise", [])]),
        exclude=_unique([*data.exclude, *held]))


def apply_manifests(data: DataSection) -> DataSection:
    """Add the entries of ``data.manifests`` to the data folders: clean-only entries to ``clean_dirs``,
    noise-only ones to ``noise_dirs``, noisy/clean pairs to ``paired_dirs`` (as
    :func:`audiorestore.data.datasets.manifest_source` strings), for ``manifest_split`` and
    ``manifest_valid_split``; the latter's entries are held out by ``valid_*`` patterns. Test
    entries are never read. Idempotent, like :func:`apply_splits`.

    Example:
        >>> d = apply_manifests(DataSection(manifests=["vb.jsonl"]))    # doctest: +SKIP
        >>> d.paired_dirs                                               # doctest: +SKIP
        ['manifest:pair:train:vb.jsonl']
    """
    if not data.manifests:
        return data
    from ..data.datasets import manifest_roles, manifest_source, manifest_valid_pattern

    dirs = {"clean": list(data.clean_dirs), "noise": list(data.noise_dirs), "pair": list(data.paired_dirs)}
    valid = {"clean": list(data.valid_clean), "noise": list(data.valid_noise), "pair": list(data.valid_paired)}
    train, held = data.manifest_split, data.manifest_valid_split
    for m in data.manifests:
        roles = manifest_roles(data.root, m)
        if not roles.get(train):
            raise ParameterError(f"data.manifests: {m} has no trainable entries in split '{train}' "
                                 f"(its splits: {', '.join(sorted(roles)) or 'none'})")
        for split in [train] + ([held] if held and held != train else []):
            for role in sorted(roles.get(split, ())):
                dirs[role].append(manifest_source(role, split, m))
                if split == held:
                    valid[role].append(manifest_valid_pattern(m, split))
    return dataclasses.replace(
        data, clean_dirs=_unique(dirs["clean"]), noise_dirs=_unique(dirs["noise"]), paired_dirs=_unique(dirs["pair"]),
        valid_clean=_unique(valid["clean"]), valid_noise=_unique(valid["noise"]), valid_paired=_unique(valid["pair"]))


def resolve(cfg: ExperimentConfig) -> ExperimentConfig:
    """Check a config and write every model field out (``model.config`` complete, split file merged).

    Raises ParameterError for an unknown family or loss name, a GAN loss on a family without a
    discriminator, or a family whose config names a different sample rate.
    """
    out = dataclasses.replace(cfg, model=complete_model(cfg.model), data=apply_manifests(apply_splits(cfg.data)))
    spec = get_family(cfg.model.family)
    for name, _w in cfg.loss.weights.items():
        if name not in RECONSTRUCTION_LOSSES and name not in ADVERSARIAL_TERMS:
            known = ", ".join(sorted(RECONSTRUCTION_LOSSES) + list(ADVERSARIAL_TERMS))
            raise ParameterError(f"loss.weights: unknown loss '{name}' (known: {known})")
    kind = data_kind(cfg)
    if kind == "superres" and spec.task != "upsample":
        raise ParameterError(f"data.kind 'superres' trains super-resolution models; '{spec.name}' is a "
                             f"{spec.task} model")
    if kind == "superres" and not 0.0 <= cfg.data.fixed_filter_fraction <= 1.0:
        raise ParameterError(f"data.fixed_filter_fraction must lie in [0, 1], got {cfg.data.fixed_filter_fraction}")
    for name, params in cfg.loss.params.items():
        if name not in cfg.loss.weights:
            raise ParameterError(f"loss.params.{name}: the loss '{name}' has no weight in loss.weights")
        if not isinstance(params, dict):
            raise ParameterError(f"loss.params.{name} must be a table of parameters, got {params!r}")
        check_loss_params(name, params)
    if step_kind(cfg) == "gan" and spec.discriminator is None:
        raise ParameterError(f"model family '{spec.name}' has no discriminator; remove the 'adv' loss weight")
    rate = out.model.config.get("sample_rate")
    if isinstance(rate, int) and rate != cfg.data.sample_rate:
        raise ParameterError(f"model.config.sample_rate is {rate} but data.sample_rate is {cfg.data.sample_rate}")
    t = cfg.trainer
    if min(t.steps, t.log_every, t.eval_every, t.ckpt_every, cfg.data.batch_size) <= 0:
        raise ParameterError("trainer.steps, log_every, eval_every, ckpt_every and data.batch_size must be positive")
    if t.pretrain_steps < 0:
        raise ParameterError(f"trainer.pretrain_steps must be >= 0, got {t.pretrain_steps}")
    return out


def data_kind(cfg: ExperimentConfig) -> str:
    """How examples are made: ``data.kind``, or for ``auto`` the family's task (``upsample`` ->
    ``superres``, ``autoencode`` -> ``autoencode``, anything else -> ``mixing``).

    ``auto`` is kept as is in saved configs, so experiments saved before ``data.kind`` existed resume.
    """
    if cfg.data.kind != "auto":
        return cfg.data.kind
    task = get_family(cfg.model.family).task
    return {"upsample": "superres", "autoencode": "autoencode"}.get(task, "mixing")


def step_kind(cfg: ExperimentConfig) -> str:
    """``"gan"`` or ``"supervised"`` (``auto``: gan when the ``adv`` weight is positive)."""
    if cfg.trainer.step != "auto":
        return cfg.trainer.step
    return "gan" if cfg.loss.weights.get("adv", 0.0) > 0 else "supervised"


def apply_overrides(cfg: ExperimentConfig, overrides: list[str]) -> ExperimentConfig:
    """Dotted ``key=value`` overrides; ``model.config.X`` is typed by the family's config,
    ``loss.weights.NAME`` may add a loss and ``loss.params.NAME.KEY`` sets a loss parameter (the value
    is read as a TOML value, else taken as a string).

    Example:
        >>> c = apply_overrides(ExperimentConfig(), ["trainer.steps=5", "loss.weights.mrstft=0.5"])
        >>> c.trainer.steps, c.loss.weights
        (5, {'l1': 1.0, 'mrstft': 0.5})
        >>> apply_overrides(c, ["loss.params.deep_feature.n_layers=4"]).loss.params
        {'deep_feature': {'n_layers': 4}}
    """
    plain, model_sets, weights = [], [], dict(cfg.loss.weights)
    params = {k: dict(v) for k, v in cfg.loss.params.items()}
    for item in overrides:
        if "=" not in item:
            raise ParameterError(f"override '{item}' is not of the form key=value")
        key, value = item.split("=", 1)
        key = key.strip()
        if key.startswith("model.config."):
            model_sets.append(f"{key[len('model.config.'):]}={value}")
        elif key.startswith("loss.weights."):
            weights[key[len("loss.weights."):]] = cfgio.coerce_value(value, float, key)
        elif key.startswith("loss.params."):
            name, _, param = key[len("loss.params."):].partition(".")
            if not name or not param:
                raise ParameterError(f"override '{key}': use loss.params.LOSS.PARAMETER=value")
            params.setdefault(name, {})[param] = _parse_value(value)
        else:
            plain.append(f"{key}={value}")
    out = cfgio.apply_overrides(cfg, plain)
    out = dataclasses.replace(out, loss=dataclasses.replace(out.loss, weights=weights, params=params))
    if model_sets:
        try:
            fam = cfgio.apply_overrides(family_config(out.model), model_sets)
        except ParameterError as exc:
            raise ParameterError(f"model.config of '{out.model.family}': {exc}") from None
        out = dataclasses.replace(out, model=dataclasses.replace(out.model, config=cfgio.to_dict(fam)))
    return out


def _parse_value(text: str) -> Any:
    """A command-line value as TOML (numbers, booleans, lists, quoted strings), else the plain string."""
    import tomllib

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def load_experiment(path: str | os.PathLike, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read a TOML/YAML/JSON experiment file, apply overrides, resolve (see :func:`resolve`)."""
    cfg = apply_overrides(cfgio.from_dict(ExperimentConfig, cfgio.load_dict(path)), overrides or [])
    splits = Path(cfg.data.splits)
    if cfg.data.splits and not splits.is_absolute():  # relative to the config file, like an include
        splits = (Path(path).parent / splits).resolve()
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, splits=str(splits)))
    return resolve(cfg)


def _diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _diff(a.get(k), b.get(k), f"{prefix}{k}.")
        return out
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        a, b = list(a), list(b)
    return [] if a == b else [f"{prefix.rstrip('.')}: {a!r} -> {b!r}"]


#: Config keys that may change between a run and its resumption.
RESUMABLE_CHANGES = ("trainer.steps", "trainer.log_every", "trainer.eval_every", "trainer.ckpt_every", "trainer.keep_every",
                     "trainer.device", "trainer.samples", "data.num_workers", "data.root", "data.splits",
                     "out_dir", "name")


# ----------------------------------------------------------------------------------- directory
class Experiment:
    """The experiment directory: paths, the saved config, the history file.

    Example:
        >>> exp = Experiment("experiments/fcn")             # doctest: +SKIP
        >>> exp.history()[-1]["step"]                       # doctest: +SKIP
    """

    def __init__(self, out_dir: str | os.PathLike) -> None:
        self.root = Path(out_dir)
        self.config_path = self.root / "config.toml"
        self.history_path = self.root / "history.jsonl"
        self.metrics_path = self.root / "metrics.json"
        self.last = self.root / "checkpoints" / "last.pt"
        self.best = self.root / "checkpoints" / "best.pt"
        self.samples = self.root / "samples"

    def can_resume(self) -> bool:
        return self.last.exists()

    def check_config(self, cfg: ExperimentConfig) -> None:
        """Refuse to resume a run whose saved config differs in anything but :data:`RESUMABLE_CHANGES`."""
        if not self.config_path.exists():
            return
        saved = cfgio.load_dict(self.config_path)
        now = cfgio.from_dict(ExperimentConfig, saved)
        try:  # a model field added since the run was saved counts at its default, which the run used
            now = dataclasses.replace(now, model=complete_model(now.model))
        except ParameterError:
            pass  # not buildable any more: the diff below reports the differences
        changes = [d for d in _diff(cfgio.to_dict(now), cfgio.to_dict(cfg))
                   if not d.split(":")[0].startswith(RESUMABLE_CHANGES)]
        if changes:
            raise ParameterError(f"{self.root} holds a run with a different config ({'; '.join(changes[:3])}); "
                                 "use another out_dir to start a new run")

    def save_config(self, cfg: ExperimentConfig) -> Path:
        return cfgio.save(cfg, self.config_path)

    def append(self, record: dict[str, Any]) -> None:
        """Append one JSON record to history.jsonl."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.history_path, "a") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")

    def history(self) -> list[dict[str, Any]]:
        """All history records (a torn last line from a kill is skipped)."""
        if not self.history_path.exists():
            return []
        out = []
        for line in self.history_path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                log.warning("%s: skipping an incomplete line", self.history_path)
        return out

    def truncate_history(self, step: int) -> None:
        """Keep records up to ``step`` (those written after the checkpoint a resume starts from go)."""
        kept = [r for r in self.history() if r.get("step", 0) <= step]
        write_text_atomic(self.history_path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))

    def write_metrics(self, data: dict[str, Any]) -> None:
        write_text_atomic(self.metrics_path, json.dumps(data, indent=2, sort_keys=True) + "\n")
