"""Train the deep-feature-loss network (Germain et al. 2019) on classification tasks built from a data
folder with ``manifest.jsonl``: a thin shell over :func:`audiorestore.train.lossnet.train_loss_network`.

Example:
    OMP_NUM_THREADS=1 python recipes/train_lossnet.py /work/shared/data /tmp/lossnet --steps 600
Re-running with the same output folder resumes.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from audiorestore.models.dfl import LossNetConfig
from audiorestore.train.checkpoint import load_package
from audiorestore.train.lossnet import TASKS, train_loss_network


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data_root", help="folder with manifest.jsonl")
    p.add_argument("out_dir", help="experiment folder (config, history, checkpoints)")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated subset of {','.join(TASKS)}")
    p.add_argument("--batch-size", type=int, default=24)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--crop-s", type=float, default=1.0)
    p.add_argument("--heldout-fraction", type=float, default=0.2)
    p.add_argument("--max-files-per-speaker", type=int, default=None)
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--layers", type=int, default=15, help="conv layers of the loss network")
    p.add_argument("--base-channels", type=int, default=32)
    p.add_argument("--device", default="cpu")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    path = train_loss_network(a.data_root, a.out_dir, a.steps, a.seed, tasks=[t for t in a.tasks.split(",") if t],
                              config=LossNetConfig(n_layers=a.layers, base_channels=a.base_channels),
                              batch_size=a.batch_size, lr=a.lr, crop_s=a.crop_s,
                              heldout_fraction=a.heldout_fraction, max_files_per_speaker=a.max_files_per_speaker,
                              eval_every=a.eval_every, device=a.device)
    extra = load_package(path)["extra"]
    print(json.dumps({"checkpoint": str(path), "heldout_accuracy": extra["heldout_accuracy"],
                      "corpus": extra["corpus"]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
