"""``audiorestore models``: named pretrained models (and, with ``--families``, the model families)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("models", help="list pretrained models and model families")
    p.add_argument("--task", help="only models of this task (denoise, upsample, ...)")
    p.add_argument("--families", action="store_true", help="list the model families instead")
    p.add_argument("--unittest", action="store_true",
                   help="also list the tiny untrained <family>_unittest models (for tests; hidden by default)")
    p.add_argument("--no-unittest", action="store_true", help=argparse.SUPPRESS)  # the default since 2026-12-03
    return p


def run(args: argparse.Namespace) -> int:
    from .. import registry
    from ..models.registry import list_families

    if args.families:
        for spec in list_families(args.task):
            gan = " (GAN)" if spec.discriminator is not None else ""
            print(f"{spec.name:<14} {spec.task:<10} {spec.summary or spec.model_cls.__name__}{gan}")
        return 0
    for m in registry.list_models(args.task, include_unittest=args.unittest and not args.no_unittest):
        flag = " [default]" if m.default else ""
        rate = f"{m.input_rate}->{m.sample_rate} Hz" if m.input_rate else f"{m.sample_rate} Hz"
        print(f"{m.name:<22} {m.task:<10} {m.family:<10} {rate:>16}  {m.description}{flag}")
    return 0
