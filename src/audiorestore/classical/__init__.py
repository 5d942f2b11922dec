"""Classical denoisers. Importing this package registers each one as a method."""

from . import filtering  # noqa: F401  FIR/IIR filters, notch, smoothing
