"""The streaming protocol: a stateful wrapper that takes audio block by block and returns it after a
fixed delay.

Every streaming method is a :class:`Streamer`. ``process(block)`` takes any number of new samples
(one sample to minutes) and returns exactly as many, delayed by :attr:`Streamer.latency` samples:
the concatenation of everything ``process`` and ``flush`` return is ``latency`` samples of silence
followed by the method's (causal) output for the whole input, sample for sample. That fixed delay is
the algorithmic latency (the look-ahead a frame-based method needs), not the processing time.

Subclasses implement :meth:`Streamer._push` (consume samples, return the output samples that are final
so far, any number) and :meth:`Streamer._finish` (the rest at the end); this class keeps the fixed
delay, the shapes and the checks (denoiser's ``DemucsStreamer`` has the same split between
``feed``/``flush`` and the model).

Example:
    >>> import numpy as np
    >>> import audiorestore as ar
    >>> s = ar.stream("wiener", sample_rate=16000)
    >>> x = np.random.default_rng(0).standard_normal(16000).astype("float32") * 0.1
    >>> y = np.concatenate([s.process(x[i:i + 160]) for i in range(0, 16000, 160)] + [s.flush()])
    >>> y.shape[-1] == 16000 + s.latency
    True
"""

from __future__ import annotations

import logging

import numpy as np

from ..errors import AudioInputError, ParameterError

log = logging.getLogger(__name__)


class Streamer:
    """Base class of the streaming wrappers (see the module docstring for the contract).

    Shape:
        ``process``: ``(time,)`` when ``channels == 1``, or ``(channels, time)`` -> the same shape.
        ``flush``: the last ``latency`` samples, in the shape of the blocks given.

    Attributes:
        sample_rate: rate of the audio, Hz. channels: channels per block. latency: delay in samples.
        name: the method streamed.
    """

    name: str = ""
    #: Whether :meth:`process` needs a time-aligned reference block (adaptive noise cancelling).
    needs_reference: bool = False

    def __init__(self, sample_rate: int, channels: int = 1, latency: int = 0) -> None:
        if int(sample_rate) != sample_rate or sample_rate <= 0:
            raise ParameterError(f"sample_rate must be a positive integer, got {sample_rate}")
        if int(channels) != channels or channels < 1:
            raise ParameterError(f"channels must be a positive integer, got {channels}")
        self.sample_rate, self.channels, self._latency = int(sample_rate), int(channels), int(latency)
        self._squeeze = False
        self._dtype = np.dtype(np.float32)
        self.reset()

    @property
    def latency(self) -> int:
        """Algorithmic delay in samples: output sample ``n + latency`` is the method's sample ``n``."""
        return self._latency

    @property
    def latency_ms(self) -> float:
        return 1000.0 * self._latency / self.sample_rate

    def reset(self) -> None:
        """Forget all state: the next block starts a new stream."""
        self._pending = np.zeros((self.channels, self._latency), dtype=np.float64)
        self._n_in = 0
        self._reset_state()

    def _check(self, block: np.ndarray, what: str = "block") -> np.ndarray:
        a = np.asarray(block)
        if a.ndim == 1 and self.channels == 1:
            a = a[None]
        if a.ndim != 2 or a.shape[0] != self.channels:
            raise AudioInputError(f"expected a {what} of shape (channels={self.channels}, time)"
                                  + (" or (time,)" if self.channels == 1 else "") + f", found shape {a.shape}")
        if a.dtype.kind not in "fiu":
            raise AudioInputError(f"expected real audio samples, found dtype {a.dtype}")
        a = a.astype(np.float64, copy=False)
        if not np.all(np.isfinite(a)):
            raise AudioInputError(f"{what} contains NaN or infinite samples")
        return a

    def process(self, block: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
        """Take the next samples; return as many output samples, ``latency`` samples behind.

        ``reference`` (only for methods with ``needs_reference``, e.g. ``anc``): the reference noise
        samples aligned with ``block``, same length.
        """
        arr = np.asarray(block)
        self._squeeze = arr.ndim == 1
        self._dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float32)
        x = self._check(arr)
        ref = None
        if self.needs_reference:
            if reference is None:
                raise ParameterError(f"{self.name} needs a reference block: process(block, reference=...)")
            ref = self._check(reference, "reference block")
            if ref.shape[-1] != x.shape[-1]:
                raise AudioInputError(f"reference block has {ref.shape[-1]} samples but the block has {x.shape[-1]}")
        elif reference is not None:
            raise ParameterError(f"{self.name} takes no reference block")
        n = x.shape[-1]
        self._n_in += n
        if n:
            y = self._push(x, ref)
            if y.shape[-1]:
                self._pending = np.concatenate([self._pending, y], axis=-1)
        if self._pending.shape[-1] < n:  # a subclass finalised fewer samples than its latency promises
            raise RuntimeError(f"{type(self).__name__}: {self._pending.shape[-1]} output samples ready for a block "
                               f"of {n} (latency {self._latency})")
        out, self._pending = self._pending[:, :n], self._pending[:, n:]
        return self._shape(out)

    def flush(self) -> np.ndarray:
        """The last ``latency`` output samples (the end of the input), then :meth:`reset`."""
        y = self._finish()
        out = np.concatenate([self._pending, y], axis=-1) if y.shape[-1] else self._pending
        out = out[:, :self._latency]
        if out.shape[-1] < self._latency:  # input shorter than the latency: silence after its end
            out = np.pad(out, ((0, 0), (0, self._latency - out.shape[-1])))
        self.reset()
        return self._shape(out)

    def _shape(self, y: np.ndarray) -> np.ndarray:
        y = y.astype(self._dtype, copy=False)
        return y[0] if self._squeeze else y

    # ------------------------------------------------------------------------------- subclass hooks
    def _reset_state(self) -> None:
        """Clear the method's state."""

    def _push(self, x: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
        """Consume ``x`` ``(channels, n)`` float64; return the output samples final so far ``(channels, m)``."""
        raise NotImplementedError

    def _finish(self) -> np.ndarray:
        """The output samples not returned yet, at the end of the input ``(channels, m)``."""
        return np.zeros((self.channels, 0))


class Unstreamable(ParameterError):
    """A method that has no streaming (causal) variant; the message says why in one line."""
