"""Plain folders: ``clean/`` and ``noisy/`` paired by relative path (``noise/`` optional), with
optional ``train/``, ``valid/``, ``test/`` level above them; or just a folder of clean files."""

from __future__ import annotations

from pathlib import Path

from ...errors import ParameterError
from ._base import (SPLITS, Entry, audio_files, check_root, find, layout_error, pair_up, register, stem_key,
                    try_entry)

NAME = "plain"


def _one(folder: Path, split: str, prefix: str, entries: list[Entry], skipped: list[str]) -> None:
    cd, nd, zd = find(folder, "clean"), find(folder, "noisy"), find(folder, "noise")

    def add(id: str, **kw) -> None:
        e = try_entry(skipped, NAME, split, prefix + id, **kw)
        if e is not None:
            entries.append(e)

    if cd is None and nd is None and zd is None:
        for p in audio_files(folder):
            add(stem_key(p, folder), clean=p, meta={"rel": p.relative_to(folder).as_posix()})
        return
    if nd is not None:
        if cd is None:
            raise layout_error(folder, "a plain paired folder", ["clean/ beside noisy/"])
        pairs = pair_up({stem_key(p, nd): p for p in audio_files(nd)},
                        {stem_key(p, cd): p for p in audio_files(cd)}, folder)
        for key, n, c in pairs:
            add(key, clean=c, noisy=n, meta={"rel": n.relative_to(nd).as_posix()})
    elif cd is not None:
        for p in audio_files(cd):
            add(stem_key(p, cd), clean=p, meta={"rel": p.relative_to(cd).as_posix()})
    if zd is not None:
        for p in audio_files(zd):
            add("noise/" + stem_key(p, zd), noise=p, meta={"rel": p.relative_to(zd).as_posix()})


@register(NAME, "Plain folders: clean/ + noisy/ (+ noise/) paired by relative path, or one folder of clean files", """
    ROOT/clean/a/b.wav + ROOT/noisy/a/b.wav (same relative path, any audio extension); ROOT/noise/ optional
    or ROOT/train|valid|test/{clean,noisy,noise}/ for explicit splits
    or ROOT/**.wav: a folder of clean files
    unsplit folders -> split (default train)""")
def plain(root: Path, *, split: str = "train") -> list[Entry]:
    """Entries of a plain folder tree (see the layout above).

    Example:
        >>> entries = plain(Path("my_pairs"), split="test")             # doctest: +SKIP
    """
    root = check_root(root)
    if split not in SPLITS:
        raise ParameterError(f"split must be one of {', '.join(SPLITS)}, got '{split}'")
    entries: list[Entry] = []
    skipped: list[str] = []
    split_dirs = {s: find(root, s) for s in SPLITS}
    if any(d is not None and d.is_dir() for d in split_dirs.values()):
        for s, d in split_dirs.items():
            if d is not None and d.is_dir():
                _one(d, s, f"{s}/", entries, skipped)
    else:
        _one(root, split, "", entries, skipped)
    if not entries:
        raise layout_error(root, "a plain corpus folder", ["clean/ and noisy/ (paired by relative path)",
                                                            "or audio files (.wav, .flac, ...)"])
    return entries
