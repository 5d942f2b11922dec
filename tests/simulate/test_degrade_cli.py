"""``audiorestore degrade`` through main() and once through the installed console script."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiorestore.cli.main import main


def make_inputs(root: Path) -> tuple[Path, Path]:
    clean, noise = root / "clean", root / "noise"
    (clean / "d").mkdir(parents=True)
    noise.mkdir()
    t = np.arange(8000) / 16000
    for i, f0 in enumerate((150.0, 210.0)):
        sf.write(clean / "d" / f"s{i}.wav", 0.3 * np.sin(2 * np.pi * f0 * t) * np.hanning(t.size), 16000)
    sf.write(noise / "n.wav", 0.1 * np.random.default_rng(0).standard_normal(12000), 16000)
    return clean, noise


def manifest(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]


def test_degrade_snr_grid_with_noise_dir(tmp_path, capsys) -> None:
    clean, noise = make_inputs(tmp_path)
    out = tmp_path / "out"
    rc = main(["degrade", str(clean), "-o", str(out), "--noise-dir", str(noise), "--snr", "0", "10",
               "--sample-rate", "16000", "--seed", "2", "-q"])
    assert rc == 0 and capsys.readouterr().err == ""
    lines = manifest(out)
    assert sorted(ln["id"] for ln in lines) == ["d/s0_snr0", "d/s0_snr10", "d/s1_snr0", "d/s1_snr10"]
    for ln in lines:
        assert (out / ln["noisy"]).exists() and (out / ln["clean"]).exists() and (out / ln["noise"]).exists()
        assert ln["noise_file"] == str(noise / "n.wav") and ln["params"]["seed"] == ln["seed"]
    assert main(["degrade", str(clean), "-o", str(out), "--noise-dir", str(noise), "--snr", "0", "10",
                 "--sample-rate", "16000", "--seed", "2"]) == 0  # resumes: everything skipped
    assert capsys.readouterr().err.count("skipped") == 4


def test_degrade_many_stages_and_limit(tmp_path) -> None:
    clean, _ = make_inputs(tmp_path)
    out = tmp_path / "many"
    rc = main(["degrade", str(clean), "-o", str(out), "--color", "pink", "brown", "--snr-range", "0", "15",
               "--variants", "2", "--reverb-rt60", "0.2", "0.4", "--hum", "50", "60", "--hiss", "40",
               "--clip", "0.7", "0.9", "--lowpass", "8000", "--filter", "cheby1", "ellip", "--order", "6", "10",
               "--quantize", "12", "--codec", "mp3:32", "opus:16", "--limit", "1", "-q"])
    assert rc == 0
    lines = manifest(out)
    assert [ln["id"] for ln in lines] == ["d/s0_v0", "d/s0_v1"]
    names = [s["name"] for s in lines[0]["params"]["stages"]]
    assert names == ["reverb", "add_noise", "hum", "hiss", "clip", "lowpass_decimate", "quantize", "codec"]
    lp = lines[0]["params"]["stages"][5]["params"]
    assert lp["target_rate"] == 8000 and lp["kind"] in ("cheby1", "ellip") and 6 <= lp["order"] <= 10
    assert all(0 <= ln["snr_db"] <= 15 and ln["color"] in ("pink", "brown") for ln in lines)


@pytest.mark.parametrize("argv,message", [
    (["--snr", "5"], "needs a noise source"),
    (["--codec", "mp3"], "NAME:KBPS"),
    (["--clip", "0.1", "0.2", "0.3"], "one value (fixed) or two"),
    (["--color", "pink", "--lowpass", "44100"], "below the signal"),
    (["--color", "purple"], "unknown noise colour"),
    (["--lowpass", "8000", "--filter", "sinc"], "unknown filter"),
])
def test_degrade_bad_options_give_one_line_errors(tmp_path, capsys, argv, message) -> None:
    clean, _ = make_inputs(tmp_path)
    rc = main(["degrade", str(clean), "-o", str(tmp_path / "o")] + argv)
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") == 1 and err.startswith("audiorestore: error:")


def test_degrade_missing_dir_and_help_lists(tmp_path, capsys) -> None:
    from audiorestore.cli import degrade
    from audiorestore.simulate import LOWPASS_KINDS, NOISE_COLORS
    from audiorestore.simulate.dataset import DEFAULT_SNRS

    assert main(["degrade", str(tmp_path / "nope"), "-o", str(tmp_path / "o")]) == 2
    assert "clean directory does not exist" in capsys.readouterr().err
    assert tuple(NOISE_COLORS) == degrade.NOISE_COLORS and LOWPASS_KINDS == degrade.LOWPASS_KINDS
    assert list(degrade.DEFAULT_SNRS) == DEFAULT_SNRS


def test_degrade_console_script(tmp_path) -> None:
    clean, noise = make_inputs(tmp_path)
    exe = shutil.which("audiorestore")
    assert exe is not None
    ok = subprocess.run([exe, "degrade", str(clean), "-o", str(tmp_path / "o"), "--noise-dir", str(noise),
                         "--snr", "5", "--format", "flac"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert sorted(p.name for p in (tmp_path / "o" / "noisy" / "d").iterdir()) == ["s0_snr5.flac", "s1_snr5.flac"]
    assert "manifest" in ok.stderr
