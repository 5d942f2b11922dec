"""Standard corpora from a local path: loaders that write JSONL manifests. Nothing is downloaded.

Each corpus module knows one corpus' folder layout and its published splits, reads only headers,
and returns :class:`Entry` objects; :func:`prepare` writes them as a manifest, one JSON object per
line::

    {"corpus": "voicebank-demand", "split": "train", "id": "p226_001", "speaker": "p226",
     "clean": "/abs/clean_trainset_28spk_wav/p226_001.wav", "noisy": "/abs/noisy_...", "noise": null,
     "sample_rate": 48000, "seconds": 2.1, "format": null, "frames": {"noisy": 100800, "clean": 100800},
     "meta": {"set": "28spk", "noise_type": "babble", "snr_db": 15.0}}

``split`` is train, valid or test; ``format`` names a headerless format (Aurora-2's ``raw_be16``,
read by :func:`read_raw`) and is null for files soundfile reads from their header. A root that does
not look like the corpus raises :class:`~audiorestore.errors.ParameterError` naming the expected files.

Example:
    >>> result = prepare("voicebank-demand", "/data/vbd", "vbd.jsonl", {"rate": "16k"})   # doctest: +SKIP
    >>> result.splits                                                                    # doctest: +SKIP
    {'test': 824, 'train': 11572}
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Mapping

from ... import config as cfgio
from ...errors import ParameterError
from ...io import temp_path
from . import aurora, beethoven, dns, magnatagatune, plain, spear, vctk, voicebank  # noqa: F401  (registers)
from ._base import REGISTRY, SPLITS, Corpus, Entry
from .raw import RAW_FORMATS, raw_info, read_frames, read_raw

__all__ = ["Corpus", "Entry", "PrepareResult", "RAW_FORMATS", "SPLITS", "get_corpus", "list_corpora", "load_corpus",
           "prepare", "raw_info", "read_frames", "read_manifest", "read_raw", "write_manifest"]

log = logging.getLogger(__name__)


def list_corpora() -> list[Corpus]:
    """Every supported corpus, by name."""
    return [REGISTRY[k] for k in sorted(REGISTRY)]


def get_corpus(name: str) -> Corpus:
    """The corpus called ``name`` (``-`` and ``_`` are interchangeable); ParameterError naming the known ones."""
    key = name.strip().lower().replace("_", "-")
    for k, c in REGISTRY.items():
        if k.replace("_", "-") == key:
            return c
    raise ParameterError(f"unknown corpus '{name}' (known: {', '.join(sorted(REGISTRY))})")


def _coerce_options(corpus: Corpus, options: Mapping[str, Any]) -> dict[str, Any]:
    known = {n: (tp, default) for n, tp, default in corpus.options()}
    out = {}
    for k, v in options.items():
        if k not in known:
            allowed = ", ".join(known) or "none"
            raise ParameterError(f"corpus '{corpus.name}' has no option '{k}' (options: {allowed})")
        out[k] = cfgio.coerce_value(v, known[k][0], k)
    return out


def load_corpus(name: str, root: str | os.PathLike, options: Mapping[str, Any] | None = None) -> list[Entry]:
    """The entries of corpus ``name`` under ``root``; ``options`` (strings are converted) go to its loader.

    Example:
        >>> entries = load_corpus("vctk", "/data/VCTK-Corpus", {"split": "speaker1"})   # doctest: +SKIP
    """
    corpus = get_corpus(name)
    entries = corpus.loader(Path(root), **_coerce_options(corpus, options or {}))
    seen: dict[str, Entry] = {}
    for e in entries:
        if e.id in seen:
            raise ParameterError(f"{corpus.name}: two entries with id '{e.id}' ({e.noisy or e.clean} and "
                                 f"{seen[e.id].noisy or seen[e.id].clean})", str(root))
        seen[e.id] = e
    if not entries:
        raise ParameterError(f"no {corpus.name} files found (see 'audiorestore data list')", str(root))
    return entries


def write_manifest(entries: list[Entry] | list[dict[str, Any]], path: str | os.PathLike) -> Path:
    """Write entries as JSONL atomically (temporary file beside ``path``, then renamed over it)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(p)
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            for e in entries:
                d = e.to_dict() if isinstance(e, Entry) else e
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return p


def read_manifest(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The entries of a JSONL manifest; ParameterError (naming the line) for a malformed one."""
    p = Path(path)
    if not p.is_file():
        raise ParameterError("manifest not found", str(p))
    out = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ParameterError(f"line {n} is not JSON ({exc.msg})", str(p)) from None
        if not isinstance(d, dict) or "split" not in d or "sample_rate" not in d:
            raise ParameterError(f"line {n} is not a manifest entry (needs split, sample_rate, clean/noisy/noise)",
                                 str(p))
        out.append(d)
    return out


@dataclass
class PrepareResult:
    """What :func:`prepare` wrote: the manifest path, entries per split, hours per split, skipped files."""

    path: Path
    count: int
    splits: dict[str, int] = field(default_factory=dict)
    hours: dict[str, float] = field(default_factory=dict)
    skipped: int = 0

    def summary(self) -> str:
        parts = ", ".join(f"{s} {self.splits[s]} ({self.hours[s]:.2f} h)" for s in self.splits)
        skipped = f"; {self.skipped} unreadable file(s) skipped" if self.skipped else ""
        return f"wrote {self.count} entries to {self.path}: {parts}{skipped}"


def prepare(corpus: str, root: str | os.PathLike, output: str | os.PathLike,
            options: Mapping[str, Any] | None = None) -> PrepareResult:
    """Scan corpus ``corpus`` under ``root`` and write its manifest to ``output`` (atomically).

    Example:
        >>> prepare("plain", "pairs", "pairs.jsonl", {"split": "test"}).count    # doctest: +SKIP
        12
    """
    handler = _CountWarnings()
    logging.getLogger("audiorestore.data.corpora").addHandler(handler)
    try:
        entries = load_corpus(corpus, root, options)
    finally:
        logging.getLogger("audiorestore.data.corpora").removeHandler(handler)
    path = write_manifest(entries, output)
    counts = Counter(e.split for e in entries)
    seconds: Counter = Counter()
    for e in entries:
        seconds[e.split] += e.seconds
    order = [s for s in SPLITS if s in counts]
    return PrepareResult(path, len(entries), {s: counts[s] for s in order},
                         {s: seconds[s] / 3600 for s in order}, handler.skipped)


class _CountWarnings(logging.Handler):
    """Counts the 'skipped: <file>: <reason>' warnings of the loaders (not shown twice)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.skipped = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("skipped: "):
            self.skipped += 1
