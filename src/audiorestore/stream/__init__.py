"""Causal, stateful wrappers for real-time use: one streaming protocol for every method that can run
causally (:class:`~audiorestore.stream.base.Streamer`: ``process(block)``, ``flush()``, ``latency``,
``reset()``), built by :func:`stream`.

Which methods stream, and with what latency (at 16 kHz, default parameters): the spectral family
(``specsub``, ``wiener``, ``mmse``, ``logmmse``, ``omlsa``: 31.9 ms, their ``causal=True`` variant),
the filters (``filter``, ``notch``: 0 ms, their ``zero_phase=False`` variant), ``anc`` and ``ale`` (0 ms,
sample-exact; ``anc`` with ``fdaf``: ``n_taps - 1`` samples), and the causal neural families (``crm``,
``nmmse``, any family registered with :func:`~audiorestore.stream.neural.register_causal_family`).
:func:`streaming_support` says for any method whether it streams and, if not, why.

Example:
    >>> import numpy as np
    >>> import audiorestore as ar
    >>> s = ar.stream("logmmse", sample_rate=16000, channels=1)
    >>> x = np.zeros(160, dtype="float32")
    >>> s.process(x).shape, s.latency
    ((160,), 511)
"""

from __future__ import annotations

import sys
import types
from typing import Any

import numpy as np

from .base import Streamer, Unstreamable

__all__ = ["Streamer", "Unstreamable", "stream", "streamer_for", "streaming_support"]


def streamer_for(enhancer: Any, sample_rate: int, channels: int = 1, noise: np.ndarray | None = None) -> Streamer:
    """The streaming wrapper of a built method (an Enhancer instance); raises :class:`Unstreamable`
    (one line: why) for a method that cannot run causally."""
    from ..classical.adaptive import AdaptiveLineEnhancer, AdaptiveNoiseCanceller
    from ..classical.filtering import Filter, HumNotch
    from ..classical.spectral import SpectralEnhancer
    from .classical import AdaptiveStreamer, filter_streamer, spectral_streamer

    if noise is not None and not isinstance(enhancer, SpectralEnhancer):
        raise Unstreamable(f"'{enhancer.name}' takes no noise sample when streaming"
                           + (" (anc: pass the reference with each block)" if enhancer.name == "anc" else ""))
    if isinstance(enhancer, SpectralEnhancer):
        return spectral_streamer(enhancer, sample_rate, channels, noise)
    if isinstance(enhancer, (Filter, HumNotch)):
        return filter_streamer(enhancer, sample_rate, channels)
    if isinstance(enhancer, (AdaptiveNoiseCanceller, AdaptiveLineEnhancer)):
        return AdaptiveStreamer(enhancer, sample_rate, channels)
    try:
        from ..models.neural import NeuralDenoiser
    except ImportError:  # pragma: no cover - torch is a core dependency
        NeuralDenoiser = ()  # type: ignore[assignment,misc]
    if isinstance(enhancer, NeuralDenoiser):  # type: ignore[arg-type]
        from .neural import WAVEFORM_FAMILIES, neural_streamer, waveform_streamer

        if getattr(enhancer, "family", None) in WAVEFORM_FAMILIES:  # its own waveform step
            return waveform_streamer(enhancer, sample_rate, channels)
        return neural_streamer(enhancer, sample_rate, channels)
    reason = _REASONS.get(getattr(enhancer, "name", ""), "it has no causal (streaming) variant")
    raise Unstreamable(f"'{getattr(enhancer, 'name', type(enhancer).__name__)}' cannot stream: {reason}")


#: Why the other methods cannot stream (one line each).
_REASONS = {
    "smooth": "its moving average / Savitzky-Golay fit is centred on each sample (use 'filter' with "
              "btype=lowpass instead)",
    "dnp": "it fits a network to the whole recording",
}


def stream(method: str | Any | None = None, sample_rate: int = 16000, channels: int = 1,
           noise: np.ndarray | None = None, **params: Any) -> Streamer:
    """A streaming version of ``method`` (a registered name, an Enhancer instance, or None for the
    default denoiser as ``audiorestore denoise`` resolves it) with ``params``.

    ``noise`` (spectral methods): a noise-only sample whose mean periodogram is the noise PSD.

    Shape:
        blocks ``(time,)`` (mono) or ``(channels, time)`` in and out; see
        :class:`~audiorestore.stream.base.Streamer`.
    Example:
        >>> s = stream("wiener", sample_rate=48000, channels=2)
        >>> round(s.latency_ms, 1)
        32.0
    """
    from ..api import default_denoise_method
    from ..enhancer import get_method

    if method is None or isinstance(method, str):
        enhancer = get_method(method or default_denoise_method(), **params)
    else:
        if params:
            raise Unstreamable(f"parameters {sorted(params)} given with a method instance; set them on it")
        enhancer = method
    if getattr(enhancer, "task", "denoise") != "denoise":
        raise Unstreamable(f"'{enhancer.name}' is a {enhancer.task} method; only denoisers stream")
    return streamer_for(enhancer, sample_rate, channels, noise)


def streaming_support(name: str, sample_rate: int = 16000) -> tuple[bool, str]:
    """Whether method ``name`` streams with its default parameters: ``(True, "latency ...")`` or
    ``(False, reason)``, one line each."""
    from ..enhancer import get_method
    from ..errors import ParameterError

    try:
        s = streamer_for(get_method(name), sample_rate)
    except Unstreamable as exc:
        return False, str(exc)
    except ParameterError as exc:  # a neural method with no default checkpoint
        from .neural import CAUSAL_FAMILIES, WAVEFORM_FAMILIES

        if name in WAVEFORM_FAMILIES:
            return True, "latency: the model's delay + one hop - 1 sample (31.9 ms at 16 kHz; needs --checkpoint)"
        if name in CAUSAL_FAMILIES:
            return True, "latency: the model's STFT window - 1 sample (31.9 ms for 32 ms windows; needs --checkpoint)"
        if name == "neural":
            return True, f"with a checkpoint of a causal family ({', '.join(sorted(set(CAUSAL_FAMILIES) | WAVEFORM_FAMILIES))})"
        from ..models.registry import FAMILIES

        if name in FAMILIES:
            return False, f"'{name}' cannot stream: the model looks at future samples (not causal)"
        return False, f"'{name}' cannot stream here: {exc}"
    return True, f"latency {s.latency} samples ({s.latency_ms:.1f} ms at {sample_rate // 1000} kHz)"


class _CallablePackage(types.ModuleType):
    """``audiorestore.stream`` is this package and, called, :func:`stream`: ``ar.stream("logmmse", ...)``
    builds a streamer while ``import audiorestore.stream.pipe`` still finds the submodules (a function
    named like the package would hide them)."""

    def __call__(self, method: str | Any | None = None, sample_rate: int = 16000, channels: int = 1,
                 noise: np.ndarray | None = None, **params: Any) -> Streamer:
        return stream(method, sample_rate, channels, noise, **params)


sys.modules[__name__].__class__ = _CallablePackage
