"""Ship a trained checkpoint inside the package: ``src/audiorestore/pretrained/NAME.pt`` plus its record
in ``pretrained/models.json`` (family, rates, sha256), so ``audiorestore models`` lists it and the
defaults (``denoise`` with no method, ``upsample`` with no method) can use it.

    python recipes/ship.py experiments/default_denoise_16k/checkpoints/best.pt denoise_16k \\
        --description "..." --license "..." --default

The model card (``pretrained/NAME.md``: data, recipe command, compute, metrics, licence) is written
by hand next to it from the training history and the benchmark output.
"""

from __future__ import annotations

import argparse
import json
import logging

from audiorestore import registry
from audiorestore.cli.common import parse_sets
from audiorestore.errors import ParameterError


def _value(text: str):
    """A JSON value (number, bool, list...) where the text is one, else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", help="best.pt of an experiment")
    p.add_argument("name", help="model name (letters, digits, '_', '-')")
    p.add_argument("--description", required=True, help="one line shown by 'audiorestore models'")
    p.add_argument("--license", required=True, help="terms of the weights (follow the training data's)")
    p.add_argument("--default", action="store_true", help="the default model of its family (and ratio)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="an inference parameter the model runs with by name (chosen on validation data), "
                        "e.g. keep_input_band=0.7; repeatable")
    args = p.parse_args()
    try:
        params = {k: _value(v) for k, v in parse_sets(args.param).items()}
    except ParameterError as exc:
        p.error(str(exc).replace("--set", "--param"))
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    entry = registry.add_model(args.checkpoint, args.name, args.description, args.license, default=args.default,
                               params=params)
    size = entry.path.stat().st_size / 1e6
    print(f"{entry.name}: {entry.family} {entry.task} at {entry.sample_rate} Hz, {size:.1f} MB, sha256 {entry.sha256[:12]}")


if __name__ == "__main__":
    main()
