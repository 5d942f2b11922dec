"""``audiorestore restore IN... -o OUT [--rate 48000] [--dry-run] [--report FILE.json]``.

Analyses each file (bandwidth, noise, clipping, hum, DC) and runs the stages it needs
(:func:`audiorestore.restore_file`); prints what it found and did per file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import io
from ..errors import AudioRestoreError, ParameterError
from .common import add_batch_arguments, plan_outputs, run_batch

_EPILOG = """stages (in this order, each only when the analysis calls for it):
  declip     clipped samples re-estimated (A-SPADE; 'audiorestore methods declip')
  dc         DC offset removed
  hum        50/60 Hz mains hum and its harmonics notched out
  denoise    the default denoiser ('audiorestore models'), or --denoise-method
  bandwidth  extended to --rate by the shipped speech models, from the rate the *measured* bandwidth
             calls for (a 44.1 kHz file that stops at 4 kHz: 8 kHz, then 8 -> 16 -> 48 kHz), or resampled

examples:
  audiorestore restore old_tape.flac -o restored.flac
  audiorestore restore recordings/ -o restored/ --rate 44100 --report report.json
  audiorestore restore call.wav --dry-run
"""


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from ..restoration import DEFAULT_RATE, STAGES

    p = sub.add_parser("restore", help="analyse each file and run the restoration it needs (one command)",
                       description="Measure each file's bandwidth, noise level, clipping, mains hum and DC offset, "
                                   "then de-clip, remove DC and hum, denoise and extend the bandwidth to --rate, "
                                   "skipping what is not needed. Prints the analysis and the stages per file.",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_batch_arguments(p, "restored")
    p.add_argument("-r", "--rate", type=int, default=DEFAULT_RATE, metavar="HZ",
                   help=f"output sample rate (default {DEFAULT_RATE}); 0 keeps each file's rate")
    p.add_argument("--dry-run", action="store_true", help="print the analysis and the plan only; write no audio")
    p.add_argument("--report", metavar="FILE.json", help="also write every file's analysis and stages as JSON")
    p.add_argument("--stages", default=None, metavar="LIST",
                   help=f"comma-separated subset of the stages to allow ({','.join(STAGES)}); default: all")
    p.add_argument("--denoise-method", default=None, metavar="NAME",
                   help="denoiser for the denoise stage (default: the shipped default, as 'audiorestore denoise')")
    p.add_argument("--upsample-method", default=None, metavar="NAME",
                   help="upsampler for the bandwidth stage (default: auto, the shipped models)")
    return p


def run(args: argparse.Namespace) -> int:
    from ..restoration import restore_file

    if args.rate < 0:
        raise ParameterError(f"--rate must be a sample rate in Hz (or 0 to keep each file's), got {args.rate}")
    stages = None if args.stages is None else [s.strip() for s in args.stages.split(",") if s.strip()]
    reports: list[dict] = []

    if args.dry_run:
        def restore_one(src: Path, dst: Path) -> str:
            report = restore_file(src, dst, args.rate or None, denoise_method=args.denoise_method,
                                  upsample_method=args.upsample_method, stages=stages, dry_run=True)
            reports.append(report.as_dict())
            print(report.text(), flush=True)
            return ", ".join(s.name for s in report.stages) or "nothing to do"

        code = _dry_run(args, restore_one)
    else:
        from ..batch import restore_files

        def files(plan, *, on_file, **kwargs):
            def each(r):  # the file's analysis and stages, as each file is done
                if r.record is not None:
                    reports.append(r.record["report"])
                    if not args.quiet:
                        print(r.record["text"], flush=True)
                on_file(r)

            return restore_files(plan, args.rate or None, denoise_method=args.denoise_method,
                                 upsample_method=args.upsample_method, stages=stages, on_file=each, **kwargs)

        code = run_batch(args, files, "restored")
    if args.report:
        reports.sort(key=lambda r: str(r.get("input")))  # file order, whatever order the workers finished in
        io.write_text_atomic(args.report, json.dumps(reports, indent=2) + "\n")
    return code


def _dry_run(args: argparse.Namespace, restore_one) -> int:
    """Analyse and plan every input (existing outputs or not); one line per bad file, exit 1 if any."""
    failed = 0
    for src, dst in plan_outputs(args.inputs, args.output, args._suffix, args.out_format):
        try:
            restore_one(src, dst)
        except AudioRestoreError as exc:
            failed += 1
            print(f"audiorestore: error: {exc if exc.path else f'{src}: {exc}'}", file=sys.stderr)
    return 1 if failed else 0
