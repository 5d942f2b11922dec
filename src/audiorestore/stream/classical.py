"""Streaming wrappers of the classical methods: the spectral family, the filters and the adaptive
filters (noise cancelling and the line enhancer).

* Spectral methods (``specsub``, ``wiener``, ``mmse``, ``logmmse``, ``omlsa``) stream their
  ``causal=True`` variant through :class:`~audiorestore.stream.stft.StftStreamer`; the recursions
  (noise tracker, a priori SNR, speech presence) carry their state from block to block
  (:class:`~audiorestore.classical.spectral.Frames` ``state``). Latency: the analysis window minus
  one sample (32 ms windows: 31.9 ms).
* Filters (``filter``, ``notch``) stream their ``zero_phase=False`` variant (the forward-backward
  zero-phase filter needs the whole signal): ``sosfilt``/``lfilter`` with carried initial conditions.
  No algorithmic latency (the filter's own group delay is part of its response).
* ``anc`` and ``ale`` are sample-wise recursions (LMS, NLMS, RLS), streamed exactly with carried
  weights, tap history and (RLS) inverse correlation matrix; no latency. ``anc`` with
  ``algorithm='fdaf'`` adapts once per block of ``n_taps`` samples: latency ``n_taps - 1``.

Example:
    >>> import numpy as np
    >>> from audiorestore.stream import stream
    >>> s = stream("notch", sample_rate=16000, freq_hz=50)
    >>> s.latency
    0
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import signal

from ..classical import adaptive
from ..classical.filtering import Filter, HumNotch
from ..classical.spectral import Frames, SpectralEnhancer
from ..dsp.stft import _window
from .base import Streamer, Unstreamable
from .stft import StftStreamer


def spectral_streamer(enhancer: SpectralEnhancer, sample_rate: int, channels: int = 1,
                      noise: np.ndarray | None = None) -> StftStreamer:
    """Stream a spectral method: its ``causal=True`` variant, frame by frame.

    ``noise``: an optional noise-only sample ``(channels or 1, time)`` (as ``--noise``): its mean
    periodogram is the noise PSD instead of the tracker's.
    """
    try:
        enh = dataclasses.replace(enhancer, causal=True)
    except ValueError as exc:
        raise Unstreamable(f"'{enhancer.name}' cannot stream: {enhancer.not_causal or exc}") from None
    n_fft, hop, win = enh.stft_params(sample_rate)
    ref = None
    if noise is not None:
        ref = np.atleast_2d(np.asarray(noise, dtype=np.float64))
        ref = np.repeat(ref, channels, axis=0) if ref.shape[0] == 1 else ref
        if ref.shape[0] != channels:
            raise Unstreamable(f"noise sample has {ref.shape[0]} channels but the stream has {channels}")
    frames = Frames(sample_rate, n_fft, hop, win, ref, {})

    def process_frames(spec: np.ndarray) -> np.ndarray:
        power = spec.real ** 2 + spec.imag ** 2
        return spec * enh.spectral_gain(None, power, frames)  # type: ignore[arg-type]

    def reset() -> None:
        frames.state = {}

    s = StftStreamer(sample_rate, channels, n_fft, hop, _window(enh.window, win, n_fft), process_frames,
                     passthrough_below=win, on_reset=reset)
    s.name = enh.name
    return s


class FilterStreamer(Streamer):
    """A causal IIR (second-order sections) or FIR filter with carried initial conditions.

    Shape:
        as :class:`~audiorestore.stream.base.Streamer`; ``coeffs`` SOS ``(n, 6)``, FIR taps ``(taps,)``
        or None (pass-through).
    """

    def __init__(self, coeffs: np.ndarray | None, sample_rate: int, channels: int = 1, name: str = "") -> None:
        self.coeffs = None if coeffs is None else np.asarray(coeffs, dtype=np.float64)
        self.name = name
        super().__init__(sample_rate, channels, latency=0)

    def _reset_state(self) -> None:
        c = self.coeffs
        if c is None:
            self._zi = None
        elif c.ndim == 2:
            self._zi = np.zeros((c.shape[0], self.channels, 2))
        else:
            self._zi = np.zeros((self.channels, max(c.size - 1, 0)))

    def _push(self, x: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
        c = self.coeffs
        if c is None:
            return x
        if c.ndim == 2:
            y, self._zi = signal.sosfilt(c, x, axis=-1, zi=self._zi)
        elif c.size == 1:
            y = x * c[0]
        else:
            y, self._zi = signal.lfilter(c, [1.0], x, axis=-1, zi=self._zi)
        return y


def filter_streamer(enhancer: Filter | HumNotch, sample_rate: int, channels: int = 1) -> FilterStreamer:
    """Stream ``filter`` or ``notch``: the ``zero_phase=False`` variant (one forward pass)."""
    enh = dataclasses.replace(enhancer, zero_phase=False)
    try:
        coeffs = enh.coefficients(sample_rate)
    except ValueError as exc:
        raise Unstreamable(f"'{enhancer.name}': {exc}") from None
    return FilterStreamer(coeffs, sample_rate, channels, enhancer.name)


class AdaptiveStreamer(Streamer):
    """Adaptive noise cancelling (``anc``) or the adaptive line enhancer (``ale``), sample-exact.

    ``anc`` needs the reference noise block with every block (``process(block, reference=ref)``);
    ``ale`` builds its reference by delaying the input by ``delay_ms``.
    """

    def __init__(self, enhancer: adaptive.AdaptiveNoiseCanceller | adaptive.AdaptiveLineEnhancer,
                 sample_rate: int, channels: int = 1) -> None:
        self.enhancer = enhancer
        self.name = enhancer.name
        self.is_ale = isinstance(enhancer, adaptive.AdaptiveLineEnhancer)
        self.needs_reference = not self.is_ale
        self.delay = max(1, int(round(enhancer.delay_ms * 1e-3 * sample_rate))) if self.is_ale else 0
        self.algorithm = "nlms" if self.is_ale and enhancer.normalized else (
            "lms" if self.is_ale else enhancer.algorithm)
        latency = enhancer.n_taps - 1 if self.algorithm == "fdaf" else 0
        super().__init__(sample_rate, channels, latency=latency)

    def _reset_state(self) -> None:
        c, n = self.channels, self.enhancer.n_taps
        self._w = np.zeros((c, n))
        self._hist = np.zeros((c, n - 1))            # the reference samples before the block
        self._delay_line = np.zeros((c, self.delay))  # ale: the input samples the reference still needs
        self._states: list[dict] = [{} for _ in range(c)]
        self._d = np.zeros((c, 0))                   # fdaf: samples waiting for a whole block
        self._x = np.zeros((c, 0))

    def _run(self, d: np.ndarray, x: np.ndarray) -> np.ndarray:
        e = np.empty_like(d)
        enh = self.enhancer
        for c in range(self.channels):
            if self.algorithm in ("lms", "nlms"):
                normalized = self.algorithm == "nlms"
                e[c], self._w[c] = adaptive._lms_channel(d[c], x[c], self._w[c], enh.mu, normalized, 1e-6, 64,
                                                         self._hist[c])
            elif self.algorithm == "rls":
                e[c], self._w[c] = adaptive._rls_channel(d[c], x[c], self._w[c], enh.lam, enh.delta, 64,
                                                         self._hist[c], self._states[c])
            else:
                e[c], self._w[c] = adaptive._fdaf_channel(d[c], x[c], self._w[c], enh.mu, enh.beta, self._states[c])
        if self.algorithm != "fdaf" and self._hist.shape[-1]:
            self._hist = np.concatenate([self._hist, x], axis=-1)[:, -self._hist.shape[-1]:]
        return e

    def _push(self, x: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
        if self.is_ale:
            line = np.concatenate([self._delay_line, x], axis=-1)
            ref, self._delay_line = line[:, :x.shape[-1]], line[:, x.shape[-1]:]
            e = self._run(x, ref)
            return e if self.enhancer.output == "residual" else x - e
        if self.algorithm != "fdaf":
            return self._run(x, reference)  # type: ignore[arg-type]
        self._d = np.concatenate([self._d, x], axis=-1)
        self._x = np.concatenate([self._x, reference], axis=-1)  # type: ignore[list-item]
        n = self.enhancer.n_taps
        whole = (self._d.shape[-1] // n) * n
        if whole == 0:
            return np.zeros((self.channels, 0))
        e = self._run(self._d[:, :whole], self._x[:, :whole])
        self._d, self._x = self._d[:, whole:], self._x[:, whole:]
        return e

    def _finish(self) -> np.ndarray:
        if self.algorithm == "fdaf" and self._d.shape[-1]:
            return self._run(self._d, self._x)  # the last block, zero-padded as offline
        return np.zeros((self.channels, 0))
