"""Named pretrained models: one :func:`load` (checksum verified) and :func:`list_models`.

Each entry is a frozen :class:`PretrainedModel` (torchaudio's bundles, with demucs' checksums).
Shipped weights live in ``audiorestore/pretrained/`` (package data) and are listed in
``pretrained/models.json``: a JSON list of entries with the fields of :class:`PretrainedModel`, so a
trained model is added by dropping its checkpoint there and adding one record, without code.

Every registered model family also has a tiny, untrained ``<family>_unittest`` entry, built in
memory from the family's tiny config with fixed seed 0: tests and demos get a real model of every
family without any file (demucs' ``demucs_unittest``).

Example:
    >>> from audiorestore import registry
    >>> [m.name for m in registry.list_models(task="denoise")][:2]       # doctest: +SKIP
    ['crm_unittest', 'dae_unittest']
    >>> model, meta = registry.load("fcn_unittest")                      # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import AudioRestoreError, ParameterError

if TYPE_CHECKING:  # torch is imported by load(), not by listing the models
    import torch
    from torch import nn

log = logging.getLogger(__name__)

PRETRAINED_DIR = Path(__file__).parent / "pretrained"
INDEX_FILE = PRETRAINED_DIR / "models.json"
UNITTEST_SUFFIX = "_unittest"


@dataclass(frozen=True)
class PretrainedModel:
    """A named model: what it does, at which rate, where its weights are and how to check them."""

    name: str
    task: str
    family: str
    sample_rate: int
    file: str
    sha256: str
    description: str
    license: str
    #: The family's default model: ``--method <family>`` without ``--checkpoint`` uses it.
    default: bool = False
    #: Upsamplers: the input rate the model was trained for (``sample_rate`` is its output rate).
    input_rate: int = 0
    #: Inference parameters this model runs with when it is called by name (chosen on validation data,
    #: e.g. ``{"keep_input_band": 0.7}`` for an upsampler); parameters given explicitly win.
    params: dict = field(default_factory=dict)

    @property
    def path(self) -> Path | None:
        """The weight file (None for an in-memory unittest entry)."""
        return PRETRAINED_DIR / self.file if self.file else None

    @property
    def is_unittest(self) -> bool:
        return not self.file and self.name.endswith(UNITTEST_SUFFIX)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _shipped() -> list[PretrainedModel]:
    if not INDEX_FILE.exists():
        return []
    try:
        records = json.loads(INDEX_FILE.read_text())
        names = {f.name for f in fields(PretrainedModel)}
        return [PretrainedModel(**{k: v for k, v in r.items() if k in names}) for r in records]
    except (ValueError, TypeError) as exc:
        raise AudioRestoreError(f"pretrained model index is unreadable ({exc})", str(INDEX_FILE)) from None


def _unittest_entries() -> list[PretrainedModel]:
    from .models.registry import list_families

    out = []
    for spec in list_families():
        rate = getattr(spec.tiny(), "sample_rate", 16000)
        out.append(PretrainedModel(
            name=f"{spec.name}{UNITTEST_SUFFIX}", task=spec.task, family=spec.name,
            sample_rate=int(rate) if isinstance(rate, int) else 16000, file="", sha256="",
            description=f"tiny untrained {spec.name} (for tests; outputs are meaningless)", license="Apache-2.0"))
    return out


def list_models(task: str | None = None, include_unittest: bool = True) -> list[PretrainedModel]:
    """Every named model (optionally of one task), shipped ones first, each group sorted by name."""
    shipped = sorted(_shipped(), key=lambda m: m.name)
    tests = _unittest_entries() if include_unittest else []
    return [m for m in shipped + tests if task is None or m.task == task]


def names() -> list[str]:
    return [m.name for m in list_models()]


def get(name: str) -> PretrainedModel:
    """The entry called ``name``; ParameterError lists the known names."""
    # shipped entries first, as in list_models(); the unittest ones build every model family
    for m in _shipped() + (_unittest_entries() if name.endswith(UNITTEST_SUFFIX) else []):
        if m.name == name:
            return m
    raise ParameterError(f"unknown pretrained model '{name}' (known: {', '.join(names()) or 'none'})")


def default_for(family: str) -> PretrainedModel | None:
    """The shipped default model of a family, if any."""
    for m in _shipped():
        if m.family == family and m.default:
            return m
    return None


def upsampler_for(input_rate: int, target_rate: int) -> PretrainedModel | None:
    """The shipped super-resolution model trained for ``input_rate -> target_rate``, if any."""
    for m in sorted(_shipped(), key=lambda m: (not m.default, m.name)):
        if m.task == "upsample" and m.input_rate == int(input_rate) and m.sample_rate == int(target_rate):
            return m
    return None


def upsampler_chain(input_rate: int, target_rate: int) -> list[PretrainedModel]:
    """The shipped super-resolution models that take ``input_rate`` towards ``target_rate``, in order.

    The model trained for exactly that ratio, if there is one. Otherwise, from the input rate on, the
    model trained for the current rate (of those, the one with the lowest output rate that reaches
    ``target_rate``, else the one that goes highest), then the same from its output rate, until
    ``target_rate`` is reached or no model starts at the current rate: 8 kHz -> 48 kHz is the 8 -> 16
    kHz model, then the 16 -> 48 kHz one; 16 kHz -> 44.1 kHz is the 16 -> 48 kHz model (whose output
    the caller resamples to 44.1 kHz). Empty when no model starts at ``input_rate`` or the target is
    not above it.

    Example:
        >>> [m.name for m in upsampler_chain(8000, 48000)]          # doctest: +SKIP
        ['upsample_8to16', 'upsample_16to48']
    """
    exact = upsampler_for(input_rate, target_rate)
    if exact is not None:
        return [exact]
    models = [m for m in sorted(_shipped(), key=lambda m: (not m.default, m.name)) if m.task == "upsample"]
    chain: list[PretrainedModel] = []
    rate = int(input_rate)
    while rate < int(target_rate):
        starts = [m for m in models if m.input_rate == rate and m.sample_rate > rate]
        if not starts:
            break
        reaching = [m for m in starts if m.sample_rate >= int(target_rate)]
        best = min(reaching, key=lambda m: m.sample_rate) if reaching else max(starts, key=lambda m: m.sample_rate)
        chain.append(best)
        rate = best.sample_rate
    return chain


def _shipped_entry(checkpoint: str | Path) -> PretrainedModel | None:
    """The shipped model that ``checkpoint`` names, or None for an existing file or an unknown name."""
    if Path(checkpoint).exists():
        return None
    return next((m for m in _shipped() if m.name == str(checkpoint)), None)


def shipped_params(checkpoint: str | Path) -> dict:
    """The inference parameters of a shipped model name (``{}`` for a file path or an unknown name)."""
    entry = _shipped_entry(checkpoint)
    return dict(entry.params) if entry is not None else {}


def resolve(checkpoint: str | Path) -> Path:
    """A checkpoint path as is, or the verified weight file of a shipped model name."""
    entry = _shipped_entry(checkpoint)
    return Path(checkpoint) if entry is None else verify(entry)


def add_model(checkpoint: str | Path, name: str, description: str, license: str, default: bool = False,
              directory: Path | None = None, params: dict | None = None) -> PretrainedModel:
    """Ship a trained checkpoint: copy its inference package (no training state) to
    ``pretrained/NAME.pt`` and add or replace its record in ``models.json``, both atomically.

    Task, family and rates come from the checkpoint. With ``default``, the other models of the same
    family (and, for upsamplers, of the same ratio) stop being the default.

    Example:
        >>> add_model("experiments/default_denoise_16k/checkpoints/best.pt", "denoise_16k",
        ...           "16 kHz speech denoiser", "research use only", default=True)   # doctest: +SKIP
    """
    from .io import write_text_atomic
    from .models.registry import get_family
    from .train.checkpoint import atomic_torch_save, load_package

    if not name or not name.replace("_", "").replace("-", "").isalnum() or name.endswith(UNITTEST_SUFFIX):
        raise ParameterError(f"model name must be letters, digits, '_' or '-' (not *{UNITTEST_SUFFIX}), got '{name}'")
    folder = Path(directory) if directory is not None else PRETRAINED_DIR
    pkg = load_package(checkpoint)
    pkg.pop("train_state", None)
    spec = get_family(str(pkg["family"]))
    input_rate = int(pkg["config"].get("input_rate", 0)) if spec.task == "upsample" else 0
    weights = folder / f"{name}.pt"
    atomic_torch_save(pkg, weights)
    entry = PretrainedModel(name=name, task=spec.task, family=spec.name, sample_rate=int(pkg["sample_rate"]),
                            file=weights.name, sha256=sha256_file(weights), description=description,
                            license=license, default=default, input_rate=input_rate, params=dict(params or {}))
    index = folder / INDEX_FILE.name
    records = json.loads(index.read_text()) if index.exists() else []
    records = [r for r in records if r.get("name") != name]
    if default:
        for r in records:
            same_ratio = spec.task != "upsample" or (r.get("input_rate") == input_rate
                                                     and r.get("sample_rate") == entry.sample_rate)
            if r.get("family") == spec.name and same_ratio:
                r["default"] = False
    records.append({f.name: getattr(entry, f.name) for f in fields(PretrainedModel)})
    write_text_atomic(index, json.dumps(sorted(records, key=lambda r: r["name"]), indent=2) + "\n")
    log.info("shipped %s (%s, %s) as %s", name, spec.task, spec.name, weights)
    return entry


def verify(entry: PretrainedModel) -> Path:
    """Check that a shipped entry's file exists and matches its sha256; return its path."""
    path = entry.path
    if path is None:
        raise ParameterError(f"'{entry.name}' has no weight file")
    if not path.exists():
        raise AudioRestoreError(f"weights of '{entry.name}' are missing (reinstall audiorestore)", str(path))
    digest = sha256_file(path)
    if digest != entry.sha256:
        raise AudioRestoreError(f"weights of '{entry.name}' are corrupt: sha256 {digest[:12]}... "
                                f"!= {entry.sha256[:12]}...", str(path))
    return path


def load(name: str, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Load a named model in eval mode; returns ``(model, metadata)`` like
    :func:`audiorestore.train.checkpoint.load_model`.

    Example:
        >>> model, meta = load("segan_unittest")        # doctest: +SKIP
        >>> meta["family"], meta["sample_rate"]         # doctest: +SKIP
        ('segan', 16000)
    """
    import torch

    entry = get(name)
    if entry.is_unittest:
        from .models.registry import build_model, config_dict, get_family

        spec = get_family(entry.family)
        cfg = spec.tiny()
        with torch.random.fork_rng(devices=[]):  # fixed weights, global random state untouched
            torch.manual_seed(0)
            model = build_model(entry.family, cfg)
        meta = {"family": entry.family, "config": config_dict(cfg), "sample_rate": entry.sample_rate,
                "versions": {}, "extra": {"pretrained": entry.name}}
        return model.to(device).eval(), meta
    from .train.checkpoint import load_model

    model, meta = load_model(verify(entry), device)
    if meta.get("family") != entry.family:
        raise AudioRestoreError(f"'{entry.name}' holds a '{meta.get('family')}' model, expected '{entry.family}'")
    return model, meta
