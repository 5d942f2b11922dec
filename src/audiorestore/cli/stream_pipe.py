"""``audiorestore denoise - -o -``: the pipe mode of ``denoise`` (standard input to standard output,
block by block; :mod:`audiorestore.stream.pipe`). Kept apart from the file/folder mode in
:mod:`.denoise`, which only adds these options and hands over when the input is ``-``."""

from __future__ import annotations

import argparse
import sys

from ..errors import ParameterError


def add_pipe_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("pipe mode (IN is '-': standard input to standard output, as it arrives)")
    g.add_argument("--raw-format", choices=["s16le", "s24le", "s32le", "f32le"],
                   help="standard input is raw interleaved PCM of this format (default: a WAV stream)")
    g.add_argument("--rate", type=int, help="raw PCM: sample rate in Hz")
    g.add_argument("--channels", type=int, help="raw PCM: channels")
    g.add_argument("--block-ms", type=float, default=20.0, help="block read and processed at a time (default 20)")


def run_pipe(args: argparse.Namespace, enhancer) -> int:
    """Stream ``enhancer`` from standard input to standard output (``IN`` and ``-o`` are ``-``)."""
    import numpy as np

    from .. import io
    from ..stream import streamer_for
    from ..stream.pipe import raw_format, stream_pipe

    if args.inputs != ["-"] or args.output != "-":
        raise ParameterError("pipe mode reads standard input and writes standard output: use "
                             "'audiorestore denoise - -o -'")
    raw = raw_format(args.raw_format, args.rate, args.channels) if args.raw_format else None

    def make(sample_rate: int, channels: int):
        noise = None
        if args.noise:  # a noise sample at the stream's rate (at most a minute of it)
            noise, _ = io.read(args.noise, sample_rate=sample_rate, frames=60 * io.info(args.noise).sample_rate)
            noise = np.asarray(noise, dtype=np.float64)
        return streamer_for(enhancer, sample_rate, channels, noise=noise)

    stream_pipe(make, sys.stdin.buffer, sys.stdout.buffer, raw, args.block_ms)
    return 0
