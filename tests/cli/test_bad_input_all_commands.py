"""Every command, every kind of bad input: one line naming the file and the problem, a non-zero exit,
no traceback, and the other files of a batch still processed (issue: 'Bad input, nothing lost')."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiorestore.cli.main import main
from tests.conftest import speechlike

CASES = ["missing.wav", "emptydir", "zero_bytes.wav", "truncated.wav", "text.wav", "silent.wav", "nan.wav",
         "inf.wav", "one_sample.wav"]


def make_case(case: str, root: Path) -> Path:
    p = root / case
    sr = 16000
    if case == "missing.wav":
        return p
    if case == "emptydir":
        p.mkdir()
    elif case == "zero_bytes.wav":
        p.write_bytes(b"")
    elif case == "truncated.wav":
        full = root / "full_source.bin"
        sf.write(str(full), speechlike(sr, sr), sr, format="WAV", subtype="PCM_16")
        p.write_bytes(full.read_bytes()[: 44 + 1000])  # header promises 32000 bytes; 1000 present
        full.unlink()
    elif case == "text.wav":
        p.write_text("definitely not a RIFF header\n" * 20)
    elif case == "silent.wav":
        sf.write(str(p), np.zeros(4000, np.float32), sr)
    elif case in ("nan.wav", "inf.wav"):
        x = speechlike(4000, sr)
        x[10] = np.nan if case == "nan.wav" else np.inf
        sf.write(str(p), x, sr, subtype="FLOAT")
    elif case == "one_sample.wav":
        sf.write(str(p), np.array([0.3], np.float32), sr)
    return p


def _good(root: Path) -> Path:
    g = root / "good.wav"
    sf.write(str(g), speechlike(8000, 16000, seed=3) + 0.01 * np.random.default_rng(0).standard_normal(8000), 16000)
    return g


def _assert_one_line(err: str, case: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("audiorestore: error:"), lines[0]
    assert "Traceback" not in err
    assert case.split(".")[0] in lines[0], lines[0]  # names the file


@pytest.mark.parametrize("case", [c for c in CASES if c != "silent.wav"])  # silence is valid input
def test_denoise_and_upsample(case, tmp_path, capsys):
    bad, good = make_case(case, tmp_path), _good(tmp_path)
    for cmd in (["denoise", "--method", "wiener"], ["upsample", "--rate", "32000"]):
        out = tmp_path / f"out_{cmd[0]}"
        inputs = [str(bad)] if case == "emptydir" else [str(bad), str(good)]
        code = main([cmd[0], *inputs, "-o", str(out), *cmd[1:], "-q"])
        assert code != 0
        _assert_one_line(capsys.readouterr().err, case)
        if case not in ("missing.wav", "emptydir"):
            assert (out / "good.wav").exists()
            assert not (out / case).exists()


@pytest.mark.parametrize("case", [c for c in CASES if c != "emptydir"])
def test_evaluate(case, tmp_path, capsys):
    ref_dir, est_dir = tmp_path / "ref", tmp_path / "est"
    ref_dir.mkdir()
    est_dir.mkdir()
    good = _good(tmp_path)
    for d in (ref_dir, est_dir):
        (d / "good.wav").write_bytes(good.read_bytes())
    bad = make_case(case, est_dir)
    if case == "silent.wav":  # a silent estimate is a (bad) result to score, not bad input
        (ref_dir / case).write_bytes(good.read_bytes())
        main(["evaluate", str(ref_dir), str(est_dir), "--metrics", "snr", "-o", str(tmp_path / "r"), "-q"])
        rows = (tmp_path / "r" / "per_file.csv").read_text()
        assert "silent" in rows and "good" in rows
        return
    if case != "missing.wav":
        (ref_dir / case).write_bytes(good.read_bytes())
        code = main(["evaluate", str(ref_dir), str(est_dir), "--metrics", "snr,si_sdr", "-o", str(tmp_path / "r"), "-q"])
        assert code != 0
        err = capsys.readouterr().err
        assert case.split(".")[0] in err and "Traceback" not in err
        assert "good" in (tmp_path / "r" / "per_file.csv").read_text()
    else:
        code = main(["evaluate", str(good), str(bad), "--metrics", "snr"])
        assert code != 0
        _assert_one_line(capsys.readouterr().err, case)


@pytest.mark.parametrize("case", ["missing.wav", "emptydir", "zero_bytes.wav", "text.wav", "nan.wav"])
def test_degrade(case, tmp_path, capsys):
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "good.wav").write_bytes(_good(tmp_path).read_bytes())
    if case == "missing.wav":
        code = main(["degrade", str(tmp_path / "nope"), "-o", str(tmp_path / "o"), "--color", "white", "-q"])
    elif case == "emptydir":
        d = make_case(case, tmp_path)
        code = main(["degrade", str(d), "-o", str(tmp_path / "o"), "--color", "white", "-q"])
    else:
        make_case(case, clean)
        code = main(["degrade", str(clean), "-o", str(tmp_path / "o"), "--color", "white", "--snr", "5", "-q"])
        assert (tmp_path / "o" / "noisy").exists() and any((tmp_path / "o" / "noisy").iterdir())
    assert code != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "audiorestore: error:" in err


@pytest.mark.parametrize("sr,channels", [(8000, 1), (96000, 1), (16000, 6)])
def test_rates_and_channels_every_command(sr, channels, tmp_path):
    x = np.stack([speechlike(sr // 2, sr, c) for c in range(channels)])
    src = tmp_path / "x.wav"
    sf.write(str(src), x.T, sr)
    assert main(["denoise", str(src), "-o", str(tmp_path / "d.wav"), "-q"]) == 0
    assert sf.info(str(tmp_path / "d.wav")).channels == channels
    assert main(["upsample", str(src), "-o", str(tmp_path / "u.wav"), "--rate", str(sr * 2), "-q"]) == 0
    assert sf.info(str(tmp_path / "u.wav")).samplerate == sr * 2
    assert main(["evaluate", str(src), str(tmp_path / "d.wav"), "--metrics", "snr,lsd", "-q"]) == 0


def test_help_of_every_subcommand_runs():
    for cmd in ["denoise", "upsample", "methods", "models", "degrade", "evaluate", "train"]:
        r = subprocess.run(["audiorestore", cmd, "--help"], capture_output=True, text=True)
        assert r.returncode == 0 and "usage" in r.stdout, (cmd, r.stderr)
