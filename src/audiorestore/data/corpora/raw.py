"""Headerless audio: Aurora-2's ``*.08`` files are bare big-endian 16-bit samples at 8 kHz.

A manifest entry with ``"format": "raw_be16"`` names such files; :func:`read_frames` is what the
training datasets call for them (soundfile reads RAW when told the rate, subtype and byte order).

Example:
    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "FAK_1B.08")
    >>> np.array([0, 16384, -16384], dtype=">i2").tofile(p)
    >>> read_raw(p).tolist()
    [[0.0, 0.5, -0.5]]
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from ...errors import AudioInputError, ParameterError

#: format name -> soundfile arguments. Aurora-2 (Hirsch & Pearce 2000, section 2): 8 kHz, 16 bit,
#: no header, high byte first.
RAW_FORMATS: dict[str, dict] = {
    "raw_be16": {"format": "RAW", "subtype": "PCM_16", "endian": "BIG", "samplerate": 8000, "channels": 1},
}
_BYTES = {"PCM_16": 2}


def _spec(format: str) -> dict:
    try:
        return RAW_FORMATS[format]
    except KeyError:
        raise ParameterError(f"unknown headerless format '{format}' (known: {', '.join(RAW_FORMATS)})") from None


def raw_info(path: str | os.PathLike, format: str = "raw_be16") -> tuple[int, int]:
    """``(sample_rate, frames)`` of a headerless file, from its size in bytes."""
    spec = _spec(format)
    p = Path(path)
    if not p.is_file():
        raise AudioInputError("no such file", str(p))
    size = p.stat().st_size
    width = _BYTES[spec["subtype"]] * spec["channels"]
    if size < width:
        raise AudioInputError(f"file is empty ({size} bytes)", str(p))
    return int(spec["samplerate"]), size // width


def read_frames(path: str | os.PathLike, format: str, start: int = 0, frames: int = -1) -> np.ndarray:
    """Samples ``start .. start + frames`` of a headerless file as float32 ``(frames, channels)``
    (soundfile's layout, as :func:`soundfile.read` with ``always_2d``).

    Shape:
        -> ``(frames, channels)`` float32.
    """
    spec = _spec(format)
    try:
        data, _ = sf.read(str(path), start=start, frames=frames, dtype="float32", always_2d=True, **spec)
    except Exception as exc:  # libsndfile's multi-line messages
        raise AudioInputError(f"could not read {format} samples ({' '.join(str(exc).split())[:120]})",
                              str(path)) from None
    return data


def read_raw(path: str | os.PathLike, format: str = "raw_be16", start: int = 0, frames: int = -1) -> np.ndarray:
    """A headerless file as float32 ``(channels, time)`` in [-1, 1) (the layout of :func:`audiorestore.io.read`).

    Shape:
        -> ``(channels, time)`` float32.
    """
    return np.ascontiguousarray(read_frames(path, format, start, frames).T)
