"""All audio file I/O, on soundfile. Arrays are float32 ``(channels, time)``.

Reading validates the content (empty, NaN/inf, silence) so that every command fails the same way on
bad input. Writing is atomic: the data goes to a temporary file in the destination folder, which is
then renamed over the target, so a killed job never leaves a half-written output and an input is
never overwritten.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator

import numpy as np
import soundfile as sf

from .errors import AudioInputError, ParameterError

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".w64", ".caf")
#: Minimum number of samples a file must have to be processed at all.
MIN_SAMPLES = 16


@dataclass(frozen=True)
class AudioInfo:
    """What a file is: enough to write an output in the same format."""

    path: str
    sample_rate: int
    channels: int
    frames: int
    format: str  # soundfile major format, e.g. "WAV", "FLAC", "OGG", "MP3"
    subtype: str  # e.g. "PCM_16", "FLOAT", "VORBIS", "OPUS", "MPEG_LAYER_III"

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def info(path: str | os.PathLike) -> AudioInfo:
    """Read a file's header; raise :class:`AudioInputError` with a one-line reason if it is unusable."""
    p = Path(path)
    if not p.exists():
        raise AudioInputError("no such file", p)
    if p.is_dir():
        raise AudioInputError("is a directory, expected an audio file", p)
    if p.stat().st_size == 0:
        raise AudioInputError("file is empty (0 bytes)", p)
    try:
        i = sf.info(str(p))
    except Exception as exc:  # soundfile raises LibsndfileError/RuntimeError with multi-line text
        raise AudioInputError(f"not a readable audio file ({_short(exc)})", p) from None
    if i.frames <= 0:
        raise AudioInputError("contains no audio samples", p)
    if i.format in ("WAV", "WAVEX"):
        reason = _wav_truncation(p)
        if reason:
            raise AudioInputError(reason, p)
    return AudioInfo(str(p), int(i.samplerate), int(i.channels), int(i.frames), i.format, i.subtype)


def _wav_truncation(p: Path) -> str | None:
    """Why a RIFF/WAVE file is truncated, or None: libsndfile silently reads what is left of a cut
    file, so compare the ``data`` chunk's declared size with the bytes actually present."""
    try:
        size = p.stat().st_size
        with open(p, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            pos = 12
            while pos + 8 <= size:
                f.seek(pos)
                chunk = f.read(8)
                declared = int.from_bytes(chunk[4:8], "little")
                if chunk[:4] == b"data":
                    present = size - pos - 8
                    if declared in (0, 0xFFFFFFFF) or declared <= present:  # 0/-1: length unknown (streamed)
                        return None
                    return f"truncated: the header declares {declared} bytes of audio but only {present} are present"
                pos += 8 + declared + (declared & 1)
    except OSError:
        return None
    return None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text.split(": ", 1)[-1][:160] if text else type(exc).__name__


def validate(audio: np.ndarray, path: str | None = None, *, allow_silence: bool = False) -> np.ndarray:
    """Check an audio array: shape ``(channels, time)``, finite, long enough, not all zero."""
    if audio.ndim != 2:
        raise AudioInputError(f"expected audio of shape (channels, time), found shape {audio.shape}", path)
    # Checked before the length: a (time, channels) array would otherwise be reported as "too short".
    if audio.shape[0] > audio.shape[1] and audio.shape[0] >= MIN_SAMPLES:
        raise AudioInputError(
            f"expected (channels, time) but found shape {audio.shape}: more channels than samples", path
        )
    if audio.shape[-1] < MIN_SAMPLES:
        raise AudioInputError(f"too short: {audio.shape[-1]} samples (at least {MIN_SAMPLES} needed)", path)
    finite = np.isfinite(audio)
    if not finite.all():
        bad = int(audio.size - finite.sum())
        raise AudioInputError(f"contains {bad} NaN or infinite samples", path)
    if not allow_silence and not np.any(audio):
        raise AudioInputError("is silent (all samples are zero); nothing to restore", path)
    return audio


def clipped_fraction(audio: np.ndarray, threshold: float = 0.999) -> float:
    """Fraction of samples at or beyond full scale."""
    return float(np.mean(np.abs(audio) >= threshold)) if audio.size else 0.0


def read(path: str | os.PathLike, *, sample_rate: int | None = None, mono: bool = False,
         allow_silence: bool = False, start: int = 0, frames: int = -1) -> tuple[np.ndarray, int]:
    """Read a file as float32 ``(channels, time)``; resample to ``sample_rate`` when given.

    Raises :class:`AudioInputError` (one line naming the file) for a missing, empty, corrupt,
    truncated, silent or non-finite file.
    Example:
        >>> audio, sr = read("noisy.wav")           # doctest: +SKIP
    """
    i = info(path)
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True, start=start, frames=frames)
    except Exception as exc:
        raise AudioInputError(f"could not decode audio ({_short(exc)})", path) from None
    audio = np.ascontiguousarray(data.T)
    if audio.shape[-1] == 0:
        raise AudioInputError("contains no audio samples (truncated?)", path)
    validate(audio, str(path), allow_silence=allow_silence)
    frac = clipped_fraction(audio)
    if frac > 1e-3:
        log.warning("%s: %.2f%% of samples are at full scale (clipped input)", path, 100 * frac)
    if mono and audio.shape[0] > 1:
        audio = audio.mean(axis=0, keepdims=True)
    if sample_rate is not None and sample_rate != i.sample_rate:
        from .dsp.resample import resample

        audio = resample(audio, i.sample_rate, sample_rate)
        sr = sample_rate
    return audio, int(sr)


# soundfile format names by file extension
_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".oga": "OGG", ".opus": "OGG", ".mp3": "MP3",
            ".aif": "AIFF", ".aiff": "AIFF", ".au": "AU", ".w64": "W64", ".caf": "CAF"}
_DEFAULT_SUBTYPE = {"WAV": "PCM_16", "FLAC": "PCM_16", "OGG": "VORBIS", "MP3": "MPEG_LAYER_III",
                    "AIFF": "PCM_16", "AU": "PCM_16", "W64": "PCM_16", "CAF": "PCM_16"}


def format_for(path: str | os.PathLike, subtype: str | None = None) -> tuple[str, str]:
    """The (format, subtype) soundfile will write for ``path``'s extension."""
    ext = Path(path).suffix.lower()
    if ext not in _FORMATS:
        raise ParameterError(f"unsupported output extension '{ext}' (use one of {', '.join(sorted(_FORMATS))})",
                             str(path))
    fmt = _FORMATS[ext]
    if subtype is None:
        subtype = "OPUS" if ext == ".opus" else _DEFAULT_SUBTYPE[fmt]
    if not sf.check_format(fmt, subtype):
        raise ParameterError(f"format {fmt} cannot store subtype {subtype}", str(path))
    return fmt, subtype


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_path(target: Path) -> Path:
    """A new empty temporary file beside ``target`` with ordinary (umask) permissions, for atomic writes."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=target.parent)
    os.close(fd)
    os.chmod(name, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs should look like any other file
    return Path(name)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write a text file atomically (UTF-8; temporary file in the same folder, then rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(p)
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return p


class AtomicWriter:
    """Context manager writing audio blocks to a temp file renamed onto ``path`` on success.

    Example:
        >>> with AtomicWriter("out.wav", 16000, channels=1) as w:   # doctest: +SKIP
        ...     w.write(block)                                      # block: (channels, time)
    """

    def __init__(self, path: str | os.PathLike, sample_rate: int, channels: int, *,
                 subtype: str | None = None, overwrite: bool = True, protect: tuple[str, ...] = ()) -> None:
        self.path = Path(path)
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.format, self.subtype = format_for(self.path, subtype)
        if self.path.exists() and not overwrite:
            raise AudioInputError("output exists (pass --overwrite to replace it)", self.path)
        for p in protect:  # never write over an input
            if Path(p).exists() and self.path.exists() and os.path.samefile(p, self.path):
                raise AudioInputError("refusing to overwrite an input file", self.path)
            if Path(p).resolve() == self.path.resolve():
                raise AudioInputError("refusing to overwrite an input file", self.path)
        self._tmp: Path | None = None
        self._file: sf.SoundFile | None = None

    def __enter__(self) -> AtomicWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = temp_path(self.path)
        try:
            self._file = sf.SoundFile(str(self._tmp), "w", samplerate=self.sample_rate, channels=self.channels,
                                      format=self.format, subtype=self.subtype)
        except Exception as exc:  # e.g. MP3 with 6 channels or at 96 kHz: __exit__ will not run
            self._tmp.unlink(missing_ok=True)
            raise ParameterError(f"cannot write {self.format}/{self.subtype} with {self.channels} channel(s) at "
                                 f"{self.sample_rate} Hz ({_short(exc)})", str(self.path)) from None
        return self

    def write(self, block: np.ndarray) -> None:
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ValueError(f"expected a block of shape ({self.channels}, time), found {block.shape}")
        data = np.asarray(block, dtype=np.float32)
        if self.subtype.startswith("PCM") or self.format in ("OGG", "MP3"):
            data = np.clip(data, -1.0, 1.0)  # integer and lossy formats wrap or distort past full scale
        assert self._file is not None
        self._file.write(data.T)

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._file is not None and self._tmp is not None
        try:
            self._file.close()
        finally:
            if exc_type is None:
                os.replace(self._tmp, self.path)
            else:
                self._tmp.unlink(missing_ok=True)


def write(path: str | os.PathLike, audio: np.ndarray, sample_rate: int, *, subtype: str | None = None,
          overwrite: bool = True, protect: tuple[str, ...] = ()) -> Path:
    """Write float audio ``(channels, time)`` (or ``(time,)``) atomically. Returns the path written."""
    audio = np.asarray(audio)
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2:
        raise ValueError(f"expected audio of shape (channels, time) or (time,), found {audio.shape}")
    with AtomicWriter(path, sample_rate, audio.shape[0], subtype=subtype, overwrite=overwrite,
                      protect=protect) as w:
        w.write(audio)
    return Path(path)


def output_subtype(src: AudioInfo, out_path: str | os.PathLike) -> str | None:
    """Keep the input's subtype when the output has the input's format, else the format's default."""
    fmt, _ = format_for(out_path)
    if fmt == src.format and sf.check_format(fmt, src.subtype):
        return src.subtype
    return None


def is_audio_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


def find_audio(root: str | os.PathLike) -> list[Path]:
    """Audio files under a directory, sorted, recursively (hidden files skipped)."""
    r = Path(root)
    return sorted(p for p in r.rglob("*") if is_audio_file(p))


def expand_inputs(inputs: list[str | os.PathLike]) -> list[tuple[Path, Path]]:
    """Turn files and directories into ``(file, relative path)`` pairs; errors name the bad input.

    A directory contributes every audio file below it, with its path relative to that directory so
    that outputs can mirror the input tree; a file contributes its own name.
    """
    pairs: list[tuple[Path, Path]] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files = find_audio(p)
            if not files:
                raise AudioInputError(f"no audio files ({', '.join(AUDIO_EXTENSIONS[:6])}, ...) in directory", p)
            pairs.extend((f, f.relative_to(p)) for f in files)
        elif p.exists():
            pairs.append((p, Path(p.name)))
        else:
            raise AudioInputError("no such file or directory", p)
    return pairs


def iter_blocks(path: str | os.PathLike, block_frames: int, overlap_frames: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start_frame, block)`` with float32 ``(channels, time)`` blocks that overlap by
    ``overlap_frames``: memory stays bounded for files of any length."""
    if block_frames <= overlap_frames:
        raise ValueError("block_frames must be larger than overlap_frames")
    with sf.SoundFile(str(path)) as f:
        step = block_frames - overlap_frames
        start = 0
        while start < f.frames:
            f.seek(start)
            data = f.read(block_frames, dtype="float32", always_2d=True)
            if data.shape[0] == 0:
                break
            yield start, np.ascontiguousarray(data.T)
            if start + data.shape[0] >= f.frames:
                break
            start += step
