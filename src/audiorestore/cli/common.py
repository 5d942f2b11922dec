"""Shared CLI pieces: ``--set key=value`` parsing, output paths, engine options, batch progress."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import io
from ..errors import ParameterError

if TYPE_CHECKING:
    from ..batch import FileResult


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
    add_engine_arguments(p)


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
    """Progress on stderr: a tqdm bar (files, hours of audio done, throughput, ETA) on a terminal, one
    line per file otherwise (logs of cluster jobs), nothing but errors with ``quiet``."""

    def __init__(self, total: int, quiet: bool = False) -> None:
        from tqdm import tqdm

        self.total, self.quiet, self.done = total, quiet, 0
        self.audio_s = 0.0
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self.bar = None
        if self.tty and not quiet:
            self.bar = tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True, smoothing=0.05,
                            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]")

    def update(self, name: str, status: str, audio_s: float = 0.0) -> None:
        self.done += 1
        self.audio_s += audio_s
        if self.quiet:
            return
        if self.bar is not None:
            elapsed = max(self.elapsed(), 1e-9)
            if self.audio_s > 0:
                self.bar.set_postfix_str(f"{self.audio_s / 3600:.3g} h audio, {self.audio_s / elapsed:.3g} h/h",
                                         refresh=False)
            self.bar.update(1)
            if self.done >= self.total:
                self.close()
        else:
            print(f"[{self.done}/{self.total}] {name}: {status}", file=sys.stderr, flush=True)

    def error(self, line: str) -> None:
        """An error line that does not break the bar."""
        if self.bar is not None:
            self.bar.write(f"audiorestore: error: {line}", file=sys.stderr)
        else:
            print(f"audiorestore: error: {line}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


def add_engine_arguments(p: argparse.ArgumentParser) -> None:
    """``-j/--jobs``, ``--engine`` and ``--address``: where a batch command runs (:mod:`audiorestore.engine`)."""
    from ..engine import ENGINES, default_jobs

    g = p.add_argument_group("execution")
    g.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                   help=f"worker processes, one thread each (default: the number of cores, {default_jobs()} here; "
                        "with --engine ray: one per CPU of the cluster)")
    g.add_argument("--engine", choices=ENGINES, default="local",
                   help="where to run: local processes (default) or a Ray cluster (pip install "
                        "'audiorestore[cluster]'; inputs and outputs on a filesystem every node sees)")
    g.add_argument("--address", metavar="HOST:PORT",
                   help="Ray cluster to join (default: $RAY_ADDRESS, else the cluster started on this machine "
                        "with 'ray start', else a new local Ray instance)")


def engine_options(args: argparse.Namespace) -> dict[str, object]:
    """The keyword arguments of :func:`audiorestore.engine.run` given on the command line."""
    if args.address is not None and args.engine != "ray":
        raise ParameterError("--address needs --engine ray")
    if args.jobs is not None and args.jobs < 1:
        raise ParameterError(f"--jobs must be at least 1, got {args.jobs}")
    return {"engine": args.engine, "jobs": args.jobs, "address": args.address}


def run_batch(args: argparse.Namespace, files: Callable[..., list[FileResult]], verb: str) -> int:
    """Run a batch function (:func:`audiorestore.batch.denoise_files`' signature, its method bound)
    over every input, with progress; one bad file does not stop the others.

    Existing outputs are skipped unless ``--overwrite`` (so re-running a killed job resumes it).
    Returns the exit code: 0 when every file succeeded or was skipped, 1 when any failed.
    """
    plan = plan_outputs(args.inputs, args.output, args._suffix, args.out_format)
    progress = Progress(len(plan), args.quiet)

    def on_file(r: FileResult) -> None:
        if r.status == "failed":
            progress.error(r.error or str(r.input))
            progress.update(r.input.name, "failed")
        elif r.status == "skipped":
            progress.update(r.input.name, f"skipped, {r.output} exists (--overwrite to redo)")
        else:
            progress.update(r.input.name, f"-> {r.output} ({r.seconds:.2f} s{', ' + r.detail if r.detail else ''})",
                            r.audio_s)

    try:
        results = files(plan, overwrite=args.overwrite, on_file=on_file, **engine_options(args))
    finally:
        progress.close()
    ok = sum(r.status == "done" for r in results)
    skipped = sum(r.status == "skipped" for r in results)
    failed = sum(r.status == "failed" for r in results)
    if not args.quiet:
        elapsed = progress.elapsed()
        hours = sum(r.audio_s for r in results if r.status == "done") / 3600
        print(f"{verb} {ok} file(s), skipped {skipped}, failed {failed} in {elapsed:.1f} s "
              f"({hours:.3g} h of audio, {hours * 3600 / max(elapsed, 1e-9):.3g} h per hour)", file=sys.stderr)
    return 1 if failed else 0
