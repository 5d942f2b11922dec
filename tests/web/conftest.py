"""Listening-test fixtures: tiny paired folders in tmp_path and a real ``audiorestore listen`` server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import speechlike

SR = 16000
CONDITIONS = ("mild", "strong")


def make_sources(root: Path, n_items: int = 3, seconds: float = 0.5) -> list[str]:
    """``clean/``, ``mild/`` (noise at 20 dB SNR) and ``strong/`` (0 dB) folders of ``n_items`` clips."""
    rng = np.random.default_rng(7)
    n = int(seconds * SR)
    for k in range(n_items):
        clean = speechlike(n, SR, seed=k)
        noise = rng.standard_normal(n).astype(np.float32)
        noise *= np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2))
        for name, x in (("clean", clean), ("mild", clean + 0.1 * noise), ("strong", clean + noise)):
            p = root / name / f"spk{k % 2}" / f"utt{k}.wav"
            p.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(p), x, SR)
    return [f"{name}={root / name}" for name in ("clean", *CONDITIONS)]


@pytest.fixture
def sources(tmp_path: Path) -> list[str]:
    return make_sources(tmp_path / "src")


class Server:
    """A running ``audiorestore listen`` process and its URL (the first line it prints)."""

    def __init__(self, proc: subprocess.Popen, url: str) -> None:
        self.proc, self.url = proc, url
        self.base = url.split("?")[0].rstrip("/")

    def kill(self) -> None:
        """SIGKILL: no chance to flush or clean up anything."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


@contextmanager
def listen_server(args: list[str], timeout_s: float = 30.0) -> Iterator[Server]:
    """Start ``audiorestore listen ARGS --port 0`` (a free port on loopback unless --host says otherwise)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "audiorestore.cli.main", "listen", *args, "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    found = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "http://" in line:
                found.set()

    threading.Thread(target=reader, daemon=True).start()
    t0 = time.monotonic()
    while not found.wait(0.1):
        if proc.poll() is not None or time.monotonic() - t0 > timeout_s:
            proc.kill()
            err = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"server did not start: {''.join(lines)} {err}")
    url = next(line.strip() for line in lines if "http://" in line)
    server = Server(proc, url)
    try:
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
