"""Pure signal functions on numpy arrays shaped ``(..., time)``.

:func:`design_filter` and :func:`apply_filter` are imported on first use (PEP 562): they need
scipy.signal, which takes about half a second to import, and the STFT and resampling do not.
"""

from __future__ import annotations

from typing import Any

from .levels import db_to_amplitude, amplitude_to_db, rms, power_db
from .resample import resample
from .stft import istft, stft

__all__ = ["stft", "istft", "resample", "design_filter", "apply_filter", "rms", "power_db",
           "db_to_amplitude", "amplitude_to_db"]


def __getattr__(name: str) -> Any:
    if name in ("apply_filter", "design_filter"):
        from . import filters

        return getattr(filters, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
