"""The documentation: the MkDocs site builds in strict mode (a broken link, a missing model card or a
docstring griffe cannot read fails it), and the README stays short with every relative link in place."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: The README sells and starts (STYLE.md, "Documentation"); everything else lives in docs/.
README_MAX_LINES = 220

# [text](target) and ![alt](target); the target ends at whitespace or ")"
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def relative_links(markdown: str) -> list[str]:
    """Link and image targets of a Markdown text that point into the repository (no URL, no anchor)."""
    text = re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)   # code blocks hold no links
    out = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("#"):
            continue
        out.append(target.split("#", 1)[0])
    return out


def test_relative_links_parser_known_answer() -> None:
    md = ("See [the guide](docs/guide/denoise.md#options), ![fig](docs/images/a.png \"title\"),\n"
          "[site](https://example.org/x.md), [top](#install), [mail](mailto:a@b.c).\n"
          "```bash\necho [not](a/link.md)\n```\n")
    assert relative_links(md) == ["docs/guide/denoise.md", "docs/images/a.png"]


def test_readme_is_short_and_its_links_exist() -> None:
    text = README.read_text(encoding="utf-8")
    n_lines = len(text.splitlines())
    assert n_lines <= README_MAX_LINES, f"README.md has {n_lines} lines; move details to docs/ (<= {README_MAX_LINES})"
    links = relative_links(text)
    assert "docs/images/before_after.png" in links          # the before/after figure is shown
    missing = [t for t in links if not (README.parent / t).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"
    # the two set-up commands stay verbatim: the second is the one CI runs
    assert "audiorestore denoise src/audiorestore/examples/p287_002_noisy.flac -o p287_002_denoised.flac" in text
    assert 'pip install -e ".[dev]" && python -m pytest -q' in text


def test_mkdocs_config_is_strict() -> None:
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["strict"] is True
    assert config["theme"]["name"] == "material"
    assert all(config["validation"][k] == "warn" for k in ("unrecognized_links", "anchors", "omitted_files"))


def test_docs_site_builds_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(site)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{log[-4000:]}"
    assert "WARNING" not in log, log[-4000:]
    # every model card beside the weights is a page, with its own text
    cards = sorted((ROOT / "src" / "audiorestore" / "pretrained").glob("*.md"))
    assert cards
    for card in cards:
        page = site / "models" / card.stem / "index.html"
        assert page.exists(), f"no page for model card {card.name}"
        heading = re.search(r"<h1[^>]*>(.*?)</h1>", page.read_text(encoding="utf-8"), re.DOTALL)
        assert heading and card.stem in heading.group(1), f"page of {card.name} does not show the card"
    models_index = (site / "models" / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{card.stem}/"' in models_index for card in cards)
    # the API reference is generated from the docstrings
    api = (site / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    assert 'id="audiorestore.api.denoise"' in api
    assert "Denoise an array" in api
