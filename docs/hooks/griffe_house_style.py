"""Griffe extension for the API reference, so that griffe reads the package as its house style writes it
(STYLE.md, "Writing"), by static analysis only:

* docstrings use Google sections with a singular ``Example:`` heading and Sphinx roles such as
  ``:func:`denoise```: ``Example:`` becomes the Google ``Examples:`` section (``>>>`` lines render as
  code) and a role keeps only its code span;
* a parameter of a method or a config is a dataclass field documented in its metadata
  (``field(default=..., metadata={"doc": ...})``, or a helper call ``_doc("...")``, or a module-level
  constant holding one) or by ``#:`` comment lines above it: that text becomes the attribute's docstring.
"""

from __future__ import annotations

import ast
import re

import griffe

EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)
ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|mod|data|exc|obj|const):(?=`)")


def _doc_from_metadata(node: ast.expr | None, module: griffe.Module | None) -> str | None:
    """The text of ``{"doc": TEXT}``, ``helper(TEXT)`` or a module constant holding one of those."""
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values):
            if isinstance(key, ast.Constant) and key.value == "doc" and isinstance(value, ast.Constant):
                return str(value.value)
    elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        return str(node.args[0].value)
    elif isinstance(node, ast.Name) and module is not None and node.id in module.members:
        value = getattr(module.members[node.id], "value", None)
        if value is not None:
            try:
                return _doc_from_metadata(ast.parse(str(value), mode="eval").body, None)
            except SyntaxError:
                return None
    return None


def _comment_doc(attr: griffe.Attribute) -> str | None:
    """``#:`` comment lines right above the attribute (the Sphinx convention the configs use)."""
    lines = attr.module.lines if attr.lineno else []
    out: list[str] = []
    k = (attr.lineno or 0) - 2
    while 0 <= k < len(lines) and lines[k].strip().startswith("#:"):
        out.insert(0, lines[k].strip()[2:].strip())
        k -= 1
    return " ".join(out) or None


def clean_docstring(text: str) -> str:
    return ROLE.sub("", EXAMPLE.sub(r"\1Examples:", text))


class HouseStyleDocstrings(griffe.Extension):
    """Rewrite each docstring once, when griffe has loaded the object."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = clean_docstring(obj.docstring.value)

    def on_attribute_instance(self, *, node: ast.AST | griffe.ObjectNode, attr: griffe.Attribute, **kwargs) -> None:
        if attr.docstring is not None or not isinstance(node, ast.AnnAssign):
            return
        text = None
        if isinstance(node.value, ast.Call):
            for kw in node.value.keywords:
                if kw.arg == "metadata":
                    text = _doc_from_metadata(kw.value, attr.module)
        text = text or _comment_doc(attr)
        if text:
            attr.docstring = griffe.Docstring(text, parent=attr)
