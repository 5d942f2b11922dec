"""Digital silence is valid input: restoring it gives silence of the same shape, rate and format,
said at verbose level only, with exit code 0, alone or in a batch (issue 20). The commands run
through the real entry point (``python -m audiorestore.cli.main``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiorestore.cli.main import main
from tests.conftest import speechlike

SRC = str(Path(__file__).resolve().parents[2] / "src")
COMMANDS = {
    "denoise": (["--method", "wiener"], 1),
    "upsample": (["--rate", "32000", "--method", "sinc"], 2),
    "restore": (["--rate", "32000"], 2),
}


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "audiorestore.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def _silent(root: Path) -> Path:
    p = root / "in" / "mute.flac"
    p.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(p), np.zeros((4000, 2), np.float32), 16000, subtype="PCM_24")
    return p


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_silent_file_alone_gives_silence_and_exit_0(command, tmp_path, capsys):
    src = _silent(tmp_path)
    extra, factor = COMMANDS[command]
    out = tmp_path / "out.flac"
    assert main([command, str(src), "-o", str(out), *extra]) == 0
    err = capsys.readouterr().err
    assert "error" not in err and "silence" not in err  # said at verbose level only
    y, sr = sf.read(str(out), always_2d=True)
    assert sr == 16000 * factor and y.shape == (4000 * factor, 2) and not np.any(y)
    assert sf.info(str(out)).subtype == "PCM_24"  # the input's format, as for any file


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_silent_file_in_a_batch_with_good_files(command, tmp_path):
    _silent(tmp_path)
    for i in range(2):
        x = speechlike(8000, 16000, seed=i) + 0.01 * np.random.default_rng(i).standard_normal(8000)
        sf.write(str(tmp_path / "in" / f"good{i}.wav"), x.astype(np.float32), 16000)
    extra, factor = COMMANDS[command]
    r = cli("-v", command, str(tmp_path / "in"), "-o", str(tmp_path / "out"), *extra)
    assert r.returncode == 0, r.stderr
    assert "failed 0" in r.stderr and "error" not in r.stderr.lower() and "digital silence" in r.stderr
    y, sr = sf.read(str(tmp_path / "out" / "mute.flac"), always_2d=True)
    assert sr == 16000 * factor and y.shape == (4000 * factor, 2) and not np.any(y)
    for i in range(2):
        y, sr = sf.read(str(tmp_path / "out" / f"good{i}.wav"))
        assert sr == 16000 * factor and np.any(y)
