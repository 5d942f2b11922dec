"""``audiorestore bench`` through the real entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiorestore.cli.main import main


def test_bench_cli_writes_the_report_and_resumes(pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "report"
    argv = ["bench", "--methods", "wiener", "specsub:n_fft=1024", "--dataset", f"mix={pairs}", "--out", str(out),
            "--metrics", "snr,si_sdr", "--examples", "1", "--limit", "3", "--no-plots"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "### mix (3 items)" in printed and "| specsub:n_fft=1024 |" in printed
    for name in ("summary.md", "report.html", "summary.csv", "summary.json", "per_item.csv"):
        assert (out / name).is_file(), name
    mtime = (out / "cache" / "mix" / "wiener.jsonl").stat().st_mtime_ns
    assert main(argv) == 0  # resumes: nothing to recompute, cache untouched
    assert (out / "cache" / "mix" / "wiener.jsonl").stat().st_mtime_ns == mtime


def test_bench_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", "--dataset", f"x={tmp_path / 'none'}", "--out", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["bench", "--out", str(tmp_path / "o")]) == 2
    assert main(["bench", "--list-peers"]) == 0
    assert "peer_deepfilternet" in capsys.readouterr().out
