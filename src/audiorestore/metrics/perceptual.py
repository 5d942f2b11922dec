"""PESQ (ITU-T P.862 / P.862.2) and STOI / ESTOI, through the optional ``metrics`` extra.

The ``pesq`` package (ITU reference C code) and ``pystoi`` are imported lazily with
:func:`audiorestore.errors.require`, so the core package works without them.

* PESQ runs only at 8 kHz (narrow band) or 16 kHz (narrow or wide band); other rates are resampled
  with :func:`audiorestore.dsp.resample` (soxr, very high quality) first.
* The ``pesq`` package returns MOS-LQO: P.862.1 mapping for narrow band, P.862.2 for wide band.
  :func:`pesq_nb_raw` recovers the raw P.862 score by inverting the P.862.1 mapping (raw PESQ is what
  Hu & Loizou fitted the composite measures on at 8 kHz).
* STOI (Taal et al., IEEE TASLP 19(7), 2011) and ESTOI (Jensen & Taal, IEEE TASLP 24(11), 2016) are
  ``pystoi.stoi`` unchanged; it resamples to 10 kHz internally.
"""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np

from ..dsp.resample import resample
from ..errors import AudioInputError, require
from .basic import align

log = logging.getLogger(__name__)

# P.862.1 (narrow band) and P.862.2 (wide band) raw-to-MOS-LQO mappings:
# MOS-LQO = 0.999 + 4 / (1 + exp(-a * raw + b))
_P862_1 = (1.4945, 4.6607)
_P862_2 = (1.3669, 3.8224)


def _pesq_rate(sample_rate: int, mode: str) -> int:
    if mode == "wb":
        return 16000
    return 8000 if sample_rate < 16000 else 16000


def pesq_score(reference: np.ndarray, estimate: np.ndarray, sample_rate: int, mode: str = "wb") -> float:
    """PESQ MOS-LQO of ``estimate`` against ``reference`` with the ITU-T reference implementation.

    ``mode='wb'``: P.862.2 wide band at 16 kHz. ``mode='nb'``: P.862 with the P.862.1 mapping, at 8 kHz
    for rates below 16 kHz and at 16 kHz otherwise. Signals at other rates are resampled first.

    Shape:
        ``reference``, ``estimate``: ``(time,)``.
    Raises:
        MissingExtraError without the ``pesq`` package; AudioInputError when PESQ finds no utterance
        or the signal is too short.
    """
    if mode not in ("wb", "nb"):
        raise ValueError(f"PESQ mode must be 'wb' or 'nb', got {mode!r}")
    pesq = require("pesq", "metrics", "PESQ")
    r, e = align(reference, estimate)
    rate = _pesq_rate(sample_rate, mode)
    if rate != sample_rate:
        if sample_rate < rate:
            log.debug("PESQ-%s: upsampling from %d Hz to %d Hz (content above %g Hz is missing)",
                      mode, sample_rate, rate, sample_rate / 2)
        r, e = resample(r, sample_rate, rate), resample(e, sample_rate, rate)
    for name, x in (("reference", r), ("estimate", e)):
        if not np.any(x):  # the C code divides by the signal level and fails with a NaN
            raise AudioInputError(f"PESQ is undefined for a silent {name}")
    try:
        return float(pesq.pesq(rate, r, e, mode))
    except (pesq.PesqError, ValueError) as exc:  # NoUtterancesError, BufferTooShortError, NaN levels
        msg = " ".join(str(exc).split()) or type(exc).__name__
        raise AudioInputError(f"PESQ failed: {msg}") from None


def pesq_wb(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Wide-band PESQ, ITU-T P.862.2 MOS-LQO (1.04 .. 4.64) at 16 kHz. Higher is better."""
    return pesq_score(reference, estimate, sample_rate, "wb")


def pesq_nb(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Narrow-band PESQ, ITU-T P.862 with the P.862.1 MOS-LQO mapping (1.02 .. 4.55). Higher is better."""
    return pesq_score(reference, estimate, sample_rate, "nb")


def mos_lqo_to_raw(mos_lqo: float, wideband: bool = False) -> float:
    """Invert the P.862.1 (narrow band) or P.862.2 (wide band) mapping: MOS-LQO back to raw PESQ."""
    a, b = _P862_2 if wideband else _P862_1
    y = (float(mos_lqo) - 0.999) / 4.0
    if not 0.0 < y < 1.0:
        raise ValueError(f"MOS-LQO {mos_lqo} is outside the mapping's range (0.999, 4.999)")
    return (b - math.log(1.0 / y - 1.0)) / a


def raw_to_mos_lqo(raw: float, wideband: bool = False) -> float:
    """P.862.1 (narrow band) or P.862.2 (wide band) mapping from raw PESQ to MOS-LQO."""
    a, b = _P862_2 if wideband else _P862_1
    return 0.999 + 4.0 / (1.0 + math.exp(-a * float(raw) + b))


def pesq_nb_raw(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Raw narrow-band P.862 score (-0.5 .. 4.5), before the P.862.1 mapping. Higher is better.

    The ``pesq`` package returns only MOS-LQO; the raw value is recovered by inverting the mapping
    (exact up to the float32 rounding of the C code, about 1e-5).
    """
    return mos_lqo_to_raw(pesq_nb(reference, estimate, sample_rate), wideband=False)


def _stoi(reference: np.ndarray, estimate: np.ndarray, sample_rate: int, extended: bool) -> float:
    pystoi = require("pystoi", "metrics", "ESTOI" if extended else "STOI")
    r, e = align(reference, estimate)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(pystoi.stoi(r, e, sample_rate, extended=extended))
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        # pystoi then returns 1e-5, a number that would silently pull down an average
        raise AudioInputError(f"too short for {'ESTOI' if extended else 'STOI'}: fewer than 30 frames of "
                              "speech (384 ms at 10 kHz) after removing silent frames")
    return value


def stoi(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Short-time objective intelligibility (Taal et al. 2011), 0 .. 1. Higher is better."""
    return _stoi(reference, estimate, sample_rate, extended=False)


def estoi(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Extended STOI (Jensen & Taal 2016), for modulated maskers; about -0.1 .. 1. Higher is better."""
    return _stoi(reference, estimate, sample_rate, extended=True)
