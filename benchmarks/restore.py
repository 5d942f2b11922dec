"""Restore benchmark: ``audiorestore restore`` on real speech with several kinds of damage at once.

    python benchmarks/restore.py --data ../shared/data --out bench_out/restore [--files 20]

Test set: RAVDESS actors 19 and 20 (48 kHz, full band; the test speakers of recipes/splits.toml,
never trained or tuned on), ``--files`` of them spread evenly over both actors. Each is degraded, with
its own seeded generator, as an old narrow-band recording that went through a noisy channel and a
clipping converter with a ground loop:

1. a recorded test noise (recipes/splits.toml ``[test] noise``, a random audible excerpt) at 10 dB SNR;
2. the mixture band-limited at 4 kHz (order-8 Chebyshev I low-pass, zero phase) but kept at 48 kHz:
   the header says 48 kHz, the band stops at 4 kHz;
3. 50 Hz mains hum, 5 harmonics (1/k amplitudes, random phases), 20 dB below the signal;
4. hard clipping at 40 % of the peak (about 2-4 % of the samples).

Systems, all scored against the clean 48 kHz file: the degraded input; each stage of the plan the
analysis made for that file run *alone* on the degraded input (``RestoreChain`` with that stage
only: declip, dc+hum, denoise at 48 kHz, bandwidth extension); the chain built up stage by stage
(declip; + dc/hum; + denoise without bandwidth extension); and the whole chain, ``ar.restore(x, 48000,
target_rate=48000)`` exactly as the command runs it. Metrics: PESQ-wb, STOI, LSD, and DNSMOS P.835
(SIG, BAK, OVRL; non-intrusive, at 16 kHz) when the ``dnsmos`` extra is installed. Per-file rows
are cached in ``OUT/per_file.jsonl`` (a re-run resumes); ``OUT/summary.md`` and ``OUT/summary.json``
hold the tables (mean and 95 % interval half-width).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import audiorestore as ar  # noqa: E402
from audiorestore import config as cfgio  # noqa: E402
from audiorestore import io  # noqa: E402
from audiorestore.data.datasets import matches  # noqa: E402
from audiorestore.metrics import compute_all, mean_ci  # noqa: E402
from audiorestore.restoration import RestoreChain, analyse, plan_stages  # noqa: E402
from audiorestore.simulate.clipping import Clip  # noqa: E402
from audiorestore.simulate.hum import Hum  # noqa: E402
from audiorestore.simulate.lowpass import lowpass  # noqa: E402
from audiorestore.simulate.noise import AddNoise  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SR = 48000
METRICS = "pesq_wb,stoi,lsd"
#: The degradation, fixed before any run (the parameters the issue names).
DEGRADATION = {"noise_snr_db": 10.0, "lowpass_hz": 4000.0, "hum_hz": 50.0, "hum_harmonics": 5, "hum_snr_db": 20.0,
               "clip_relative": 0.4}
SYSTEMS = ["degraded", "declip alone", "dc+hum alone", "denoise alone", "bandwidth alone",
           "declip", "declip+dc+hum", "declip+dc+hum+denoise", "whole chain"]


def test_files(data: Path, count: int) -> tuple[list[Path], list[Path]]:
    """RAVDESS actors 19-20 (the test speakers) spread evenly, and the test noises."""
    splits = cfgio.load_dict(REPO / "recipes" / "splits.toml")["test"]
    speech = sorted(p for p in data.glob("speech/ravdess_48k/Actor_*/*.flac")
                    if matches(str(p.relative_to(data)), splits["speech"]))
    noise = sorted(p for p in data.glob("noise/**/*.flac") if matches(str(p.relative_to(data)), splits["noise"]))
    if not speech or not noise:
        raise SystemExit(f"no RAVDESS test speakers or test noises under {data}")
    pick = np.unique(np.linspace(0, len(speech) - 1, min(count, len(speech))).round().astype(int))
    return [speech[i] for i in pick], noise


def degrade(clean: np.ndarray, noise_files: list[Path], rng: np.random.Generator) -> np.ndarray:
    """The four degradations of the module docstring, in the order a recording chain applies them
    (the simulator's stages: parameters drawn from ``rng``, then applied)."""
    d = DEGRADATION
    stages = [AddNoise(files=tuple(str(f) for f in noise_files), snr_db=d["noise_snr_db"]),
              Hum(freq_hz=(d["hum_hz"],), harmonics=d["hum_harmonics"], snr_db=d["hum_snr_db"]),
              Clip(threshold=d["clip_relative"])]
    x = stages[0].apply(clean, SR, stages[0].sample(rng, clean.size, SR))
    x = lowpass(x, SR, d["lowpass_hz"], kind="cheby1", order=8)  # the narrow channel the mixture went through
    for stage in stages[1:]:
        x = stage.apply(x, SR, stage.sample(rng, clean.size, SR))
    return x


def dnsmos_scores(audio: np.ndarray) -> dict[str, float]:
    """DNSMOS P.835 (Reddy et al., ICASSP 2022) of ``audio`` at 48 kHz: the project's ``dnsmos_*`` metrics,
    when their extra (``audiorestore[dnsmos]``) is installed, else nothing."""
    from audiorestore.metrics.registry import list_metrics

    names = [m for m in ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl") if m in list_metrics(available_only=True)]
    return compute_all(audio, audio, SR, ",".join(names))[0] if names else {}


def score(clean: np.ndarray, out: np.ndarray) -> dict[str, float]:
    scores, failures = compute_all(clean, out, SR, METRICS)
    scores.update(dnsmos_scores(out))
    return {k: float(v) for k, v in scores.items()}


def run_file(path: Path, noise_files: list[Path], seed: int) -> list[dict]:
    clean, sr = io.read(path, mono=True)
    assert sr == SR, f"{path} is at {sr} Hz"
    clean = clean[0].astype(np.float64)
    y = degrade(clean, noise_files, np.random.default_rng(seed)).astype(np.float32)
    analysis = analyse(y, SR)
    plan = plan_stages(analysis, SR)
    by_name = {s.name: s for s in plan}

    def chain(names: list[str], x: np.ndarray) -> np.ndarray:
        return RestoreChain(plan=[by_name[n] for n in names if n in by_name])(x, SR, SR)

    outputs: dict[str, tuple[np.ndarray, float]] = {"degraded": (y, 0.0)}

    def timed(name: str, fn) -> np.ndarray:
        t = time.perf_counter()
        out = fn()
        outputs[name] = (out, time.perf_counter() - t)
        return out

    timed("declip alone", lambda: chain(["declip"], y))
    outputs["declip"] = outputs["declip alone"]
    timed("dc+hum alone", lambda: chain(["dc", "hum"], y))
    timed("denoise alone", lambda: chain(["denoise"], y))
    timed("bandwidth alone", lambda: chain(["bandwidth"], y))
    step = timed("declip+dc+hum", lambda: chain(["dc", "hum"], outputs["declip"][0]))
    timed("declip+dc+hum+denoise", lambda: chain(["denoise"], step))
    t = time.perf_counter()
    whole, report = ar.restore(y, SR, target_rate=SR)
    outputs["whole chain"] = (whole, time.perf_counter() - t)
    rows, scored = [], {}
    for name in SYSTEMS:
        out, seconds = outputs[name]
        if id(out) not in scored:  # "declip" is "declip alone": scored once; as a PCM file would hold it
            scored[id(out)] = score(clean, np.clip(np.asarray(out, np.float64), -1.0, 1.0))
        rows.append({"file": str(path.name), "system": name, "seconds": round(seconds, 3),
                     "stages": [s.name for s in report.stages], **scored[id(out)]})
    rows.append({"file": str(path.name), "system": "clean", "seconds": 0.0, "stages": [],
                 **score(clean, clean)})
    a = analysis
    rows[-1]["analysis"] = {"bandwidth_hz": a.bandwidth_hz, "snr_db": round(a.snr_db, 2),
                            "clipped_fraction": round(a.clipped_fraction, 4), "hum_hz": a.hum_hz,
                            "duration_s": round(a.duration_s, 3)}
    return rows


def summarize(rows: list[dict]) -> tuple[str, dict]:
    metrics = [m for m in ("pesq_wb", "stoi", "lsd", "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl") if m in rows[0]]
    files = sorted({r["file"] for r in rows})
    lines = [f"{len(files)} files (RAVDESS actors 19-20, 48 kHz); degradation: {json.dumps(DEGRADATION)}", "",
             "| system | " + " | ".join(metrics) + " | s/file |", "|---" * (len(metrics) + 2) + "|"]
    table: dict[str, dict] = {}
    for system in SYSTEMS + ["clean"]:
        sel = [r for r in rows if r["system"] == system]
        cells, entry = [], {}
        for m in metrics:
            ci = mean_ci([r[m] for r in sel if m in r and np.isfinite(r[m])])
            entry[m] = {"mean": ci.mean, "half_width": ci.half_width}
            cells.append(f"{ci.mean:.3f} ± {ci.half_width:.3f}")
        secs = float(np.mean([r["seconds"] for r in sel]))
        entry["seconds"] = secs
        table[system] = entry
        lines.append(f"| {system} | " + " | ".join(cells) + f" | {secs:.2f} |")
    analyses = [r["analysis"] for r in rows if r["system"] == "clean"]
    stage_counts: dict[str, int] = {}
    for r in rows:
        if r["system"] == "whole chain":
            for s in r["stages"]:
                stage_counts[s] = stage_counts.get(s, 0) + 1
    lines += ["", "Stages planned by the analysis (files): " + ", ".join(f"{k} {v}" for k, v in stage_counts.items()),
              "Measured bandwidth (Hz): " + ", ".join(sorted({f"{a['bandwidth_hz']:g}" for a in analyses})),
              f"Estimated SNR (dB): median {np.median([a['snr_db'] for a in analyses]):.1f}; clipped fraction: "
              f"median {100 * np.median([a['clipped_fraction'] for a in analyses]):.2f}%; hum found in "
              f"{sum(a['hum_hz'] is not None for a in analyses)}/{len(analyses)}"]
    return "\n".join(lines), {"files": files, "degradation": DEGRADATION, "table": table, "stages": stage_counts}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=Path("bench_out/restore"))
    ap.add_argument("--files", type=int, default=20)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    cache = args.out / "per_file.jsonl"
    rows = [json.loads(line) for line in cache.read_text().splitlines()] if cache.exists() else []
    done = {r["file"] for r in rows}
    speech, noise = test_files(args.data, args.files)
    t0 = time.perf_counter()
    for i, path in enumerate(speech):
        if path.name in done:
            continue
        new = run_file(path, noise, seed=1000 + i)
        rows += new
        with open(cache, "a") as f:
            f.write("".join(json.dumps(r) + "\n" for r in new))
        print(f"{i + 1}/{len(speech)} {path.name} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    text, data = summarize(rows)
    (args.out / "summary.md").write_text(text + "\n")
    (args.out / "summary.json").write_text(json.dumps(data, indent=2) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
