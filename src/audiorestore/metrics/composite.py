"""Composite measures CSIG, CBAK, COVL of Hu and Loizou, "Evaluation of objective quality measures for
speech enhancement", IEEE TASLP 16(1):229-238, 2008 (the regressions of its composite measures):

    CSIG = 3.093 - 1.029 LLR + 0.603 PESQ - 0.009 WSS
    CBAK = 1.634 + 0.478 PESQ - 0.007 WSS + 0.063 segSNR
    COVL = 1.594 + 0.805 PESQ - 0.512 LLR - 0.007 WSS

each limited to [1, 5]. The components follow Loizou's ``composite.m``: LLR and WSS are the means of the
lowest 95 % of 30 ms frames, segSNR the mean of frame SNRs limited to [-10, 35] dB, both signals offset
by float eps.

LLR limit: the paper limits frame LLRs to [0, 2], as ``comp_llr.m`` does, but
``composite.m``, the code behind every published VoiceBank-DEMAND table (directly, or through ports
such as pysepm), does not. ``clip_llr=False`` (default) follows ``composite.m``; on the noisy VoiceBank
files the limit lowers LLR by up to 0.1 and so raises CSIG by up to 0.1 and COVL by up to 0.05.

Which PESQ: the regressions were fitted on 8 kHz NOIZEUS with the raw P.862 score. The figures
published for VoiceBank-DEMAND (SEGAN, Pascual et al. 2017, and the papers that copy its table) come
from ``composite.m`` of the 2nd edition of Loizou's book run at 16 kHz, which takes the raw score in
narrow band but the P.862.2 MOS-LQO in wide band. Solving the three published equations for the
noisy-input row (CSIG 3.35, CBAK 2.44, COVL 2.63, segSNR 1.68) gives PESQ = 1.971, exactly the published
PESQ-wb 1.97 (the Wiener and SEGAN rows give 2.24 vs 2.22 and 2.159 vs 2.16), so ``pesq_mode='auto'``
does the same: wide-band MOS-LQO at 16 kHz, raw narrow-band at 8 kHz.

Rates other than 8 and 16 kHz are resampled to 16 kHz for the whole composite, so that the numbers stay
comparable with the literature (the critical bands stop at 4 kHz anyway).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from ..dsp.resample import resample
from ..errors import AudioInputError, ParameterError
from .basic import align, loizou_frames, segsnr
from .perceptual import pesq_nb_raw, pesq_wb
from .spectral import lowest_mean, llr_frames, wss

log = logging.getLogger(__name__)

PesqMode = Literal["auto", "wb", "nb_raw"]


@dataclass(frozen=True)
class CompositeScores:
    """The three composite ratings (1 .. 5, higher is better) and the measures they combine."""

    csig: float
    cbak: float
    covl: float
    llr: float
    wss: float
    segsnr: float
    pesq: float
    pesq_mode: str
    sample_rate: int

    def as_dict(self) -> dict[str, float | str | int]:
        return asdict(self)


def _clip15(x: float) -> float:
    return float(min(5.0, max(1.0, x)))


def composite_from_components(llr_value: float, wss_value: float, segsnr_value: float,
                              pesq_value: float) -> tuple[float, float, float]:
    """``(CSIG, CBAK, COVL)`` from their components (Hu & Loizou 2008), each in [1, 5]."""
    csig = 3.093 - 1.029 * llr_value + 0.603 * pesq_value - 0.009 * wss_value
    cbak = 1.634 + 0.478 * pesq_value - 0.007 * wss_value + 0.063 * segsnr_value
    covl = 1.594 + 0.805 * pesq_value - 0.512 * llr_value - 0.007 * wss_value
    return _clip15(csig), _clip15(cbak), _clip15(covl)


def composite(reference: np.ndarray, estimate: np.ndarray, sample_rate: int,
              pesq_mode: PesqMode = "auto", clip_llr: bool = False,
              pesq_value: float | None = None) -> CompositeScores:
    """CSIG, CBAK and COVL of Hu & Loizou (2008), with their components.

    ``pesq_mode``: ``'auto'`` (raw narrow-band PESQ at 8 kHz, wide-band MOS-LQO otherwise; reproduces the
    published VoiceBank-DEMAND figures), ``'wb'`` or ``'nb_raw'``. ``clip_llr`` limits frame LLRs
    to [0, 2] as the paper and ``comp_llr.m`` do (``composite.m`` does not). ``pesq_value`` reuses a PESQ score
    already computed at the composite's rate and mode. Needs the ``metrics`` extra (PESQ).

    Shape:
        ``reference``, ``estimate``: ``(time,)``.
    Example:
        >>> s = composite(clean, enhanced, 16000)       # doctest: +SKIP
        >>> s.csig, s.cbak, s.covl                      # doctest: +SKIP
    """
    r, e = align(reference, estimate)
    rate = 8000 if sample_rate == 8000 else 16000
    if rate != sample_rate:
        r, e = resample(r, sample_rate, rate), resample(e, sample_rate, rate)
    mode = ("nb_raw" if rate == 8000 else "wb") if pesq_mode == "auto" else pesq_mode
    if mode == "wb" and rate != 16000:
        raise ParameterError("wide-band PESQ needs 16 kHz; use pesq_mode='nb_raw' at 8 kHz")
    if mode not in ("wb", "nb_raw"):
        raise ParameterError(f"pesq_mode must be 'auto', 'wb' or 'nb_raw', got {pesq_mode!r}")
    if not np.any(e):  # checked before the eps offset, so that the composite fails exactly when PESQ does
        raise AudioInputError("PESQ is undefined for a silent estimate")
    silent = float(np.mean(~np.any(loizou_frames(r, rate), axis=1)))
    if silent > 1 - 0.95 and not clip_llr:
        # digital zeros leave an LPC model of the eps offset alone: LLR of ~20 or more per frame, which
        # the 95 % trimming does not remove when more than 5 % of the frames are silent
        log.warning("%.0f%% of the reference's frames are digital silence: the composite's LLR is not "
                    "meaningful there and pulls CSIG and COVL down (clip_llr=True limits it)", 100 * silent)
    # composite.m adds float eps to both signals; llr_frames and wss do the same (segSNR is unaffected)
    llr_value = lowest_mean(llr_frames(r, e, rate, limit=2.0 if clip_llr else None))
    wss_value = wss(r, e, rate)
    seg = segsnr(r, e, rate)
    if pesq_value is None:
        pesq_value = pesq_wb(r, e, rate) if mode == "wb" else pesq_nb_raw(r, e, rate)
    csig, cbak, covl = composite_from_components(llr_value, wss_value, seg, pesq_value)
    return CompositeScores(csig, cbak, covl, llr_value, wss_value, seg, float(pesq_value), mode, rate)


def csig(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Predicted signal distortion rating, 1 .. 5 (Hu & Loizou 2008). Higher is better."""
    return composite(reference, estimate, sample_rate).csig


def cbak(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Predicted background intrusiveness rating, 1 .. 5 (Hu & Loizou 2008). Higher is better."""
    return composite(reference, estimate, sample_rate).cbak


def covl(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Predicted overall quality rating, 1 .. 5 (Hu & Loizou 2008). Higher is better."""
    return composite(reference, estimate, sample_rate).covl
