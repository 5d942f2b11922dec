"""``audiorestore train`` across two "nodes" the way users launch it: two torchrun agents with
``--nnodes 2 --nproc-per-node 1`` meeting at a c10d rendezvous on 127.0.0.1 (gloo). The loss curve
equals one process's with the same global batch, and after one node is killed mid-run, launching the
job again resumes from the last checkpoint and ends on the same curve."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audiorestore import config as cfgio
from tests.train.conftest import tiny_config

REPO = Path(__file__).resolve().parents[2]
STEPS = 40


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node(config: Path, out: Path, port: int, host: bool, run_id: str, log: Path) -> subprocess.Popen:
    """One node's torchrun agent (its own process group, so that killing it kills its worker too)."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
           "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", run_id,
           "--rdzv-conf", f"is_host={int(host)}", "--local-addr", "127.0.0.1",
           "-m", "audiorestore.cli.main", "train", str(config), f"out_dir={out}", "data.batch_size=2"]
    return subprocess.Popen(cmd, env=_env(), cwd=REPO, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (torchrun starts its workers in sessions of their own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _signal_node(proc: subprocess.Popen, sig: int) -> None:
    for pid in _tree(proc.pid):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _losses(out: Path) -> dict[int, float]:
    path = out / "history.jsonl"
    if not path.exists():
        return {}
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # a line being written
            continue
    return {r["step"]: r["train/loss"] for r in rows if "train/loss" in r}


def _wait(procs: list[subprocess.Popen], logs: list[Path], timeout: float = 240) -> None:
    for p, log in zip(procs, logs):
        assert p.wait(timeout=timeout) == 0, log.read_text()[-3000:]


@pytest.mark.slow
def test_two_nodes_match_one_process_and_resume_after_a_node_dies(corpus: Path, tmp_path: Path) -> None:
    config = tmp_path / "tiny.toml"
    cfg = tiny_config(corpus, tmp_path / "unused", "model.config.batch_norm=false", f"trainer.steps={STEPS}",
                      "trainer.ckpt_every=4", "trainer.eval_every=20")
    config.write_text(cfgio.dumps_toml(cfgio.to_dict(cfg)))

    # one process, global batch 4
    ref = tmp_path / "one"
    single = subprocess.run([sys.executable, "-m", "audiorestore.cli.main", "train", str(config), f"out_dir={ref}",
                             "data.batch_size=4"], env=_env(), cwd=REPO, capture_output=True, text=True, timeout=240)
    assert single.returncode == 0, single.stderr[-3000:]
    expected = _losses(ref)
    assert sorted(expected) == list(range(1, STEPS + 1))

    # two nodes of one process each, batch 2 per process: the same global batch
    two = tmp_path / "two"
    port, logs = _free_port(), [tmp_path / "n0.log", tmp_path / "n1.log"]
    _wait([_node(config, two, port, True, "a", logs[0]), _node(config, two, port, False, "a", logs[1])], logs)
    got = _losses(two)
    assert sorted(got) == sorted(expected)
    assert all(got[s] == pytest.approx(expected[s], rel=1e-4) for s in expected)  # only summation order differs

    # kill a node mid-run, then launch the job again: it resumes from the last checkpoint
    killed = tmp_path / "killed"
    port = _free_port()
    n0, n1 = _node(config, killed, port, True, "b", logs[0]), _node(config, killed, port, False, "b", logs[1])
    deadline = time.monotonic() + 180
    while max(_losses(killed), default=0) < 6 and n1.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    _signal_node(n1, signal.SIGSTOP)  # freeze the node (agent and worker): the survivor cannot take another step
    _signal_node(n1, signal.SIGKILL)
    n1.wait()
    try:
        n0.wait(timeout=60)  # the survivor's collective fails: its agent gives up
    except subprocess.TimeoutExpired:
        _signal_node(n0, signal.SIGKILL)
        n0.wait()
    assert n0.returncode != 0, "the surviving node finished a job that had lost a node"
    stopped_at = max(_losses(killed), default=0)
    assert 6 <= stopped_at < STEPS, stopped_at
    assert (killed / "checkpoints" / "last.pt").exists()
    port = _free_port()
    _wait([_node(config, killed, port, True, "c", logs[0]), _node(config, killed, port, False, "c", logs[1])], logs)
    assert "resuming" in logs[0].read_text() + logs[1].read_text()
    resumed = _losses(killed)
    assert sorted(resumed) == sorted(expected)
    assert all(resumed[s] == pytest.approx(expected[s], rel=1e-4) for s in expected)
