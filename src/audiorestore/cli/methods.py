"""``audiorestore methods``: every method, one line each, with parameters and defaults.

Listed from the generated catalog listing (:func:`audiorestore.enhancer.list_method_info`), so no
method module (nor torch or scipy) is imported.
"""

from __future__ import annotations

import argparse

from ..enhancer import list_method_info


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("methods", help="list restoration methods and their parameters")
    p.add_argument("name", nargs="?", help="show one method in detail")
    p.add_argument("--task", choices=["denoise", "upsample", "declip"], help="only methods of this task")
    # for developers: regenerate audiorestore/_catalog_listing.py after adding a method to catalog.py
    p.add_argument("--write-listing", action="store_true", help=argparse.SUPPRESS)
    return p


def run(args: argparse.Namespace) -> int:
    if args.write_listing:
        from ..enhancer import write_method_listing

        print(f"wrote {write_method_listing()}")
        return 0
    if args.name:
        from ..enhancer import method_class, method_info

        infos = {i.name: i for i in list_method_info()}
        info = infos.get(args.name) or method_info(method_class(args.name))  # unknown: method_class says so
        print(f"{info.name} ({info.task}): {info.summary}")
        if info.citation:
            print(f"  reference: {info.citation}")
        for name, default, doc in info.params:
            print(f"  --set {name}={default}" + (f"   {doc}" if doc else ""))
        if info.stream is not None:
            ok, detail = info.stream
            print(f"  streaming: {'yes, ' + detail if ok else 'no: ' + detail}")
        return 0
    for info in list_method_info(args.task):
        line = info.line()
        if info.stream is not None:  # real-time use (audiorestore.stream): the algorithmic latency at 16 kHz
            ok, detail = info.stream
            line += f"  [stream: {_short_latency(detail) if ok else 'no'}]"
        print(line)
    return 0


def _short_latency(detail: str) -> str:
    """'latency 511 samples (31.9 ms at 16 kHz)' -> '31.9 ms at 16 kHz'."""
    if "(" in detail and " ms" in detail:
        return detail[detail.index("(") + 1:detail.rindex(")")]
    return "yes, with a causal checkpoint"
