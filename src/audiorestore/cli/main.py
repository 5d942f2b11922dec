"""``audiorestore`` entry point: parses arguments, dispatches to a subcommand, turns errors into one line."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from .. import __version__
from ..errors import AudioRestoreError

#: subcommand name -> module in this package exposing ``add_parser(subparsers)`` and ``run(args) -> int``.
#: A command module imports only argparse and light modules at its top; the rest goes inside ``run``
#: (tests/cli/test_startup.py checks what a command imports).
SUBCOMMANDS = ["denoise", "upsample", "restore", "methods", "models", "degrade", "evaluate", "train", "bench", "data",
               "live", "listen"]


def _command(argv: list[str]) -> str | None:
    """The subcommand ``argv`` names (its first positional argument; the top-level options take no
    value), or None for none or an unknown one."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg if arg in SUBCOMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``command``, only that subcommand's module is imported and its
    parser built (the others stay out of ``audiorestore denoise ...``'s start-up)."""
    parser = argparse.ArgumentParser(prog="audiorestore",
                                     description="Restore degraded audio: denoise, upsample, or analyse and restore "
                                                 "in one go.")
    parser.add_argument("--version", action="version", version=f"audiorestore {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS if command is None else [command]:
        try:
            mod = importlib.import_module(f".{name}", __package__)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.endswith(f"cli.{name}"):
                continue  # subcommand not part of this build
            raise
        p = mod.add_parser(sub)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command(argv))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="audiorestore: warning: %(message)s" if not args.verbose else "%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except AudioRestoreError as exc:
        print(f"audiorestore: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`audiorestore methods | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("audiorestore: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("audiorestore: error: out of memory (try a smaller block or batch size)", file=sys.stderr)
        return 1
    except Exception as exc:  # an unexpected failure still gets one line unless debugging
        if os.environ.get("AUDIORESTORE_DEBUG"):
            raise
        msg = " ".join(str(exc).split())[:300]
        print(f"audiorestore: internal error: {type(exc).__name__}: {msg} "
              "(set AUDIORESTORE_DEBUG=1 for a traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
