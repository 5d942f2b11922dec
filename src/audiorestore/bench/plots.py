"""Figures of a benchmark report, as PNG bytes: bar charts with 95 % intervals and spectrogram comparisons.

matplotlib is an optional extra (``pip install 'audiorestore[plot]'``), imported only here, on use. The
figures are drawn on matplotlib's object API with an Agg canvas (no ``pyplot``), so nothing changes the
caller's backend or global figure state.

Example:
    >>> png = bar_chart(summaries, "pesq_wb")                           # doctest: +SKIP
    >>> png = spectrogram_comparison([("noisy", x), ("wiener", y)], 16000)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import io as _io
import math
from typing import Any
from collections.abc import Sequence

import numpy as np

from ..errors import require
from .runner import NOISY, MethodSummary

#: What the report says when matplotlib is missing.
PLOT_HINT = "plots need matplotlib: pip install 'audiorestore[plot]'"


def is_available() -> bool:
    """Whether matplotlib can be imported (checked without importing it)."""
    return importlib.util.find_spec("matplotlib") is not None


def _figure(width: float, height: float, dpi: int = 100) -> Any:
    require("matplotlib", "plot", "benchmark plots")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def bar_chart(summaries: Sequence[MethodSummary], metric: str, title: str | None = None) -> bytes:
    """One bar per method: the mean of ``metric`` with its 95 % interval as an error bar; the noisy
    input's mean as a dashed line. ``summaries`` are the rows of one dataset.

    Shape:
        ``len(summaries)`` bars -> PNG bytes.
    """
    fig = _figure(max(4.0, 0.55 * len(summaries) + 1.5), 3.2)
    ax = fig.add_subplot(1, 1, 1)
    names = [s.method for s in summaries]
    means = np.array([s.scores[metric].mean for s in summaries], dtype=float)
    half = np.array([s.scores[metric].half_width if math.isfinite(s.scores[metric].half_width) else 0.0
                     for s in summaries], dtype=float)
    colors = ["#9e9e9e" if n == NOISY else "#3b75af" if not n.startswith("peer_") else "#e08a2c" for n in names]
    x = np.arange(len(names))
    ax.bar(x, np.nan_to_num(means), yerr=half, color=colors, capsize=3, ecolor="#333333")
    for s in summaries:
        if s.method == NOISY and math.isfinite(s.scores[metric].mean):
            ax.axhline(s.scores[metric].mean, color="#666666", linestyle="--", linewidth=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel(metric)
    finite = means[np.isfinite(means)]
    if finite.size and finite.min() > 0:
        low = float(np.min(finite - half[np.isfinite(means)]))
        ax.set_ylim(bottom=max(0.0, low - 0.1 * abs(low)))
    ax.set_title(title or metric, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def _spectrogram_db(x: np.ndarray, n_fft: int = 512, hop_length: int = 128) -> np.ndarray:
    """Power spectrogram in dB, ``(bins, frames)``, Hann window."""
    from ..dsp.stft import stft

    spec = stft(np.asarray(x, dtype=np.float64), n_fft=n_fft, hop_length=hop_length)
    return 10.0 * np.log10(np.abs(spec) ** 2 + 1e-10)


def spectrogram_comparison(signals: Sequence[tuple[str, np.ndarray]], sample_rate: int, title: str | None = None,
                           columns: int = 3, floor_db: float = 80.0, dpi: int = 72) -> bytes:
    """Spectrograms of several versions of one item (clean, noisy, each method) on one colour scale.

    Shape:
        each signal ``(time,)`` -> PNG bytes.
    """
    if not signals:
        raise ValueError("no signal to plot")
    specs = [(label, _spectrogram_db(x)) for label, x in signals]
    top = max(float(s.max()) for _, s in specs)
    cols = max(1, min(columns, len(specs)))
    rows = math.ceil(len(specs) / cols)
    # 72 dpi by default: noisy spectrograms compress badly, and the report embeds one figure per example
    fig = _figure(3.4 * cols, 2.3 * rows + (0.4 if title else 0.0), dpi=dpi)
    for k, (label, s) in enumerate(specs):
        ax = fig.add_subplot(rows, cols, k + 1)
        duration = (s.shape[1] - 1) * 128 / sample_rate
        ax.imshow(s, origin="lower", aspect="auto", cmap="magma", vmin=top - floor_db, vmax=top,
                  extent=(0.0, max(duration, 1e-3), 0.0, sample_rate / 2000.0))
        ax.set_title(label, fontsize=9)
        ax.tick_params(labelsize=7)
        if k % cols == 0:
            ax.set_ylabel("kHz", fontsize=8)
        if k >= len(specs) - cols:
            ax.set_xlabel("s", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _png(fig)


__all__ = ["PLOT_HINT", "is_available", "bar_chart", "spectrogram_comparison"]
