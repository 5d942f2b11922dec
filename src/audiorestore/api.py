"""The Python API: what the command line calls, with plain typed arguments.

Example:
    >>> import audiorestore as ar
    >>> clean = ar.denoise(noisy, 16000, method="wiener")          # doctest: +SKIP
    >>> ar.denoise_file("noisy.wav", "clean.wav", method="logmmse")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from . import io
from .enhancer import Enhancer, get_method
from .errors import AudioInputError

log = logging.getLogger(__name__)

DEFAULT_DENOISE_METHOD = "wiener"


def denoise(audio: np.ndarray, sample_rate: int, method: str | Enhancer = DEFAULT_DENOISE_METHOD,
            noise: np.ndarray | None = None, **params: Any) -> np.ndarray:
    """Denoise an array ``(..., time)`` at ``sample_rate``; returns the same shape.

    ``method`` is a registered name (see :func:`audiorestore.list_methods`) or an Enhancer instance;
    ``params`` are that method's parameters. ``noise`` is an optional noise-only recording.
    """
    enhancer = get_method(method, **params) if isinstance(method, str) else method
    return enhancer(audio, sample_rate, noise=noise)


def _check_file(path: Path, block_frames: int) -> io.AudioInfo:
    """Header check plus a streaming scan for NaN/inf and all-zero content (bounded memory)."""
    info = io.info(path)
    any_signal = False
    clipped = 0
    try:
        for _, block in io.iter_blocks(path, block_frames):
            if not np.all(np.isfinite(block)):
                raise AudioInputError("contains NaN or infinite samples", path)
            any_signal = any_signal or bool(np.any(block))
            clipped += int(np.sum(np.abs(block) >= 0.999))
    except AudioInputError:
        raise
    except Exception as exc:
        raise AudioInputError(f"could not decode audio ({io._short(exc)})", path) from None
    if info.frames < io.MIN_SAMPLES:
        raise AudioInputError(f"too short: {info.frames} samples (at least {io.MIN_SAMPLES} needed)", path)
    if not any_signal:
        raise AudioInputError("is silent (all samples are zero); nothing to restore", path)
    if clipped > 1e-3 * info.frames * info.channels:
        log.warning("%s: %.2f%% of samples are at full scale (clipped input)", path,
                    100 * clipped / (info.frames * info.channels))
    return info


def process_file(enhancer: Enhancer, input: str | os.PathLike, output: str | os.PathLike, *,
                 noise: str | os.PathLike | None = None, overwrite: bool = False,
                 subtype: str | None = None) -> Path:
    """Run ``enhancer`` over a file of any length in overlapping blocks and write ``output`` atomically.

    Blocks of ``enhancer.block_s`` seconds overlapping by ``enhancer.overlap_s`` are cross-faded, so
    memory is bounded by the block size, not the file length. ``output`` never replaces ``input``.
    """
    src, dst = Path(input), Path(output)
    info = io.info(src)
    block = max(int(enhancer.block_s * info.sample_rate), io.MIN_SAMPLES * 4)
    overlap = min(int(enhancer.overlap_s * info.sample_rate), block // 4)
    _check_file(src, block)
    noise_sample, ref_path = None, None
    if noise is not None:
        n_info = io.info(noise)
        if getattr(enhancer, "needs_reference", False):
            if n_info.sample_rate != info.sample_rate:
                raise AudioInputError(
                    f"reference noise is at {n_info.sample_rate} Hz but the input is at {info.sample_rate} Hz; "
                    "adaptive noise cancellation needs a time-aligned reference at the same rate", noise)
            ref_path = Path(noise)
        else:  # a noise sample: at most one block of it, at the input's rate
            noise_sample, _ = io.read(noise, sample_rate=info.sample_rate, frames=int(60 * n_info.sample_rate))
    out_subtype = subtype or io.output_subtype(info, dst)
    prev_tail: np.ndarray | None = None
    with io.AtomicWriter(dst, info.sample_rate, info.channels, subtype=out_subtype, overwrite=overwrite,
                         protect=(str(src),) + ((str(noise),) if noise else ())) as writer:
        for start, x in io.iter_blocks(src, block, overlap):
            ref = noise_sample
            if ref_path is not None:
                r, _ = sf.read(str(ref_path), start=start, frames=x.shape[-1], dtype="float32", always_2d=True)
                ref = np.zeros_like(x[:1]) if r.shape[0] == 0 else r.T
                if ref.shape[-1] < x.shape[-1]:
                    ref = np.pad(ref, ((0, 0), (0, x.shape[-1] - ref.shape[-1])))
            y = np.asarray(enhancer(x, info.sample_rate, noise=ref), dtype=np.float32)
            if prev_tail is not None:
                o = prev_tail.shape[-1]
                fade = np.linspace(0.0, 1.0, o, dtype=np.float32)
                y[:, :o] = prev_tail * (1 - fade) + y[:, :o] * fade
            last = start + x.shape[-1] >= info.frames
            if last or y.shape[-1] <= overlap:
                writer.write(y)
                prev_tail = None
            else:
                writer.write(y[:, :-overlap])
                prev_tail = y[:, -overlap:]
        if prev_tail is not None:
            writer.write(prev_tail)
    return dst


def denoise_file(input: str | os.PathLike, output: str | os.PathLike, method: str = DEFAULT_DENOISE_METHOD, *,
                 noise: str | os.PathLike | None = None, overwrite: bool = False, **params: Any) -> Path:
    """Denoise one file into ``output`` (format from its extension; rate and channels kept)."""
    return process_file(get_method(method, **params), input, output, noise=noise, overwrite=overwrite)
