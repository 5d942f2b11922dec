"""Registry of neural model families: name -> (config dataclass, nn.Module class, task, tiny config).

Every family module registers itself with :func:`register_family`; checkpoints store the family name
and the config dict, so :func:`build_model` can rebuild any model without pickles (STYLE.md point 6).
:data:`audiorestore.catalog.FAMILIES` says which module registers each family: :func:`get_family`
imports only that one, on first use; :func:`list_families` imports them all.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

from .. import catalog
from ..config import from_dict
from ..errors import AudioRestoreError, ParameterError


@dataclass(frozen=True)
class FamilySpec:
    """A model family: how to build it and what it does.

    ``task`` is "denoise" (waveform (B, 1, T) -> (B, 1, T)) or "upsample" (low-rate waveform already
    interpolated to the target rate, (B, 1, T) -> (B, 1, T)). ``tiny`` returns a small config for tests.
    """

    name: str
    config_cls: type
    model_cls: type
    task: str
    tiny: Callable[[], Any]
    summary: str = ""
    citation: str = ""
    #: GAN families: builds the discriminator from the generator's config. Discriminators are called
    #: ``disc(x, cond=None) -> (score, features)`` with x, cond ``(B, 1, T)``; features is a list of
    #: intermediate activations (for feature-matching losses).
    discriminator: Callable[[Any], Any] | None = None


FAMILIES: dict[str, FamilySpec] = {}


def register_family(name: str, config_cls: type, model_cls: type, task: str, tiny: Callable[[], Any],
                    summary: str = "", citation: str = "",
                    discriminator: Callable[[Any], Any] | None = None) -> FamilySpec:
    """Add a model family (called by its module at import); a built-in family name
    (:data:`audiorestore.catalog.FAMILIES`) is taken by the module the catalog names."""
    if name in catalog.FAMILIES and catalog.FAMILIES[name] not in (model_cls.__module__, config_cls.__module__):
        raise ValueError(f"model family name '{name}' is taken by the built-in family in {catalog.FAMILIES[name]}")
    if name in FAMILIES and FAMILIES[name].model_cls is not model_cls:
        raise ValueError(f"model family '{name}' registered twice")
    spec = FamilySpec(name, config_cls, model_cls, task, tiny, summary, citation, discriminator)
    FAMILIES[name] = spec
    return spec


def get_family(name: str) -> FamilySpec:
    """The family called ``name``, its module imported on first use."""
    if name not in FAMILIES and name in catalog.FAMILIES:
        catalog.import_target(catalog.FAMILIES[name])
        if name not in FAMILIES:
            raise AudioRestoreError(f"the catalog places model family '{name}' in {catalog.FAMILIES[name]}, which does "
                             "not register it (fix audiorestore/catalog.py)")
    if name not in FAMILIES:
        known = ", ".join(sorted(set(FAMILIES) | set(catalog.FAMILIES)))
        raise ParameterError(f"unknown model family '{name}' (known: {known})")
    return FAMILIES[name]


def list_families(task: str | None = None) -> list[FamilySpec]:
    """Every family (optionally of one task), sorted by name: the built-in ones (this imports them all)
    and any registered with :func:`register_family`."""
    for name in catalog.FAMILIES:
        get_family(name)
    return [s for n, s in sorted(FAMILIES.items()) if task is None or s.task == task]


def build_model(family: str, config: Any = None):
    """Instantiate a family from a config dataclass, a dict, or None (defaults)."""
    spec = get_family(family)
    if config is None:
        config = spec.config_cls()
    elif isinstance(config, dict):
        config = from_dict(spec.config_cls, config)
    elif not isinstance(config, spec.config_cls):
        raise ParameterError(f"config for '{family}' must be {spec.config_cls.__name__}, got {type(config).__name__}")
    return spec.model_cls(config)


def config_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)
