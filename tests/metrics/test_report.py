"""Mean and 95 % interval, and the CSV / JSON / Markdown writers."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from audiorestore.metrics.report import (format_table, mean_ci, summarize, write_rows_csv, write_summary_csv,
                                         write_summary_json, write_summary_markdown)


def test_mean_ci_known_values():
    # mean 2, s = 1, n = 3: half width = t_{0.975, 2} / sqrt(3). With 2 degrees of freedom the t CDF is
    # 1/2 + t / (2 sqrt(2 + t^2)), so t_{0.975, 2} solves t / sqrt(2 + t^2) = 0.95: t^2 = 2 * 0.9025 / 0.0975
    t = math.sqrt(2 * 0.9025 / 0.0975)
    s = mean_ci([1.0, 2.0, 3.0])
    assert (s.n, s.mean, s.std) == (3, 2.0, 1.0)
    assert s.half_width == pytest.approx(t / math.sqrt(3), rel=1e-12)
    assert (s.ci_low, s.ci_high) == pytest.approx((2 - 2.4841377117503, 2 + 2.4841377117503))
    # constant data: zero-width interval; large n approaches the normal 1.96
    assert mean_ci([4.0] * 5).half_width == 0.0
    big = mean_ci([0.0, 2.0] * 5000)  # s ~ 1.0000500, n = 10000
    assert big.half_width == pytest.approx(1.9602 * 1.00005 / 100, rel=1e-3)


def test_mean_ci_drops_nan_and_handles_tiny_n():
    s = mean_ci([1.0, float("nan"), 3.0])
    assert s.n == 2 and s.mean == 2.0
    one = mean_ci([5.0])
    assert one.mean == 5.0 and math.isnan(one.ci_low)
    assert mean_ci([]).n == 0


def test_summarize_columns():
    rows = [{"a": 1.0, "b": 10.0}, {"a": 3.0}]
    sa, sb = summarize(rows, ["a", "b"])
    assert (sa.name, sa.n, sa.mean) == ("a", 2, 2.0)
    assert (sb.n, sb.mean) == (1, 10.0)


def test_writers_round_trip(tmp_path):
    rows = [{"file": "x.wav", "snr": 1.5}, {"file": "y.wav", "snr": float("nan")}]
    p = write_rows_csv(tmp_path / "per_file.csv", rows, ["file", "snr"])
    got = list(csv.DictReader(Path(p).read_text().splitlines()))
    assert got == [{"file": "x.wav", "snr": "1.5"}, {"file": "y.wav", "snr": ""}]

    summ = [mean_ci([1.0, 2.0, 3.0], name="snr"), mean_ci([7.0], name="pesq_wb")]
    got = list(csv.DictReader(Path(write_summary_csv(tmp_path / "s.csv", summ)).read_text().splitlines()))
    assert got[0]["metric"] == "snr" and float(got[0]["mean"]) == 2.0 and got[1]["ci95_low"] == ""

    doc = json.loads(Path(write_summary_json(tmp_path / "s.json", summ, {"n_files": 3})).read_text())
    assert doc["n_files"] == 3 and doc["summary"]["snr"]["mean"] == 2.0
    assert doc["summary"]["pesq_wb"]["ci95_low"] is None  # NaN -> null, strict JSON

    md = Path(write_summary_markdown(tmp_path / "s.md", summ, "Title", ["note"])).read_text()
    assert md.startswith("# Title\n") and "| snr | 3 | 2.000 | [-0.484, 4.484] |" in md and "- note" in md
    table = format_table(summ)
    assert "snr" in table and "[-0.484, 4.484]" in table and "n/a" in table
