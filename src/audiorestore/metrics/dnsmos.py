"""Predicted MOS without a reference: DNSMOS P.835 (SIG, BAK, OVRL) and DNSMOS P.808, through ``speechmos``.

DNSMOS (Reddy, Gopal & Cutler, "DNSMOS P.835: a non-intrusive perceptual objective speech quality metric
to evaluate noise suppressors", ICASSP 2022; and "DNSMOS: a non-intrusive perceptual objective speech
quality metric", ICASSP 2021) is a network trained on P.835 / P.808 listening-test ratings of the Deep
Noise Suppression challenges. It predicts, from the processed signal alone, the signal quality (SIG),
the background intrusiveness (BAK) and the overall quality (OVRL) that listeners would give on the P.835
scales, and the P.808 ACR MOS. Higher is better, about 1 .. 5.

The models are the ONNX files Microsoft's ``speechmos`` package ships (``dnsmos_models/sig_bak_ovr.onnx``
and ``model_v8.onnx``): nothing is downloaded at run time. Install with ``pip install
'audiorestore[dnsmos]'``. The score is computed by the package's own ``DNSMOS.__call__`` (9.01 s windows
hopped by 1 s, a short clip repeated to 9.01 s, the polynomial mapping of the DNS challenge); this module
only resamples to 16 kHz, keeps the samples in [-1, 1] (the package refuses others) and builds the ONNX
sessions with one thread, so benchmark workers stay on one core each.

Example:
    >>> scores = dnsmos(noisy_16k, 16000)                  # doctest: +SKIP
    >>> scores.ovrl, scores.p808                           # doctest: +SKIP
    (2.41, 3.02)
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import AudioInputError, require

log = logging.getLogger(__name__)

#: DNSMOS's only rate
SAMPLE_RATE = 16000
#: metric name -> field of :class:`DnsmosScores`
METRIC_FIELDS = {"dnsmos_sig": "sig", "dnsmos_bak": "bak", "dnsmos_ovrl": "ovrl", "dnsmos_p808": "p808"}
#: pip extra that installs the package
EXTRA = "dnsmos"


@dataclass(frozen=True)
class DnsmosScores:
    """DNSMOS P.835 SIG, BAK, OVRL and DNSMOS P.808 MOS of one clip (1 .. 5, higher is better)."""

    sig: float
    bak: float
    ovrl: float
    p808: float


_lock = threading.Lock()
_model: Any = None


def _load() -> Any:
    """The package's DNSMOS object with single-thread ONNX sessions (built once per process)."""
    global _model
    with _lock:
        if _model is None:
            require("librosa", EXTRA, "DNSMOS")
            ort = require("onnxruntime", EXTRA, "DNSMOS")
            dn = require("speechmos.dnsmos", EXTRA, "DNSMOS")
            folder = os.path.join(os.path.dirname(os.path.abspath(dn.__file__)), "dnsmos_models")
            primary, p808 = os.path.join(folder, "sig_bak_ovr.onnx"), os.path.join(folder, "model_v8.onnx")
            for p in (primary, p808):
                if not os.path.isfile(p):
                    raise AudioInputError(f"the speechmos package lacks its model {p}; reinstall it")
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            model = dn.DNSMOS.__new__(dn.DNSMOS)  # the package's class; only the sessions' options differ
            model.primary_model_path = primary
            model.onnx_sess = ort.InferenceSession(primary, opts, providers=["CPUExecutionProvider"])
            model.p808_onnx_sess = ort.InferenceSession(p808, opts, providers=["CPUExecutionProvider"])
            _model = model
    return _model


def prepare(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float32 at 16 kHz with samples in [-1, 1] (scaled down when the peak is above 1).

    Shape:
        ``(time,)`` -> ``(time * 16000 / sample_rate,)``.
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1:
        raise AudioInputError(f"DNSMOS takes one channel (time,), got shape {x.shape}")
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise AudioInputError("DNSMOS needs finite, non-empty audio")
    if sample_rate != SAMPLE_RATE:
        from ..dsp.resample import resample

        x = resample(x, sample_rate, SAMPLE_RATE)
    peak = float(np.max(np.abs(x)))
    if peak == 0.0:
        raise AudioInputError("DNSMOS is undefined for a silent signal")
    if peak > 1.0:
        log.debug("DNSMOS: peak %.3f scaled to 1", peak)
        x = x / peak
    return x.astype(np.float32)


def dnsmos(audio: np.ndarray, sample_rate: int) -> DnsmosScores:
    """DNSMOS P.835 (SIG, BAK, OVRL) and P.808 of one clip, non-intrusive.

    Shape:
        ``audio``: ``(time,)`` at ``sample_rate`` (resampled to 16 kHz).
    Example:
        >>> s = dnsmos(np.random.default_rng(0).standard_normal(16000) * 0.1, 16000)   # doctest: +SKIP
        >>> s.bak < 2.5                                              # white noise: intrusive background
        True
    """
    x = prepare(audio, sample_rate)
    d = _load()(x, SAMPLE_RATE, False)
    return DnsmosScores(float(d["sig_mos"]), float(d["bak_mos"]), float(d["ovrl_mos"]), float(d["p808_mos"]))


def _metric(field: str):
    def f(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
        # non-intrusive: the reference is not used; the signature is the registry's
        return float(getattr(dnsmos(estimate, sample_rate), field))

    f.__name__ = f"dnsmos_{field}"
    f.__doc__ = f"DNSMOS {field.upper()} of the estimate (non-intrusive; the reference is ignored)."
    return f


dnsmos_sig, dnsmos_bak, dnsmos_ovrl, dnsmos_p808 = (_metric(f) for f in ("sig", "bak", "ovrl", "p808"))

__all__ = ["DnsmosScores", "dnsmos", "prepare", "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808",
           "METRIC_FIELDS", "SAMPLE_RATE", "EXTRA"]
