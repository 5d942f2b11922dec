"""Classical denoisers. Importing this package registers each one as a method."""

from . import filtering  # noqa: F401  FIR/IIR filters, notch, smoothing
from . import adaptive  # noqa: F401  LMS/NLMS/RLS/FDAF noise cancelling, adaptive line enhancer
from . import spectral  # noqa: F401  spectral subtraction, Wiener, MMSE-STSA, log-MMSE, spectral gating
from . import block_thresholding  # noqa: F401  time-frequency block thresholding (Yu, Mallat & Bacry 2008)
from . import declip  # noqa: F401  clipping detection and A-SPADE de-clipping (Kitić, Bertin & Gribonval 2015)
