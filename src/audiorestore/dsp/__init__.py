"""Pure signal functions on numpy arrays shaped ``(..., time)``."""

from .filters import apply_filter, design_filter
from .levels import db_to_amplitude, amplitude_to_db, rms, power_db
from .resample import resample
from .stft import istft, stft

__all__ = ["stft", "istft", "resample", "design_filter", "apply_filter", "rms", "power_db",
           "db_to_amplitude", "amplitude_to_db"]
