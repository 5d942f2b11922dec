"""audiorestore: restore degraded audio (denoising and super-resolution), classical and neural."""

from __future__ import annotations

__version__ = "0.1.0"

from .api import denoise, denoise_file, process_file, upsample, upsample_file
from .batch import denoise_files, upsample_files
from .enhancer import Enhancer, get_method, list_methods, register
from .errors import AudioInputError, AudioRestoreError, ParameterError
from .io import read as read_audio
from .io import write as write_audio
from . import stream  # the streaming package; called, it builds a streamer: ar.stream("logmmse", ...)
from .stream import Streamer
from .restoration import analyse, restore, restore_file

__all__ = ["__version__", "denoise", "denoise_file", "process_file", "Enhancer", "get_method",
           "list_methods", "register", "read_audio", "write_audio", "AudioRestoreError",
           "AudioInputError", "ParameterError", "example_path", "upsample", "upsample_file", "stream", "Streamer",
           "denoise_files", "upsample_files", "analyse", "restore", "restore_file"]


def example_path(name: str = "noisy") -> str:
    """Path of a bundled example file: ``"noisy"`` or ``"clean"`` (VoiceBank-DEMAND p287_002, CC BY 4.0)."""
    from pathlib import Path

    if name not in ("noisy", "clean"):
        raise ValueError(f"example must be 'noisy' or 'clean', got {name!r}")
    return str(Path(__file__).parent / "examples" / f"p287_002_{name}.flac")
