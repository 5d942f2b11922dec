"""DistributedDataParallel on CPU: 2 processes launched by torchrun (gloo) stay in sync."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from audiorestore.train.distributed import DistInfo, all_reduce_mean, backend_for, env_info, parameter_digest

REPO = Path(__file__).resolve().parents[2]


def test_two_cpu_processes_keep_identical_replicas(corpus, tmp_path):
    out = tmp_path / "exp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(Path(__file__).with_name("ddp_worker.py")), str(corpus), str(out), "trainer.steps=4",
           "trainer.eval_every=4", "trainer.ckpt_every=2"]
    proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0 = torch.load(out / "rank0.pt", weights_only=True)
    r1 = torch.load(out / "rank1.pt", weights_only=True)
    assert all(torch.equal(r0[k], r1[k]) for k in r0)  # gradients were averaged: replicas identical
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [r["step"] for r in history if "train/loss" in r] == [1, 2, 3, 4]  # written once, by rank 0
    pkg = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert pkg["train_state"]["step"] == 4
    assert all(torch.equal(pkg["train_state"]["model"][k], r0[k]) for k in r0)


def test_single_process_defaults():
    assert env_info() == DistInfo() or int(os.environ.get("WORLD_SIZE", 1)) > 1
    assert backend_for("cpu") == "gloo" and backend_for("cuda:0") == "nccl"
    assert all_reduce_mean({"a": 2.0}) == {"a": 2.0}
    net = torch.nn.Linear(3, 1)
    assert torch.equal(parameter_digest(net), parameter_digest(net))
