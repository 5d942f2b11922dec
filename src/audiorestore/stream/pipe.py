"""Streaming audio through pipes: WAV or raw PCM in, processed audio out, block by block.

``audiorestore denoise - -o -`` sits in an ffmpeg/sox/arecord pipeline: it reads a block, processes
it with a :class:`~audiorestore.stream.base.Streamer`, and writes the result at once, so output starts
after the method's latency plus one block and memory does not grow with the length of the stream.

* Input: a WAV stream (RIFF/WAVE, PCM 16/24/32-bit or 32-bit float; a data size of 0 or 0xFFFFFFFF,
  as ffmpeg and sox write to a pipe, means "until the end of the input"), or raw interleaved PCM
  (``raw_format`` ``s16le``, ``s24le``, ``s32le`` or ``f32le`` with a rate and a channel count).
* Output: the same encoding. A WAV on a stream of unknown length gets a *streaming header* whose
  RIFF and data sizes are 0xFFFFFFFF (the largest a WAV can declare, as ffmpeg writes to a pipe);
  readers take the data up to the end of the stream. When the output is a seekable file the sizes
  are corrected at the end.
* The output is aligned with the input: the streamer's ``latency`` samples of leading silence are
  dropped and the flushed tail is written at the end, so ``N`` samples in give ``N`` samples out.

Example:
    >>> # arecord -f S16_LE -r 16000 -c 1 | audiorestore denoise - -o - | aplay      # doctest: +SKIP
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from ..errors import AudioInputError, ParameterError
from .base import Streamer

log = logging.getLogger(__name__)

#: raw sample formats: name -> (bytes per sample, WAV format tag, numpy dtype of the container)
RAW_FORMATS: dict[str, tuple[int, int, str]] = {"s16le": (2, 1, "<i2"), "s24le": (3, 1, ""), "s32le": (4, 1, "<i4"),
                                                 "f32le": (4, 3, "<f4")}
_UNKNOWN = 0xFFFFFFFF


@dataclass(frozen=True)
class PcmFormat:
    """Encoding of a PCM stream: rate, channels and sample format (a key of :data:`RAW_FORMATS`)."""

    sample_rate: int
    channels: int
    sample_format: str

    @property
    def frame_bytes(self) -> int:
        return RAW_FORMATS[self.sample_format][0] * self.channels


def _read_exact(f: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes: fewer only at the end of the stream."""
    out = bytearray()
    while len(out) < n:
        chunk = f.read(n - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def read_wav_header(f: BinaryIO) -> tuple[PcmFormat, int | None]:
    """Parse a WAV header from a non-seekable stream up to the start of its samples.

    Returns the format and the number of data bytes (None when the header does not say: a streaming
    WAV). Skips chunks other than ``fmt`` before ``data`` (``LIST``, ``fact``...).
    """
    head = _read_exact(f, 12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
        raise AudioInputError("standard input is not a WAV stream (use --raw-format for raw PCM)")
    fmt: PcmFormat | None = None
    while True:
        ck = _read_exact(f, 8)
        if len(ck) < 8:
            raise AudioInputError("WAV stream ended before its data chunk")
        cid, size = ck[:4], struct.unpack("<I", ck[4:])[0]
        if cid == b"data":
            if fmt is None:
                raise AudioInputError("WAV stream has no fmt chunk before its data")
            return fmt, None if size in (0, _UNKNOWN) or head[:4] == b"RF64" else size
        body = _read_exact(f, size + (size & 1))
        if len(body) < size:
            raise AudioInputError("WAV stream ended before its data chunk")
        if cid == b"fmt ":
            if size < 16:
                raise AudioInputError(f"WAV stream has a malformed fmt chunk ({size} bytes)")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's tag
                tag = struct.unpack("<H", body[24:26])[0]
            name = {(1, 16): "s16le", (1, 24): "s24le", (1, 32): "s32le", (3, 32): "f32le"}.get((tag, bits))
            if name is None or channels < 1 or rate < 1:
                raise AudioInputError(f"unsupported WAV stream (format tag {tag}, {bits} bits, {channels} "
                                      "channels); use 16/24/32-bit PCM or 32-bit float")
            fmt = PcmFormat(rate, channels, name)


def wav_header(fmt: PcmFormat, data_bytes: int | None = None) -> bytes:
    """A 44-byte WAV header; ``data_bytes`` None writes the streaming sizes (0xFFFFFFFF)."""
    width, tag, _ = RAW_FORMATS[fmt.sample_format]
    data = _UNKNOWN if data_bytes is None else data_bytes
    riff = _UNKNOWN if data_bytes is None else 36 + data_bytes
    return (b"RIFF" + struct.pack("<I", riff) + b"WAVE" + b"fmt " +
            struct.pack("<IHHIIHH", 16, tag, fmt.channels, fmt.sample_rate, fmt.sample_rate * fmt.frame_bytes,
                        fmt.frame_bytes, 8 * width) + b"data" + struct.pack("<I", data))


def decode(data: bytes, fmt: PcmFormat) -> np.ndarray:
    """Interleaved PCM bytes -> float32 ``(channels, frames)`` in [-1, 1)."""
    name = fmt.sample_format
    if name == "s24le":
        b = np.frombuffer(data, np.uint8).reshape(-1, 3).astype(np.int32)
        v = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8  # sign-extend 24 bits
        x = v.astype(np.float32) / 2.0 ** 23
    elif name == "f32le":
        x = np.frombuffer(data, "<f4").astype(np.float32)
    else:
        dt = RAW_FORMATS[name][2]
        x = np.frombuffer(data, dt).astype(np.float32) / float(2 ** (8 * np.dtype(dt).itemsize - 1))
    return x.reshape(-1, fmt.channels).T


def encode(x: np.ndarray, fmt: PcmFormat) -> bytes:
    """float ``(channels, frames)`` -> interleaved PCM bytes (integers clipped and rounded)."""
    inter = np.asarray(x, dtype=np.float64).T.reshape(-1)
    name = fmt.sample_format
    if name == "f32le":
        return inter.astype("<f4").tobytes()
    bits = 8 * RAW_FORMATS[name][0]
    scale = 2.0 ** (bits - 1)
    v = np.clip(np.round(inter * scale), -scale, scale - 1).astype(np.int64)
    if name == "s24le":
        v = v & 0xFFFFFF
        return np.stack([v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF], axis=-1).astype(np.uint8).tobytes()
    return v.astype(RAW_FORMATS[name][2]).tobytes()


def raw_format(sample_format: str, sample_rate: int | None, channels: int | None) -> PcmFormat:
    """The format of a raw PCM stream, checked."""
    if sample_format not in RAW_FORMATS:
        raise ParameterError(f"raw format must be one of {', '.join(RAW_FORMATS)}, got '{sample_format}'")
    if not sample_rate or sample_rate <= 0:
        raise ParameterError("raw PCM input needs --rate (e.g. --rate 16000)")
    if not channels or channels < 1:
        raise ParameterError("raw PCM input needs --channels (e.g. --channels 1)")
    return PcmFormat(int(sample_rate), int(channels), sample_format)


def stream_pipe(make_streamer, src: BinaryIO, dst: BinaryIO, raw: PcmFormat | None = None,
                block_ms: float = 20.0) -> int:
    """Read audio from ``src``, process it block by block, write it to ``dst`` as it goes.

    ``make_streamer(sample_rate, channels) -> Streamer`` builds the streamer once the input's format
    is known. ``raw``: the input is raw PCM of that format (otherwise a WAV stream, and the output a
    WAV). Returns the number of sample frames written (equal to the number read).
    """
    if block_ms <= 0:
        raise ParameterError(f"block size must be positive, got {block_ms} ms")
    if raw is None:
        fmt, data_bytes = read_wav_header(src)
    else:
        fmt, data_bytes = raw, None
    streamer: Streamer = make_streamer(fmt.sample_rate, fmt.channels)
    if streamer.needs_reference:
        raise ParameterError(f"{streamer.name} needs a time-aligned reference with every block; a pipe carries "
                             "one signal (use the Python API: process(block, reference=...))")
    seekable = False
    if raw is None:
        try:
            seekable = dst.seekable() and dst.tell() == 0
        except (OSError, ValueError):
            seekable = False
        dst.write(wav_header(fmt))  # sizes unknown yet: the streaming header
        dst.flush()
    block = max(1, int(round(block_ms * 1e-3 * fmt.sample_rate))) * fmt.frame_bytes
    to_drop = streamer.latency   # the leading silence of the fixed delay
    remaining = data_bytes
    written = 0
    leftover = b""

    def emit(y: np.ndarray) -> None:
        nonlocal to_drop, written
        if to_drop:
            k = min(to_drop, y.shape[-1])
            y, to_drop = y[:, k:], to_drop - k
        if y.shape[-1]:
            dst.write(encode(y, fmt))
            dst.flush()
            written += y.shape[-1]

    while remaining is None or remaining > 0:
        want = block if remaining is None else min(block, remaining)
        chunk = _read_exact(src, want)   # blocks until a whole block arrived (or the stream ended)
        if remaining is not None:
            remaining -= len(chunk)
        data = leftover + chunk
        whole = len(data) - len(data) % fmt.frame_bytes
        data, leftover = data[:whole], data[whole:]
        if data:
            emit(streamer.process(decode(data, fmt)))
        if len(chunk) < want:  # end of the stream
            break
    if leftover:
        log.warning("input ended inside a sample frame: %d trailing bytes ignored", len(leftover))
    emit(streamer.flush())
    if seekable:  # a regular file: write the real sizes
        dst.seek(0)
        dst.write(wav_header(fmt, written * fmt.frame_bytes))
        dst.seek(0, 2)
    dst.flush()
    return written
