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
              address: str | None = None, ratings: str | os.PathLike | None = None,
              ) -> tuple[BenchResult, dict[str, Path]]:
    """Run every method on every dataset and write the report into ``out``; see :func:`run_bench` for the
    arguments. ``ratings``: a listening-test database (``audiorestore listen --db``) whose per-method
    scores become a column of the tables. Returns the result and the written files (``markdown``,
    ``html``, ``summary_csv``, ``summary_json``, ``per_item``)."""
    listened = None
    if ratings is not None:  # read it first: a wrong path fails before the long run
        from ..web.results import listening_results

        listened = listening_results(ratings)
    result = run_bench(methods, datasets, out, metrics=metrics, jobs=jobs, examples=examples, example_s=example_s,
                       limit=limit, fresh=fresh, progress=progress, engine=engine, address=address)
    if listened is not None:
        label = {"acr": "MOS", "p835": "P.835 OVL", "mushra": "MUSHRA"}[listened.protocol]
        by_group, overall = listened.by_group(), listened.overall()
        result.listening_label = label
        for ds in result.datasets:
            per = {c: s for (g, c), s in by_group.items() if g == ds.name} if by_group else dict(overall)
            result.listening[ds.name] = per
    return result, write_report(result, out, title=title, plots=plots, example_s=example_s)


__all__ = ["benchmark", "run_bench", "write_report", "load_dataset", "parse_method", "Dataset", "Item",
           "BenchResult", "MethodSpec", "MethodSummary", "DEFAULT_METRICS", "NOISY", "REPORT_FILES"]
