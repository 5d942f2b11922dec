"""``audiorestore methods``: every method, one line each, with parameters and defaults."""

from __future__ import annotations

import argparse

from ..enhancer import describe_method, list_methods, method_class, method_help
from ..stream import streaming_support


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("methods", help="list restoration methods and their parameters")
    p.add_argument("name", nargs="?", help="show one method in detail")
    p.add_argument("--task", choices=["denoise", "upsample", "declip"], help="only methods of this task")
    return p


def run(args: argparse.Namespace) -> int:
    if args.name:
        cls = method_class(args.name)
        print(f"{cls.name} ({cls.task}): {cls.summary}")
        if cls.citation:
            print(f"  reference: {cls.citation}")
        for name, default, doc in method_help(cls):
            print(f"  --set {name}={default}" + (f"   {doc}" if doc else ""))
        if cls.task == "denoise":
            ok, detail = streaming_support(cls.name)
            print(f"  streaming: {'yes, ' + detail if ok else 'no: ' + detail}")
        return 0
    for cls in list_methods(args.task):
        line = describe_method(cls)
        if cls.task == "denoise":  # real-time use (audiorestore.stream): the algorithmic latency at 16 kHz
            ok, detail = streaming_support(cls.name)
            line += f"  [stream: {_short_latency(detail) if ok else 'no'}]"
        print(line)
    return 0


def _short_latency(detail: str) -> str:
    """'latency 511 samples (31.9 ms at 16 kHz)' -> '31.9 ms at 16 kHz'."""
    if "(" in detail and "ms" in detail:
        return detail[detail.index("(") + 1:detail.rindex(")")]
    return "yes, with a causal checkpoint"
