"""``audiorestore evaluate REF EST [--noisy NOISY] [--metrics LIST] [-o OUTDIR] [--sample-rate R]``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..errors import AudioInputError
from .common import Progress, add_engine_arguments, engine_options

if TYPE_CHECKING:  # the metrics are imported when the command runs, not for `audiorestore --help`
    from ..metrics.evaluation import FileScores, Pair

#: Placeholder for the epilog, which names every metric: written when the help is shown.
_METRICS_EPILOG = "<metrics>"


class _HelpFormatter(argparse.HelpFormatter):
    """Fills in the metric names when ``audiorestore evaluate --help`` is printed (only then)."""

    def add_text(self, text: str | None) -> None:
        if text == _METRICS_EPILOG:
            from ..metrics import registry

            text = (f"metrics: {', '.join(registry.list_metrics())}. 'default' = "
                    f"{','.join(registry.DEFAULT_METRICS)} (those needing the 'metrics' extra are skipped when it "
                    "is not installed); 'all' = every metric.")
        super().add_text(text)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "evaluate", help="score restored audio against clean references",
        description="Score estimates against references (files, or folders paired by relative path or stem) "
                    "and print the mean and 95 percent confidence interval of each metric. With --noisy, the noisy "
                    "inputs are scored too and the improvement is reported (positive = better).",
        epilog=_METRICS_EPILOG, formatter_class=_HelpFormatter)
    p.add_argument("reference", metavar="REF", help="clean reference file or directory")
    p.add_argument("estimate", metavar="EST", help="restored file or directory")
    p.add_argument("--noisy", metavar="NOISY",
                   help="the degraded inputs (file or directory), to report the improvement")
    p.add_argument("-m", "--metrics", default=None, metavar="LIST",
                   help="comma-separated metric names (default: 'default')")
    p.add_argument("-o", "--output", metavar="OUTDIR",
                   help="write per_file.csv, summary.csv, summary.json and summary.md here")
    p.add_argument("--sample-rate", type=int, default=None, metavar="R",
                   help="score at this rate (default: each reference's rate; estimates are resampled to it)")
    p.add_argument("--cutoff-hz", type=float, default=None, metavar="F",
                   help="lower edge of the band scored by lsd_hf (default: the noisy input's Nyquist when its "
                        "rate is lower, else a quarter of the rate)")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    add_engine_arguments(p)
    return p


def run(args: argparse.Namespace) -> int:
    from ..metrics import registry
    from ..metrics.evaluation import REPORT_FILES, evaluate_pairs, pair_files
    from ..metrics.report import format_table

    metrics = registry.parse_metrics(args.metrics)  # fail early on unknown names and missing extras
    pairs, missing = pair_files(args.reference, args.estimate, args.noisy)
    for m in missing:
        print(f"audiorestore: warning: unpaired: {m}", file=sys.stderr)
    progress = Progress(len(pairs), args.quiet)

    def on_file(pair: Pair, scores: FileScores | None, error: str | None) -> None:
        if error is not None:
            progress.error(error)
            progress.update(pair.name, "failed")
            return
        assert scores is not None
        for line in scores.failures:
            progress.error(line)
        progress.update(pair.name, ", ".join(f"{m}={scores.scores[m]:.3f}" for m in metrics[:3]), scores.duration_s)

    sources: dict[str, object] = {"reference": args.reference, "estimate": args.estimate, "noisy": args.noisy,
                                  "sample_rate": args.sample_rate}
    try:
        ev = evaluate_pairs(pairs, metrics, args.sample_rate, args.cutoff_hz, on_file, missing,
                            args.noisy is not None, sources, **engine_options(args))
    finally:
        progress.close()
    if not ev.files:
        raise AudioInputError(f"no file could be scored ({len(ev.errors)} failed, {len(ev.missing)} unpaired)")
    if args.output:
        written = ev.write(args.output)
        if not args.quiet:
            print(f"wrote {', '.join(str(written[k]) for k in REPORT_FILES)}", file=sys.stderr)
    if not args.quiet:
        print(format_table(ev.summary()))
        print(f"scored {len(ev.files)} file(s), failed {len(ev.errors)}, unpaired {len(ev.missing)}, "
              f"{len(ev.failures)} metric value(s) not computable", file=sys.stderr)
    return 1 if ev.errors or ev.failures else 0
