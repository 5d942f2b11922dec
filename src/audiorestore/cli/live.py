"""``audiorestore live [--input DEV] [--output DEV] [--method NAME] [-o FILE] [--list-devices]``:
microphone to speakers (or a file) through a streaming denoiser, with the CPU load per block."""

from __future__ import annotations

import argparse
import sys

from ..api import default_denoise_method


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("live", help="denoise the microphone in real time (to speakers or a file)",
                       description="Microphone -> streaming denoiser -> speakers (or -o FILE). Needs the 'live' "
                                   "extra (sounddevice/PortAudio). Stop with Ctrl+C.")
    p.add_argument("--list-devices", action="store_true", help="list audio devices and exit")
    p.add_argument("--input", dest="input_device", metavar="DEV", help="input device (number or name part)")
    p.add_argument("--output", dest="output_device", metavar="DEV", help="output device (number or name part)")
    p.add_argument("-o", dest="output_path", metavar="FILE", help="write to this file instead of the speakers")
    p.add_argument("--overwrite", action="store_true", help="replace an existing FILE")
    p.add_argument("-m", "--method", default=None,
                   help="a streaming method (see 'audiorestore methods'); default: the default denoiser")
    p.add_argument("--set", dest="params", action="append", metavar="KEY=VALUE", help="method parameter")
    p.add_argument("--checkpoint", metavar="PATH", help="model checkpoint for neural methods")
    p.add_argument("--rate", type=int, default=None,
                   help="sample rate (default: a neural model's rate, else 16000)")
    p.add_argument("--channels", type=int, default=1, help="channels (default 1)")
    p.add_argument("--block-ms", type=float, default=10.0, help="block size (default 10 ms)")
    p.add_argument("--seconds", type=float, default=None, help="stop after this long (default: Ctrl+C)")
    p.add_argument("-q", "--quiet", action="store_true", help="no per-block status line")
    return p


def _device(value: str | None) -> int | str | None:
    return int(value) if value is not None and value.isdigit() else value


def run(args: argparse.Namespace) -> int:
    from ..stream import streamer_for
    from ..stream.live import list_devices, run_live, sounddevice
    from .denoise import build_enhancer

    if args.list_devices:
        print(list_devices())
        return 0
    sounddevice()  # a missing extra fails here, before a model is loaded
    args.device = None
    enhancer = build_enhancer(args, default_denoise_method())
    rate = args.rate or int(getattr(enhancer, "native_rate", None) or 16000)
    streamer = streamer_for(enhancer, rate, args.channels)
    print(f"live: {streamer.name} at {rate} Hz, {args.block_ms:g} ms blocks, latency {streamer.latency_ms:.1f} ms "
          f"+ one block; Ctrl+C stops", file=sys.stderr)

    def status(stats, load: float) -> None:
        if not args.quiet and (stats.blocks % 25 == 0):
            print(f"\rCPU {100 * load:5.1f}% this block, max {100 * max(stats.loads):5.1f}%, dropped "
                  f"{stats.dropped}   ", end="", file=sys.stderr, flush=True)

    stats = run_live(streamer, input_device=_device(args.input_device), output_device=_device(args.output_device),
                     output_path=args.output_path, block_ms=args.block_ms, seconds=args.seconds, status=status,
                     overwrite=args.overwrite)
    print(("\n" if not args.quiet else "") + "live: " + stats.summary(), file=sys.stderr)
    return 0
