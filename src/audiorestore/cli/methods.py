"""``audiorestore methods``: every method, one line each, with parameters and defaults."""

from __future__ import annotations

import argparse

from ..enhancer import describe_method, list_methods, method_class, method_help


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
        return 0
    for cls in list_methods(args.task):
        print(describe_method(cls))
    return 0
