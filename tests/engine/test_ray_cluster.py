"""``--engine ray`` on a real two-node Ray cluster started inside the test (``ray.cluster_utils``):
the worker node is killed mid-run, and every output still exists and equals the local run's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiorestore.cli.main import main
from audiorestore.engine import MAX_ATTEMPTS, Job, run
from audiorestore.metrics.evaluation import evaluate
from audiorestore.simulate.dataset import DegradeConfig, make_dataset
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


def _die_on_two(state: None, x: int) -> int:
    if x == 2:
        os._exit(1)  # a crash that takes the worker process down
    return x * x


def _actor_running_under(parent: int) -> bool:
    """Whether a child of process ``parent`` is a Ray worker processing an item (its title says so)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            title = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and title.startswith(b"ray::_Worker.process"):
            return True
    return False


@pytest.mark.slow
def test_ray_engine_survives_a_dead_node_and_matches_local(tmp_path: Path, monkeypatch) -> None:
    _corpus(tmp_path, 30, 6.0)
    monkeypatch.chdir(tmp_path)  # relative paths, as the commands below use them
    assert main(["denoise", "in", "-o", "local", "--method", "logmmse", "-j", "1", "-q"]) == 1  # broken.wav

    monkeypatch.setenv("PYTHONPATH", f"{REPO / 'src'}{os.pathsep}{REPO}")  # the nodes' workers import these
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
        raylet = worker.all_processes["raylet"][0].process.pid
        # kill once the worker node's actor is at work (it starts late on a loaded machine) and some files are done
        while (len(list(out.rglob("u*.flac"))) < 4 or not _actor_running_under(raylet)) and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        done_before_kill = len(list(out.rglob("u*.flac")))
        cluster.remove_node(worker, allow_graceful=False)  # the node dies with its actor mid-run
        _, err = proc.communicate(timeout=90)
        # the same manifest and the same summary as the local engine's
        deg = _cli("degrade", "local/spk0", "-o", "deg_ray", "--color", "pink", "--snr-range", "0", "10", "--engine", "ray",
                   "--address", cluster.address, "-q", cwd=tmp_path)
        ev = _cli("evaluate", "local/spk0", "ray_out/spk0", "-m", "si_sdr,lsd", "-o", "ev_ray", "--engine", "ray",
                  "--address", cluster.address, "-q", cwd=tmp_path)
        # an item that kills every worker it reaches fails alone, after MAX_ATTEMPTS workers
        poisoned = run(Job(fn=_die_on_two), list(range(5)), engine="ray", address=cluster.address)
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert [o.value for o in poisoned] == [0, 1, None, 9, 16]
    assert poisoned[2].error == f"its Ray worker died {MAX_ATTEMPTS} times processing it; giving up on this item"
    assert 4 <= done_before_kill < 30, f"the node was not killed mid-run ({done_before_kill} files done)"
    assert proc.returncode == 1, err  # 1: the broken file; every other file done
    assert "a Ray worker died" in err, err  # the dead node's items went back to the queue
    assert "broken.wav" in err and "denoised 30 file(s), skipped 0, failed 1" in err, err
    ref = sorted(p.relative_to(tmp_path / "local") for p in (tmp_path / "local").rglob("*.flac"))
    got = sorted(p.relative_to(out) for p in out.rglob("*.flac"))
    assert got == ref and len(ref) == 30
    for rel in ref:  # byte for byte: FLAC of the same samples
        assert (out / rel).read_bytes() == (tmp_path / "local" / rel).read_bytes(), rel
    assert deg.returncode == 0 and ev.returncode == 0, deg.stderr + ev.stderr
    make_dataset("local/spk0", None, "deg_local", DegradeConfig(colors=["pink"], snr_range=[0, 10]), jobs=2)
    evaluate("local/spk0", "ray_out/spk0", metrics="si_sdr,lsd").write("ev_local")
    assert (tmp_path / "deg_ray" / "manifest.jsonl").read_bytes() == (tmp_path / "deg_local" / "manifest.jsonl").read_bytes()
    for name in ("per_file.csv", "summary.json"):
        assert (tmp_path / "ev_ray" / name).read_bytes() == (tmp_path / "ev_local" / name).read_bytes()
    assert json.loads((tmp_path / "ev_ray" / "summary.json").read_text())["n_files"] == 10
    assert not list(out.rglob(".*.tmp*")), "a dead worker's temporary file was left behind"
