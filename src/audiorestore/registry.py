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
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .errors import AudioRestoreError, ParameterError

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
    for m in list_models():
        if m.name == name:
            return m
    raise ParameterError(f"unknown pretrained model '{name}' (known: {', '.join(names()) or 'none'})")


def default_for(family: str) -> PretrainedModel | None:
    """The shipped default model of a family, if any."""
    for m in _shipped():
        if m.family == family and m.default:
            return m
    return None


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
