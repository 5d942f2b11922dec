"""Shared CLI pieces: ``--set key=value`` parsing, output paths, batch runner with progress."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from collections.abc import Callable

from .. import io
from ..errors import AudioRestoreError, ParameterError


def parse_sets(items: list[str] | None) -> dict[str, str]:
    """``["n_fft=512", "alpha=0.98"]`` -> ``{"n_fft": "512", "alpha": "0.98"}``."""
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise ParameterError(f"--set expects key=value, got '{item}'")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def add_batch_arguments(p: argparse.ArgumentParser, default_suffix: str) -> None:
    p.add_argument("inputs", nargs="+", metavar="IN", help="audio files or directories (searched recursively)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help=f"output file (one input) or directory (mirrors input trees); default: "
                        f"beside each input with suffix '_{default_suffix}'")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (inputs are never replaced)")
    p.add_argument("--format", dest="out_format", metavar="EXT",
                   help="output file extension (wav, flac, ogg, mp3...); default: the input's")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    p.set_defaults(_suffix=default_suffix)


def plan_outputs(inputs: list[str], output: str | None, suffix: str, out_format: str | None) -> list[tuple[Path, Path]]:
    """Pair each input file with its output path (mirroring directory trees)."""
    pairs = io.expand_inputs(inputs)
    ext = None if not out_format else "." + out_format.lstrip(".").lower()
    single_file_out = (output is not None and len(pairs) == 1 and not Path(inputs[0]).is_dir()
                       and Path(output).suffix.lower() in io.AUDIO_EXTENSIONS and not Path(output).is_dir())
    plan = []
    for src, rel in pairs:
        if single_file_out:
            dst = Path(output)  # type: ignore[arg-type]
        elif output is None:
            dst = src.with_name(f"{src.stem}_{suffix}{ext or src.suffix}")
        else:
            dst = Path(output) / rel
            if ext:
                dst = dst.with_suffix(ext)
        plan.append((src, dst))
    return plan


class Progress:
    """Minimal progress display on stderr: a rewriting line on a terminal, one line per file otherwise."""

    def __init__(self, total: int, quiet: bool = False) -> None:
        self.total, self.quiet, self.done = total, quiet, 0
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()

    def update(self, name: str, status: str) -> None:
        self.done += 1
        if self.quiet:
            return
        width = 24
        fill = int(width * self.done / max(self.total, 1))
        bar = "#" * fill + "." * (width - fill)
        line = f"[{bar}] {self.done}/{self.total} {name}: {status}"
        if self.tty:
            print("\r\033[K" + line, end="" if self.done < self.total else "\n", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


def run_batch(args: argparse.Namespace, work: Callable[[Path, Path], str], verb: str) -> int:
    """Run ``work(src, dst)`` over every input; one bad file does not stop the others.

    Existing outputs are skipped unless ``--overwrite`` (so re-running a killed job resumes it).
    Returns the exit code: 0 when every file succeeded or was skipped, 1 when any failed.
    """
    plan = plan_outputs(args.inputs, args.output, args._suffix, args.out_format)
    progress = Progress(len(plan), args.quiet)
    ok = failed = skipped = 0
    for src, dst in plan:
        if dst.exists() and not args.overwrite:
            skipped += 1
            progress.update(src.name, f"skipped, {dst} exists (--overwrite to redo)")
            continue
        try:
            t = time.perf_counter()
            detail = work(src, dst)
            ok += 1
            progress.update(src.name, f"-> {dst} ({time.perf_counter() - t:.2f} s{', ' + detail if detail else ''})")
        except AudioRestoreError as exc:
            failed += 1
            msg = str(exc) if exc.path else f"{src}: {exc}"
            if progress.tty and not args.quiet:
                print(file=sys.stderr)
            print(f"audiorestore: error: {msg}", file=sys.stderr)
    if not args.quiet:
        print(f"{verb} {ok} file(s), skipped {skipped}, failed {failed} in {progress.elapsed():.1f} s",
              file=sys.stderr)
    return 1 if failed else 0
