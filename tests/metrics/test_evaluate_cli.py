"""Pairing, the evaluation API and ``audiorestore evaluate`` through its real entry points."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiorestore.cli.main import main
from audiorestore.metrics.evaluation import evaluate, pair_files

from .conftest import add_noise, vowel_like

SR = 16000


def _write(path: Path, audio: np.ndarray, sr: int = SR) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.asarray(audio).T if np.ndim(audio) == 2 else audio, sr, subtype="FLOAT"
             if path.suffix == ".wav" else None)
    return path


@pytest.fixture
def tree(tmp_path: Path):
    """ref/{a,b,c,sub/d}; est: a.wav, b.flac (other extension), c_denoised.wav (CLI suffix), sub/d.wav
    corrupt, e.wav without a reference; noisy/ mirrors ref. Estimates at 20 dB SNR, noisy at 5 dB."""
    names = ["a", "b", "c", "sub/d"]
    for i, n in enumerate(names):
        x = vowel_like(SR, 1.0, seed=i)
        _write(tmp_path / "ref" / f"{n}.wav", x)
        _write(tmp_path / "noisy" / f"{n}.wav", add_noise(x, 5.0, seed=10 + i))
        est = add_noise(x, 20.0, seed=20 + i)
        if n == "a":
            _write(tmp_path / "est" / "a.wav", est)
        elif n == "b":
            _write(tmp_path / "est" / "b.flac", est)
        elif n == "c":
            _write(tmp_path / "est" / "c_denoised.wav", est)
        else:
            (tmp_path / "est" / "sub").mkdir(parents=True)
            (tmp_path / "est" / "sub" / "d.wav").write_bytes(b"RIFF....WAVEfmt garbage, not audio")
    _write(tmp_path / "est" / "e.wav", vowel_like(SR, 1.0, seed=9))
    return tmp_path


def test_pair_files_by_path_extension_and_suffix(tree):
    pairs, missing = pair_files(tree / "ref", tree / "est", tree / "noisy")
    got = {p.name: (p.estimate.name, p.noisy.name if p.noisy else None) for p in pairs}
    assert got == {"a.wav": ("a.wav", "a.wav"), "b.wav": ("b.flac", "b.wav"),
                   "c.wav": ("c_denoised.wav", "c.wav"), "sub/d.wav": ("d.wav", "d.wav")}
    assert missing == [f"e.wav: estimate without a reference in {tree / 'ref'}"]


def test_pair_files_reports_missing_estimates(tmp_path):
    _write(tmp_path / "r" / "x.wav", vowel_like(SR, 0.5))
    _write(tmp_path / "r" / "y.wav", vowel_like(SR, 0.5))
    _write(tmp_path / "e" / "x.wav", vowel_like(SR, 0.5))
    pairs, missing = pair_files(tmp_path / "r", tmp_path / "e")
    assert [p.name for p in pairs] == ["x.wav"]
    assert missing == [f"y.wav: no estimate in {tmp_path / 'e'}"]


def test_evaluate_api_improvement(tree):
    ev = evaluate(tree / "ref", tree / "est", tree / "noisy", metrics="snr,lsd")
    assert [f.name for f in ev.files] == ["a.wav", "b.wav", "c.wav"]
    assert len(ev.errors) == 1 and "d.wav" in ev.errors[0] and "\n" not in ev.errors[0]
    for f in ev.files:
        s = f.scores
        # float WAV is exact up to float32 rounding; b.flac is 16-bit (quantisation noise 70 dB down)
        assert s["snr"] == pytest.approx(20.0, abs=1e-3)
        assert s["snr_noisy"] == pytest.approx(5.0, abs=1e-4)
        assert s["snr_improvement"] == pytest.approx(15.0, abs=1e-3)
        # LSD is lower-is-better: the improvement is noisy minus estimate, positive here
        assert s["lsd_improvement"] == pytest.approx(s["lsd_noisy"] - s["lsd"]) and s["lsd_improvement"] > 0
    summ = {s.name: s for s in ev.summary()}
    assert summ["snr"].n == 3 and summ["snr"].mean == pytest.approx(20.0, abs=1e-3)


def test_cli_evaluate_with_noisy_and_a_bad_file(tree, capsys):
    out = tree / "report"
    code = main(["evaluate", str(tree / "ref"), str(tree / "est"), "--noisy", str(tree / "noisy"),
                 "--metrics", "snr,si_sdr,segsnr", "-o", str(out)])
    assert code == 1  # one file failed, the others were scored
    captured = capsys.readouterr()
    err_lines = [ln for ln in captured.err.splitlines() if ln.startswith("audiorestore: error:")]
    assert len(err_lines) == 1 and "d.wav" in err_lines[0]
    assert "unpaired: e.wav" in captured.err
    assert "snr_improvement" in captured.out and "95% CI" in captured.out

    rows = list(csv.DictReader(Path(out / "per_file.csv").read_text().splitlines()))
    assert [r["file"] for r in rows] == ["a.wav", "b.wav", "c.wav"]
    for col in ("snr", "snr_noisy", "snr_improvement", "si_sdr_improvement", "segsnr_noisy"):
        assert col in rows[0]
    assert float(rows[0]["snr_improvement"]) == pytest.approx(15.0, abs=1e-3)
    doc = json.loads((out / "summary.json").read_text())
    assert doc["n_files"] == 3 and len(doc["errors"]) == 1 and doc["summary"]["snr"]["n"] == 3
    assert doc["summary"]["snr"]["mean"] == pytest.approx(20.0, abs=1e-3)
    summary_rows = list(csv.DictReader(Path(out / "summary.csv").read_text().splitlines()))
    assert [r["metric"] for r in summary_rows][:3] == ["snr", "snr_noisy", "snr_improvement"]
    assert "| snr_improvement | 3 |" in (out / "summary.md").read_text()


def test_cli_single_files_resampled_and_multichannel(tmp_path, capsys):
    x = vowel_like(SR, 1.0)
    y = add_noise(x, 10.0)
    ref = _write(tmp_path / "ref.wav", x)
    # the estimate is stereo (two identical channels) at 8 kHz: resampled to 16 kHz, channels averaged
    from audiorestore.dsp.resample import resample

    est = _write(tmp_path / "est.wav", np.stack([resample(y, SR, 8000)] * 2), 8000)
    assert main(["evaluate", str(ref), str(est), "--metrics", "si_sdr,lsd"]) == 0
    out = capsys.readouterr().out
    assert "si_sdr" in out and "lsd" in out


def test_cli_unknown_metric_and_nothing_scored(tmp_path, capsys):
    ref = _write(tmp_path / "ref.wav", vowel_like(SR, 0.5))
    assert main(["evaluate", str(ref), str(ref), "--metrics", "nope"]) == 2
    assert "unknown metric 'nope'" in capsys.readouterr().err
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"")
    assert main(["evaluate", str(ref), str(bad), "--metrics", "snr"]) == 2
    err = capsys.readouterr().err
    assert "bad.wav" in err and "no file could be scored" in err


def test_cli_pesq_and_composite(tmp_path):
    pytest.importorskip("pesq")
    x = vowel_like(SR, 3.0)
    ref, est = _write(tmp_path / "r" / "x.wav", x), _write(tmp_path / "e" / "x.wav", add_noise(x, 10.0))
    ev = evaluate(ref, est, metrics="pesq_wb,csig,cbak,covl")
    s = ev.files[0].scores
    assert 1.0 < s["pesq_wb"] < 4.64 and all(1.0 <= s[k] <= 5.0 for k in ("csig", "cbak", "covl"))


def test_subprocess_entry_point(tmp_path):
    x = vowel_like(SR, 1.0)
    ref, est = _write(tmp_path / "ref.wav", x), _write(tmp_path / "est.wav", add_noise(x, 12.0))
    exe = shutil.which("audiorestore")
    cmd = [exe] if exe else [sys.executable, "-m", "audiorestore.cli.main"]
    proc = subprocess.run(cmd + ["evaluate", str(ref), str(est), "--metrics", "snr", "-o", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("snr"))
    assert float(line.split()[2]) == pytest.approx(12.0, abs=1e-3)
    assert (tmp_path / "o" / "per_file.csv").exists()


def test_cli_silent_estimate_keeps_the_row_with_nan(tmp_path, capsys):
    pytest.importorskip("pesq")
    x = vowel_like(SR, 1.0)
    _write(tmp_path / "r" / "ok.wav", x)
    _write(tmp_path / "r" / "mute.wav", x)
    _write(tmp_path / "e" / "ok.wav", add_noise(x, 10.0))
    _write(tmp_path / "e" / "mute.wav", np.zeros_like(x))
    code = main(["evaluate", str(tmp_path / "r"), str(tmp_path / "e"), "--metrics", "snr,pesq_wb",
                 "-o", str(tmp_path / "o")])
    assert code == 1
    err = capsys.readouterr().err
    assert "mute.wav: pesq_wb: PESQ is undefined for a silent estimate" in err
    rows = {r["file"]: r for r in csv.DictReader(Path(tmp_path / "o" / "per_file.csv").read_text().splitlines())}
    assert rows["mute.wav"]["pesq_wb"] == "" and float(rows["mute.wav"]["snr"]) == pytest.approx(0.0)
    assert float(rows["ok.wav"]["pesq_wb"]) > 1.0
