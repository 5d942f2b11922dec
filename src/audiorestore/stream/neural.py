"""Streaming wrapper of the causal neural denoisers: STFT frames in, the model's step, frames out.

A causal model family streams when its module (or anyone) registers a *step*: a function
``step(model, spec, state) -> spec_out`` that maps the complex STFT of new frames ``(B, F, n)``
(``B`` = channels) to the enhanced frames, resuming from ``state`` (a dict, empty at the start, that
the step fills). The framing, overlap-add, fixed delay and block handling are shared
(:class:`~audiorestore.stream.stft.StftStreamer`, with the model's ``frontend`` STFT settings), so a
new family needs only::

    from audiorestore.stream.neural import register_causal_family
    register_causal_family("gtcrn", lambda model, spec, state: model.step(spec, state))

The default step, for models that estimate a mask with a resumable ``mask_from_spec(spec, state)``
(``crm``, ``nmmse``), is ``spec * model.mask_from_spec(spec, state)``. The streamed output equals the
model's offline output on the whole signal (to float32 rounding) when the model is causal; ``nmmse``
uses its causal classical chain (as ``logmmse --set causal=true``). Latency: the model's STFT window
minus one sample (``crm``/``nmmse``: 512-sample windows at 16 kHz, 31.9 ms).

Example:
    >>> from audiorestore.stream import stream
    >>> s = stream("crm", sample_rate=16000, checkpoint="crm_unittest")   # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..dsp.stft import _window
from .base import Streamer, Unstreamable
from .stft import StftStreamer

log = logging.getLogger(__name__)

#: ``step(model, spec (B, F, n) complex, state dict) -> enhanced spec (B, F, n)``.
StepFn = Callable[[Any, torch.Tensor, dict], torch.Tensor]


def mask_step(model: Any, spec: torch.Tensor, state: dict) -> torch.Tensor:
    """The step of a masking model with a resumable ``mask_from_spec(spec, state)``."""
    return spec * model.mask_from_spec(spec, state=state)


CAUSAL_FAMILIES: dict[str, StepFn] = {"crm": mask_step, "nmmse": mask_step}


def register_causal_family(family: str, step: StepFn = mask_step) -> None:
    """Declare a model family causal and give its step (see the module docstring)."""
    CAUSAL_FAMILIES[family] = step


def neural_streamer(enhancer: Any, sample_rate: int, channels: int = 1) -> StftStreamer:
    """Stream a :class:`~audiorestore.models.neural.NeuralDenoiser` whose family is causal.

    The stream runs at the model's rate (no resampling inside the stream: resample upstream, e.g.
    ``sox ... -r 16000``, or open the device at that rate, as ``audiorestore live`` does).
    """
    from ..models.neural import trained_level_db

    model = enhancer.load()
    meta = enhancer._meta
    family = meta.get("family")
    step = CAUSAL_FAMILIES.get(family)
    if step is None:
        raise Unstreamable(f"'{family}' models cannot stream: they look at future samples (not causal); "
                           f"causal families: {', '.join(sorted(CAUSAL_FAMILIES))}")
    rate = int(meta["sample_rate"])
    if sample_rate != rate:
        raise Unstreamable(f"this '{family}' model runs at {rate} Hz; stream audio at {rate} Hz "
                           f"(got {sample_rate} Hz; resample upstream)")
    if trained_level_db(meta) is not None:
        log.warning("%s: the model was trained at a fixed input level; the stream cannot normalise the whole "
                    "signal's level in advance, so feed it at about that level", family)
    fe = model.frontend
    device = next(model.parameters()).device
    state: dict = {}

    @torch.inference_mode()
    def process_frames(spec: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(spec.astype(np.complex64)).to(device)
        return step(model, t, state).cpu().numpy().astype(np.complex128)

    s = StftStreamer(sample_rate, channels, fe.n_fft, fe.hop_length, _window("hann", fe.win_length, fe.n_fft),
                     process_frames, on_reset=state.clear)
    s.name = enhancer.name
    return s


class WaveformStepStreamer(Streamer):
    """Stream a model with its own waveform streaming path (``bandmmse``): ``model.init_state(batch)``,
    ``model.step(block (B, 1, k * hop), state)`` returning as many samples delayed by ``model.latency``,
    and ``model.flush(state)`` for the last ``model.latency``.

    Samples are buffered up to a whole hop, so the stream's latency is ``model.latency + hop - 1``
    (``bandmmse`` at 16 kHz: 384 + 127 samples, 31.9 ms); the output equals the method's offline
    output (the same recursion over the same samples).
    """

    def __init__(self, enhancer: Any, sample_rate: int, channels: int = 1) -> None:
        self._model = enhancer.load()
        self._device = next(self._model.parameters()).device
        self._hop = int(self._model.config.hop_length)
        self.name = enhancer.name
        super().__init__(sample_rate, channels, int(self._model.latency) + self._hop - 1)

    def _reset_state(self) -> None:
        self._state = self._model.init_state(self.channels)
        self._buf = np.zeros((self.channels, 0))
        self._skip = int(self._model.latency)  # the model's own delay: its first outputs precede the input

    def _run(self, y: torch.Tensor) -> np.ndarray:
        out = y[:, 0].cpu().numpy().astype(np.float64)
        drop = min(self._skip, out.shape[-1])
        self._skip -= drop
        return out[:, drop:]

    @torch.inference_mode()
    def _push(self, x: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
        buf = np.concatenate([self._buf, x], axis=-1)
        n = buf.shape[-1] - buf.shape[-1] % self._hop
        self._buf = buf[:, n:]
        if n == 0:
            return np.zeros((self.channels, 0))
        block = torch.from_numpy(buf[:, None, :n].astype(np.float32)).to(self._device)
        return self._run(self._model.step(block, self._state))

    @torch.inference_mode()
    def _finish(self) -> np.ndarray:
        parts = []
        if self._buf.shape[-1]:  # the last partial hop, padded with zeros (as the offline method pads)
            pad = np.pad(self._buf, ((0, 0), (0, -self._buf.shape[-1] % self._hop)))
            block = torch.from_numpy(pad[:, None].astype(np.float32)).to(self._device)
            parts.append(self._run(self._model.step(block, self._state)))
            self._buf = np.zeros((self.channels, 0))
        parts.append(self._run(self._model.flush(self._state)))
        return np.concatenate(parts, axis=-1)


#: Families streamed through their own waveform step (:class:`WaveformStepStreamer`).
WAVEFORM_FAMILIES = {"bandmmse"}


def waveform_streamer(enhancer: Any, sample_rate: int, channels: int = 1) -> WaveformStepStreamer:
    """The streamer of a model family with a waveform ``step`` (see :class:`WaveformStepStreamer`)."""
    enhancer.load()
    rate = int(enhancer._meta["sample_rate"])
    if sample_rate != rate:
        raise Unstreamable(f"this '{enhancer.name}' model runs at {rate} Hz; stream audio at {rate} Hz "
                           f"(got {sample_rate} Hz; resample upstream)")
    return WaveformStepStreamer(enhancer, sample_rate, channels)
