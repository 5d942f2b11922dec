"""Streaming speed: per-block processing time of every streaming method, one thread.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/streaming.py [--seconds 10] [--rates 16000 48000]
        [--blocks-ms 10 20] [--methods logmmse wiener ...] [--back-to-back]

By default the blocks are handed over in real time, as a sound card delivers them (the process sleeps
between blocks, as it does live); ``--back-to-back`` feeds them as fast as they are processed.

For each method, rate and block size: the algorithmic latency (ms), the mean and 99th-percentile time to
process one block (ms), and the real-time margin (block duration / p99 time: above 1 keeps up with
real time on 99% of blocks). Wall-clock times include the time the thread waited for the CPU while
other processes ran; the CPU columns (this thread's CPU time per block, ``time.thread_time``) are the
processing cost alone, the figure to compare on a busy machine. The input is the bundled noisy example (VoiceBank-DEMAND p287_002),
resampled and tiled to ``--seconds``, fed block by block after one warm-up second. The default
denoiser is listed as ``default (<name>)``. The neural families run their tiny untrained
(``_unittest``) models unless ``--checkpoint FAMILY=PATH`` is given, and only at their model's rate.

Target (issue 17): the default denoiser at 16 kHz with 10 ms blocks has p99 < 2.5 ms and a latency
of at most 32 ms. Times depend on what else the machine runs; the p99 is the figure most disturbed.
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
from audiorestore.api import default_denoise_method  # noqa: E402
from audiorestore.stream import Unstreamable, stream  # noqa: E402

#: (label, method, params); the default denoiser first
METHODS = ["default", "logmmse", "wiener", "mmse", "specsub", "omlsa", "filter", "notch", "anc", "ale", "crm", "nmmse"]
NEURAL = {"crm", "nmmse"}


def build(method: str, sr: int, checkpoints: dict[str, str]):
    if method == "default":
        return stream(None, sample_rate=sr)
    if method in NEURAL:
        return stream(method, sample_rate=sr, checkpoint=checkpoints.get(method, f"{method}_unittest"))
    return stream(method, sample_rate=sr)


def time_blocks(s, x: np.ndarray, ref: np.ndarray, block: int, paced: bool) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock and CPU (this thread) seconds per block over ``x`` after a warm-up second; ``paced``:
    each block is handed over when it would arrive from a device (real time), else back to back."""
    warm = s.sample_rate
    for i in range(0, warm, block):
        s.process(x[i:i + block], reference=ref[i:i + block] if s.needs_reference else None)
    wall, cpu = [], []
    due = time.perf_counter()
    for i in range(warm, x.size - block + 1, block):
        if paced:  # wait for the block to "arrive"
            due += block / s.sample_rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        xb = x[i:i + block]
        rb = ref[i:i + block] if s.needs_reference else None
        c, t = time.thread_time(), time.perf_counter()
        s.process(xb, reference=rb)
        wall.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    return np.asarray(wall), np.asarray(cpu)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", nargs="*", default=METHODS)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rates", type=int, nargs="*", default=[16000, 48000])
    ap.add_argument("--blocks-ms", type=float, nargs="*", default=[10.0, 20.0])
    ap.add_argument("--checkpoint", action="append", default=[], metavar="FAMILY=PATH")
    ap.add_argument("--back-to-back", action="store_true",
                    help="hand over blocks as fast as they are processed (throughput) instead of in real time")
    args = ap.parse_args()
    torch.set_num_threads(1)
    checkpoints = dict(c.split("=", 1) for c in args.checkpoint)
    print("| method | rate (kHz) | block (ms) | latency (ms) | mean (ms) | p99 (ms) | real-time margin | "
          "p99 CPU (ms) | margin (CPU) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for sr in args.rates:
        noisy, _ = ar.read_audio(ar.example_path("noisy"), sample_rate=sr, mono=True)
        n = int((args.seconds + 1) * sr)
        x = np.tile(noisy[0], int(np.ceil(n / noisy.shape[-1])))[:n].astype(np.float32)
        ref = (0.05 * np.random.default_rng(0).standard_normal(n)).astype(np.float32)
        for method in args.methods:
            try:
                s = build(method, sr, checkpoints)
            except Unstreamable as exc:
                print(f"<!-- {method} at {sr} Hz: {exc} -->", flush=True)
                continue
            label = f"default ({default_denoise_method()})" if method == "default" else method
            for block_ms in args.blocks_ms:
                block = int(round(block_ms * 1e-3 * sr))
                s.reset()
                wall, cpu = time_blocks(s, x, ref, block, paced=not args.back_to_back)
                p99, p99_cpu = float(np.percentile(wall, 99)) * 1e3, float(np.percentile(cpu, 99)) * 1e3
                print(f"| {label} | {sr / 1000:g} | {block_ms:g} | {s.latency_ms:.1f} | {wall.mean() * 1e3:.3f} | "
                      f"{p99:.3f} | {block_ms / p99:.1f} | {p99_cpu:.3f} | {block_ms / max(p99_cpu, 1e-6):.1f} |",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
