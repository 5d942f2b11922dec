"""The catalog of built-in methods, families and peers can't drift from the code: every name resolves to
the class it names, everything the package registers is in it, and the generated listing is current."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

import numpy as np
import pytest

import audiorestore
from audiorestore import catalog
from audiorestore._catalog_listing import LISTING
from audiorestore.bench import peers
from audiorestore.enhancer import (_METHODS, LISTING_FILE, Enhancer, Upsampler, build_method_listing, get_method,
                                   list_method_info, list_methods, method_class, method_info, register,
                                   render_method_listing)
from audiorestore.errors import MissingExtraError, ParameterError
from audiorestore.models.registry import FAMILIES, get_family, list_families, register_family


def _import_whole_package() -> None:
    """Import every module of audiorestore (skipping ones whose optional third-party package is missing)."""
    for mod in pkgutil.walk_packages(audiorestore.__path__, "audiorestore."):
        if mod.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(mod.name)
        except ModuleNotFoundError as exc:
            if (exc.name or "").startswith("audiorestore"):
                raise
        except MissingExtraError:
            pass


@pytest.mark.parametrize("name", sorted(catalog.METHODS))
def test_every_catalog_method_resolves_to_its_class(name: str) -> None:
    cls = method_class(name)
    assert cls.name == name
    assert catalog.defines(catalog.METHODS[name], cls)
    assert issubclass(cls, (Enhancer, Upsampler)) and cls.task in ("denoise", "upsample", "declip")


def test_everything_registered_is_in_the_catalog() -> None:
    _import_whole_package()
    registered = {n for n, c in _METHODS.items() if c.__module__.startswith("audiorestore.")}
    assert registered - set(catalog.PEERS) <= set(catalog.METHODS), "add these to audiorestore/catalog.py METHODS"
    assert set(catalog.METHODS) <= {c.name for c in list_methods()}
    builtin_families = {n for n, s in FAMILIES.items() if s.model_cls.__module__.startswith("audiorestore.")}
    assert builtin_families == set(catalog.FAMILIES), "audiorestore/catalog.py FAMILIES is out of date"
    for name, module in catalog.FAMILIES.items():
        assert module in (FAMILIES[name].model_cls.__module__, FAMILIES[name].config_cls.__module__)
    assert set(catalog.PEERS) == set(peers.PEERS)
    assert {s.name for s in list_families()} >= set(catalog.FAMILIES)


def test_generated_listing_is_current() -> None:
    assert render_method_listing(build_method_listing()) == LISTING_FILE.read_text(), \
        "the method listing is stale: run `audiorestore methods --write-listing`"
    assert set(LISTING) == set(catalog.METHODS)
    # the listing shows what the classes show
    assert {i.name: i for i in list_method_info()}["logmmse"] == method_info(method_class("logmmse"))


def test_a_users_method_registers_and_lists_but_cannot_take_a_builtin_name() -> None:
    @dataclass
    class Halve(Enhancer):
        name = "test_catalog_halve"
        summary = "halves the signal"
        gain: float = 0.5

        def enhance_channel(self, x, sample_rate, noise):
            return self.gain * x

    register(Halve)
    try:
        assert get_method("test_catalog_halve", gain="0.25")(np.ones(8), 8000).tolist() == [0.25] * 8
        info = {i.name: i for i in list_method_info("denoise")}["test_catalog_halve"]
        assert info.params == (("gain", "0.5", ""),)
    finally:
        _METHODS.pop("test_catalog_halve", None)

    @dataclass
    class FakeWiener(Enhancer):
        name = "wiener"

    with pytest.raises(ValueError, match="taken by the built-in"):
        register(FakeWiener)
    assert method_class("wiener").__module__ == "audiorestore.classical.spectral"
    with pytest.raises(ParameterError, match="unknown method 'nope'.*wiener"):
        method_class("nope")


def test_family_names_resolve_lazily_and_builtin_names_are_reserved() -> None:
    assert get_family("fcn").name == "fcn" and get_family("fcn").model_cls.__module__ == "audiorestore.models.fcn"
    with pytest.raises(ParameterError, match="unknown model family 'nope'.*segan"):
        get_family("nope")

    @dataclass
    class Cfg:
        width: int = 1

    with pytest.raises(ValueError, match="taken by the built-in family"):
        register_family("wavenet", Cfg, Cfg, "denoise", Cfg)
