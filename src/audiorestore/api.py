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

#: Used when no default denoising model is installed: of the classical methods, log-MMSE scored best
#: on the valid split (recipes/splits.toml, 24 mixtures): PESQ-wb 1.42 (noisy 1.16), COVL 1.63 (noisy 1.36).
FALLBACK_DENOISE_METHOD = "logmmse"


def default_denoise_method() -> str:
    """The family of the shipped default denoising model (``pretrained/models.json``, a 16 kHz model
    first), or log-MMSE where none is installed."""
    from .registry import list_models

    shipped = [m for m in list_models("denoise", include_unittest=False) if m.default]
    shipped.sort(key=lambda m: (m.sample_rate != 16000, m.name))
    return shipped[0].family if shipped else FALLBACK_DENOISE_METHOD


def denoise(audio: np.ndarray, sample_rate: int, method: str | Enhancer | None = None,
            noise: np.ndarray | None = None, **params: Any) -> np.ndarray:
    """Denoise an array ``(..., time)`` at ``sample_rate``; returns the same shape.

    ``method`` is a registered name (see :func:`audiorestore.list_methods`) or an Enhancer instance;
    None is the default (:func:`default_denoise_method`: the shipped model). ``params`` are that
    method's parameters. ``noise`` is an optional noise-only recording.
    """
    method = method or default_denoise_method()
    enhancer = get_method(method, **params) if isinstance(method, str) else method
    return enhancer(audio, sample_rate, noise=noise)


def _check_file(path: Path, block_frames: int) -> tuple[io.AudioInfo, bool]:
    """Header check plus a streaming scan for NaN/inf and all-zero content (bounded memory).

    Returns the header and whether the file is digital silence (every sample zero): silence is valid
    input (a muted channel, a padding track) whose restoration is silence, not an error.
    """
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
    if clipped > 1e-3 * info.frames * info.channels:
        log.warning("%s: %.2f%% of samples are at full scale (clipped input)", path,
                    100 * clipped / (info.frames * info.channels))
    return info, not any_signal


def write_silence(output: Path, info: io.AudioInfo, sample_rate: int, frames: int, *, overwrite: bool,
                  subtype: str | None, protect: tuple[str, ...]) -> Path:
    """Write ``frames`` zero samples of ``info.channels`` channels at ``sample_rate`` atomically (in
    blocks, so memory stays bounded): what restoring a silent input gives."""
    log.info("%s is digital silence (every sample is zero): the output is silence", info.path)
    block = 1 << 16
    with io.AtomicWriter(output, sample_rate, info.channels, subtype=subtype or io.output_subtype(info, output),
                         overwrite=overwrite, protect=protect) as writer:
        for start in range(0, frames, block):
            writer.write(np.zeros((info.channels, min(block, frames - start)), dtype=np.float32))
    return output


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
    _, silent = _check_file(src, block)
    if silent:
        return write_silence(dst, info, info.sample_rate, info.frames, overwrite=overwrite, subtype=subtype,
                             protect=(str(src),) + ((str(noise),) if noise else ()))
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


def denoise_file(input: str | os.PathLike, output: str | os.PathLike, method: str | None = None, *,
                 noise: str | os.PathLike | None = None, overwrite: bool = False, **params: Any) -> Path:
    """Denoise one file into ``output`` (format from its extension; rate and channels kept); method
    None is the default model."""
    return process_file(get_method(method or default_denoise_method(), **params), input, output, noise=noise,
                        overwrite=overwrite)


# ------------------------------------------------------------------------------ super-resolution
from .enhancer import Upsampler  # noqa: E402

#: The shipped models from the file's rate to the target, else sinc (superres.neural.AutoUpsampler).
DEFAULT_UPSAMPLE_METHOD = "auto"


def get_upsampler(method: str | Upsampler | None, params: dict[str, Any]) -> Upsampler:
    """Build an upsampler: a registered name with ``params``, an instance as is, or (no method and a
    ``checkpoint`` in ``params``) the registered method of the checkpoint's model family."""
    if isinstance(method, Upsampler):
        if params:
            raise TypeError(f"parameters {sorted(params)} given with an Upsampler instance; set them on it")
        return method
    if method is None and params.get("checkpoint"):
        from .superres.neural import upsampler_from_checkpoint  # the family stored in the checkpoint

        params = dict(params)
        return upsampler_from_checkpoint(params.pop("checkpoint"), **params)
    upsampler = get_method(method or DEFAULT_UPSAMPLE_METHOD, **params)
    if getattr(upsampler, "task", "") != "upsample":
        from .errors import ParameterError

        raise ParameterError(f"method '{upsampler.name}' is a {upsampler.task} method, not an upsampler "
                             "(see 'audiorestore methods --task upsample')")
    return upsampler


def upsample(audio: np.ndarray, sample_rate: int, target_rate: int, method: str | Upsampler | None = None,
             **params: Any) -> np.ndarray:
    """Super-resolve an array ``(..., time)`` at ``sample_rate`` to ``target_rate``.

    ``method`` is a registered upsampler name (``linear``, ``spline``, ``sinc``, ``audiounet``,
    ``tfilm``, ``mugan``, ``auto``; default ``auto``: the shipped models for the ratio, else sinc) or an Upsampler instance; ``params`` are its parameters
    (``checkpoint=...`` for the neural ones; with no method the checkpoint's family is used).

    Shape:
        ``(..., time)`` -> ``(..., round(time * target_rate / sample_rate))``.
    Example:
        >>> y = upsample(x, 16000, 48000, method="spline")                          # doctest: +SKIP
        >>> y = upsample(x, 16000, 48000, checkpoint="runs/audiounet/best.pt")    # doctest: +SKIP
    """
    return get_upsampler(method, params)(audio, sample_rate, target_rate)


def _aligned(n: int, unit: int) -> int:
    return max(unit, (n // unit) * unit)


def upsample_file(input: str | os.PathLike, output: str | os.PathLike, target_rate: int,
                  method: str | Upsampler | None = None, *, overwrite: bool = False,
                  subtype: str | None = None, **params: Any) -> Path:
    """Super-resolve one file of any length into ``output`` at ``target_rate`` (channels kept).

    The input rate is read from the file. Blocks of ``upsampler.block_s`` seconds overlapping by
    ``upsampler.overlap_s`` are upsampled and cross-faded, so memory is bounded by the block size.
    Block starts are multiples of ``sample_rate / gcd(sample_rate, target_rate)`` input samples, so every
    block maps to a whole number of output samples and blocks line up exactly for rational ratios
    (22050 -> 44100, 16000 -> 44100). The output (``round(frames * target_rate / sample_rate)`` frames)
    is written atomically and never replaces the input.

    Example:
        >>> upsample_file("speech_16k.wav", "speech_48k.wav", 48000, method="spline")   # doctest: +SKIP
    """
    import math

    upsampler = get_upsampler(method, params)
    if int(target_rate) <= 0:
        from .errors import ParameterError

        raise ParameterError(f"target rate must be positive, got {target_rate}")
    target_rate = int(target_rate)
    src, dst = Path(input), Path(output)
    info = io.info(src)
    sr = info.sample_rate
    unit = sr // math.gcd(sr, target_rate)  # input samples per whole number of output samples
    block = _aligned(max(int(upsampler.block_s * sr), io.MIN_SAMPLES * 4), unit)
    overlap = min(_aligned(int(upsampler.overlap_s * sr), unit), _aligned(block // 4, unit))
    if overlap >= block:
        overlap = 0
    _, silent = _check_file(src, block)
    out_frames = int(round(info.frames * target_rate / sr))
    if silent:
        return write_silence(dst, info, target_rate, out_frames, overwrite=overwrite, subtype=subtype,
                             protect=(str(src),))
    out_overlap = overlap * target_rate // sr
    out_subtype = subtype or io.output_subtype(info, dst)
    written = 0
    prev_tail: np.ndarray | None = None
    with io.AtomicWriter(dst, target_rate, info.channels, subtype=out_subtype, overwrite=overwrite,
                         protect=(str(src),)) as writer:
        for start, x in io.iter_blocks(src, block, overlap):
            y = np.asarray(upsampler(x, sr, target_rate), dtype=np.float32)
            if prev_tail is not None:
                o = min(prev_tail.shape[-1], y.shape[-1])
                fade = np.linspace(0.0, 1.0, o, dtype=np.float32)
                y[:, :o] = prev_tail[:, :o] * (1 - fade) + y[:, :o] * fade
            last = start + x.shape[-1] >= info.frames
            if last or out_overlap == 0 or y.shape[-1] <= out_overlap:
                body, prev_tail = y, None
            else:
                body, prev_tail = y[:, :-out_overlap], y[:, -out_overlap:]
            body = body[:, : out_frames - written]
            writer.write(body)
            written += body.shape[-1]
        if prev_tail is not None and written < out_frames:
            tail = prev_tail[:, : out_frames - written]
            writer.write(tail)
            written += tail.shape[-1]
        if written < out_frames:  # rounding of the last block: pad the final few samples with silence
            writer.write(np.zeros((info.channels, out_frames - written), dtype=np.float32))
    return dst
