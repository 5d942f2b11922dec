"""Griffe extension for the API reference: the package's docstrings follow the house style (STYLE.md,
"Writing"): Google sections with a singular ``Example:`` heading and Sphinx roles such as
``:func:`denoise```. Read them as mkdocstrings expects: ``Example:`` becomes the Google ``Examples:``
section (so ``>>>`` lines render as code) and a role keeps only its code span."""

from __future__ import annotations

import re

import griffe

EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)
ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|mod|data|exc|obj|const):(?=`)")


class HouseStyleDocstrings(griffe.Extension):
    """Rewrite each docstring once, when griffe has loaded the object (static analysis only)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub("", EXAMPLE.sub(r"\1Examples:", obj.docstring.value))
