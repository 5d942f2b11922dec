"""Report: self-contained HTML, Markdown rows per method, CSV and JSON, plots optional."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from audiorestore.bench import plots, report
from audiorestore.bench.runner import BenchResult, run_bench


@pytest.fixture
def result(pairs: Path, tmp_path: Path) -> BenchResult:
    return run_bench(["wiener", "logmmse"], [f"mix={pairs}"], tmp_path / "out", metrics="snr,si_sdr,lsd",
                     examples=2, example_s=0.5)


def test_html_is_self_contained_with_tables_and_audio(result: BenchResult, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plots, "is_available", lambda: False)
    files = report.write_report(result, tmp_path / "out", example_s=0.5)
    page = files["html"].read_text()
    assert "<table" in page and "Improvement over the noisy input" in page
    links = re.findall(r"""(?:src|href)\s*=\s*["']?([^"' >]*)""", page)
    assert links and all(link.startswith("data:") for link in links), "a link to an external resource"
    assert "http://" not in page and "https://" not in page and "<script" not in page.lower()
    players = re.findall(r'<audio controls preload="none" src="data:audio/flac;base64,[A-Za-z0-9+/=]+"', page)
    assert len(players) == 2 * 4  # 2 examples x (clean, noisy, wiener, logmmse)
    assert "pip install &#x27;audiorestore[plot]&#x27;" in page  # says how to get the charts
    assert "<img" not in page
    assert "pip install 'audiorestore[plot]'" in files["markdown"].read_text()


def test_plots_are_embedded_as_png_when_matplotlib_is_there(result: BenchResult, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[str] = []
    monkeypatch.setattr(plots, "is_available", lambda: True)
    monkeypatch.setattr(plots, "bar_chart", lambda rows, m, title=None: drawn.append(m) or b"\x89PNG bar")
    monkeypatch.setattr(plots, "spectrogram_comparison",
                        lambda sigs, sr, title=None: drawn.append("spec:" + ",".join(w for w, _ in sigs)) or b"\x89PNG spec")
    files = report.write_report(result, tmp_path / "out", example_s=0.5)
    page = files["html"].read_text()
    assert page.count('src="data:image/png;base64,') == 3 + 2  # a chart per metric, spectrograms per example
    assert drawn[:3] == ["snr", "si_sdr", "lsd"] and drawn[3] == "spec:clean,noisy,wiener,logmmse"
    assert (tmp_path / "out" / "plots" / "mix_snr.png").read_bytes() == b"\x89PNG bar"


def test_markdown_csv_json(result: BenchResult, tmp_path: Path) -> None:
    files = report.write_report(result, tmp_path / "out", plots=False)
    md = files["markdown"].read_text()
    for method in ("noisy", "wiener", "logmmse"):
        assert re.search(rf"^\| {method} \| [0-9.]+ ± [0-9.]+ \|", md, re.M), method
    assert re.search(r"^\| wiener \| \+[0-9.]+ ± [0-9.]+ \|", md, re.M)  # improvement row, signed
    assert "| method | Δ snr | Δ si_sdr | Δ lsd |" in md
    summaries = {(s.method): s for s in result.summaries()}
    rows = list(csv.DictReader(open(files["summary_csv"])))
    assert len(rows) == 3 * 3
    w = next(r for r in rows if r["method"] == "wiener" and r["metric"] == "snr")
    assert float(w["mean"]) == pytest.approx(summaries["wiener"].scores["snr"].mean)
    assert float(w["improvement"]) == pytest.approx(summaries["wiener"].improvement["snr"].mean)
    doc = json.loads(files["summary_json"].read_text())
    m = doc["datasets"]["mix"]["methods"]["logmmse"]
    assert m["n"] == 4 and m["rtf"] > 0 and set(m["scores"]) == {"snr", "si_sdr", "lsd"}
    assert m["improvement"]["snr"]["mean"] == pytest.approx(summaries["logmmse"].improvement["snr"].mean)
    per_item = list(csv.DictReader(open(files["per_item"])))
    assert len(per_item) == 3 * 4 and {"dataset", "method", "item", "snr"} <= set(per_item[0])


def test_format_cell() -> None:
    assert report.format_cell(2.3104, 0.0812, 3) == "2.310 ± 0.081"
    assert report.format_cell(0.5, float("nan"), 2, sign=True) == "+0.50"
    assert report.format_cell(float("nan"), 1.0, 2) == "n/a"
    assert report.format_rtf(0.012345, "wiener") == "0.01235" and report.format_rtf(0.0, "noisy") == "-"
