"""Checkpoints are data, not pickles: ``{family, config, state_dict, sample_rate, versions, extra}``.

Written atomically (temporary file, then rename) so a kill at any moment leaves the previous
checkpoint loadable. Loaded with ``weights_only=True`` and ``strict=True``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..errors import AudioRestoreError
from ..io import temp_path
from ..models.registry import build_model, config_dict

FORMAT_VERSION = 1


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(p)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def model_package(model: torch.nn.Module, family: str, config: Any, sample_rate: int,
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The serialisable description of a model (what a checkpoint or a shipped weight file holds)."""
    return {
        "format": FORMAT_VERSION,
        "family": family,
        "config": config_dict(config) if not isinstance(config, dict) else config,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "sample_rate": int(sample_rate),
        "versions": {"audiorestore": __version__, "torch": str(torch.__version__)},
        "extra": extra or {},
    }


def save_model(path: str | os.PathLike, model: torch.nn.Module, family: str, config: Any, sample_rate: int,
               extra: dict[str, Any] | None = None) -> Path:
    """Save a model atomically in the checkpoint format."""
    return atomic_torch_save(model_package(model, family, config, sample_rate, extra), path)


def load_package(path: str | os.PathLike) -> dict[str, Any]:
    p = Path(path)
    if not p.exists():
        raise AudioRestoreError("checkpoint not found", str(p))
    try:
        pkg = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise AudioRestoreError(f"not a readable checkpoint ({type(exc).__name__})", str(p)) from None
    if not isinstance(pkg, dict) or "family" not in pkg or "state_dict" not in pkg:
        raise AudioRestoreError("not an audiorestore checkpoint (no family/state_dict)", str(p))
    return pkg


def model_from_package(pkg: dict[str, Any], device: str | torch.device = "cpu") -> torch.nn.Module:
    model = build_model(pkg["family"], pkg["config"])
    model.load_state_dict(pkg["state_dict"], strict=True)
    return model.to(device).eval()


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild a model from a checkpoint; returns ``(model in eval mode, package without state_dict)``."""
    pkg = load_package(path)
    model = model_from_package(pkg, device)
    meta = {k: v for k, v in pkg.items() if k != "state_dict"}
    return model, meta
