"""Quality and intelligibility metrics for restored audio, and file/folder evaluation.

Each metric is ``f(reference, estimate, sample_rate) -> float`` on 1-D float arrays, lengths aligned by
truncation. PESQ, STOI/ESTOI and the composite measures need the ``metrics`` extra
(``pip install 'audiorestore[metrics]'``), imported only when used.

Example:
    >>> from audiorestore import metrics
    >>> metrics.compute(clean, enhanced, 16000, ["si_sdr", "pesq_wb", "csig"])   # doctest: +SKIP
    >>> metrics.list_metrics()                                                  # doctest: +SKIP
"""

from .basic import align, segsnr, si_sdr, snr
from .composite import CompositeScores, cbak, composite, covl, csig
from .evaluation import Evaluation, FileScores, Pair, evaluate, evaluate_pairs, pair_files, score_pair
from .perceptual import estoi, pesq_nb, pesq_nb_raw, pesq_score, pesq_wb, stoi
from .registry import (DEFAULT_METRICS, Metric, compute, compute_all, default_metrics, get_metric, list_metrics,
                       parse_metrics, register)
from .report import Summary, mean_ci, summarize
from .spectral import cepstral_distance, itakura_saito, llr, lsd, lsd_hf, wss

__all__ = [
    "snr", "segsnr", "si_sdr", "align", "lsd", "lsd_hf", "llr", "wss", "itakura_saito", "cepstral_distance",
    "pesq_score", "pesq_wb", "pesq_nb", "pesq_nb_raw", "stoi", "estoi", "composite", "CompositeScores",
    "csig", "cbak", "covl", "Metric", "register", "get_metric", "list_metrics", "default_metrics",
    "parse_metrics", "compute", "compute_all", "DEFAULT_METRICS", "Summary", "mean_ci", "summarize", "Pair", "FileScores",
    "Evaluation", "pair_files", "score_pair", "evaluate", "evaluate_pairs",
]
