"""Peak memory and speed of `audiorestore denoise` (or `upsample`) on a long file (default: 2 hours at 16 kHz).

Writes a synthetic noisy file block by block (never holding it in memory), runs the CLI in a child
process and reports the child's peak resident memory (ru_maxrss) and its real-time factor.

    python benchmarks/long_file_memory.py --hours 2 --methods wiener logmmse specsub
    python benchmarks/long_file_memory.py --hours 1 --methods nmmse:experiments/default_denoise_16k/checkpoints/best.pt
    python benchmarks/long_file_memory.py --hours 1 --upsample-to 48000 --methods auto sinc

A method ``NAME:CHECKPOINT`` runs ``--method NAME --checkpoint CHECKPOINT`` (a trained neural model).
With ``--upsample-to HZ`` the methods are upsamplers (``audiorestore upsample --rate HZ``; ``auto`` is
the default, the shipped model for the ratio).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf


def make_long_file(path: Path, hours: float, sample_rate: int) -> None:
    rng = np.random.default_rng(0)
    n_total = int(hours * 3600 * sample_rate)
    block = 60 * sample_rate
    t = np.arange(block) / sample_rate
    tone = 0.2 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    with sf.SoundFile(str(path), "w", samplerate=sample_rate, channels=1, subtype="PCM_16") as f:
        written = 0
        while written < n_total:
            n = min(block, n_total - written)
            f.write((tone[:n] + 0.05 * rng.standard_normal(n)).astype(np.float32))
            written += n


def run_child(cmd: list[str]) -> tuple[float, float, int]:
    """Run cmd; return (wall seconds, peak RSS in MB of that child, exit code)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    code = subprocess.call(cmd)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of RUSAGE_CHILDREN is the max over all waited-for children; run one child per process
    return wall, max(after, before) / 1024, code


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--sample-rate", type=int, default=16000)
    ap.add_argument("--methods", nargs="+", default=None,
                    help="default: wiener (denoise) or auto (with --upsample-to)")
    ap.add_argument("--upsample-to", type=int, default=None, metavar="HZ",
                    help="measure `audiorestore upsample --rate HZ` instead of denoise")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:  # measure exactly one child per python process so ru_maxrss is that child's
        wall, rss, code = run_child(args.child)
        print(f"{wall:.3f} {rss:.1f} {code}")
        return 0
    work = Path(args.workdir or tempfile.mkdtemp(prefix="ar_long_"))
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"long_{args.hours:g}h.wav"
    if not src.exists():
        print(f"writing {src} ...", file=sys.stderr)
        make_long_file(src, args.hours, args.sample_rate)
    duration = sf.info(str(src)).duration
    methods = args.methods or (["auto"] if args.upsample_to else ["wiener"])
    task = ["upsample", "--rate", str(args.upsample_to)] if args.upsample_to else ["denoise"]
    print("| method | audio (h) | wall (s) | RTF | peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|")
    for m in methods:
        name, _, checkpoint = m.partition(":")
        out = work / f"out_{name}.wav"
        out.unlink(missing_ok=True)
        cmd = ["audiorestore", task[0], str(src), "-o", str(out), *task[1:], "--method", name, "-q"]
        cmd += ["--checkpoint", checkpoint] if checkpoint else []
        res = subprocess.run([sys.executable, __file__, "--child", *cmd], capture_output=True, text=True,
                             env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
        wall, rss, code = res.stdout.split()[-3:]
        status = "" if code == "0" else f" (exit {code})"
        print(f"| {name}{status} | {duration / 3600:.2f} | {float(wall):.1f} | {float(wall) / duration:.4f} | {float(rss):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
