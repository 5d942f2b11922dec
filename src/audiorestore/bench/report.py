"""The benchmark report: Markdown, one self-contained HTML page, CSV and JSON, in one folder.

Files written by :func:`write_report` into ``out``:

* ``summary.md``: per dataset, a table of means with 95 % interval half-widths and the CPU real-time
  factor, then a table of the paired improvement over the noisy input;
* ``report.html``: the same tables, bar charts with interval error bars, spectrograms of example items
  and audio players (noisy, clean, every method) for a few short examples. Everything is inline (CSS,
  PNG and audio as base64 data URIs), so the file can be mailed or archived alone. Without matplotlib
  the page has the tables and players and says how to get the plots;
* ``summary.csv`` (one row per dataset, method and metric), ``summary.json``, ``per_item.csv``;
* ``plots/*.png`` when matplotlib is installed.

Example:
    >>> result = run_bench(["wiener"], ["mix=pairs/"], "report/")   # doctest: +SKIP
    >>> write_report(result, "report/")                             # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import io as _io
import json
import logging
import math
import os
import re
from pathlib import Path
from typing import Any
from collections.abc import Sequence

import numpy as np
import soundfile as sf

from .. import __version__
from ..enhancer import method_class
from ..errors import AudioRestoreError
from ..metrics import registry as metric_registry
from ..metrics.report import Summary, _json_safe, _write_text, summary_dict, write_rows_csv
from .runner import NOISY, BenchResult, MethodSummary

log = logging.getLogger(__name__)

REPORT_FILES = {"markdown": "summary.md", "html": "report.html", "summary_csv": "summary.csv",
                "summary_json": "summary.json", "per_item": "per_item.csv"}


# ------------------------------------------------------------------------------------ formatting
def _digits(metric: str) -> int:
    return 2 if metric in ("si_sdr", "snr", "segsnr") else 3


def _fmt(x: float, digits: int, sign: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def format_cell(mean: float, half_width: float, digits: int, sign: bool = False) -> str:
    """``"2.310 ± 0.081"``; without a finite interval (one item) just the mean."""
    m = _fmt(mean, digits, sign)
    if m == "n/a" or not math.isfinite(half_width):
        return m
    return f"{m} ± {half_width:.{digits}f}"


def format_rtf(rtf: float, method: str) -> str:
    """CPU real-time factor with 4 significant digits; ``-`` for the noisy input."""
    if method == NOISY:
        return "-"
    return "n/a" if not math.isfinite(rtf) else f"{rtf:.4g}"


def _by_dataset(summaries: Sequence[MethodSummary]) -> dict[str, list[MethodSummary]]:
    out: dict[str, list[MethodSummary]] = {}
    for s in summaries:
        out.setdefault(s.dataset, []).append(s)
    return out


def score_table_rows(summaries: Sequence[MethodSummary], metrics: Sequence[str],
                     listening: dict[str, Summary] | None = None) -> list[list[str]]:
    """Rows ``[method, cell per metric, (listening score,) RTF]`` of one dataset's score table."""
    def heard(method: str) -> list[str]:
        if listening is None:
            return []
        s = listening.get(method)
        return ["n/a" if s is None else format_cell(s.mean, s.half_width, 2)]

    return [[s.method, *(format_cell(s.scores[m].mean, s.scores[m].half_width, _digits(m)) for m in metrics),
             *heard(s.method), format_rtf(s.rtf, s.method)] for s in summaries]


def _score_header(result: BenchResult, dataset: str) -> tuple[list[str], dict[str, Summary] | None]:
    """Header of a dataset's score table and the listening scores of its methods (None without ratings)."""
    listening = result.listening.get(dataset) if result.listening else None
    extra = [f"{result.listening_label} (listeners)"] if listening is not None else []
    return ["method", *result.metrics, *extra, "CPU RTF (1 thread)"], listening


def improvement_table_rows(summaries: Sequence[MethodSummary], metrics: Sequence[str]) -> list[list[str]]:
    """Rows ``[method, signed cell per metric]`` of the paired improvement over the noisy input."""
    return [[s.method, *(format_cell(s.improvement[m].mean, s.improvement[m].half_width, _digits(m), sign=True)
                         for m in metrics)] for s in summaries if s.method != NOISY]


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def markdown_tables(result: BenchResult, summaries: Sequence[MethodSummary] | None = None) -> str:
    """Per dataset: a heading, the score table and the improvement table (GitHub Markdown)."""
    summaries = result.summaries() if summaries is None else summaries
    metrics = result.metrics
    parts = []
    for ds in result.datasets:
        rows = _by_dataset(summaries).get(ds.name, [])
        if not rows:
            continue
        n = max(s.n for s in rows)
        parts.append(f"### {ds.name} ({n} items)\n")
        header, listening = _score_header(result, ds.name)
        parts.append(_md_table(header, score_table_rows(rows, metrics, listening)))
        imp = improvement_table_rows(rows, metrics)
        if imp:
            parts.append("\nImprovement over the noisy input (paired differences; positive = better):\n")
            parts.append(_md_table(["method", *(f"Δ {m}" for m in metrics)], imp))
        parts.append("")
    return "\n".join(parts)


def _notes(result: BenchResult, summaries: Sequence[MethodSummary]) -> list[str]:
    conf = int(round(100 * result.confidence))
    notes = [f"Cells: mean ± half-width of the {conf}% Student-t interval over items. Audio scored as mono at "
             f"{result.sample_rate} Hz.",
             "CPU RTF: CPU seconds spent in the method per second of audio, one thread (lower is faster).",
             "Δ: the method's score minus the noisy input's on the same item (for lower-is-better metrics "
             "the reverse), averaged over items."]
    for (ds, method), why in sorted(result.skipped.items()):
        notes.append(f"{method} not run on {ds}: {why}.")
    incomplete = [s for s in summaries
                  if s.n < len(next(d for d in result.datasets if d.name == s.dataset).items)]
    for s in incomplete:
        notes.append(f"{s.method} on {s.dataset}: {s.n} of the items scored ({s.errors} failed).")
    notes += [f"error: {e}" for e in result.errors[:50]]
    if len(result.errors) > 50:
        notes.append(f"... and {len(result.errors) - 50} more errors")
    return notes


def _method_info(label: str) -> tuple[str, str]:
    """(summary, licence) of a method label, empty when unknown."""
    if label == NOISY:
        return "the noisy input, unprocessed", ""
    name = label.split(":", 1)[0]
    try:
        cls = method_class(name)
    except AudioRestoreError:
        return "", ""
    return getattr(cls, "summary", ""), getattr(cls, "licence", "")


# ------------------------------------------------------------------------------------ the files
def per_item_rows(result: BenchResult) -> tuple[list[dict[str, Any]], list[str]]:
    """Every cached row with its dataset and method, and the CSV columns."""
    columns = ["dataset", "method", "item", "duration", "seconds", "cpu_seconds", *result.metrics]
    rows = []
    for (ds, method), items in result.rows.items():
        for r in items:
            rows.append({"dataset": ds, "method": method, **{c: r.get(c) for c in columns[2:]}})
    return [{k: ("" if v is None else v) for k, v in r.items()} for r in rows], columns


def summary_rows(summaries: Sequence[MethodSummary], metrics: Sequence[str]) -> list[dict[str, Any]]:
    """One row per dataset, method and metric: mean, interval, improvement and its interval, RTF."""
    rows = []
    for s in summaries:
        for m in metrics:
            sc, im = s.scores[m], s.improvement[m]
            rows.append({"dataset": s.dataset, "method": s.method, "metric": m, "n": sc.n, "mean": sc.mean,
                         "std": sc.std, "ci95_low": sc.ci_low, "ci95_high": sc.ci_high,
                         "improvement": im.mean, "improvement_ci95_low": im.ci_low,
                         "improvement_ci95_high": im.ci_high, "rtf": s.rtf})
    return rows


def summary_json(result: BenchResult, summaries: Sequence[MethodSummary]) -> dict[str, Any]:
    """``{"datasets": {ds: {"n_items", "source", "methods": {label: {"n", "rtf", "scores": {...},
    "improvement": {...}}}}}, "metrics", "confidence", "sample_rate", "errors", ...}``."""
    doc: dict[str, Any] = {"version": __version__, "metrics": list(result.metrics), "confidence": result.confidence,
                           "sample_rate": result.sample_rate, "datasets": {}, "errors": list(result.errors),
                           "skipped": {f"{d}/{m}": why for (d, m), why in result.skipped.items()}}
    for ds in result.datasets:
        entry: dict[str, Any] = {"n_items": len(ds.items), "source": ds.source, "kind": ds.kind,
                                 "examples": result.examples.get(ds.name, []), "methods": {}}
        for s in summaries:
            if s.dataset == ds.name:
                entry["methods"][s.method] = {
                    "n": s.n, "errors": s.errors, "rtf": s.rtf,
                    "scores": summary_dict(list(s.scores.values())),
                    "improvement": {m: summary_dict([s.improvement[m]])[f"{m}_improvement"]
                                    for m in result.metrics}}
        doc["datasets"][ds.name] = entry
    return _json_safe(doc)


# ------------------------------------------------------------------------------------------ HTML
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}h3{margin-top:1.5em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}
tr.noisy td{color:#666;background:#fafafa}tr.peer td:first-child{color:#b35c00}
td.best{font-weight:bold}
.note{color:#555;font-size:.9em}.warn{background:#fff4e0;border:1px solid #f0c36d;padding:.5em 1em}
.charts img,.spec img{max-width:100%;margin:.3em}audio{height:2em;width:14em}
ul.notes{font-size:.85em;color:#444}code{background:#f3f3f3;padding:0 .2em}
"""


def _audio_uri(path: Path, max_s: float, fmt: str = "FLAC") -> str | None:
    """The first ``max_s`` seconds of a clip as a 16-bit ``data:`` URI (None when the file is missing)."""
    if not path.exists():
        return None
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    data = data[: int(max_s * sr)]
    buf = _io.BytesIO()
    sf.write(buf, data, sr, format=fmt, subtype="PCM_16")
    mime = "audio/flac" if fmt == "FLAC" else "audio/wav"
    return f"data:{mime};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], best: dict[int, int] | None = None) -> str:
    out = ["<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead><tbody>"]
    for i, r in enumerate(rows):
        cls = "noisy" if r[0] == NOISY else "peer" if r[0].startswith("peer_") else ""
        cells = "".join(f'<td class="best">{html.escape(c)}</td>' if best and best.get(j) == i
                        else f"<td>{html.escape(c)}</td>" for j, c in enumerate(r))
        out.append(f'<tr class="{cls}">{cells}</tr>')
    out.append("</tbody></table>")
    return "\n".join(out)


def _best_rows(summaries: Sequence[MethodSummary], metrics: Sequence[str]) -> dict[int, int]:
    """Column index (1-based metrics) -> row index of the best mean among the methods (not the input)."""
    best: dict[int, int] = {}
    for j, m in enumerate(metrics, 1):
        higher = metric_registry.get_metric(m).higher_is_better
        vals = [(s.scores[m].mean if higher else -s.scores[m].mean, i) for i, s in enumerate(summaries)
                if s.method != NOISY and math.isfinite(s.scores[m].mean)]
        if vals:
            best[j] = max(vals)[1]
    return best


def _read_clip(path: Path | None, sample_rate: int) -> np.ndarray | None:
    if path is None or not path.exists():
        return None
    data, sr = sf.read(str(path), dtype="float64", always_2d=True)
    if sr != sample_rate:
        from ..dsp.resample import resample

        return resample(data[:, 0][None], sr, sample_rate)[0]
    return data[:, 0]


def render_html(result: BenchResult, summaries: Sequence[MethodSummary], *, title: str, plots: bool,
                example_s: float, plot_dir: Path | None = None, audio_format: str = "FLAC") -> str:
    """The self-contained report page (see the module docstring)."""
    from . import plots as plotting

    metrics = result.metrics
    esc = html.escape
    body = [f"<h1>{esc(title)}</h1>",
            f'<p class="note">audiorestore {esc(__version__)}; metrics: {esc(", ".join(metrics))}; '
            f"{len(result.datasets)} dataset(s), {len(result.methods)} method(s).</p>"]
    if not plots:
        body.append(f'<p class="warn">The charts and spectrograms are missing: {esc(plotting.PLOT_HINT)}.</p>')
    # methods
    body.append("<h2>Methods</h2><table><thead><tr><th>method</th><th>what</th><th>licence</th></tr></thead><tbody>")
    for spec in result.methods:
        what, licence = _method_info(spec.label)
        body.append(f"<tr><td>{esc(spec.label)}</td><td style='text-align:left'>{esc(what)}</td>"
                    f"<td style='text-align:left'>{esc(licence)}</td></tr>")
    body.append("</tbody></table>")
    by_ds = _by_dataset(summaries)
    for ds in result.datasets:
        rows = by_ds.get(ds.name, [])
        body.append(f"<h2>{esc(ds.name)} <span class='note'>({len(ds.items)} items, {esc(ds.kind)}: "
                    f"{esc(ds.source)})</span></h2>")
        if not rows:
            body.append("<p>No results.</p>")
            continue
        body.append("<h3>Scores</h3>")
        header, listening = _score_header(result, ds.name)
        body.append(_html_table(header, score_table_rows(rows, metrics, listening), _best_rows(rows, metrics)))
        imp = improvement_table_rows(rows, metrics)
        if imp:
            body.append("<h3>Improvement over the noisy input</h3>")
            body.append(_html_table(["method", *(f"Δ {m}" for m in metrics)], imp))
        if plots:
            body.append("<h3>Charts</h3><div class='charts'>")
            for m in metrics:
                png = plotting.bar_chart(rows, m, f"{ds.name}: {m} (mean, 95% interval)")
                if plot_dir is not None:
                    _write_bytes(plot_dir / f"{_safe(ds.name)}_{m}.png", png)
                body.append(_img(png, f"{ds.name} {m}"))
            body.append("</div>")
        ex_items = result.examples.get(ds.name, [])
        if not ex_items:
            continue
        body.append("<h3>Examples</h3>")
        body.append(f"<p class='note'>First {example_s:g} s of each clip, 16-bit.</p>")
        who = ["clean", *[s.method for s in rows]]
        header = "".join(f"<th>{esc(w)}</th>" for w in who)
        body.append(f"<table><thead><tr><th>item</th>{header}</tr></thead><tbody>")
        for item in ex_items:
            cells = []
            for w in who:
                p = result.example_path(ds.name, w, item)
                uri = _audio_uri(p, example_s, audio_format) if p is not None else None
                cells.append(f'<td><audio controls preload="none" src="{uri}"></audio></td>' if uri
                             else "<td>n/a</td>")
            body.append(f"<tr><td>{esc(item)}</td>{''.join(cells)}</tr>")
        body.append("</tbody></table>")
        if plots:
            body.append("<div class='spec'>")
            for item in ex_items:
                sigs = []
                for w in who:
                    x = _read_clip(result.example_path(ds.name, w, item), result.sample_rate)
                    if x is not None:
                        sigs.append((w, x))
                if sigs:
                    png = plotting.spectrogram_comparison(sigs, result.sample_rate, f"{ds.name}: {item}")
                    if plot_dir is not None:
                        _write_bytes(plot_dir / f"{_safe(ds.name)}_{_safe(item)}_spectrograms.png", png)
                    body.append(_img(png, f"spectrograms of {item}"))
            body.append("</div>")
    notes = _notes(result, summaries)
    body.append("<h2>Notes</h2><ul class='notes'>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{esc(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name)


def _write_bytes(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def write_report(result: BenchResult, out: str | os.PathLike, *, title: str = "audiorestore benchmark",
                 plots: bool | None = None, example_s: float = 4.0, audio_format: str = "FLAC") -> dict[str, Path]:
    """Write ``summary.md``, ``report.html``, ``summary.csv``, ``summary.json`` and ``per_item.csv`` into
    ``out`` (and ``plots/*.png`` with matplotlib). ``plots=None`` draws them when matplotlib is installed;
    ``audio_format`` is ``"FLAC"`` or ``"WAV"`` for the embedded clips. Returns the paths by kind."""
    from . import plots as plotting

    out_p = Path(out)
    want_plots = plotting.is_available() if plots is None else bool(plots)
    if want_plots and not plotting.is_available():
        log.warning("%s", plotting.PLOT_HINT)
        want_plots = False
    summaries = result.summaries()
    notes = _notes(result, summaries)
    md = f"# {title}\n\n" + markdown_tables(result, summaries) + "\n" + "".join(f"- {n}\n" for n in notes)
    if not want_plots:
        md += f"- {plotting.PLOT_HINT}\n"
    written = {"markdown": _write_text(out_p / REPORT_FILES["markdown"], md)}
    written["html"] = _write_text(out_p / REPORT_FILES["html"], render_html(
        result, summaries, title=title, plots=want_plots, example_s=example_s,
        plot_dir=out_p / "plots" if want_plots else None, audio_format=audio_format.upper()))
    cols = ["dataset", "method", "metric", "n", "mean", "std", "ci95_low", "ci95_high", "improvement",
            "improvement_ci95_low", "improvement_ci95_high", "rtf"]
    srows = [{k: ("" if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
             for r in summary_rows(summaries, result.metrics)]
    written["summary_csv"] = write_rows_csv(out_p / REPORT_FILES["summary_csv"], srows, cols)
    written["summary_json"] = _write_text(out_p / REPORT_FILES["summary_json"],
                                          json.dumps(summary_json(result, summaries), indent=1, allow_nan=False) + "\n")
    prow, pcols = per_item_rows(result)
    written["per_item"] = write_rows_csv(out_p / REPORT_FILES["per_item"], prow, pcols)
    return written


__all__ = ["REPORT_FILES", "write_report", "render_html", "markdown_tables", "score_table_rows",
           "improvement_table_rows", "summary_rows", "summary_json", "per_item_rows", "format_cell", "format_rtf"]
