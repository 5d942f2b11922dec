"""Benchmarks: methods x datasets -> tables, plots and a self-contained report.

:func:`benchmark` is what ``audiorestore bench`` calls: it runs :func:`~.runner.run_bench` (per-item rows
cached in JSONL, so re-runs resume; worker processes on one thread each; CPU real-time factor per method)
and writes the report with :func:`~.report.write_report` (Markdown, HTML, CSV, JSON). Optional peer
denoisers (noisereduce, RNNoise, NSNet2, DeepFilterNet) take part as ``peer_*`` methods when their package
is installed (:mod:`.peers`).

Example:
    >>> from audiorestore.bench import benchmark
    >>> result, files = benchmark(["wiener", "logmmse", "peer_noisereduce"],
    ...                           ["spear=../shared/data"], "report/", jobs=2)   # doctest: +SKIP
    >>> files["html"]                                                            # doctest: +SKIP
    PosixPath('report/report.html')
"""

from __future__ import annotations

import os
from pathlib import Path
from collections.abc import Sequence

from .datasets import Dataset, Item, load_dataset
from .report import REPORT_FILES, write_report
from .runner import (DEFAULT_METRICS, NOISY, BenchResult, MethodSpec, MethodSummary, ProgressFn, parse_method,
                     run_bench)


def benchmark(methods: Sequence[str | MethodSpec], datasets: Sequence[str | Dataset], out: str | os.PathLike, *,
              metrics: str | Sequence[str] | None = None, jobs: int | None = 1, examples: int = 3,
              example_s: float = 4.0, limit: int | None = None, fresh: bool = False, plots: bool | None = None,
              title: str = "audiorestore benchmark", progress: ProgressFn | None = None, engine: str = "local",
              address: str | None = None) -> tuple[BenchResult, dict[str, Path]]:
    """Run every method on every dataset and write the report into ``out``; see :func:`run_bench` for the
    arguments. Returns the result and the written files (``markdown``, ``html``, ``summary_csv``,
    ``summary_json``, ``per_item``)."""
    result = run_bench(methods, datasets, out, metrics=metrics, jobs=jobs, examples=examples, example_s=example_s,
                       limit=limit, fresh=fresh, progress=progress, engine=engine, address=address)
    return result, write_report(result, out, title=title, plots=plots, example_s=example_s)


__all__ = ["benchmark", "run_bench", "write_report", "load_dataset", "parse_method", "Dataset", "Item",
           "BenchResult", "MethodSpec", "MethodSummary", "DEFAULT_METRICS", "NOISY", "REPORT_FILES"]
