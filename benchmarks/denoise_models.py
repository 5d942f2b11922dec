"""Every neural denoising family, trained on a fixed CPU budget, on SpEAR recorded pairs and held-out mixtures.

    python benchmarks/denoise_models.py --data ../shared/data --out bench_out/models --jobs 2
    python benchmarks/denoise_models.py --data ../shared/data --out bench_out/models --families fcn --minutes 20

Each trained family (``recipes/denoise_<family>.toml``) is trained in ``OUT/<family>`` for a budget of
CPU minutes on one thread (``--minutes``, else :data:`MINUTES`), in chunks of ``trainer.eval_every``
steps: the run stops at the first validation after the budget is spent. The checkpoint is chosen on the
``[valid]`` split of recipes/splits.toml (``trainer.best_metric``, PESQ-wb); the ``[test]`` sets are only
scored. ``dfl`` first trains its loss network (``OUT/lossnet``) on the bundled data with every
valid/test/never_train file removed from the manifest, and balances the layer weights on training
examples. ``dnp`` fits a network to each file (no training): it runs on a fixed subset of both sets
(every ``--dnp-every``-th file, at most ``DNP_MAX_FILES``), compared with the noisy input on the same subset.

Metrics: PESQ-wb, STOI, SI-SDR (means with 95% intervals) on SpEAR (Noisy_Recordings + Lombard pairs)
and on the mixture test set of benchmarks/devset.py; parameters, multiply-accumulates per second of
audio (models.profiling) and the CPU real-time factor on one thread (enhancer time / audio duration,
summed over the files). Everything is cached (``OUT/<family>/budget.json``, ``OUT/<set>/<method>.jsonl``,
``OUT/<family>/stats.json``): re-running resumes and skips what is finished. Writes ``OUT/summary.md``
and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from audiorestore import io  # noqa: E402
from audiorestore.metrics import compute_all, mean_ci  # noqa: E402

import devset  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
METRICS = ["pesq_wb", "stoi", "si_sdr"]
TRAINED = ("dae", "rdae", "ddae_mel", "fcn", "segan", "wavenet", "dfl", "crm", "nmmse")
FAMILIES = (*TRAINED, "dnp")
#: CPU minutes (one thread) per family, as in the table of docs/benchmarks.md (the budget is checked every 100 steps).
MINUTES = {"dae": 3.0, "rdae": 1.0, "ddae_mel": 1.0, "crm": 1.0, "nmmse": 2.0, "fcn": 5.0, "segan": 75.0,
           "wavenet": 16.0, "dfl": 4.0}
LOSSNET_STEPS = 400
DNP_ITERATIONS = 200

log = logging.getLogger("denoise_models")


def _read_json(path: Path, default: dict | None = None) -> dict:
    return json.loads(path.read_text()) if path.exists() else dict(default or {})


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


# ------------------------------------------------------------------------------------- training
def held_out_paths(root: Path) -> set[str]:
    """Data-relative paths of every valid, test and never_train file of recipes/splits.toml."""
    sp = devset.load_splits()
    pats = [p for sec in ("valid", "test") for k in ("speech", "noise", "pairs") for p in sp[sec].get(k, [])]
    pats += sp["never_train"]["paths"]
    return {str(p.relative_to(root)) for p in devset.split_files(root, pats)}


def lossnet_data(root: Path, out: Path) -> Path:
    """A data folder for the loss network: links to ``root``'s folders and its manifest without the
    held-out files (the loss network must not hear the test speakers or noises either)."""
    held = held_out_paths(root)
    out.mkdir(parents=True, exist_ok=True)
    for d in root.iterdir():
        if d.is_dir() and not (out / d.name).exists():
            (out / d.name).symlink_to(d.resolve())
    with open(root / "manifest.jsonl") as src, open(out / "manifest.jsonl", "w") as dst:
        for line in src:
            if json.loads(line)["path"] not in held:
                dst.write(line)
    return out


def train_lossnet(root: Path, out: Path) -> Path:
    from audiorestore.train.lossnet import train_loss_network

    path = out / "lossnet" / "lossnet.pt"
    if path.exists() and _read_json(out / "lossnet" / "config.json").get("steps") == LOSSNET_STEPS:
        return path
    t0 = time.process_time()
    path = train_loss_network(lossnet_data(root, out / "lossnet_data"), out / "lossnet", LOSSNET_STEPS, seed=0,
                              eval_every=200)
    log.info("loss network: %.1f CPU minutes", (time.process_time() - t0) / 60)
    return path


def dfl_weights(cfg, checkpoint: Path, n_batches: int = 4) -> list[float]:
    """The deep feature loss's layer weights (Germain et al. 2019, Sec. 2.3): 1 / the layer's mean L1
    distance between noisy and clean training examples."""
    import torch

    from audiorestore.losses.deep_feature import DeepFeatureLoss
    from audiorestore.train.trainer import Trainer

    trainer = Trainer(cfg)
    train, _ = trainer.datasets()
    bs = cfg.data.batch_size
    pairs = []
    for b in range(n_batches):
        items = [train[b * bs + i] for i in range(bs)]
        pairs.append((torch.stack([n for n, _ in items]), torch.stack([c for _, c in items])))
    loss = DeepFeatureLoss(str(checkpoint), n_layers=int(cfg.loss.params["deep_feature"].get("n_layers", 6)))
    return [round(float(w), 5) for w in loss.calibrate(pairs)]


def family_config(family: str, root: Path, out: Path, extra: list[str] | None = None):
    from audiorestore.train.experiment import load_experiment

    overrides = [f"data.root={root}", f"out_dir={out / family}", "data.num_workers=0", "trainer.device=cpu",
                 *(extra or [])]
    return load_experiment(REPO / "recipes" / f"denoise_{family}.toml", overrides)


def train_family(family: str, root: Path, out: Path, minutes: float) -> Path:
    """Train ``family`` for ``minutes`` CPU minutes (resuming); return its best (valid-selected) checkpoint."""
    import torch

    from audiorestore.train.trainer import Trainer

    torch.set_num_threads(1)
    budget_path = out / family / "budget.json"
    budget = _read_json(budget_path, {"cpu_s": 0.0, "step": 0, "done": False})
    best = out / family / "checkpoints" / "best.pt"
    if budget["done"] and best.exists() and budget.get("minutes") == minutes:
        return best
    extra: list[str] = []
    if family == "dfl":
        ckpt = train_lossnet(root, out)
        extra.append(f"loss.params.deep_feature.checkpoint={ckpt}")
        if "dfl_weights" not in budget:
            budget["dfl_weights"] = dfl_weights(family_config(family, root, out / "_calibration", extra), ckpt)
            _write_json(budget_path, budget)
        extra.append(f"loss.params.deep_feature.weights={budget['dfl_weights']}")
    cfg = family_config(family, root, out, extra)
    trainer = Trainer(cfg)
    chunk = cfg.trainer.eval_every
    budget["minutes"] = minutes
    while budget["cpu_s"] < minutes * 60 and budget["step"] < cfg.trainer.steps:
        t0 = time.process_time()
        trainer.fit(stop_at=(budget["step"] // chunk + 1) * chunk)
        budget["cpu_s"] += time.process_time() - t0
        budget["step"] = trainer.step
        _write_json(budget_path, budget)
        log.info("%s: step %d, %.1f of %.1f CPU minutes", family, trainer.step, budget["cpu_s"] / 60, minutes)
    budget["done"] = True
    metrics = _read_json(out / family / "metrics.json")
    budget["best"] = metrics.get("best", {})
    _write_json(budget_path, budget)
    return best


# ----------------------------------------------------------------------------------- evaluation
def load_pair(item: devset.Item, sample_rate: int = 16000) -> tuple[np.ndarray, np.ndarray]:
    clean, _ = io.read(item.clean, sample_rate=sample_rate, mono=True)
    noisy, _ = io.read(item.noisy, sample_rate=sample_rate, mono=True)
    n = min(clean.shape[-1], noisy.shape[-1])
    return clean[0, :n].astype(np.float64), noisy[0, :n].astype(np.float64)


def make_enhancer(method: str, out: Path):
    from audiorestore.enhancer import get_method

    if method == "dnp":
        return get_method("dnp", iterations=DNP_ITERATIONS)
    return get_method("neural", checkpoint=str(out / method / "checkpoints" / "best.pt"))


def score_set(name: str, items: list[devset.Item], method: str, out: Path, cache_name: str | None = None) -> None:
    """Enhance and score ``items`` with ``method`` (``noisy``: the input itself), cached per item."""
    import torch

    torch.set_num_threads(1)
    cache = out / name / f"{cache_name or method}.jsonl"
    cache.parent.mkdir(parents=True, exist_ok=True)
    done = {json.loads(line)["item"] for line in open(cache)} if cache.exists() else set()
    todo = [it for it in items if it.name not in done]
    if not todo:
        return
    enh = None if method == "noisy" else make_enhancer(method, out)
    t_all = time.perf_counter()
    with open(cache, "a") as f:
        for it in todo:
            clean, noisy = load_pair(it)
            if enh is None:
                est, seconds = noisy, 0.0
            else:
                t = time.perf_counter()
                est = np.asarray(enh(noisy, 16000), dtype=np.float64).reshape(-1)[: noisy.size]
                seconds = time.perf_counter() - t
            scores, failures = compute_all(clean, est, 16000, METRICS)
            f.write(json.dumps({"item": it.name, "seconds": seconds, "duration": noisy.size / 16000,
                                **{k: (None if not np.isfinite(v) else float(v)) for k, v in scores.items()},
                                "failures": failures}) + "\n")
            f.flush()
    log.info("%s %s: %d items in %.1f s", name, method, len(todo), time.perf_counter() - t_all)


def model_stats(family: str, out: Path) -> dict:
    """Parameters, MACs per second of audio and the one-thread CPU real-time factor of the best checkpoint."""
    from audiorestore.models.profiling import macs_per_second, real_time_factor
    from audiorestore.train.checkpoint import load_model

    path = out / family / "stats.json"
    if path.exists():
        return _read_json(path)
    model, meta = load_model(out / family / "checkpoints" / "best.pt")
    stats = {"params": int(sum(p.numel() for p in model.parameters())),
             "macs_per_s": float(macs_per_second(model, meta["sample_rate"])),
             "rtf_model": float(real_time_factor(model, meta["sample_rate"], seconds=10.0, threads=1)),
             "config": meta.get("config")}
    _write_json(path, stats)
    return stats


DNP_MAX_FILES = 5  # per set: one file costs DNP_ITERATIONS forward/backward passes per 10 s block


def dnp_subset(items: list[devset.Item], every: int) -> list[devset.Item]:
    """A fixed subset for the per-file fitting of dnp: every ``every``-th file, at most DNP_MAX_FILES."""
    return items[::every][:DNP_MAX_FILES]


def run_family(family: str, root: Path, out: Path, minutes: float | None, dnp_every: int) -> None:
    sets = eval_sets(root, out)
    if family == "dnp":
        for name, items in sets.items():
            sub = dnp_subset(items, dnp_every)
            score_set(name, sub, "noisy", out, cache_name="noisy_dnp_subset")
            score_set(name, sub, "dnp", out)
        return
    train_family(family, root, out, minutes or MINUTES[family])
    model_stats(family, out)
    for name, items in sets.items():
        score_set(name, items, family, out)


def eval_sets(root: Path, out: Path) -> dict[str, list[devset.Item]]:
    return {"spear": devset.spear_pairs(root), "mix": devset.mixtures(root, out / "data", "test", per_group=4)}


# -------------------------------------------------------------------------------------- summary
def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in open(path)] if path.exists() else []


def summarize(out: Path, families: list[str]) -> str:
    table: dict = {}
    sets = ["spear", "mix"]
    head = ["method"] + [f"{s} {m}" for s in sets for m in METRICS] + ["params", "MMAC/s", "CPU RTF", "CPU min",
                                                                        "steps"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for method in ["noisy", *families, *(["noisy_dnp_subset"] if "dnp" in families else [])]:
        cells, entry = [], {}
        for s in sets:
            rows = _rows(out / s / f"{method}.jsonl")
            if method == "noisy_dnp_subset":  # the noisy input on exactly the files dnp finished
                dnp_done = {r["item"] for r in _rows(out / s / "dnp.jsonl")}
                rows = [r for r in rows if r["item"] in dnp_done]
            entry[s] = {"n": len(rows)}
            for m in METRICS:
                ci = mean_ci([r[m] if r[m] is not None else float("nan") for r in rows])
                entry[s][m] = {"mean": ci.mean, "ci95": ci.half_width}
                cells.append("-" if not rows else f"{ci.mean:.2f} ± {ci.half_width:.2f}" if m == "si_sdr"
                             else f"{ci.mean:.3f} ± {ci.half_width:.3f}")
            dur = sum(r["duration"] for r in rows)
            entry[s]["rtf"] = sum(r["seconds"] for r in rows) / dur if dur else float("nan")
        stats = _read_json(out / method / "stats.json")
        budget = _read_json(out / method / "budget.json")
        rtf = np.nanmean([entry[s]["rtf"] for s in sets]) if method not in ("noisy", "noisy_dnp_subset") else None
        entry.update({"params": stats.get("params"), "macs_per_s": stats.get("macs_per_s"), "rtf": rtf,
                      "cpu_minutes": budget.get("cpu_s", 0) / 60 if budget else None, "steps": budget.get("step"),
                      "best": budget.get("best")})
        table[method] = entry
        label = {"noisy": "noisy input", "noisy_dnp_subset": "noisy input (dnp subset)"}.get(method, method)
        extra = ["-"] * 5 if rtf is None else [
            f"{stats['params'] / 1e3:.0f} k" if stats else "-",
            f"{stats['macs_per_s'] / 1e6:.0f}" if stats else "-", f"{rtf:.3f}",
            f"{budget['cpu_s'] / 60:.1f}" if budget else "0 (per file)", str(budget.get("step", "-")) if budget else "-"]
        lines.append(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(extra) + " |")
    n = {s: len(_rows(out / s / "noisy.jsonl")) for s in sets}
    nd = {s: len(_rows(out / s / "dnp.jsonl")) for s in sets}
    lines.append(f"\nSpEAR: {n['spear']} pairs; mixtures: {n['mix']} test files. dnp: {nd['spear']} SpEAR and "
                 f"{nd['mix']} mixture files. Mean ± 95% interval half-width. CPU RTF: one thread.")
    _write_json(out / "summary.json", table)
    text = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(text)
    return text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data", type=Path)
    ap.add_argument("--out", default="bench_out/models", type=Path)
    ap.add_argument("--families", nargs="*", default=list(FAMILIES), choices=FAMILIES)
    ap.add_argument("--minutes", type=float, default=None, help="CPU minutes per family (default: MINUTES)")
    ap.add_argument("--jobs", type=int, default=2, help="families trained at once (one thread each)")
    ap.add_argument("--dnp-every", type=int, default=8, help="dnp: every n-th file of each set")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    root, out = args.data.resolve(), args.out
    out.mkdir(parents=True, exist_ok=True)
    sets = eval_sets(root, out)  # build the mixture set once, before the workers share it
    for name, items in sets.items():
        score_set(name, items, "noisy", out)
    if len(args.families) == 1 or args.jobs <= 1:
        for fam in args.families:
            run_family(fam, root, out, args.minutes, args.dnp_every)
    else:
        (out / "logs").mkdir(exist_ok=True)

        def child(fam: str) -> int:
            cmd = [sys.executable, __file__, "--data", str(root), "--out", str(out), "--families", fam,
                   "--jobs", "1", "--dnp-every", str(args.dnp_every)]
            if args.minutes is not None:
                cmd += ["--minutes", str(args.minutes)]
            env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
            with open(out / "logs" / f"{fam}.log", "a") as logf:
                rc = subprocess.call(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env)
            log.info("%s finished (exit %d)", fam, rc)
            return rc

        with ThreadPoolExecutor(args.jobs) as pool:
            codes = list(pool.map(child, args.families))
        if any(codes):
            log.error("failed: %s", [f for f, c in zip(args.families, codes) if c])
    print(summarize(out, [f for f in FAMILIES if f in args.families or (out / f).exists()
                          or (out / "spear" / f"{f}.jsonl").exists()]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
