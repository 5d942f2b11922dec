"""Live audio: microphone to speakers (or to a file) through a :class:`~audiorestore.stream.base.Streamer`.

Audio devices come from ``sounddevice`` (PortAudio), an optional extra (``pip install
'audiorestore[live]'``; on Debian/Ubuntu PortAudio itself is the ``libportaudio2`` package), imported
only here. The loop is device-agnostic: it reads a block, processes it, writes it, and measures the
CPU load of each block (processing time / block duration) and the blocks dropped (input overflows,
where the device had to discard samples, and output underflows, where the speakers ran dry). Any
object with sounddevice's blocking ``read(frames) -> (data, overflowed)`` and
``write(data) -> underflowed`` (``data`` ``(frames, channels)`` float32) can stand in for the device,
which is how the loop is tested without hardware.

Example:
    >>> # audiorestore live --method logmmse            (microphone -> speakers)      # doctest: +SKIP
    >>> # audiorestore live -o take1.wav --seconds 30    (microphone -> file)          # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..errors import MissingExtraError, ParameterError
from .base import Streamer

log = logging.getLogger(__name__)


class BlockDevice(Protocol):
    """What the loop needs from a device (sounddevice's blocking ``Stream``/``InputStream`` API)."""

    def read(self, frames: int) -> tuple[np.ndarray, bool]: ...


@dataclass
class LiveStats:
    """Per-block measurements of a live run."""

    block: int
    sample_rate: int
    loads: list[float] = field(default_factory=list)   #: processing time / block duration, per block
    overflows: int = 0                                   #: input blocks the device reported as overflowed
    underflows: int = 0                                  #: output blocks that ran dry

    @property
    def blocks(self) -> int:
        return len(self.loads)

    @property
    def dropped(self) -> int:
        return self.overflows + self.underflows

    def summary(self) -> str:
        if not self.loads:
            return "no blocks processed"
        loads = np.asarray(self.loads) * 100
        return (f"{self.blocks} blocks of {1000 * self.block / self.sample_rate:.1f} ms: CPU load per block mean "
                f"{loads.mean():.1f}%, p99 {np.percentile(loads, 99):.1f}%, max {loads.max():.1f}%; dropped "
                f"{self.dropped} ({self.overflows} input overflows, {self.underflows} output underflows)")


def sounddevice() -> Any:
    """The ``sounddevice`` module, or a one-line error naming the extra to install."""
    try:
        import sounddevice as sd
    except ImportError:
        raise MissingExtraError("sounddevice", "live", "live audio") from None
    except OSError as exc:  # the module is there but PortAudio is not
        raise MissingExtraError("sounddevice", "live", f"live audio (PortAudio library: {exc}; on Debian/Ubuntu "
                                "apt-get install libportaudio2)") from None
    return sd


def list_devices() -> str:
    """The audio devices PortAudio sees (one per line with its channels and default rate), or a
    message saying there are none."""
    sd = sounddevice()
    devices = list(sd.query_devices())
    if not devices:
        return "no audio devices found (PortAudio sees no input or output device on this machine)"
    try:
        default_in, default_out = sd.default.device
    except Exception:  # pragma: no cover - depends on the host API
        default_in = default_out = -1
    lines = []
    for i, d in enumerate(devices):
        mark = ("<" if i == default_in else " ") + (">" if i == default_out else " ")
        lines.append(f"{mark} {i:3d} {d['name']}  (in {d['max_input_channels']}, out {d['max_output_channels']}, "
                     f"{d['default_samplerate']:.0f} Hz)")
    lines.append("(< default input, > default output)")
    return "\n".join(lines)


def process_loop(device: BlockDevice, streamer: Streamer, block: int, *, write: Callable[[np.ndarray], Any] | None,
                 sink: Callable[[np.ndarray], None] | None = None, max_blocks: int | None = None,
                 status: Callable[[LiveStats, float], None] | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> LiveStats:
    """Read ``block`` frames at a time from ``device``, process, and hand the result to ``write``
    (the output device: returns True when it underflowed) and/or ``sink`` (a file), until
    ``max_blocks`` blocks or Ctrl+C. ``status(stats, load)`` is called after every block.

    Shape:
        device blocks ``(frames, channels)``; ``write`` and ``sink`` get ``(frames, channels)`` and
        ``(channels, frames)``.
    """
    stats = LiveStats(block, streamer.sample_rate)
    duration = block / streamer.sample_rate
    try:
        while max_blocks is None or stats.blocks < max_blocks:
            data, overflowed = device.read(block)
            t0 = clock()
            y = streamer.process(np.asarray(data, dtype=np.float32).T)
            load = (clock() - t0) / duration
            stats.loads.append(load)
            stats.overflows += bool(overflowed)
            if write is not None:
                stats.underflows += bool(write(np.ascontiguousarray(y.T, dtype=np.float32)))
            if sink is not None:
                sink(y)
            if status is not None:
                status(stats, load)
    except KeyboardInterrupt:
        log.info("stopped")
    return stats


def run_live(streamer: Streamer, *, input_device: int | str | None = None, output_device: int | str | None = None,
             output_path: str | None = None, block_ms: float = 10.0, seconds: float | None = None,
             status: Callable[[LiveStats, float], None] | None = None, overwrite: bool = False) -> LiveStats:
    """Microphone (``input_device``) through ``streamer`` to the speakers (``output_device``) or, with
    ``output_path``, to a file (written atomically when the run ends: after ``seconds`` or Ctrl+C).

    The device runs at ``streamer.sample_rate`` with ``streamer.channels`` channels.
    """
    sd = sounddevice()
    if streamer.needs_reference:
        raise ParameterError(f"{streamer.name} needs a reference signal with every block; live audio has one input")
    if block_ms <= 0:
        raise ParameterError(f"block size must be positive, got {block_ms} ms")
    block = max(1, int(round(block_ms * 1e-3 * streamer.sample_rate)))
    max_blocks = None if seconds is None else max(1, int(round(seconds * streamer.sample_rate / block)))
    kw = dict(samplerate=streamer.sample_rate, blocksize=block, channels=streamer.channels, dtype="float32",
              latency="low")
    try:
        if output_path is None:
            dev = sd.Stream(device=(input_device, output_device), **kw)
        else:
            dev = sd.InputStream(device=input_device, **kw)
    except Exception as exc:  # PortAudio errors: no device, unsupported rate...
        raise ParameterError(f"cannot open the audio device: {exc} (see 'audiorestore live --list-devices')") from None
    with dev:
        if output_path is None:
            return process_loop(dev, streamer, block, write=dev.write, max_blocks=max_blocks, status=status)
        from ..io import AtomicWriter

        with AtomicWriter(output_path, streamer.sample_rate, streamer.channels, overwrite=overwrite) as w:
            stats = process_loop(dev, streamer, block, write=None, sink=w.write, max_blocks=max_blocks,
                                 status=status)
            tail = streamer.flush()
            w.write(tail if tail.ndim == 2 else tail[None])
        return stats
