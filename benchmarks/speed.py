"""CPU real-time factor of each method on one thread: best of N runs on 10 s of noisy speech.

    OMP_NUM_THREADS=1 python benchmarks/speed.py [--methods wiener logmmse ...] [--seconds 10] [--repeats 7]
    OMP_NUM_THREADS=1 python benchmarks/speed.py --methods crm crm:checkpoint=experiments/x/checkpoints/best.pt

A method is written as for `audiorestore bench`: NAME or NAME:ARG,... (key=value or a checkpoint path).

The best (minimum) of repeated runs is the figure least disturbed by other processes on the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import audiorestore as ar  # noqa: E402
from audiorestore.bench.runner import build_method, parse_method  # noqa: E402
from audiorestore.enhancer import list_methods  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", nargs="*", default=None, help="default: every classical method")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--sample-rate", type=int, default=16000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    sr = args.sample_rate
    clean, _ = ar.read_audio(ar.example_path("clean"), sample_rate=sr, mono=True)
    reps = int(np.ceil(args.seconds * sr / clean.shape[-1]))
    x = np.tile(clean[0], reps)[: int(args.seconds * sr)].astype(np.float64)
    rng = np.random.default_rng(0)
    noise = 0.05 * rng.standard_normal(x.size)
    noisy = x + noise
    methods = args.methods or [c.name for c in list_methods("denoise") if c.__module__.startswith("audiorestore.classical")]
    print("| method | best RTF | median RTF |\n|---|---:|---:|")
    for m in methods:
        enh = build_method(parse_method(m))
        enh(noisy[:sr], sr)  # load models and warm up outside the timing
        ref = noise if getattr(enh, "needs_reference", False) else None
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            enh(noisy, sr, noise=ref)
            times.append(time.perf_counter() - t)
        print(f"| {m} | {min(times) / args.seconds:.4f} | {float(np.median(times)) / args.seconds:.4f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
