"""Peak memory of the pipe mode (`audiorestore denoise - -o -`) on a long stream: flat, not growing
with the length.

Generates raw 16-bit noise-like PCM in a child process (never held in memory) and pipes it through
the CLI for each length; reports the CLI's peak resident memory (ru_maxrss of each run) and its speed.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/pipe_memory.py --seconds 30 600 [--method logmmse]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

GENERATE = """
import sys, numpy as np
rng = np.random.default_rng(0)
for _ in range(int(sys.argv[1])):
    sys.stdout.buffer.write((rng.standard_normal(16000) * 3000).astype('<i2').tobytes())
"""


def run(seconds: int, method: str | None) -> tuple[float, float, int]:
    """(peak RSS in MB, real-time factor, samples out) of one pipe run over ``seconds`` of audio."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    gen = subprocess.Popen([sys.executable, "-c", GENERATE, str(seconds)], stdout=subprocess.PIPE)
    cmd = [sys.executable, "-m", "audiorestore.cli.main", "denoise", "-", "-o", "-", "--raw-format", "s16le",
           "--rate", "16000", "--channels", "1"] + (["--method", method] if method else [])
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=gen.stdout, stdout=subprocess.PIPE)
    assert gen.stdout is not None and proc.stdout is not None
    gen.stdout.close()
    n = 0
    while chunk := proc.stdout.read(1 << 16):
        n += len(chunk)
    proc.wait()
    gen.wait()
    elapsed = time.perf_counter() - t
    # ru_maxrss of children is the largest of any child so far: runs go from short to long, so a
    # growing peak shows up; the generator is far smaller than the CLI
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(peak, before) / 1024, elapsed / seconds, n // 2


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, nargs="*", default=[30, 600])
    ap.add_argument("--method", default=None, help="default: the default denoiser")
    args = ap.parse_args()
    print("| input (s) | samples out | peak RSS (MB) | real-time factor |\n|---:|---:|---:|---:|")
    for s in sorted(args.seconds):
        rss, rtf, n = run(s, args.method)
        print(f"| {s} | {n} | {rss:.0f} | {rtf:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
