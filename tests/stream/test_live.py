"""`audiorestore live`: the processing loop with a fake device, and --list-devices for real."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from audiorestore.stream import stream
from audiorestore.stream.live import process_loop
from tests.conftest import speechlike

SR = 16000
ROOT = Path(__file__).resolve().parents[2]


class FakeDevice:
    """sounddevice's blocking Stream API over a prepared signal: read() gives the next block (and
    reports an overflow on the blocks listed), write() collects the output (underflow on the ones
    listed)."""

    def __init__(self, signal: np.ndarray, overflow_at=(), underflow_at=()) -> None:
        self.signal, self.pos = signal, 0
        self.overflow_at, self.underflow_at = set(overflow_at), set(underflow_at)
        self.written: list[np.ndarray] = []

    def read(self, frames: int) -> tuple[np.ndarray, bool]:
        block = self.signal[:, self.pos:self.pos + frames]
        idx = self.pos // frames
        self.pos += frames
        return np.ascontiguousarray(block.T), idx in self.overflow_at

    def write(self, data: np.ndarray) -> bool:
        assert data.dtype == np.float32 and data.ndim == 2
        self.written.append(data.copy())
        return len(self.written) - 1 in self.underflow_at


def test_loop_processes_every_block_and_counts_load_and_drops():
    x = np.stack([speechlike(SR, SR, c) for c in range(2)])
    dev = FakeDevice(x, overflow_at={3, 7}, underflow_at={5})
    s = stream("logmmse", sample_rate=SR, channels=2)
    ticks = iter(np.arange(0, 1000, 0.001))  # a clock advancing 1 ms per call: 10% load at 10 ms blocks
    loads_seen = []
    stats = process_loop(dev, s, 160, write=dev.write, max_blocks=100, clock=lambda: float(next(ticks)),
                         status=lambda st, load: loads_seen.append(load))
    assert stats.blocks == 100 and len(loads_seen) == 100
    assert np.allclose(stats.loads, 0.1)
    assert (stats.overflows, stats.underflows, stats.dropped) == (2, 1, 3)
    assert "dropped 3" in stats.summary()
    out = np.concatenate(dev.written).T                     # (channels, time), delayed by the latency
    ref = stream("logmmse", sample_rate=SR, channels=2)
    expected = ref.process(x.astype(np.float32)[:, :16000])
    assert out.shape == (2, 16000) and np.max(np.abs(out - expected)) < 1e-6


def test_loop_to_a_sink_stops_on_ctrl_c():
    x = speechlike(SR, SR)[None]
    dev = FakeDevice(x)
    got = []
    s = stream("notch", sample_rate=SR)

    def sink(y: np.ndarray) -> None:
        got.append(y)
        if len(got) == 5:
            raise KeyboardInterrupt

    stats = process_loop(dev, s, 320, write=None, sink=sink)
    assert stats.blocks == 5 and sum(g.shape[-1] for g in got) == 5 * 320


def test_list_devices_exits_zero_with_a_list_or_a_clear_message():
    pytest.importorskip("sounddevice")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-m", "audiorestore.cli.main", "live", "--list-devices"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "no audio devices found" in out.stdout or "default input" in out.stdout


def test_methods_lists_streaming_and_latency(capsys):
    from audiorestore.cli.main import main

    assert main(["methods", "--task", "denoise"]) == 0
    lines = {ln.split()[0]: ln for ln in capsys.readouterr().out.splitlines() if ln.strip()}
    assert lines["logmmse"].endswith("[stream: 31.9 ms at 16 kHz]")
    assert lines["anc"].endswith("[stream: 0.0 ms at 16 kHz]")
    assert lines["gating"].endswith("[stream: no]")
    assert "[stream: 31.9 ms for 32 ms windows" in lines["crm"]
    assert main(["methods", "smooth"]) == 0
    assert "streaming: no: 'smooth' cannot stream: its moving average" in capsys.readouterr().out


def test_run_live_to_a_file_with_a_fake_sounddevice(monkeypatch, tmp_path):
    """`live -o FILE`: the device opened at the streamer's rate and block, the output written (and
    flushed: aligned with the input after the latency) when it stops."""
    import soundfile as sf

    import audiorestore.stream.live as live

    x = speechlike(SR, SR)[None]
    opened = {}

    class FakeInputStream(FakeDevice):
        def __init__(self, device=None, samplerate=None, blocksize=None, channels=None, dtype=None, latency=None):
            opened.update(device=device, samplerate=samplerate, blocksize=blocksize, channels=channels)
            super().__init__(x)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    class FakeSd:
        InputStream = FakeInputStream

    monkeypatch.setattr(live, "sounddevice", lambda: FakeSd)
    s = stream("wiener", sample_rate=SR)
    out = tmp_path / "take.wav"
    stats = live.run_live(s, input_device=3, output_path=str(out), block_ms=10, seconds=0.5)
    assert opened == {"device": 3, "samplerate": SR, "blocksize": 160, "channels": 1}
    assert stats.blocks == 50 and stats.dropped == 0
    y, sr = sf.read(str(out), dtype="float32")
    ref = stream("wiener", sample_rate=SR)
    expected = np.concatenate([ref.process(x[0, :8000]), ref.flush()])
    assert sr == SR and y.shape == (8000 + s.latency,)
    assert np.max(np.abs(y - expected)) < 1e-4  # PCM_16 file
