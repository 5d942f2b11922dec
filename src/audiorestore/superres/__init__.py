"""Audio super-resolution (bandwidth extension): interpolation baselines and neural upsamplers.

Importing this package registers the methods ``linear``, ``spline``, ``sinc`` (baselines) and
``audiounet``, ``tfilm``, ``mugan`` (neural, from a checkpoint) with :mod:`audiorestore.enhancer`.

Example:
    >>> import numpy as np
    >>> from audiorestore.enhancer import get_method
    >>> y = get_method("spline")(np.random.randn(1, 1600).astype("float32"), 16000, 48000)
    >>> y.shape
    (1, 4800)
"""

from .baselines import LinearUpsampler, SincUpsampler, SplineUpsampler, interpolate
from .neural import AudioUNetUpsampler, MUGANUpsampler, NeuralUpsampler, TFiLMUpsampler, upsampler_from_checkpoint
from .rolloff import rolloff_guard

__all__ = ["interpolate", "LinearUpsampler", "SplineUpsampler", "SincUpsampler", "NeuralUpsampler",
           "AudioUNetUpsampler", "TFiLMUpsampler", "MUGANUpsampler", "upsampler_from_checkpoint", "rolloff_guard"]
