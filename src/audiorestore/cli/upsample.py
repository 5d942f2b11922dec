"""``audiorestore upsample IN... -o OUT --rate R [--method NAME | --checkpoint PATH] [--set key=value]``.

Super-resolution of files or folders of any length: the input rate is read from each file, channels
are processed independently, and memory stays bounded (block-wise, see :func:`audiorestore.upsample_file`).
"""

from __future__ import annotations

import argparse
from functools import partial

from ..api import DEFAULT_UPSAMPLE_METHOD
from ..errors import ParameterError
from .common import add_batch_arguments, parse_sets, run_batch


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("upsample", help="raise the sample rate and restore high frequencies (super-resolution)",
                       description="Upsample audio files or folders to a target rate: interpolation baselines "
                                   "(linear, spline, sinc) or a trained network (audiounet, tfilm, mugan).")
    add_batch_arguments(p, "upsampled")
    p.add_argument("-r", "--rate", type=int, required=True, metavar="HZ", help="target sample rate, e.g. 48000")
    p.add_argument("-m", "--method", default=None,
                   help=f"method name (see 'audiorestore methods --task upsample'); default: "
                        f"{DEFAULT_UPSAMPLE_METHOD}, or the checkpoint's model family")
    p.add_argument("--checkpoint", metavar="PATH", help="model checkpoint for neural methods")
    p.add_argument("--device", default=None, help="torch device for neural methods (cpu, cuda)")
    p.add_argument("--set", dest="params", action="append", metavar="KEY=VALUE",
                   help="method parameter, repeatable (e.g. --set chunk_s=2)")
    return p


def run(args: argparse.Namespace) -> int:
    if args.rate <= 0:
        raise ParameterError(f"--rate must be a positive sample rate in Hz, got {args.rate}")
    params: dict[str, str] = parse_sets(args.params)
    if args.checkpoint:
        params["checkpoint"] = args.checkpoint
    if args.device:
        params["device"] = args.device
    from ..batch import upsample_files

    return run_batch(args, partial(upsample_files, target_rate=args.rate, method=args.method, **params), "upsampled")
