"""Where every built-in method, model family and peer lives: the one place to add a line.

Nothing is imported to register a built-in. :func:`audiorestore.enhancer.method_class` and
:func:`audiorestore.models.registry.get_family` look a name up here and import only the module that
defines it, on first use, so ``import audiorestore`` and a classical ``audiorestore denoise`` never
import torch, and ``audiorestore methods`` lists everything from :data:`audiorestore._catalog_listing.LISTING`
(generated from these classes) without importing any of them.

Adding a method: define it (an :class:`~audiorestore.enhancer.Enhancer` or
:class:`~audiorestore.enhancer.Upsampler` dataclass, decorated with ``@register`` as before), add
``"name": "module:Class"`` to :data:`METHODS`, then regenerate the listing::

    audiorestore methods --write-listing

This module imports nothing of audiorestore, so every registry can import it.

``tests/test_catalog.py`` fails when a registered method, family or peer is missing here, when an
entry points at the wrong class, or when the listing is out of date.

Example:
    >>> METHODS["logmmse"]
    'audiorestore.classical.spectral:LogMMSE'
    >>> FAMILIES["segan"]
    'audiorestore.models.segan'
"""

from __future__ import annotations

import importlib
from typing import Any

#: Method name -> ``"module:Class"``. A bare ``"module"`` names a module whose import registers the
#: method itself (the per-family wrappers of :mod:`audiorestore.models.neural`, built from the families).
METHODS: dict[str, str] = {
    # classical denoisers (numpy and scipy)
    "ale": "audiorestore.classical.adaptive:AdaptiveLineEnhancer",
    "declip": "audiorestore.classical.declip:Declip",
    "anc": "audiorestore.classical.adaptive:AdaptiveNoiseCanceller",
    "block_threshold": "audiorestore.classical.block_thresholding:BlockThreshold",
    "filter": "audiorestore.classical.filtering:Filter",
    "notch": "audiorestore.classical.filtering:HumNotch",
    "smooth": "audiorestore.classical.filtering:Smoothing",
    "gating": "audiorestore.classical.spectral:SpectralGating",
    "logmmse": "audiorestore.classical.spectral:LogMMSE",
    "mmse": "audiorestore.classical.spectral:MMSESTSA",
    "omlsa": "audiorestore.classical.spectral:OMLSA",
    "specsub": "audiorestore.classical.spectral:SpectralSubtraction",
    "wiener": "audiorestore.classical.spectral:Wiener",
    # neural denoisers (torch): a checkpoint of any family, one wrapper per denoising family, DNP
    "neural": "audiorestore.models.neural:NeuralDenoiser",
    "crm": "audiorestore.models.neural",
    "dae": "audiorestore.models.neural",
    "ddae_mel": "audiorestore.models.neural",
    "dfl": "audiorestore.models.neural",
    "fcn": "audiorestore.models.neural",
    "nmmse": "audiorestore.models.neural",
    "rdae": "audiorestore.models.neural",
    "segan": "audiorestore.models.neural",
    "wavenet": "audiorestore.models.neural",
    "dnp": "audiorestore.models.dnp_method:DNPEnhancer",
    "bandmmse": "audiorestore.models.bandmmse_method:BandMMSEDenoiser",
    # super-resolution: interpolation baselines (scipy, soxr) and neural upsamplers (torch)
    "linear": "audiorestore.superres.baselines:LinearUpsampler",
    "sinc": "audiorestore.superres.baselines:SincUpsampler",
    "spline": "audiorestore.superres.baselines:SplineUpsampler",
    "audiounet": "audiorestore.superres.neural:AudioUNetUpsampler",
    "auto": "audiorestore.superres.neural:AutoUpsampler",
    "mugan": "audiorestore.superres.neural:MUGANUpsampler",
    "tfilm": "audiorestore.superres.neural:TFiLMUpsampler",
}

#: Model family name -> the module that calls ``register_family`` for it (architecture only, torch).
FAMILIES: dict[str, str] = {
    "audiounet": "audiorestore.models.audiounet",
    "bandmmse": "audiorestore.models.bandmmse",
    "crm": "audiorestore.models.crm",
    "dae": "audiorestore.models.dae",
    "ddae_mel": "audiorestore.models.ddae_mel",
    "dfl": "audiorestore.models.dfl",
    "dfl_lossnet": "audiorestore.models.dfl",
    "dnp": "audiorestore.models.dnp",
    "fcn": "audiorestore.models.fcn",
    "mugan": "audiorestore.models.mugan",
    "mugan_ae": "audiorestore.models.mugan",
    "nmmse": "audiorestore.models.nmmse",
    "rdae": "audiorestore.models.rdae",
    "segan": "audiorestore.models.segan",
    "tfilm": "audiorestore.models.tfilm",
    "wavenet": "audiorestore.models.wavenet",
}

#: Peer method name -> the module whose ``register(name)`` adds it once its package is installed
#: (third-party denoisers for the benchmark; not listed by ``audiorestore methods``).
PEERS: dict[str, str] = {
    "peer_noisereduce": "audiorestore.bench.peers",
    "peer_rnnoise": "audiorestore.bench.peers",
    "peer_nsnet2": "audiorestore.bench.peers",
    "peer_deepfilternet": "audiorestore.bench.peers",
}


def split(where: str) -> tuple[str, str]:
    """``"pkg.mod:Class"`` -> ``("pkg.mod", "Class")``; ``"pkg.mod"`` -> ``("pkg.mod", "")``."""
    module, _, attr = where.partition(":")
    return module, attr


def defines(where: str, cls: type) -> bool:
    """Whether ``cls`` is the class a :data:`METHODS` entry points at."""
    module, attr = split(where)
    return cls.__module__ == module and (not attr or cls.__qualname__ == attr)


def import_target(where: str) -> Any:
    """Import an entry's module and return the named attribute (the module itself for a bare entry)."""
    module, attr = split(where)
    mod = importlib.import_module(module)
    return getattr(mod, attr) if attr else mod
