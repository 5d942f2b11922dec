"""``audiorestore bench --methods M... --dataset NAME=PATH... --out DIR [--metrics LIST] [--jobs N]``."""

from __future__ import annotations

import argparse
import sys

from ..errors import ParameterError
from .common import add_engine_arguments, engine_options


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "bench", help="compare denoisers on datasets: tables, plots, audio examples",
        description="Run every method on every dataset, score it against the clean references and write a "
                    "report folder: summary.md, a self-contained report.html (tables with 95 percent intervals "
                    "and the improvement over the noisy input, bar charts, spectrograms, audio players), "
                    "summary.csv/json and per_item.csv. Per-item results are cached under OUT/cache, so a "
                    "re-run resumes. Installed peers take part as peer_noisereduce, peer_rnnoise, peer_nsnet2, "
                    "peer_deepfilternet.",
        epilog="METHOD is NAME[:ARG,...], ARG being key=value or a checkpoint path (crm:runs/crm/best.pt). "
               "DATASET is NAME=PATH: a pair manifest .jsonl, a folder with noisy/ and clean/ (paired by "
               "relative path), or a data root whose manifest.jsonl lists the SpEAR pairs. "
               "Plots need matplotlib: pip install 'audiorestore[plot]'.")
    p.add_argument("--methods", nargs="+", default=None, metavar="METHOD",
                   help="methods to compare ('noisy', the unprocessed input, is always included); "
                        "default: wiener logmmse specsub")
    p.add_argument("--dataset", dest="datasets", action="append", metavar="NAME=PATH", required=False,
                   help="a dataset, repeatable")
    p.add_argument("-o", "--out", required=False, metavar="DIR", help="report folder")
    p.add_argument("-m", "--metrics", default=None, metavar="LIST",
                   help="comma-separated metrics (default: pesq_wb,stoi,csig,cbak,covl,si_sdr)")
    p.add_argument("--examples", type=int, default=3, metavar="K",
                   help="items per dataset with audio players and spectrograms in the report (default 3)")
    p.add_argument("--example-seconds", type=float, default=4.0, metavar="S",
                   help="length of each embedded clip (default 4)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N items of each dataset")
    p.add_argument("--fresh", action="store_true", help="ignore cached per-item results and recompute them")
    p.add_argument("--no-plots", action="store_true", help="skip the charts even when matplotlib is installed")
    p.add_argument("--title", default="audiorestore benchmark", help="report title")
    p.add_argument("--ratings", metavar="R.sqlite",
                   help="a listening-test database (audiorestore listen --db): adds its MOS column to the tables")
    p.add_argument("--list-peers", action="store_true",
                   help="list the peer methods, whether each is installed, and exit")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    add_engine_arguments(p)
    return p


def _list_peers() -> int:
    from ..bench import peers

    for name, peer in peers.PEERS.items():
        state = "installed" if peers.is_installed(name) else f"not installed (pip install {peer.package})"
        print(f"{name:<20} {state}; licence {peer.licence}; {peer.url}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list_peers:
        return _list_peers()
    if not args.datasets:
        raise ParameterError("give at least one --dataset NAME=PATH")
    if not args.out:
        raise ParameterError("give the report folder with --out DIR")
    from ..bench import benchmark
    from ..bench.report import markdown_tables

    tty = sys.stderr.isatty()

    def progress(dataset: str, method: str, done: int, total: int) -> None:
        if args.quiet:
            return
        line = f"{dataset}: {method}: {done}/{total}"
        if tty:
            print("\r\033[K" + line, end="" if done < total else "\n", file=sys.stderr, flush=True)
        elif done == total:
            print(line, file=sys.stderr, flush=True)

    result, written = benchmark(args.methods or ["wiener", "logmmse", "specsub"], args.datasets, args.out,
                                metrics=args.metrics, examples=args.examples,
                                example_s=args.example_seconds, limit=args.limit, fresh=args.fresh,
                                plots=False if args.no_plots else None, title=args.title, progress=progress,
                                ratings=args.ratings, **engine_options(args))
    for e in result.errors:
        print(f"audiorestore: error: {e}", file=sys.stderr)
    if not args.quiet:
        print(markdown_tables(result))
        print(f"wrote {', '.join(str(p) for p in written.values())}", file=sys.stderr)
    return 1 if result.errors else 0
