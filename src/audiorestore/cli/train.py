"""``audiorestore train CONFIG [key=value ...]``: train (or resume) an experiment from a recipe.

Multi-process: ``torchrun --nproc_per_node N -m audiorestore.cli.main train CONFIG ...``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from .. import config as cfgio


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("train", help="train a neural model from a recipe (resumes when re-run)",
                       description="Train a model family from a TOML/YAML experiment config. Re-running the "
                                   "same command resumes from the experiment's last checkpoint.")
    p.add_argument("config", metavar="CONFIG",
                   help="experiment config (.toml, .yaml, .json), e.g. recipes/denoise_fcn.toml")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="dotted overrides, e.g. data.root=../shared/data trainer.steps=1000 model.config.channels=32")
    p.add_argument("--print-config", action="store_true",
                   help="print the resolved config and exit (options go before CONFIG)")
    return p


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each record (it may be replaced)."""

    @property  # type: ignore[override]
    def stream(self):  # noqa: D102
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _show_progress() -> None:
    """Training progress is worth seeing without -v: INFO from audiorestore.train, under its own prefix."""
    logger = logging.getLogger("audiorestore.train")
    if not any(getattr(h, "_audiorestore_train", False) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("audiorestore train: %(message)s"))
        handler._audiorestore_train = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def run(args: argparse.Namespace) -> int:
    from ..train.experiment import load_experiment
    from ..train.trainer import run_experiment

    cfg = load_experiment(args.config, args.overrides)
    if args.print_config:
        sys.stdout.write(cfgio.dumps_toml(cfgio.to_dict(cfg)))
        return 0
    if not args.verbose:
        _show_progress()
    result = run_experiment(cfg)
    print(json.dumps(result, sort_keys=True))
    return 0
