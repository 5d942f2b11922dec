"""Run by ``torchrun --nproc_per_node 2`` from test_distributed.py: train a few steps, save this
rank's weights as ``rank<R>.pt`` in the experiment directory."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from audiorestore.train import distributed
from audiorestore.train.trainer import Trainer
from tests.train.conftest import tiny_config

if __name__ == "__main__":
    torch.set_num_threads(1)
    root, out = Path(sys.argv[1]), Path(sys.argv[2])
    trainer = Trainer(tiny_config(root, out, *sys.argv[3:]))
    trainer.fit()
    torch.save({k: v.detach().clone() for k, v in trainer.model.state_dict().items()},
               out / f"rank{trainer.dist.rank}.pt")
    distributed.cleanup()
