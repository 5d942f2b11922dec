"""Every classical denoiser on SpEAR recorded pairs and on held-out mixtures: quality and CPU speed.

    python benchmarks/denoise_classical.py --data ../shared/data --out bench_out/classical --jobs 2

Metrics: PESQ-wb, STOI, CSIG/CBAK/COVL, SI-SDR (means with 95% intervals), and the CPU real-time
factor on one thread (enhancer time / audio duration, summed over files). Per-item results are cached
in ``OUT/<set>/<method>.jsonl``, so an interrupted run resumes. Writes ``OUT/summary.md`` and ``.json``.
ANC needs a reference noise recording: it runs on the mixtures only, with the mixed-in noise passed
through a random 64-tap acoustic path as the reference microphone (SpEAR has no usable reference).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from audiorestore import io  # noqa: E402
from audiorestore.enhancer import get_method, list_methods  # noqa: E402
from audiorestore.metrics import compute_all, mean_ci  # noqa: E402

import devset  # noqa: E402

METRICS = ["pesq_wb", "stoi", "csig", "cbak", "covl", "si_sdr"]
REFERENCE_METHODS = {"anc"}  # need a time-aligned reference noise recording


def classical_methods() -> list[str]:
    return [c.name for c in list_methods("denoise") if c.__module__.startswith("audiorestore.classical")]


def reference_noise(noise: np.ndarray, seed: int) -> np.ndarray:
    """The noise as a second microphone hears it: through a random decaying 64-tap path."""
    rng = np.random.default_rng(seed)
    h = rng.standard_normal(64) * np.exp(-np.arange(64) / 12.0)
    return np.convolve(noise, h / np.linalg.norm(h))[: noise.size]


def run_item(method: str, item: devset.Item, sample_rate: int = 16000) -> dict:
    import torch

    torch.set_num_threads(1)
    clean, _ = io.read(item.clean, sample_rate=sample_rate, mono=True)
    noisy, _ = io.read(item.noisy, sample_rate=sample_rate, mono=True)
    n = min(clean.shape[-1], noisy.shape[-1])
    clean, noisy = clean[0, :n].astype(np.float64), noisy[0, :n].astype(np.float64)
    ref = None
    if method in REFERENCE_METHODS:
        nz, _ = io.read(item.noise, sample_rate=sample_rate, mono=True, allow_silence=True)
        ref = reference_noise(nz[0, :n].astype(np.float64), zlib.crc32(item.name.encode()))
    if method == "noisy":
        est, seconds = noisy, 0.0
    else:
        enh = get_method(method)
        t = time.perf_counter()
        est = enh(noisy, sample_rate, noise=ref)
        seconds = time.perf_counter() - t
    scores, failures = compute_all(clean, est, sample_rate, METRICS)
    return {"item": item.name, "seconds": seconds, "duration": n / sample_rate,
            **{k: (None if not np.isfinite(v) else float(v)) for k, v in scores.items()},
            "failures": failures}


def run_set(name: str, items: list[devset.Item], methods: list[str], out: Path, jobs: int) -> None:
    for method in ["noisy", *methods]:
        if method in REFERENCE_METHODS and (not items or items[0].noise is None):
            continue
        cache = out / name / f"{method}.jsonl"
        cache.parent.mkdir(parents=True, exist_ok=True)
        done = {json.loads(line)["item"] for line in open(cache)} if cache.exists() else set()
        todo = [it for it in items if it.name not in done]
        t0 = time.perf_counter()
        with open(cache, "a") as f:
            if jobs > 1 and len(todo) > 1:
                with ProcessPoolExecutor(jobs) as pool:
                    for row in pool.map(run_item, [method] * len(todo), todo):
                        f.write(json.dumps(row) + "\n")
                        f.flush()
            else:
                for it in todo:
                    f.write(json.dumps(run_item(method, it)) + "\n")
                    f.flush()
        print(f"{name:>6} {method:<16} {len(todo):4d} items in {time.perf_counter() - t0:6.1f} s", file=sys.stderr)


def summarize(out: Path, sets: list[str], methods: list[str]) -> str:
    lines = []
    table: dict = {}
    for name in sets:
        lines += [f"\n**{name}**\n", "| method | " + " | ".join(METRICS) + " | CPU RTF (1 thread) |",
                  "|---|" + "---:|" * (len(METRICS) + 1)]
        for method in ["noisy", *methods]:
            cache = out / name / f"{method}.jsonl"
            if not cache.exists():
                continue
            rows = [json.loads(line) for line in open(cache)]
            cells, entry = [], {}
            for m in METRICS:
                s = mean_ci([r[m] if r[m] is not None else float("nan") for r in rows])
                cells.append(f"{s.mean:.3f} ± {s.half_width:.3f}" if m != "si_sdr" else f"{s.mean:.2f} ± {s.half_width:.2f}")
                entry[m] = {"mean": s.mean, "ci95": s.half_width, "n": s.n}
            dur = sum(r["duration"] for r in rows)
            rtf = sum(r["seconds"] for r in rows) / dur if dur else float("nan")
            entry["rtf"] = rtf
            table.setdefault(name, {})[method] = entry
            lines.append(f"| {method} | " + " | ".join(cells) + f" | {rtf:.4f} |" if method != "noisy"
                         else f"| noisy input | " + " | ".join(cells) + " | - |")
        n_items = len([1 for _ in open(out / name / "noisy.jsonl")]) if (out / name / "noisy.jsonl").exists() else 0
        lines.append(f"\n{n_items} files; mean ± 95% interval half-width.")
    (out / "summary.json").write_text(json.dumps(table, indent=1))
    text = "\n".join(lines).strip() + "\n"
    (out / "summary.md").write_text(text)
    return text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data", type=Path)
    ap.add_argument("--out", default="bench_out/classical", type=Path)
    ap.add_argument("--methods", nargs="*", default=None, help="default: every classical method")
    ap.add_argument("--sets", nargs="*", default=["spear", "mix"], choices=["spear", "mix"])
    ap.add_argument("--per-group", type=int, default=4, help="test files per speaker group in the mixtures")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (each one thread)")
    args = ap.parse_args()
    methods = args.methods or classical_methods()
    sets = {}
    if "spear" in args.sets:
        sets["spear"] = devset.spear_pairs(args.data)
    if "mix" in args.sets:
        sets["mix"] = devset.mixtures(args.data, args.out / "data", "test", per_group=args.per_group)
    for name, items in sets.items():
        run_set(name, items, methods, args.out, args.jobs)
    print(summarize(args.out, list(sets), methods))
    return 0


if __name__ == "__main__":
    sys.exit(main())
