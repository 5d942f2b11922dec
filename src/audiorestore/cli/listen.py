"""``audiorestore listen SOURCE... --db R.sqlite [--test acr|p835|mushra]`` and ``listen --results R.sqlite``."""

from __future__ import annotations

import argparse
import sys

from ..errors import ParameterError


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "listen", help="run a blind listening test in the browser (ACR, P.835, MUSHRA); --results to analyse it",
        description="Serve a blind listening test from a bench report folder (its example clips, the clean "
                    "reference included) or NAME=FOLDER sources paired by relative path (one of them "
                    "clean=FOLDER). Every rating is committed to the SQLite database before the page moves on; "
                    "run the same command again to continue the test. With --results, print the per-condition "
                    "MOS (or P.835 SIG/BAK/OVL, or MUSHRA score) with 95 percent intervals.",
        epilog="Needs the 'listen' extra: pip install 'audiorestore[listen]'. A non-local --host requires the "
               "access key that is printed as part of the URL.")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="a bench report folder, or NAME=FOLDER pairs")
    p.add_argument("--db", metavar="R.sqlite", help="ratings database (created, or continued when it exists)")
    p.add_argument("--test", dest="protocol", choices=["acr", "p835", "mushra"], default=None,
                   help="protocol: P.808 ACR (default), P.835 SIG/BAK/OVL, or BS.1534 MUSHRA")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--items", type=int, default=None, metavar="N", help="rate N items drawn at random (default all)")
    p.add_argument("--seed", type=int, default=None, metavar="S", help="seed of the item draw (default 0)")
    p.add_argument("--results", metavar="R.sqlite", help="analyse this ratings database instead of serving")
    p.add_argument("-o", "--output", metavar="DIR", help="with --results: write listening.csv/json/md here")
    return p


def _results(args: argparse.Namespace) -> int:
    from ..web.results import listening_results

    res = listening_results(args.results)
    print(res.markdown(), end="")
    if args.output:
        written = res.write(args.output)
        print(f"wrote {', '.join(str(p) for p in written.values())}", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.results:
        if args.sources or args.db:
            raise ParameterError("--results takes only the database (and -o DIR)")
        return _results(args)
    if args.output:
        raise ParameterError("-o is for --results")
    if not args.db:
        raise ParameterError("give the ratings database with --db FILE.sqlite")
    if not 0 <= args.port <= 65535:
        raise ParameterError(f"--port must lie in 0..65535, got {args.port}")
    from ..web.server import serve

    def ready(url: str, prepared) -> None:
        t = prepared.test
        what = "continuing" if prepared.resumed else "new"
        print(f"listening test ({what}, {t.protocol.upper()}, {len(t.items)} items x {len(t.conditions)} conditions, "
              f"ratings in {args.db}):\n  {url}", flush=True)
        if prepared.access_key:
            print("  (this address includes the access key; give it only to your listeners)", flush=True)
        print("stop with Ctrl+C; run the same command again to continue", file=sys.stderr, flush=True)

    serve(args.sources, args.db, protocol=args.protocol, host=args.host, port=args.port, items=args.items,
          seed=args.seed, on_ready=ready)
    return 0
