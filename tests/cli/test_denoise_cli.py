"""`audiorestore denoise` through its entry points: batch behaviour, formats, bad input, nothing lost."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from audiorestore.cli.main import main
from tests.conftest import speechlike


def _noisy(n: int, sr: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.stack([speechlike(n, sr, seed + c) for c in range(channels)])
    return (x + 0.05 * rng.standard_normal(x.shape)).astype(np.float32)


def test_denoise_single_file_keeps_rate_channels_format(write_audio, tmp_path):
    src = write_audio("in.wav", _noisy(8000, 16000, channels=2), 16000, subtype="PCM_24")
    out = tmp_path / "out.wav"
    assert main(["denoise", str(src), "-o", str(out), "--method", "filter", "-q"]) == 0
    info = sf.info(str(out))
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, 2, 8000, "PCM_24")
    assert not list(tmp_path.glob(".*.tmp*")), "temporary file left behind"


def test_denoise_directory_mirrors_tree_and_resumes(write_audio, tmp_path, capsys):
    write_audio("in/a.wav", _noisy(4000, 16000), 16000)
    write_audio("in/sub/b.flac", _noisy(4000, 8000), 8000)
    out = tmp_path / "out"
    assert main(["denoise", str(tmp_path / "in"), "-o", str(out), "--method", "smooth"]) == 0
    assert (out / "a.wav").exists() and (out / "sub" / "b.flac").exists()
    assert sf.info(str(out / "sub" / "b.flac")).samplerate == 8000
    before = (out / "a.wav").stat().st_mtime_ns
    capsys.readouterr()
    assert main(["denoise", str(tmp_path / "in"), "-o", str(out), "--method", "smooth"]) == 0
    assert "skipped 2" in capsys.readouterr().err
    assert (out / "a.wav").stat().st_mtime_ns == before


def test_default_output_name_beside_input(write_audio):
    src = write_audio("x.flac", _noisy(4000, 16000), 16000)
    assert main(["denoise", str(src), "--method", "filter", "-q"]) == 0
    assert (src.parent / "x_denoised.flac").exists()


def test_unknown_method_and_parameter_are_one_line_errors(write_audio, capsys):
    src = write_audio("x.wav", _noisy(4000, 16000), 16000)
    assert main(["denoise", str(src), "--method", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown method 'nope'" in err[0]
    assert main(["denoise", str(src), "--method", "filter", "--set", "bogus=1"]) == 2
    assert "has no parameter 'bogus'" in capsys.readouterr().err


def test_input_is_never_overwritten(write_audio, capsys):
    src = write_audio("x.wav", _noisy(4000, 16000), 16000)
    data = src.read_bytes()
    assert main(["denoise", str(src), "-o", str(src), "--method", "filter", "--overwrite"]) == 1
    assert "refusing to overwrite an input" in capsys.readouterr().err
    assert src.read_bytes() == data


BAD_CASES = {
    "missing": (None, "no such file"),
    "empty.wav": (b"", "empty (0 bytes)"),
    "text.wav": (b"this is not audio at all\n" * 10, "not a readable audio file"),
}


@pytest.mark.parametrize("case", ["missing", "empty.wav", "text.wav", "truncated.wav",
                                  "nan.wav", "inf.wav", "one_sample.wav", "emptydir"])
def test_bad_input_one_line_error_and_batch_continues(case, write_audio, tmp_path, capsys):
    good = write_audio("good.wav", _noisy(4000, 16000), 16000)
    bad = tmp_path / case
    if case in BAD_CASES and BAD_CASES[case][0] is not None:
        bad.write_bytes(BAD_CASES[case][0])
    elif case == "truncated.wav":
        full = write_audio("full.wav", _noisy(16000, 16000), 16000)
        bad.write_bytes(full.read_bytes()[:30])  # header cut in the middle
    elif case in ("nan.wav", "inf.wav"):
        x = _noisy(4000, 16000)[0]
        x[100] = np.nan if case == "nan.wav" else np.inf
        write_audio(case, x, 16000, subtype="FLOAT")
    elif case == "one_sample.wav":
        write_audio(case, np.array([0.5], np.float32), 16000)
    elif case == "emptydir":
        bad.mkdir()
    out = tmp_path / "out"
    inputs = [str(bad), str(good)] if case != "emptydir" else [str(bad)]
    code = main(["denoise", *inputs, "-o", str(out), "--method", "filter", "-q"])
    assert code != 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    assert err[0].startswith("audiorestore: error:") and case.split(".")[0][:5] in err[0]
    assert "Traceback" not in err[0]
    if case not in ("missing", "emptydir"):
        assert (out / "good.wav").exists(), "the other files of a batch are still processed"


@pytest.mark.parametrize("sr,channels", [(8000, 1), (96000, 1), (16000, 6)])
def test_unusual_rates_and_channel_counts(sr, channels, write_audio, tmp_path):
    src = write_audio("x.wav", _noisy(sr // 4, sr, channels=channels), sr)
    out = tmp_path / "y.wav"
    assert main(["denoise", str(src), "-o", str(out), "--method", "wiener", "-q"]) == 0
    y, ysr = sf.read(str(out), always_2d=True)
    assert ysr == sr and y.shape == (sr // 4, channels) and np.all(np.isfinite(y))


def test_long_file_is_processed_in_blocks_seamlessly(write_audio, tmp_path, monkeypatch):
    """Block-wise processing with cross-fades equals whole-file processing for a linear filter."""
    from audiorestore.api import process_file
    from audiorestore.enhancer import get_method

    sr = 8000
    x = _noisy(sr * 5, sr)
    src = write_audio("long.wav", x, sr, subtype="FLOAT")
    enh = get_method("filter", zero_phase=False, order=2)
    whole = enh(x, sr)
    monkeypatch.setattr(type(enh), "block_s", 1.0)
    monkeypatch.setattr(type(enh), "overlap_s", 0.25)
    out = process_file(enh, src, tmp_path / "out.wav", subtype="FLOAT")
    y = sf.read(str(out), always_2d=True)[0].T
    assert y.shape == x.shape
    # a causal IIR restarts at each block: it settles within the 0.25 s cross-fade, so the
    # block-wise output matches the whole-file one closely everywhere
    assert np.max(np.abs(y - whole)) < 2e-3


def test_console_script_runs(write_audio, tmp_path):
    src = write_audio("x.wav", _noisy(4000, 16000), 16000)
    r = subprocess.run([sys.executable, "-m", "audiorestore.cli.main", "denoise", str(src), "-o",
                        str(tmp_path / "y.wav"), "--method", "filter", "-q"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["audiorestore", "denoise", str(tmp_path / "nope.wav")], capture_output=True, text=True)
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and "no such file" in r.stderr
    r = subprocess.run(["audiorestore", "methods"], capture_output=True, text=True)
    assert r.returncode == 0 and "filter" in r.stdout


def test_peer_method_names_resolve_or_explain(write_audio, tmp_path, capsys):
    """`--method peer_x` registers an installed peer on demand, or says which package is missing."""
    from audiorestore.bench import peers

    src = write_audio("x.wav", _noisy(4000, 16000), 16000)
    name = "peer_noisereduce"
    code = main(["denoise", str(src), "-o", str(tmp_path / "y.wav"), "--method", name, "-q"])
    if peers.is_installed(name):
        assert code == 0 and (tmp_path / "y.wav").exists()
    else:
        assert code == 2 and "noisereduce" in capsys.readouterr().err
