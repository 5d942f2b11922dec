"""MagnaTagATune (Law et al., ISMIR 2009): 25 863 clips of 29 s, 16 kHz mp3, with 188 binary tags.

``mp3.zip`` unpacks to folders ``0`` .. ``f``; ``annotations_final.csv`` is tab-separated with
quoted fields: ``clip_id``, one column per tag (0/1), ``mp3_path`` (``f/american_bach_soloists-...mp3``).
``clip_info_final.csv`` (same format) adds title and artist. The split is the usual one of the
auto-tagging literature (Dieleman and Schrauwen 2014): folders 0-b train, c valid, d-f test.
A few clips of the release are empty files; they are skipped with a warning.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from pathlib import Path

from ...errors import ParameterError
from ._base import Entry, check_root, find, layout_error, register, try_entry

log = logging.getLogger(__name__)

NAME = "magnatagatune"
SPLIT_BY_FOLDER = {**{c: "train" for c in "0123456789ab"}, "c": "valid", **{c: "test" for c in "def"}}


def read_annotations(path: Path) -> list[dict[str, str]]:
    """Rows of a MagnaTagATune CSV (tab-separated, quoted) as dicts keyed by the header."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if rows and ("clip_id" not in rows[0] or "mp3_path" not in rows[0]):
        raise ParameterError("expected tab-separated columns clip_id, <tags>..., mp3_path", str(path))
    return rows


@register(NAME, "MagnaTagATune music clips (mp3) with their tags", """
    ROOT/annotations_final.csv   tab-separated: clip_id, <188 tag columns of 0/1>, mp3_path
    ROOT/0/ .. ROOT/f/*.mp3      (mp3.zip unpacked; or ROOT/mp3/0/ ..)
    ROOT/clip_info_final.csv     (optional: title, artist)
    folders 0-b -> train, c -> valid, d-f -> test; top_tags=50 keeps the 50 most frequent tags""")
def magnatagatune(root: Path, *, top_tags: int = 0) -> list[Entry]:
    """Clean-only entries of the MagnaTagATune clips under ``root``, tags in ``meta.tags``.

    Example:
        >>> entries = magnatagatune(Path("/data/mtat"), top_tags=50)     # doctest: +SKIP
    """
    root = check_root(root)
    ann = find(root, "annotations_final.csv")
    if ann is None:
        raise layout_error(root, "MagnaTagATune", ["annotations_final.csv", "0/ .. f/*.mp3"])
    rows = read_annotations(ann)
    tag_names = [k for k in (rows[0] if rows else {}) if k not in ("clip_id", "mp3_path")]
    counts = Counter(t for r in rows for t in tag_names if r.get(t, "0").strip() == "1")
    keep = set(t for t, _ in counts.most_common(top_tags)) if top_tags > 0 else set(tag_names)
    info_p = find(root, "clip_info_final.csv")
    info = {r["clip_id"]: r for r in read_annotations(info_p)} if info_p is not None else {}
    audio_root = root if rows and (root / rows[0]["mp3_path"]).exists() else (find(root, "mp3") or root)
    entries: list[Entry] = []
    skipped: list[str] = []
    missing = 0
    for r in rows:
        rel = r["mp3_path"].strip()
        p = audio_root / rel
        if not p.is_file():
            missing += 1
            continue
        tags = [t for t in tag_names if t in keep and r.get(t, "0").strip() == "1"]
        meta: dict[str, object] = {"clip_id": r["clip_id"], "tags": tags, "folder": rel.split("/")[0]}
        i = info.get(r["clip_id"])
        if i is not None:
            meta.update({k: i[k] for k in ("title", "artist", "album") if i.get(k)})
        e = try_entry(skipped, NAME, SPLIT_BY_FOLDER.get(rel[:1].lower(), "train"), r["clip_id"], clean=p, meta=meta)
        if e is not None:
            entries.append(e)
    if missing:
        log.warning("MagnaTagATune: %d clips listed in %s are not under %s", missing, ann.name, audio_root)
    if rows and not entries:
        raise layout_error(root, "MagnaTagATune", [f"the mp3 files named in {ann.name} (e.g. {rows[0]['mp3_path']})"])
    return entries
