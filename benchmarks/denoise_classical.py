"""Every classical denoiser on SpEAR recorded pairs and on held-out mixtures: quality and CPU speed.

    python benchmarks/denoise_classical.py --data ../shared/data --out bench_out/classical --jobs 2

A thin script over :mod:`audiorestore.bench` (the same as ``audiorestore bench``, with this benchmark's
two evaluation sets from ``devset.py``). Metrics: PESQ-wb, STOI, CSIG/CBAK/COVL, SI-SDR (means with 95%
intervals, and the paired improvement over the noisy input), and the CPU real-time factor on one thread
(CPU seconds in the enhancer / audio seconds; rows cached by older versions of this script carry wall
time only, which is used for them). Per-item results are cached in ``OUT/<set>/<method>.jsonl``, so an
interrupted run resumes. Writes ``OUT/summary.md`` and ``.json``, and beside them the bench report
(``report.html``, ``summary.csv``, ``per_item.csv``). ANC needs a reference noise recording: it runs on the
mixtures only, with the mixed-in noise passed through a random 64-tap acoustic path as the reference
microphone (SpEAR has no usable reference).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from audiorestore.bench.datasets import Dataset, spear  # noqa: E402
from audiorestore.bench.report import markdown_tables, write_report  # noqa: E402
from audiorestore.bench.runner import run_bench  # noqa: E402
from audiorestore.enhancer import list_methods  # noqa: E402

import devset  # noqa: E402

METRICS = ["pesq_wb", "stoi", "csig", "cbak", "covl", "si_sdr"]


def classical_methods() -> list[str]:
    """Names of every registered denoiser of :mod:`audiorestore.classical`."""
    return [c.name for c in list_methods("denoise") if c.__module__.startswith("audiorestore.classical")]


def mixture_set(data: Path, out: Path, per_group: int) -> Dataset:
    """The held-out test mixtures of ``devset.mixtures`` as a bench dataset (noise files attached)."""
    items = devset.mixtures(data, out / "data", "test", per_group=per_group)
    return Dataset("mix", tuple(items),
                   str(out / "data" / "test_mix"), "manifest")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data", type=Path)
    ap.add_argument("--out", default="bench_out/classical", type=Path)
    ap.add_argument("--methods", nargs="*", default=None, help="default: every classical method")
    ap.add_argument("--sets", nargs="*", default=["spear", "mix"], choices=["spear", "mix"])
    ap.add_argument("--per-group", type=int, default=4, help="test files per speaker group in the mixtures")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (each one thread)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    datasets = []
    if "spear" in args.sets:
        datasets.append(Dataset("spear", tuple(spear(args.data)), str(args.data), "spear"))
    if "mix" in args.sets:
        datasets.append(mixture_set(args.data, args.out, args.per_group))

    def progress(dataset: str, method: str, done: int, total: int) -> None:
        if done == total:
            print(f"{dataset:>6} {method:<16} {total:4d} items", file=sys.stderr)

    # the cache stays where earlier versions of this script kept it: OUT/<set>/<method>.jsonl
    result = run_bench(args.methods or classical_methods(), datasets, args.out, metrics=METRICS, jobs=args.jobs,
                       cache_dir=args.out, progress=progress)
    write_report(result, args.out, title="Classical denoisers: SpEAR pairs and held-out mixtures")
    for e in result.errors:
        print(f"error: {e}", file=sys.stderr)
    print(markdown_tables(result))
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
