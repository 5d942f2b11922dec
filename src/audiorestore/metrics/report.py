"""Aggregation of per-file scores: mean with a Student-t 95 % confidence interval, and writers for
CSV, JSON, Markdown and a plain-text table for the terminal.

The interval is ``mean +- t_{0.975, n-1} * s / sqrt(n)`` with ``s`` the sample standard deviation
(``n - 1`` in the denominator): the usual interval for the mean of independent per-file scores. NaN
scores (a metric that could not be computed for a file) are left out of that metric's count.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ..io import write_text_atomic


@dataclass(frozen=True)
class Summary:
    """Mean of one column over files, with its confidence interval (NaN when ``n < 2``)."""

    name: str
    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    confidence: float = 0.95

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2


def mean_ci(values: Iterable[float], confidence: float = 0.95, name: str = "") -> Summary:
    """Mean and Student-t confidence interval of the finite values.

    Example:
        >>> s = mean_ci([1.0, 2.0, 3.0])
        >>> s.mean, round(s.half_width, 4)      # t_{0.975,2} = 4.3027, s / sqrt(3) = 0.5774
        (2.0, 2.4841)
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    v = np.asarray([float(x) for x in values], dtype=np.float64)
    v = v[np.isfinite(v)]
    n = int(v.size)
    if n == 0:
        return Summary(name, 0, math.nan, math.nan, math.nan, math.nan, confidence)
    mean = float(v.mean())
    if n == 1:
        return Summary(name, 1, mean, math.nan, math.nan, math.nan, confidence)
    from scipy import stats  # here, not at import: scipy.stats takes over half a second to import

    std = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return Summary(name, n, mean, std, mean - half, mean + half, confidence)


def summarize(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], confidence: float = 0.95) -> list[Summary]:
    """One :class:`Summary` per column over the rows (a missing or non-numeric cell counts as NaN)."""
    def num(x: Any) -> float:
        try:
            return float(x)
        except (TypeError, ValueError):
            return math.nan

    return [mean_ci([num(r.get(c)) for r in rows], confidence, c) for c in columns]


def _fmt(x: float, digits: int = 3) -> str:
    return "nan" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _write_text(path: str | os.PathLike, text: str) -> Path:
    return write_text_atomic(path, text)


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    import io as _io

    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow(["" if (isinstance(x, float) and math.isnan(x)) else x for x in row])
    return buf.getvalue()


def write_rows_csv(path: str | os.PathLike, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> Path:
    """Per-file table: one row per file, ``columns`` in order (empty cell for a missing value)."""
    return _write_text(path, _csv_text(columns, ([r.get(c, "") for c in columns] for r in rows)))


def write_summary_csv(path: str | os.PathLike, summaries: Sequence[Summary]) -> Path:
    """Columns: metric, n, mean, std, ci95_low, ci95_high."""
    header = ["metric", "n", "mean", "std", "ci95_low", "ci95_high"]
    return _write_text(path, _csv_text(header, ([s.name, s.n, s.mean, s.std, s.ci_low, s.ci_high]
                                                for s in summaries)))


def _json_safe(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None  # strict JSON has no NaN/Infinity
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    return x


def summary_dict(summaries: Sequence[Summary]) -> dict[str, dict[str, Any]]:
    """``{metric: {n, mean, std, ci95_low, ci95_high, confidence}}``."""
    out = {}
    for s in summaries:
        d = asdict(s)
        d.pop("name")
        d["ci95_low"], d["ci95_high"] = d.pop("ci_low"), d.pop("ci_high")
        out[s.name] = d
    return out


def write_summary_json(path: str | os.PathLike, summaries: Sequence[Summary],
                       extra: Mapping[str, Any] | None = None) -> Path:
    """``{"summary": {...}, **extra}`` as strict JSON (NaN written as null)."""
    doc: dict[str, Any] = {"summary": summary_dict(summaries)}
    doc.update(extra or {})
    return _write_text(path, json.dumps(_json_safe(doc), indent=2, allow_nan=False) + "\n")


def markdown_table(summaries: Sequence[Summary], digits: int = 3) -> str:
    """GitHub Markdown table: metric, n, mean, 95 % interval."""
    lines = ["| metric | n | mean | 95% CI |", "|---|---:|---:|---:|"]
    for s in summaries:
        ci = f"[{_fmt(s.ci_low, digits)}, {_fmt(s.ci_high, digits)}]" if math.isfinite(s.ci_low) else "n/a"
        lines.append(f"| {s.name} | {s.n} | {_fmt(s.mean, digits)} | {ci} |")
    return "\n".join(lines) + "\n"


def write_summary_markdown(path: str | os.PathLike, summaries: Sequence[Summary], title: str | None = None,
                           notes: Sequence[str] = ()) -> Path:
    """Markdown file: optional title, the summary table, then notes as a bullet list."""
    text = (f"# {title}\n\n" if title else "") + markdown_table(summaries)
    if notes:
        text += "\n" + "".join(f"- {n}\n" for n in notes)
    return _write_text(path, text)


def format_table(summaries: Sequence[Summary], digits: int = 3) -> str:
    """Aligned plain-text table for the terminal: ``metric  n  mean  +-  [low, high]``."""
    if not summaries:
        return ""
    w = max(len("metric"), *(len(s.name) for s in summaries))
    lines = [f"{'metric':<{w}}  {'n':>4}  {'mean':>9}  {'95% CI':>21}"]
    for s in summaries:
        ci = f"[{_fmt(s.ci_low, digits)}, {_fmt(s.ci_high, digits)}]" if math.isfinite(s.ci_low) else "n/a"
        lines.append(f"{s.name:<{w}}  {s.n:>4}  {_fmt(s.mean, digits):>9}  {ci:>21}")
    return "\n".join(lines)
