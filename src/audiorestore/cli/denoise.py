"""``audiorestore denoise IN... -o OUT --method NAME [--set key=value]``."""

from __future__ import annotations

import argparse
from functools import partial

from ..api import FALLBACK_DENOISE_METHOD, default_denoise_method
from ..enhancer import get_method
from .common import add_batch_arguments, parse_sets, run_batch
from .stream_pipe import add_pipe_arguments, run_pipe


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("denoise", help="remove noise from audio files",
                       description="Remove noise, hum, hiss and artefacts from audio files or folders.")
    add_batch_arguments(p, "denoised")
    p.add_argument("-m", "--method", default=None,
                   help=f"method name (see 'audiorestore methods'); default: the shipped default model "
                        f"('audiorestore models'), {FALLBACK_DENOISE_METHOD} if none is installed")
    p.add_argument("--set", dest="params", action="append", metavar="KEY=VALUE",
                   help="method parameter, repeatable (e.g. --set n_fft=1024)")
    p.add_argument("--noise", metavar="FILE",
                   help="noise-only recording: noise estimate for spectral methods, reference for ANC")
    p.add_argument("--checkpoint", metavar="PATH", help="model checkpoint for neural methods")
    p.add_argument("--device", default=None, help="torch device for neural methods (cpu, cuda)")
    add_pipe_arguments(p)
    return p


def enhancer_spec(args: argparse.Namespace, default: str) -> tuple[str, dict[str, str]]:
    """The method name and parameters the command line asks for."""
    params = parse_sets(args.params)
    if getattr(args, "checkpoint", None):
        params["checkpoint"] = args.checkpoint
    if getattr(args, "device", None):
        params["device"] = args.device
    # a checkpoint without a method: the generic neural method reads the family from the checkpoint
    method = args.method or ("neural" if getattr(args, "checkpoint", None) else default)
    return method, params


def build_enhancer(args: argparse.Namespace, default: str):
    method, params = enhancer_spec(args, default)
    return get_method(method, **params)


def run(args: argparse.Namespace) -> int:
    if "-" in args.inputs:  # pipe mode: standard input to standard output, block by block
        return run_pipe(args, build_enhancer(args, default_denoise_method()))
    from ..batch import denoise_files

    method, params = enhancer_spec(args, default_denoise_method())
    return run_batch(args, partial(denoise_files, method=method, noise=args.noise, **params), "denoised")
