"""Shared pieces of the corpus loaders: the manifest entry, the registry, header reading, layout checks.

A loader is a function ``loader(root, **options) -> list[Entry]`` registered under a corpus name with
a description of the folder layout it expects. It only reads headers (never decodes audio), so
preparing a manifest of a large corpus takes seconds to minutes, and it never downloads anything.
"""

from __future__ import annotations

import inspect
import logging
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterable, Sequence

from ... import io
from ...errors import AudioInputError, ParameterError

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")


@dataclass
class Entry:
    """One example of a corpus: a line of a manifest.

    ``clean``, ``noisy`` and ``noise`` are absolute paths or None; ``seconds`` is the length of the
    noisy file (the clean one when there is no noisy, else the noise), from the header (or, for a
    headerless ``format``, from the file size). ``frames`` holds the exact length of each file by
    role, since recorded pairs are not always of equal length (SpEAR).
    """

    corpus: str
    split: str
    id: str
    speaker: str | None
    clean: str | None
    noisy: str | None
    noise: str | None
    sample_rate: int
    seconds: float
    format: str | None = None
    frames: dict[str, int] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The manifest line (keys in the documented order)."""
        return {"corpus": self.corpus, "split": self.split, "id": self.id, "speaker": self.speaker,
                "clean": self.clean, "noisy": self.noisy, "noise": self.noise, "sample_rate": self.sample_rate,
                "seconds": self.seconds, "format": self.format, "frames": dict(self.frames), "meta": self.meta}


@dataclass(frozen=True)
class Corpus:
    """A registered corpus: its name, a one-line title, the layout it expects and its loader."""

    name: str
    title: str
    layout: str
    loader: Callable[..., list[Entry]]

    def options(self) -> list[tuple[str, Any, Any]]:
        """``(name, type, default)`` of each loader option (keyword-only parameters)."""
        hints = typing.get_type_hints(self.loader)
        return [(p.name, hints.get(p.name, str), p.default)
                for p in inspect.signature(self.loader).parameters.values() if p.kind is p.KEYWORD_ONLY]


REGISTRY: dict[str, Corpus] = {}


def register(name: str, title: str, layout: str) -> Callable[[Callable[..., list[Entry]]], Callable[..., list[Entry]]]:
    """Decorator: register ``loader`` as corpus ``name`` (layout: the text ``data list`` prints)."""

    def wrap(fn: Callable[..., list[Entry]]) -> Callable[..., list[Entry]]:
        REGISTRY[name] = Corpus(name, title, inspect.cleandoc(layout), fn)
        return fn

    return wrap


# ------------------------------------------------------------------------------------ layout helpers
def child(folder: Path, name: str) -> Path | None:
    """``folder/name`` matched case-insensitively (corpora ship as TESTA/ or testa/), or None."""
    p = folder / name
    if p.exists():
        return p
    if not folder.is_dir():
        return None
    low = name.lower()
    for c in folder.iterdir():
        if c.name.lower() == low:
            return c
    return None


def find(root: Path, *relpaths: str) -> Path | None:
    """The first of ``relpaths`` (each ``a/b/c``, matched case-insensitively) that exists under root."""
    for rel in relpaths:
        p: Path | None = root
        for part in rel.split("/"):
            p = child(p, part) if p is not None else None
        if p is not None:
            return p
    return None


def layout_error(root: Path, corpus: str, expected: Sequence[str]) -> ParameterError:
    """The error for a root that does not look like ``corpus``: it names the files that were expected."""
    return ParameterError(f"does not look like {corpus}: expected {', '.join(expected)} under it "
                          f"(see 'audiorestore data list')", str(root))


def check_root(root: str | os.PathLike) -> Path:
    """The root as an absolute Path; ParameterError when it is not a directory."""
    p = Path(root).expanduser()
    if not p.is_dir():
        raise ParameterError("corpus root is not a directory", str(p))
    return p.absolute()


def audio_files(folder: Path, extensions: Iterable[str] | None = None) -> list[Path]:
    """Audio files under ``folder``, recursively, sorted; ``extensions`` (".08") replaces the usual ones."""
    if extensions is None:
        return io.find_audio(folder)
    exts = tuple(e.lower() for e in extensions)
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in exts
                  and not p.name.startswith("."))


def header(path: Path) -> tuple[int, int]:
    """``(sample_rate, frames)`` from a file's header; AudioInputError (one line) when unreadable."""
    i = io.info(path)
    return i.sample_rate, i.frames


def make_entry(corpus: str, split: str, id: str, *, speaker: str | None = None, clean: Path | None = None,
               noisy: Path | None = None, noise: Path | None = None, meta: dict[str, Any] | None = None,
               format: str | None = None) -> Entry:
    """An :class:`Entry` with rate and lengths read from the headers (or file sizes, for ``format``).

    Raises AudioInputError for an unreadable file, and when the files of one entry have different
    sample rates (a pair must be compared sample by sample).
    """
    from .raw import raw_info

    roles = {k: v for k, v in (("noisy", noisy), ("clean", clean), ("noise", noise)) if v is not None}
    if not roles:
        raise ValueError(f"entry {id} has no file")
    rates, frames = {}, {}
    for role, p in roles.items():
        rates[role], frames[role] = raw_info(p, format) if format else header(p)
    if len(set(rates.values())) > 1:
        desc = ", ".join(f"{r} {rates[r]} Hz" for r in rates)
        raise AudioInputError(f"entry {id}: files at different sample rates ({desc})", str(next(iter(roles.values()))))
    role0 = next(iter(roles))
    sr = rates[role0]
    return Entry(corpus, split, id, speaker, _abs(clean), _abs(noisy), _abs(noise), int(sr), frames[role0] / sr,
                 format, frames, dict(meta or {}))


def _abs(p: Path | None) -> str | None:
    return None if p is None else os.path.abspath(p)


def try_entry(skipped: list[str], *args: Any, **kw: Any) -> Entry | None:
    """:func:`make_entry`, or None (with a warning, the reason appended to ``skipped``) for an
    unreadable file: corpora ship a few broken files (MagnaTagATune has empty mp3s)."""
    try:
        return make_entry(*args, **kw)
    except AudioInputError as exc:
        log.warning("skipped: %s", exc)
        skipped.append(str(exc))
        return None


def stem_key(path: Path, folder: Path) -> str:
    """A file's path relative to ``folder`` without its extension: the key that pairs noisy and clean."""
    return path.relative_to(folder).with_suffix("").as_posix()


def pair_up(noisy: dict[str, Path], clean: dict[str, Path], where: Path) -> list[tuple[str, Path, Path]]:
    """``(key, noisy, clean)`` for matching keys; AudioInputError naming the first file without a partner."""
    missing = sorted(set(noisy) ^ set(clean))
    if missing:
        side = "noisy" if missing[0] in noisy else "clean"
        raise AudioInputError(f"{side} file '{missing[0]}' has no partner", str(where))
    return [(k, noisy[k], clean[k]) for k in sorted(noisy)]


def parse_list_option(value: str | Sequence[str]) -> list[str]:
    """``"p226,p287"`` or ``["p226", "p287"]`` -> ``["p226", "p287"]``."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]
