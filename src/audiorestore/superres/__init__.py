"""Audio super-resolution (bandwidth extension): interpolation baselines and neural upsamplers.

The methods ``linear``, ``spline``, ``sinc`` (:mod:`.baselines`) and ``audiounet``, ``tfilm``,
``mugan``, ``auto`` (:mod:`.neural`, torch) are found through :mod:`audiorestore.catalog`; the names
below are imported from their module on first use (PEP 562), so the baselines never import torch.

Example:
    >>> import numpy as np
    >>> from audiorestore.enhancer import get_method
    >>> y = get_method("spline")(np.random.randn(1, 1600).astype("float32"), 16000, 48000)
    >>> y.shape
    (1, 4800)
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> submodule defining it
_EXPORTS = {"interpolate": "baselines", "LinearUpsampler": "baselines", "SplineUpsampler": "baselines",
            "SincUpsampler": "baselines", "NeuralUpsampler": "neural", "AudioUNetUpsampler": "neural",
            "TFiLMUpsampler": "neural", "MUGANUpsampler": "neural", "upsampler_from_checkpoint": "neural", "rolloff_guard": "rolloff"}

__all__ = ["interpolate", "LinearUpsampler", "SplineUpsampler", "SincUpsampler", "NeuralUpsampler",
           "AudioUNetUpsampler", "TFiLMUpsampler", "MUGANUpsampler", "upsampler_from_checkpoint", "rolloff_guard"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
