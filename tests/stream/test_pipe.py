"""`audiorestore denoise - -o -`: standard input to standard output as the audio arrives."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiorestore.stream import stream
from audiorestore.stream.pipe import PcmFormat, decode, encode, read_wav_header, stream_pipe, wav_header
from tests.conftest import speechlike

SR = 16000
ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "audiorestore.cli.main", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "OMP_NUM_THREADS": "1"}


def _pcm16(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = speechlike(n, SR, seed) + 0.03 * rng.standard_normal(n).astype(np.float32)
    return (np.round(x * 32767) / 32768).astype(np.float32)[None]  # exactly representable in s16


@pytest.mark.parametrize("fmt", ["s16le", "s24le", "s32le", "f32le"])
def test_pcm_round_trip(fmt):
    f = PcmFormat(SR, 2, fmt)
    x = np.stack([np.linspace(-1, 0.99, 50), np.linspace(0.5, -0.5, 50)]).astype(np.float32)
    y = decode(encode(x, f), f)
    assert y.shape == (2, 50) and np.max(np.abs(y - x)) <= 2.0 ** -15


def test_wav_header_is_read_back_and_streaming_sizes_are_readable(tmp_path):
    f = PcmFormat(SR, 1, "s16le")
    fmt, size = read_wav_header(io.BytesIO(wav_header(f) + b"\0\0"))
    assert fmt == f and size is None                       # 0xFFFFFFFF: until the end of the stream
    x = _pcm16(1000)
    p = tmp_path / "s.wav"
    p.write_bytes(wav_header(f) + encode(x, f))            # what a pipe gets (unknown length)
    y, sr = sf.read(str(p), dtype="float32")               # libsndfile reads it to the end
    assert sr == SR and y.shape == (1000,) and np.max(np.abs(y - x[0])) == 0


def test_stream_pipe_in_process_equals_the_streamer_and_fixes_sizes_on_a_file(tmp_path):
    x = _pcm16(5000)
    f = PcmFormat(SR, 1, "s16le")
    src = io.BytesIO(wav_header(f, x.shape[-1] * 2) + encode(x, f))
    with open(tmp_path / "o.wav", "wb") as dst:
        n = stream_pipe(lambda sr, ch: stream("wiener", sample_rate=sr, channels=ch), src, dst, block_ms=7)
    assert n == 5000
    y, _ = sf.read(str(tmp_path / "o.wav"), dtype="float32")
    s = stream("wiener", sample_rate=SR)
    ref = np.concatenate([s.process(x[0]), s.flush()])[s.latency:]
    assert sf.info(str(tmp_path / "o.wav")).frames == 5000   # real sizes written on a seekable file
    assert np.max(np.abs(y - ref)) <= 1.0 / 32768 + 1e-7


class _Std:
    """A stand-in for sys.stdin / sys.stdout with a binary ``buffer``."""

    def __init__(self, data: bytes = b"") -> None:
        self.buffer = io.BytesIO(data)


def _main_pipe(monkeypatch, args: list[str], data: bytes) -> tuple[int, bytes]:
    from audiorestore.cli.main import main

    out = _Std()
    monkeypatch.setattr(sys, "stdin", _Std(data))
    monkeypatch.setattr(sys, "stdout", out)
    return main(args), out.buffer.getvalue()


def test_raw_pipe_through_the_cli(monkeypatch):
    x = _pcm16(4000)
    f = PcmFormat(SR, 1, "s16le")
    rc, data = _main_pipe(monkeypatch, ["denoise", "-", "-o", "-", "--method", "notch", "--raw-format", "s16le",
                                        "--rate", "16000", "--channels", "1"], encode(x, f))
    assert rc == 0
    y = decode(data, f)
    s = stream("notch", sample_rate=SR)
    ref = np.concatenate([s.process(x[0]), s.flush()])
    assert y.shape == (1, 4000) and np.max(np.abs(y[0] - ref)) <= 1.0 / 32768 + 1e-7


@pytest.mark.parametrize("args,data,needle", [
    ([], b"not a wav file at all", "not a WAV stream"),
    (["--raw-format", "s16le"], b"\0" * 100, "--rate"),
    (["--method", "gating"], wav_header(PcmFormat(SR, 1, "s16le")), "cannot stream"),
    (["--method", "wiener"], wav_header(PcmFormat(SR, 1, "s16le"))[:30], "before its data"),
], ids=["not-wav", "raw-no-rate", "unstreamable", "truncated-header"])
def test_pipe_errors_are_one_line(monkeypatch, capsys, args, data, needle):
    rc, _ = _main_pipe(monkeypatch, ["denoise", "-", "-o", "-", *args], data)
    err = capsys.readouterr().err
    assert rc == 2 and needle in err and err.count("\n") == 1


def test_slow_pipe_output_starts_after_latency_plus_one_block():
    """Feed a WAV in 10 ms blocks at real time; the first output samples must arrive once about
    latency + one block of input has been written, long before the input ends."""
    block_ms, seconds = 10, 1.5
    block = SR * block_ms // 1000
    x = _pcm16(int(SR * seconds))
    f = PcmFormat(SR, 1, "s16le")
    proc = subprocess.Popen(_cli("denoise", "-", "-o", "-", "--block-ms", str(block_ms)), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    written = [0]           # samples written so far
    first_at: list[int] = []
    received = bytearray()

    def reader() -> None:
        while chunk := proc.stdout.read1(65536):  # type: ignore[union-attr]
            received.extend(chunk)
            if not first_at and len(received) > 44:
                first_at.append(written[0])

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    proc.stdin.write(wav_header(f))  # type: ignore[union-attr]
    proc.stdin.flush()  # type: ignore[union-attr]
    deadline = time.monotonic() + 120
    while len(received) < 44 and time.monotonic() < deadline:  # the output header: the process is ready
        time.sleep(0.01)
    assert len(received) >= 44, proc.stderr.read().decode()  # type: ignore[union-attr]
    for i in range(0, x.shape[-1], block):
        proc.stdin.write(encode(x[:, i:i + block], f))  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
        written[0] = min(i + block, x.shape[-1])
        time.sleep(block_ms / 1000)
    proc.stdin.close()  # type: ignore[union-attr]
    assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()  # type: ignore[union-attr]
    t.join(timeout=10)
    latency = stream(None, sample_rate=SR).latency
    assert first_at, "no output"
    # the first output sample needs latency + 1 input samples, i.e. the block that brings them; it must
    # come then, not at the end (0.25 s of slack for a busy machine)
    assert latency < first_at[0] <= latency + block + SR // 4, first_at
    assert first_at[0] < x.shape[-1] // 2
    assert read_wav_header(io.BytesIO(bytes(received)))[0] == f
    y = decode(bytes(received[44:]), f)
    assert y.shape == x.shape                     # as many samples out as in, aligned
    s = stream(None, sample_rate=SR)
    ref = np.concatenate([s.process(x[0]), s.flush()])[s.latency:]
    assert np.max(np.abs(y[0] - ref)) <= 1.0 / 32768 + 1e-7
