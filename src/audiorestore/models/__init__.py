"""Neural model families (architecture only, one module each) and their Enhancer wrappers.

Importing this package registers every family (:mod:`._families`) and, through :mod:`.neural`, one
denoising method per family plus the generic ``neural`` method.
"""

from . import neural  # noqa: F401  registers the neural methods
from . import dnp_method  # noqa: F401  registers the "dnp" method (Deep Network Prior)
