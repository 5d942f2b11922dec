"""Benchmark datasets: lists of ``(name, noisy, clean[, noise])`` items read from disk.

Three sources, picked by :func:`load_dataset` from what the path holds:

* a **paired folder** ``ROOT/noisy/`` + ``ROOT/clean/`` (+ optional ``ROOT/noise/``), paired by relative
  path, then by relative path without extension (``a/x.wav`` with ``a/x.flac``);
* a **manifest** JSONL, one pair per line ``{"id", "clean", "noisy", "noise", "sample_rate", ...}`` with
  paths relative to the manifest's folder (the format ``audiorestore degrade`` writes); a folder holding
  such a ``manifest.jsonl`` is read through it;
* the **SpEAR** recorded pairs of a data root (``ROOT/manifest.jsonl`` of the corpus collection, lines
  with ``"kind": "pair_noisy"`` and a ``"clean_ref"``; the two-talker Monaural set is left out).

Example:
    >>> ds = load_dataset("spear=../shared/data")                   # doctest: +SKIP
    >>> ds.name, len(ds.items), ds.items[0].noisy                    # doctest: +SKIP
    ('spear', 68, PosixPath('../shared/data/pairs/spear_16k/...'))
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import io
from ..errors import AudioInputError, ParameterError

log = logging.getLogger(__name__)

MANIFEST = "manifest.jsonl"


@dataclass(frozen=True)
class Item:
    """One benchmark pair: the noisy input, its clean reference and, when known, the noise as mixed in."""

    name: str
    noisy: Path
    clean: Path
    noise: Path | None = None


@dataclass(frozen=True)
class Dataset:
    """A named list of items and where it came from (``kind``: ``folder``, ``manifest`` or ``spear``)."""

    name: str
    items: tuple[Item, ...]
    source: str
    kind: str

    def __len__(self) -> int:
        return len(self.items)


def paired_folder(root: str | os.PathLike, noisy: str = "noisy", clean: str = "clean",
                  noise: str = "noise") -> list[Item]:
    """Items of ``root/noisy`` paired with ``root/clean`` by relative path (extension may differ).

    A noisy file without a clean partner is logged and left out. ``root/noise`` files, when present,
    are attached the same way. Item names are relative paths without extension (``sub/x``).
    """
    base = Path(root)
    nz_dir, cl_dir, no_dir = base / noisy, base / clean, base / noise
    for d in (nz_dir, cl_dir):
        if not d.is_dir():
            raise AudioInputError(f"no '{d.name}/' folder (a paired dataset has noisy/ and clean/)", str(base))

    def index(d: Path) -> tuple[dict[str, Path], dict[str, list[Path]]]:
        by_rel: dict[str, Path] = {}
        by_noext: dict[str, list[Path]] = {}
        for f in io.find_audio(d):
            rel = f.relative_to(d)
            by_rel[rel.as_posix()] = f
            by_noext.setdefault(rel.with_suffix("").as_posix(), []).append(f)
        return by_rel, by_noext

    def match(rel: Path, table: tuple[dict[str, Path], dict[str, list[Path]]]) -> Path | None:
        hit = table[0].get(rel.as_posix())
        if hit is not None:
            return hit
        cands = table[1].get(rel.with_suffix("").as_posix(), [])
        return cands[0] if len(cands) == 1 else None

    clean_index = index(cl_dir)
    noise_index = index(no_dir) if no_dir.is_dir() else None
    items = []
    for f in io.find_audio(nz_dir):
        rel = f.relative_to(nz_dir)
        c = match(rel, clean_index)
        if c is None:
            log.warning("%s: no clean partner in %s; left out", f, cl_dir)
            continue
        n = match(rel, noise_index) if noise_index is not None else None
        items.append(Item(rel.with_suffix("").as_posix(), f, c, n))
    if not items:
        raise AudioInputError("no noisy/clean pairs found", str(base))
    return sorted(items, key=lambda i: i.name)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for k, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise AudioInputError(f"line {k} is not JSON ({exc.msg})", str(path)) from None
    return rows


def _resolve(base: Path, p: str) -> Path:
    q = Path(p)
    return q if q.is_absolute() else base / q


def manifest(path: str | os.PathLike) -> list[Item]:
    """Items of a pair manifest (JSONL ``{"id", "clean", "noisy", "noise"?, ...}``; relative paths are
    relative to the manifest's folder). Lines without both ``clean`` and ``noisy`` are skipped."""
    p = Path(path)
    if not p.is_file():
        raise AudioInputError("manifest not found", str(p))
    items = []
    for _k, r in enumerate(_read_jsonl(p)):
        if not r.get("clean") or not r.get("noisy"):
            continue
        name = str(r.get("id") or Path(r["noisy"]).with_suffix("").as_posix())
        items.append(Item(name, _resolve(p.parent, r["noisy"]), _resolve(p.parent, r["clean"]),
                          _resolve(p.parent, r["noise"]) if r.get("noise") else None))
    if not items:
        raise AudioInputError("no line with both 'clean' and 'noisy' paths", str(p))
    return items


def spear(root: str | os.PathLike) -> list[Item]:
    """The SpEAR recorded noisy/clean pairs of a data root (Noisy_Recordings and Lombard; the two-talker
    Monaural set is left out). Item names are file stems (``alex_f16noiseR2_16``)."""
    base = Path(root)
    mf = base / MANIFEST
    if not mf.is_file():
        raise AudioInputError(f"no {MANIFEST} (expected the corpus collection's data root)", str(base))
    items = []
    for r in _read_jsonl(mf):
        path = str(r.get("path", ""))
        if path.startswith("pairs/spear_16k") and r.get("kind") == "pair_noisy" and r.get("clean_ref") \
                and "/Monaural/" not in path:
            items.append(Item(Path(path).stem, base / path, base / r["clean_ref"]))
    if not items:
        raise AudioInputError("no SpEAR pairs (kind 'pair_noisy' under pairs/spear_16k) in the manifest", str(mf))
    return items


def _manifest_kind(path: Path) -> str | None:
    """``"pairs"`` for a pair manifest, ``"corpus"`` for the collection's manifest, else None."""
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    first = json.loads(line)
                    break
            else:
                return None
    except (OSError, json.JSONDecodeError):
        return None
    if "clean" in first and "noisy" in first:
        return "pairs"
    if "path" in first and "kind" in first:
        return "corpus"
    return None


def load_dataset(spec: str, limit: int | None = None) -> Dataset:
    """A dataset from ``NAME=PATH`` (or just ``PATH``, named after its last component).

    ``PATH`` is a pair manifest file, a folder with a pair ``manifest.jsonl``, a folder with ``noisy/``
    and ``clean/``, or a data root whose corpus ``manifest.jsonl`` lists SpEAR pairs. ``limit`` keeps the
    first ``limit`` items (sorted by name), for quick runs.
    """
    name, sep, path_s = spec.partition("=")
    if not sep:
        path_s, name = spec, Path(spec.rstrip("/")).name or "dataset"
    name = name.strip()
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise ParameterError(f"dataset name must be a plain word, got '{name}' (use NAME=PATH)")
    path = Path(path_s.strip())
    if not path.exists():
        raise AudioInputError("no such file or directory (dataset)", str(path))
    if path.is_file():
        items, kind = manifest(path), "manifest"
    elif (path / MANIFEST).is_file() and _manifest_kind(path / MANIFEST) == "pairs":
        items, kind = manifest(path / MANIFEST), "manifest"
    elif (path / "noisy").is_dir() and (path / "clean").is_dir():
        items, kind = paired_folder(path), "folder"
    elif (path / MANIFEST).is_file() and _manifest_kind(path / MANIFEST) == "corpus":
        items, kind = spear(path), "spear"
    else:
        raise AudioInputError("not a dataset: expected a pair manifest (.jsonl), a folder with noisy/ and clean/, "
                              f"or a data root with SpEAR pairs in its {MANIFEST}", str(path))
    items = sorted(items, key=lambda i: i.name)
    names = [i.name for i in items]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise AudioInputError(f"item name '{dup}' occurs twice; names must be unique", str(path))
    if limit is not None:
        items = items[: max(int(limit), 0)]
    log.info("dataset %s: %d items (%s, %s)", name, len(items), kind, path)
    return Dataset(name, tuple(items), str(path), kind)


__all__ = ["Item", "Dataset", "paired_folder", "manifest", "spear", "load_dataset", "MANIFEST"]
