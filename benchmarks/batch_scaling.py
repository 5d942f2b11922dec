"""Throughput of the batch commands with 1 and 2 worker processes (``-j``), and audio hours per core-hour.

Builds a temporary folder of short noisy files from the shared data (16 kHz speech from
``speech/emodb_16k`` and ``speech/grid_16k`` mixed with ``noise/speechbrain`` and
``noise/speech_commands`` at 0-15 dB SNR), then times :func:`audiorestore.batch.denoise_files` with the
default denoiser and :func:`audiorestore.batch.upsample_files` 16 -> 48 kHz with the default upsampler
(``auto``: the shipped ``upsample_16to48``), for each ``--jobs`` value, best of ``--repeats`` runs
(interleaved, so a burst of load from other processes hits every setting alike). With ``--capacity``
the other shipped upsamplers (8 -> 16 kHz, 22.05 -> 44.1 kHz) are timed on one worker too.

    OMP_NUM_THREADS=1 python benchmarks/batch_scaling.py --data ../shared/data
    OMP_NUM_THREADS=1 python benchmarks/batch_scaling.py --data ../shared/data --files 300 --seconds 2 \\
        --up-files 40 --up-seconds 2 --jobs 1 2 --repeats 2 --capacity --json scaling.json

Figures: files/s, audio hours processed per wall-clock hour, the speedup over one worker, and the CPU
time the run used (this process and its workers): "cores busy" (CPU seconds per wall second) and audio
hours per CPU-hour. The machine's load average is printed with them: on a shared machine other
processes take cores too, the speedup comes out pessimistic, and the CPU figures show whether the
workers got the cores (cores busy near -j) and how much the parallel run costs in CPU (audio hours per
CPU-hour equal for every -j: no overhead).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from audiorestore import io  # noqa: E402
from audiorestore.api import default_denoise_method  # noqa: E402
from audiorestore.batch import denoise_files, upsample_files  # noqa: E402
from audiorestore.dsp import resample  # noqa: E402
from audiorestore.simulate.noise import mix_at_snr  # noqa: E402

SPEECH = ("speech/emodb_16k", "speech/grid_16k")
NOISE = ("noise/speechbrain", "noise/speech_commands")


def make_folder(data: Path, out: Path, n: int, seconds: float, rate: int, seed: int = 0) -> float:
    """``n`` noisy files of at most ``seconds`` at ``rate`` in ``out``; returns the seconds of audio."""
    rng = np.random.default_rng(seed)
    speech = [f for d in SPEECH for f in io.find_audio(data / d)]
    noises = [io.read(f, sample_rate=16000, mono=True)[0][0] for d in NOISE for f in io.find_audio(data / d)]
    if len(speech) < n:
        raise SystemExit(f"only {len(speech)} speech files under {data}; use --files {len(speech)} or fewer")
    total = 0.0
    for k, f in enumerate(speech[:n]):
        x, _ = io.read(f, sample_rate=16000, mono=True)
        x = x[0, : int(seconds * 16000)]
        noise = noises[k % len(noises)]
        start = int(rng.integers(0, max(noise.size - x.size, 1)))
        seg = np.resize(noise[start:], x.size)
        noisy, _ = mix_at_snr(x.astype(np.float64), seg.astype(np.float64), float(rng.uniform(0, 15)))
        if rate != 16000:
            noisy = resample(noisy, 16000, rate)
        noisy = noisy * min(1.0, 0.99 / max(float(np.max(np.abs(noisy))), 1e-9))
        io.write(out / f"f{k:04d}.wav", noisy[None].astype(np.float32), rate, subtype="PCM_16")
        total += noisy.size / rate
    return total


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the worker processes, once reaped)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def time_run(task: str, folder: Path, out: Path, jobs: int, method: str | None) -> tuple[float, float, int]:
    """``(wall seconds, CPU seconds of this process and its workers, files)`` of one batch run."""
    pairs = [(f, out / f.name) for f in io.find_audio(folder)]
    shutil.rmtree(out, ignore_errors=True)
    c0 = cpu_seconds()
    t0 = time.perf_counter()
    if task == "denoise":
        results = denoise_files(pairs, method, jobs=jobs)
    else:
        rate = {"16to48": 48000, "8to16": 16000, "22to44": 44100}[task]
        results = upsample_files(pairs, rate, method, jobs=jobs)
    elapsed = time.perf_counter() - t0
    cpu = cpu_seconds() - c0
    failed = [r.error for r in results if r.status != "done"]
    if failed:
        raise SystemExit(f"{len(failed)} file(s) failed: {failed[0]}")
    return elapsed, cpu, len(results)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data", help="the shared data folder")
    ap.add_argument("--files", type=int, default=300, help="denoising: number of files")
    ap.add_argument("--seconds", type=float, default=2.0, help="denoising: longest file, seconds")
    ap.add_argument("--up-files", type=int, default=40, help="upsampling: number of files")
    ap.add_argument("--up-seconds", type=float, default=2.0, help="upsampling: longest file, seconds")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--capacity", action="store_true", help="also time the other shipped upsamplers on one worker")
    ap.add_argument("--json", default=None, help="write the figures here")
    args = ap.parse_args()
    data = Path(args.data)
    denoiser = default_denoise_method()
    rows = []
    with tempfile.TemporaryDirectory(prefix="batch_scaling_") as tmp:
        root = Path(tmp)
        tasks = [("denoise", make_folder(data, root / "den_in", args.files, args.seconds, 16000), root / "den_in",
                  denoiser, args.jobs),
                 ("16to48", make_folder(data, root / "up_in", args.up_files, args.up_seconds, 16000), root / "up_in",
                  None, args.jobs)]
        if args.capacity:
            tasks += [("8to16", make_folder(data, root / "nb_in", args.up_files, args.up_seconds, 8000),
                       root / "nb_in", None, [1]),
                      ("22to44", make_folder(data, root / "p_in", args.up_files, args.up_seconds, 22050),
                       root / "p_in", None, [1])]
        for task, audio_s, folder, method, jobs_list in tasks:
            times: dict[int, list[float]] = {j: [] for j in jobs_list}
            cpus: dict[int, list[float]] = {j: [] for j in jobs_list}
            loads: list[str] = []
            n = 0
            for _ in range(args.repeats):
                for j in jobs_list:
                    elapsed, cpu, n = time_run(task, folder, root / f"out_{task}_{j}", j, method)
                    times[j].append(elapsed)
                    cpus[j].append(cpu)
                    loads.append(load())
            base = min(times[jobs_list[0]]) * jobs_list[0]
            for j in jobs_list:
                best = min(times[j])
                cpu = cpus[j][times[j].index(best)]
                hph = audio_s / best  # audio hours per wall-clock hour (seconds per second)
                rows.append({"task": task, "method": method or "auto", "files": n, "audio_s": round(audio_s, 1),
                             "jobs": j, "seconds": [round(t, 2) for t in times[j]], "best_s": round(best, 2),
                             "files_per_s": round(n / best, 2), "audio_h_per_h": round(hph, 1),
                             "audio_h_per_core_h": round(hph / j, 1), "speedup": round(base / best, 2),
                             "cpu_s": round(cpu, 2), "cores_busy": round(cpu / best, 2),
                             "audio_h_per_cpu_h": round(audio_s / cpu, 1), "load_avg": loads})
                print(f"{task:8s} {method or 'auto':8s} -j {j}: {n} files, {audio_s / 60:.1f} min of audio in "
                      f"{best:.2f} s (runs {', '.join(f'{t:.2f}' for t in times[j])}): {n / best:.1f} files/s, "
                      f"{hph:.0f} h/h, {hph / j:.0f} h per core-hour, speedup {base / best:.2f}x; "
                      f"{cpu:.1f} CPU s ({cpu / best:.2f} cores busy), {audio_s / cpu:.0f} h per CPU-hour", flush=True)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"uptime: {uptime}  ({os.cpu_count()} cores)")
    print("\n| task | method | files | -j | best s | files/s | audio h per h | speedup | cores busy | "
          "audio h per CPU-h |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['task']} | {r['method']} | {r['files']} | {r['jobs']} | {r['best_s']} | {r['files_per_s']} | "
              f"{r['audio_h_per_h']} | {r['speedup']}x | {r['cores_busy']} | {r['audio_h_per_cpu_h']} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "uptime": uptime, "cores": os.cpu_count()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
