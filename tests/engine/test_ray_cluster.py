"""``--engine ray`` on a real two-node Ray cluster started inside the test (``ray.cluster_utils``):
the worker node is killed mid-run, and every output still exists and equals the local run's."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import speechlike

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SMALL = {"num_cpus": 1, "object_store_memory": 80 * 1024 ** 2}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"}
    return subprocess.run([sys.executable, "-m", "audiorestore.cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def _corpus(root: Path, n: int, seconds: float) -> Path:
    rng = np.random.default_rng(0)
    d = root / "in"
    for i in range(n):
        sr = 16000
        x = speechlike(int(seconds * sr), sr, seed=i) + 0.05 * rng.standard_normal(int(seconds * sr))
        p = d / f"spk{i % 3}" / f"u{i:02d}.flac"
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(p, x.astype(np.float32), sr)
    (d / "broken.wav").write_bytes(b"RIFF not audio")  # reported, the others done
    return d


@pytest.mark.slow
def test_ray_engine_survives_a_dead_node_and_matches_local(tmp_path: Path) -> None:
    _corpus(tmp_path, 30, 6.0)
    local = _cli("denoise", "in", "-o", "local", "--method", "logmmse", "-j", "1", "-q", cwd=tmp_path)
    assert local.returncode == 1 and local.stderr.count("broken.wav") == 1, local.stderr

    cluster = Cluster(initialize_head=True, head_node_args={**SMALL, "include_dashboard": False})
    try:
        worker = cluster.add_node(**SMALL)
        cluster.wait_for_nodes()
        proc = subprocess.Popen(
            [sys.executable, "-m", "audiorestore.cli.main", "denoise", "in", "-o", "ray_out", "--method", "logmmse",
             "--engine", "ray", "--address", cluster.address],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"})
        out = tmp_path / "ray_out"
        deadline = time.monotonic() + 60
        while len(list(out.rglob("u*.flac"))) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        done_before_kill = len(list(out.rglob("u*.flac")))
        cluster.remove_node(worker, allow_graceful=False)  # the node dies with its actor mid-run
        _, err = proc.communicate(timeout=90)
    finally:
        cluster.shutdown()
    assert 4 <= done_before_kill < 30, f"the node was not killed mid-run ({done_before_kill} files done)"
    assert proc.returncode == 1, err  # 1: the broken file; every other file done
    assert "a Ray worker died" in err, err  # the dead node's items went back to the queue
    assert "broken.wav" in err and "denoised 30 file(s), skipped 0, failed 1" in err, err
    ref = sorted(p.relative_to(tmp_path / "local") for p in (tmp_path / "local").rglob("*.flac"))
    got = sorted(p.relative_to(out) for p in out.rglob("*.flac"))
    assert got == ref and len(ref) == 30
    for rel in ref:  # byte for byte: FLAC of the same samples
        assert (out / rel).read_bytes() == (tmp_path / "local" / rel).read_bytes(), rel
    assert not list(out.rglob(".*.tmp*")), "a dead worker's temporary file was left behind"
