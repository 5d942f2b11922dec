"""MkDocs hook: the model cards stay beside the weights (src/audiorestore/pretrained/NAME.md) and are
published as pages models/NAME.md, read at build time (no copies in docs/ that could drift). The
marker ``<!-- models-table -->`` in models/index.md becomes a table of the registered models
(pretrained/models.json) linking each card, so a newly shipped model appears without editing docs/.
"""

from __future__ import annotations

import json
from pathlib import Path

from mkdocs.structure.files import File, Files

PRETRAINED = Path(__file__).resolve().parents[2] / "src" / "audiorestore" / "pretrained"
MARKER = "<!-- models-table -->"


def on_files(files: Files, config) -> Files:
    for card in sorted(PRETRAINED.glob("*.md")):
        files.append(File.generated(config, f"models/{card.name}", abs_src_path=str(card)))
    return files


def _table() -> str:
    entries = json.loads((PRETRAINED / "models.json").read_text())
    rows = ["| model | task | input -> output rate | what | licence | card |", "|---|---|---|---|---|---|"]
    for e in entries:
        card = PRETRAINED / f"{e['name']}.md"
        link = f"[{e['name']}.md]({e['name']}.md)" if card.exists() else "-"
        rates = f"{e.get('input_rate', '-')} -> {e['sample_rate']} Hz"
        rows.append(f"| `{e['name']}` | {e['task']} | {rates} | {e['description']} | {e['license']} | {link} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, _table())
    return markdown
