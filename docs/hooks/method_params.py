"""MkDocs hook: parameter tables read from the code, so the methods pages cannot drift from it.

In a page, ``<!-- params: audiorestore.classical.spectral.LogMMSE -->`` becomes the method's name,
summary and reference (its ``name``, ``summary`` and ``citation`` class attributes) and a table of its
parameters (the dataclass fields, inherited ones included, with their defaults and the text of their
``metadata`` doc or ``#:`` comment): what ``audiorestore methods NAME`` prints. The same marker on a
model family's config dataclass gives the table of its architecture parameters. Read by static
analysis (griffe, with the house-style extension), never by importing the package.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import griffe
from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"<!-- params: (audiorestore(?:\.\w+)+) -->")
_PACKAGE: list[griffe.Module] = []


def _package() -> griffe.Module:
    if not _PACKAGE:
        sys.path.insert(0, str(Path(__file__).parent))
        from griffe_house_style import HouseStyleDocstrings

        _PACKAGE.append(griffe.load("audiorestore", search_paths=[str(ROOT / "src")], allow_inspection=False,
                                    extensions=griffe.Extensions(HouseStyleDocstrings())))
    return _PACKAGE[0]


def _literal(attr: griffe.Attribute | None) -> str:
    if attr is None or attr.value is None:
        return ""
    try:
        return str(ast.literal_eval(str(attr.value)))
    except (ValueError, SyntaxError):
        return ""


def _default(value: object) -> str:
    """``field(default=X, ...)`` -> ``X``; ``field(default_factory=F)`` -> ``F()``; else the value itself."""
    text = str(value)
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return text
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "field":
        for kw in node.keywords:
            if kw.arg == "default":
                return ast.unparse(kw.value)
            if kw.arg == "default_factory":
                return f"{ast.unparse(kw.value)}()"
        return "(required)"
    return text


def fields(cls: griffe.Class) -> list[griffe.Attribute]:
    """Dataclass fields in dataclass order: bases first, an overridden field keeps its base's place."""
    order: dict[str, griffe.Attribute] = {}
    for klass in [*reversed(cls.mro()), cls]:
        for name, member in klass.members.items():
            if (member.is_attribute and member.annotation is not None and "instance-attribute" in member.labels
                    and not name.startswith("_")):
                order[name] = member
    return list(order.values())


def params_markdown(path: str) -> str:
    try:
        cls = _package()[path.removeprefix("audiorestore.")]
    except KeyError:
        raise PluginError(f"params marker: no class {path} in src/audiorestore") from None
    lines = []
    name = _literal(cls.all_members.get("name"))
    if name:
        summary = _literal(cls.all_members.get("summary"))
        lines.append(f"**`{name}`**: {summary}" if summary else f"**`{name}`**")
        citation = _literal(cls.all_members.get("citation"))
        if citation:
            lines += ["", f"Reference: {citation}"]
        lines.append("")
    rows = fields(cls)
    if rows:
        head = "| parameter (`--set NAME=VALUE`) | default | meaning |" if name else "| field | default | meaning |"
        lines += [head, "|---|---|---|"]
        for f in rows:
            doc = (f.docstring.value if f.docstring else "").replace("\n", " ").replace("|", "\\|")
            lines.append(f"| `{f.name}` | `{_default(f.value)}` | {doc} |")
    else:
        lines.append("No parameters.")
    where = Path(str(cls.filepath)).resolve().relative_to(ROOT)
    lines += ["", f"<small>Source: `{cls.path}` ({where}).</small>"]
    return "\n".join(lines)


def on_page_markdown(markdown: str, page, config, files) -> str:
    return MARKER.sub(lambda m: params_markdown(m.group(1)), markdown)
