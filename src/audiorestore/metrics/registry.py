"""Named metrics: one registry entry per measure, and :func:`compute` to score a pair with several.

Every entry's function has the signature ``f(reference, estimate, sample_rate) -> float`` on 1-D float
arrays. :func:`compute` shares work between entries: CSIG, CBAK and COVL come from one composite
computation, which reuses the wide-band PESQ when that is requested too.

Example:
    >>> import numpy as np
    >>> x = np.sin(np.arange(16000) * 0.05)
    >>> compute(x, 0.5 * x, 16000, ["si_sdr"])["si_sdr"] > 150   # scale-invariant: a perfect match
    True
"""

from __future__ import annotations

import importlib.util
import logging
import math
from dataclasses import dataclass
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from ..errors import AudioInputError, AudioRestoreError, MissingExtraError, ParameterError, require
from . import basic, dnsmos, perceptual, spectral
from .composite import CompositeScores, cbak, composite, covl, csig

log = logging.getLogger(__name__)

MetricFunction = Callable[[np.ndarray, np.ndarray, int], float]


@dataclass(frozen=True)
class Metric:
    """A registered measure. ``extra_module`` names the optional package it needs (None: core only)."""

    name: str
    function: MetricFunction
    higher_is_better: bool
    description: str
    unit: str = ""
    extra_module: str | None = None
    #: the pip extra that installs ``extra_module`` (``pip install 'audiorestore[EXTRA]'``)
    extra: str = "metrics"

    @property
    def needs_extra(self) -> bool:
        return self.extra_module is not None

    def is_available(self) -> bool:
        """Whether its optional dependency (if any) is installed."""
        return self.extra_module is None or importlib.util.find_spec(self.extra_module) is not None


_METRICS: dict[str, Metric] = {}

#: Metrics that :func:`compute` derives from one composite computation.
COMPOSITE_NAMES = ("csig", "cbak", "covl")
#: Metrics that :func:`compute` derives from one DNSMOS computation.
DNSMOS_NAMES = tuple(dnsmos.METRIC_FIELDS)


def register(metric: Metric) -> Metric:
    """Add ``metric`` to the registry; a name can be registered once."""
    if metric.name in _METRICS:
        raise ValueError(f"metric '{metric.name}' is already registered")
    _METRICS[metric.name] = metric
    return metric


for _m in [
    Metric("snr", basic.snr, True, "signal-to-noise ratio", "dB"),
    Metric("segsnr", basic.segsnr, True, "segmental SNR, frames limited to [-10, 35] dB (Hu & Loizou 2008)", "dB"),
    Metric("si_sdr", basic.si_sdr, True, "scale-invariant SDR (Le Roux et al. 2019)", "dB"),
    Metric("lsd", spectral.lsd, False, "log-spectral distance, whole band (Kuleshov et al. 2017)"),
    Metric("lsd_hf", spectral.lsd_hf, False, "log-spectral distance above cutoff_hz (default: rate / 4)"),
    Metric("llr", spectral.llr, False, "log-likelihood ratio, frames limited to [0, 2]"),
    Metric("wss", spectral.wss, False, "weighted spectral slope (Klatt 1982)"),
    Metric("is_dist", spectral.itakura_saito, False, "Itakura-Saito distance (LPC), frames limited to [0, 100]"),
    Metric("cep_dist", spectral.cepstral_distance, False, "LPC cepstral distance, frames limited to [0, 10]", "dB"),
    Metric("pesq_wb", perceptual.pesq_wb, True, "PESQ wide band, ITU-T P.862.2 MOS-LQO", "", "pesq"),
    Metric("pesq_nb", perceptual.pesq_nb, True, "PESQ narrow band, ITU-T P.862 + P.862.1 MOS-LQO", "", "pesq"),
    Metric("pesq_nb_raw", perceptual.pesq_nb_raw, True, "PESQ narrow band, raw P.862 score", "", "pesq"),
    Metric("stoi", perceptual.stoi, True, "short-time objective intelligibility (Taal et al. 2011)", "", "pystoi"),
    Metric("estoi", perceptual.estoi, True, "extended STOI (Jensen & Taal 2016)", "", "pystoi"),
    Metric("csig", csig, True, "composite signal distortion rating (Hu & Loizou 2008)", "", "pesq"),
    Metric("cbak", cbak, True, "composite background intrusiveness rating (Hu & Loizou 2008)", "", "pesq"),
    Metric("covl", covl, True, "composite overall quality rating (Hu & Loizou 2008)", "", "pesq"),
    # non-intrusive: the reference is ignored (Reddy et al. 2021, 2022)
    Metric("dnsmos_sig", dnsmos.dnsmos_sig, True, "DNSMOS P.835 signal quality SIG (non-intrusive)", "",
           "speechmos", "dnsmos"),
    Metric("dnsmos_bak", dnsmos.dnsmos_bak, True, "DNSMOS P.835 background intrusiveness BAK (non-intrusive)", "",
           "speechmos", "dnsmos"),
    Metric("dnsmos_ovrl", dnsmos.dnsmos_ovrl, True, "DNSMOS P.835 overall quality OVRL (non-intrusive)", "",
           "speechmos", "dnsmos"),
    Metric("dnsmos_p808", dnsmos.dnsmos_p808, True, "DNSMOS P.808 ACR MOS (non-intrusive)", "",
           "speechmos", "dnsmos"),
]:
    register(_m)

#: What ``audiorestore evaluate`` computes without ``--metrics`` (extras dropped when not installed).
DEFAULT_METRICS: tuple[str, ...] = ("snr", "segsnr", "si_sdr", "lsd", "pesq_wb", "stoi", "estoi",
                                    "csig", "cbak", "covl")


def get_metric(name: str) -> Metric:
    """The registry entry called ``name``; ParameterError listing the valid names otherwise."""
    try:
        return _METRICS[name]
    except KeyError:
        raise ParameterError(f"unknown metric '{name}' (use one of {', '.join(_METRICS)})") from None


def list_metrics(available_only: bool = False) -> list[str]:
    """Registered metric names, in registration order."""
    return [n for n, m in _METRICS.items() if not available_only or m.is_available()]


def default_metrics() -> list[str]:
    """:data:`DEFAULT_METRICS` less those whose optional package is missing (logged once per call)."""
    names = [n for n in DEFAULT_METRICS if _METRICS[n].is_available()]
    dropped = [n for n in DEFAULT_METRICS if n not in names]
    if dropped:
        extras = sorted({_METRICS[n].extra for n in dropped})
        log.warning("skipping %s: pip install 'audiorestore[%s]' to compute them", ", ".join(dropped),
                    ",".join(extras))
    return names


def parse_metrics(spec: str | Iterable[str] | None) -> list[str]:
    """``"snr,pesq_wb"`` or ``["snr", "pesq_wb"]`` -> checked list of names, duplicates removed.

    ``None`` or ``"default"`` gives :func:`default_metrics`, ``"all"`` every registered metric. A metric
    whose optional package is missing raises MissingExtraError naming the extra.
    """
    if spec is None:
        return default_metrics()
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec)]
    names: list[str] = []
    for item in items:
        if not item:
            continue
        expanded = default_metrics() if item == "default" else list_metrics() if item == "all" else [item]
        for name in expanded:
            if name not in names:
                names.append(name)
    if not names:
        raise ParameterError("no metric named (e.g. --metrics snr,pesq_wb)")
    for name in names:
        m = get_metric(name)
        if m.extra_module is not None:
            require(m.extra_module, m.extra, name)
    return names


def compute_all(reference: np.ndarray, estimate: np.ndarray, sample_rate: int,
                metrics: str | Sequence[str] | None = None, *,
                cutoff_hz: float | None = None) -> tuple[dict[str, float], dict[str, str]]:
    """Like :func:`compute`, but a metric that cannot be computed for this pair (a silent estimate for
    PESQ, a signal too short for STOI...) gives NaN and a one-line reason instead of an exception.

    Returns ``(scores, failures)``: every asked name is in ``scores``; ``failures`` maps the failed
    names to their reasons. Errors in the inputs themselves (wrong shape, NaN samples) still raise.
    """
    names = parse_metrics(metrics)
    r, e = basic.align(reference, estimate)
    out: dict[str, float] = {}
    failures: dict[str, str] = {}
    scores: CompositeScores | None = None
    composite_error: str | None = None
    predicted: dnsmos.DnsmosScores | None = None
    dnsmos_error: str | None = None
    # compute PESQ-wb first so that the composite can reuse it
    for name in sorted(names, key=lambda n: 0 if n == "pesq_wb" else 1):
        try:
            if name in COMPOSITE_NAMES:
                if composite_error is not None:
                    raise AudioRestoreError(composite_error)
                if scores is None:
                    reuse = out.get("pesq_wb") if sample_rate != 8000 else None
                    scores = composite(r, e, sample_rate, pesq_value=None if reuse is None or np.isnan(reuse)
                                       else reuse)
                out[name] = float(getattr(scores, name))
            elif name in DNSMOS_NAMES:  # one model run gives all four
                if dnsmos_error is not None:
                    raise AudioRestoreError(dnsmos_error)
                if predicted is None:
                    predicted = dnsmos.dnsmos(e, sample_rate)
                out[name] = float(getattr(predicted, dnsmos.METRIC_FIELDS[name]))
            elif name == "lsd_hf":
                out[name] = spectral.lsd_hf(r, e, sample_rate, cutoff_hz)
            else:
                out[name] = float(get_metric(name).function(r, e, sample_rate))
        except (MissingExtraError, ParameterError):
            raise  # the request is wrong, not this pair
        except AudioRestoreError as exc:
            if name in COMPOSITE_NAMES:
                composite_error = str(exc)
            if name in DNSMOS_NAMES:
                dnsmos_error = str(exc)
            out[name] = math.nan
            failures[name] = str(exc)
    return {n: out[n] for n in names}, {n: failures[n] for n in names if n in failures}


def compute(reference: np.ndarray, estimate: np.ndarray, sample_rate: int,
            metrics: str | Sequence[str] | None = None, *, cutoff_hz: float | None = None) -> dict[str, float]:
    """Score ``estimate`` against ``reference`` with each named metric.

    Lengths are aligned (truncated to the common length). ``cutoff_hz`` is passed to ``lsd_hf``.
    CSIG/CBAK/COVL share one composite computation, which reuses ``pesq_wb`` when both are asked.
    Raises the first metric's error (AudioInputError) if one cannot be computed; see :func:`compute_all`.

    Shape:
        ``reference``, ``estimate``: ``(time,)`` -> ``{name: value}`` in the order asked.
    Example:
        >>> compute(ref, est, 16000, ["snr", "pesq_wb", "csig"])   # doctest: +SKIP
        {'snr': 8.1, 'pesq_wb': 1.76, 'csig': 2.87}
    """
    scores, failures = compute_all(reference, estimate, sample_rate, metrics, cutoff_hz=cutoff_hz)
    if failures:
        name, reason = next(iter(failures.items()))
        raise AudioInputError(f"{name}: {reason}")
    return scores
