"""Streaming short-time Fourier processing: frames as they complete, weighted overlap-add, and output
as soon as no later frame can change it.

The frames, window and normalisation are exactly those of :func:`audiorestore.dsp.stft` /
:func:`audiorestore.dsp.istft` (and ``torch.stft``/``torch.istft`` with ``center=True``): frame ``l``
covers padded samples ``[l * hop, l * hop + n_fft)`` of the input with ``n_fft // 2`` zeros in front,
and the output is the overlap-add of the processed frames divided by the overlap-added squared
window. A frame is processed once its last non-zero window sample has arrived; an output sample is
final once the next frame's window no longer reaches it. That makes the delay at most
``win_length - 1`` samples (the window minus one sample; 511 samples, 31.9 ms, for 32 ms windows),
whatever the block size: the streamed output equals the offline one whenever the per-frame
processing is causal.

Example:
    >>> import numpy as np
    >>> s = StftStreamer(16000, 1, 512, 128, np.hanning(512), lambda spec: spec)   # identity
    >>> x = np.random.default_rng(0).standard_normal(4000)
    >>> y = np.concatenate([s.process(x[:1000]), s.process(x[1000:]), s.flush()])
    >>> bool(np.allclose(y[s.latency:], x))
    True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .base import Streamer

#: Frames ``(channels, freq, frames)`` complex -> processed frames, same shape (state kept by the callee).
FrameFn = Callable[[np.ndarray], np.ndarray]


def _extend(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` with ``n`` zeros appended on the last axis (np.pad costs ~50 us a call; this ~2 us)."""
    out = np.zeros(a.shape[:-1] + (a.shape[-1] + n,), dtype=a.dtype)
    out[..., :a.shape[-1]] = a
    return out


class StftStreamer(Streamer):
    """Frame-by-frame STFT analysis, a per-frame callback, and overlap-add synthesis.

    ``window`` has ``n_fft`` samples (a shorter window zero-padded in the middle, as
    :func:`audiorestore.dsp.stft` does). ``process_frames`` gets the complex spectra of the new frames
    ``(channels, n_fft // 2 + 1, frames)`` in order and returns the processed spectra.
    ``passthrough_below``: an input shorter than this many samples comes back unchanged (the spectral
    methods return such input as it is).

    Shape:
        as :class:`~audiorestore.stream.base.Streamer`.
    """

    def __init__(self, sample_rate: int, channels: int, n_fft: int, hop_length: int, window: np.ndarray,
                 process_frames: FrameFn, passthrough_below: int = 0, on_reset: Callable[[], None] | None = None
                 ) -> None:
        window = np.asarray(window, dtype=np.float64)
        if window.shape != (n_fft,):
            raise ValueError(f"window must have n_fft={n_fft} samples, found shape {window.shape}")
        nz = np.flatnonzero(window)
        if nz.size == 0 or not 0 < hop_length <= n_fft:
            raise ValueError(f"need a non-zero window and 0 < hop_length <= n_fft, got hop {hop_length}")
        self.n_fft, self.hop_length, self.window = n_fft, hop_length, window
        self._wsq = window ** 2
        self._first, self._last = int(nz[0]), int(nz[-1])  # support of the window within the frame
        self._pad = n_fft // 2
        self._process_frames = process_frames
        self._on_reset = on_reset
        self._passthrough = passthrough_below
        support = self._last - self._first + 1
        super().__init__(sample_rate, channels, latency=max(support - 1, passthrough_below - 1, 0))

    def _reset_state(self) -> None:
        c = self.channels
        self._buf = np.zeros((c, self._pad))   # padded input from padded index self._buf0
        self._buf0 = 0
        self._next = 0                          # next frame index
        self._acc = np.zeros((c, 0))            # overlap-add accumulator from padded index self._acc0
        self._norm = np.zeros(0)
        self._acc0 = 0
        self._done = self._pad                  # padded index of the first output sample not yet final
        self._head = np.zeros((c, 0))           # raw input while it is shorter than passthrough_below
        if self._on_reset is not None:
            self._on_reset()

    def _frames(self, last: int) -> None:
        """Process frames ``self._next .. last`` (inclusive) and overlap-add them."""
        if last < self._next:
            return
        n, hop = self.n_fft, self.hop_length
        start, stop = self._next * hop, last * hop + n                  # padded range the frames need
        have = self._buf0 + self._buf.shape[-1]
        buf = self._buf if stop <= have else _extend(self._buf, stop - have)
        seg = buf[:, start - self._buf0:stop - self._buf0]
        frames = np.lib.stride_tricks.sliding_window_view(seg, n, axis=-1)[:, ::hop]   # (C, frames, n)
        spec = np.fft.rfft(frames * self.window, axis=-1)
        out = np.asarray(self._process_frames(np.swapaxes(spec, -1, -2)))
        y = np.fft.irfft(np.swapaxes(out, -1, -2), n=n, axis=-1) * self.window          # (C, frames, n)
        need = stop - self._acc0
        if self._acc.shape[-1] < need:
            grow = need - self._acc.shape[-1]
            self._acc, self._norm = _extend(self._acc, grow), _extend(self._norm, grow)
        for i in range(y.shape[1]):
            at = start + i * hop - self._acc0
            self._acc[:, at:at + n] += y[:, i]
            self._norm[at:at + n] += self._wsq
        self._next = last + 1
        keep = self._next * hop - self._buf0                            # drop input no frame needs again
        if keep > 0:
            self._buf = self._buf[:, keep:]
            self._buf0 += keep

    def _emit(self, upto: int) -> np.ndarray:
        """Output up to padded index ``upto`` (exclusive), normalised by the overlap-added window."""
        if upto <= self._done:
            return np.zeros((self.channels, 0))
        k0, k = self._done - self._acc0, upto - self._acc0   # the accumulator may start before the output
        if self._acc.shape[-1] < k:
            grow = k - self._acc.shape[-1]
            self._acc, self._norm = _extend(self._acc, grow), _extend(self._norm, grow)
        out, norm = self._acc[:, k0:k], self._norm[k0:k]
        out = np.where(norm > 1e-11, out / np.where(norm > 1e-11, norm, 1.0), out)
        drop = max(min(upto, self._next * self.hop_length) - self._acc0, 0)  # keep where later frames add
        self._acc, self._norm = self._acc[:, drop:], self._norm[drop:]
        self._acc0 += drop
        self._done = upto
        return out

    def _push(self, x: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
        if self._n_in - x.shape[-1] < self._passthrough:
            self._head = np.concatenate([self._head, x[:, :self._passthrough - self._head.shape[-1]]], axis=-1)
        self._buf = np.concatenate([self._buf, x], axis=-1)
        received = self._pad + self._n_in                                # padded length so far
        last = (received - self._last - 1) // self.hop_length            # frames whose support has arrived
        self._frames(last)
        if self._n_in < self._passthrough:
            return np.zeros((self.channels, 0))
        final = min(self._next * self.hop_length + self._first, received)
        return self._emit(final)

    def _finish(self) -> np.ndarray:
        n_in = self._n_in
        if n_in < self._passthrough:  # too short to process: the input as it is
            return self._head[:, self._done - self._pad:n_in]
        total = n_in + 2 * self._pad                                     # offline: zeros on both sides
        last = (total - self.n_fft) // self.hop_length if total >= self.n_fft else 0
        self._frames(last)
        return self._emit(self._pad + n_in)
