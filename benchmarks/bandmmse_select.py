"""Choose a bandmmse checkpoint on validation data and draw its learning curve (issue 16).

Scores the classical default (``logmmse``), the untrained model (step 0: the causal log-MMSE it
starts from) and every kept snapshot ``checkpoints/step_NNNNNNN.pt`` of a training run (every
``--every`` steps) on two validation sets, never on test data:

* ``p287``: the six recorded VoiceBank-DEMAND pairs of ``pairs/vbdemand_p287_16k`` (whole files);
* ``mix``: the run's own held-out mixtures (held-out speakers, noises and rooms; the fixed set the
  trainer validates on, rebuilt from the run's resolved config).

Metrics PESQ-wb, STOI and COVL (the shipping rule: beat log-MMSE on all three on the recorded pairs).
Writes ``select.json`` (per-file scores of every method) and, with ``--plot``, a learning-curve PNG
(PESQ-wb, STOI and COVL against steps for this run and any --compare runs, log-MMSE as lines).

    python benchmarks/bandmmse_select.py experiments/denoise_bandmmse --root ../shared/data \\
        --every 100 --mix-count 24 --plot docs/images/learning_curve.png [--compare LABEL=OTHER/select.json]

Results are cached in ``select.json`` by name, so re-running scores only new snapshots.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path

import numpy as np
import torch

from audiorestore import io
from audiorestore import metrics as M
from audiorestore.data.datasets import paired_files
from audiorestore.enhancer import get_method
from audiorestore.models.registry import build_model
from audiorestore.train.checkpoint import save_model
from audiorestore.train.experiment import family_config, load_experiment, resolve
from audiorestore.train.trainer import build_datasets

METRICS = ["pesq_wb", "stoi", "covl"]
log = logging.getLogger("bandmmse_select")


def validation_sets(exp: Path, root: str, mix_count: int | None = None) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """``{"p287": [(noisy, clean)...], "mix": [...]}`` as float arrays at 16 kHz."""
    cfg = resolve(load_experiment(exp / "config.toml", [f"data.root={root}"]))
    sr = cfg.data.sample_rate
    seg = int(round(cfg.data.valid_segment_s * sr))
    _, valid = build_datasets(cfg, seg, seg)
    mix = [(n[0].numpy(), c[0].numpy()) for n, c in valid.parts[0]][:mix_count]  # held-out mixtures (first part)
    pairs = [(io.read(n.path, sample_rate=sr, mono=True)[0][0], io.read(c.path, sample_rate=sr, mono=True)[0][0])
             for n, c in paired_files(root, cfg.data.valid_paired)]
    return {"p287": pairs, "mix": mix}


def score(method, sets: dict[str, list[tuple[np.ndarray, np.ndarray]]]) -> dict[str, list[dict[str, float]]]:
    out: dict[str, list[dict[str, float]]] = {}
    for name, items in sets.items():
        rows = []
        for noisy, clean in items:
            if not np.any(clean):
                continue
            est = method(noisy.astype(np.float64), 16000)
            rows.append(M.compute_all(clean.astype(np.float64), est, 16000, METRICS)[0])
        out[name] = rows
    return out


def means(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.nanmean([r[k] for r in rows])) for k in METRICS}


def snapshots(exp: Path, every: int) -> list[tuple[int, Path]]:
    found = []
    for p in sorted((exp / "checkpoints").glob("step_*.pt")):
        step = int(re.findall(r"\d+", p.stem)[0])
        if step % every == 0:
            found.append((step, p))
    return found


def plot(runs: dict[str, dict[str, dict]], path: Path) -> None:
    """PESQ-wb, STOI and COVL against training steps for each run (``{label: select.json content}``):
    the recorded p287 pairs solid, the held-out mixtures dotted, log-MMSE as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    names = {"pesq_wb": "PESQ-wb", "stoi": "STOI", "covl": "COVL"}
    base = next(iter(runs.values()))["logmmse"]["mean"]
    for ax, metric in zip(axes, METRICS):
        for label, results in runs.items():
            steps = sorted(int(k.split("@")[1]) for k in results if k.startswith("bandmmse@"))
            line = ax.plot(steps, [results[f"bandmmse@{s}"]["mean"]["p287"][metric] for s in steps], "o-",
                           label=f"{label}: p287")[0]
            ax.plot(steps, [results[f"bandmmse@{s}"]["mean"]["mix"][metric] for s in steps], "s:",
                    color=line.get_color(), label=f"{label}: held-out mixtures")
        ax.axhline(base["p287"][metric], color="k", lw=1, label="logmmse: p287")
        ax.axhline(base["mix"][metric], color="k", lw=1, ls=":", label="logmmse: held-out mixtures")
        ax.set_xlabel("training step (batch 16 x 4 s)")
        ax.set_ylabel(names[metric])
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("experiment", type=Path)
    ap.add_argument("--root", required=True, help="data root (../shared/data)")
    ap.add_argument("--every", type=int, default=500, help="score snapshots whose step is a multiple of this")
    ap.add_argument("--extra", nargs="*", default=[], help="more checkpoints to score (e.g. best.pt)")
    ap.add_argument("--mix-count", type=int, default=None, help="score only the first N held-out mixtures")
    ap.add_argument("--plot", type=Path, default=None, help="learning-curve PNG to write")
    ap.add_argument("--compare", nargs="*", default=[], metavar="LABEL=SELECT_JSON",
                    help="other runs' select.json to draw in the same plot")
    ap.add_argument("--label", default="this run", help="this run's label in the plot")
    ap.add_argument("--out", type=Path, default=None, help="JSON (default: EXPERIMENT/select.json)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)
    out = args.out or args.experiment / "select.json"
    results: dict[str, dict] = json.loads(out.read_text()) if out.exists() else {}  # resumable
    sets = validation_sets(args.experiment, args.root, args.mix_count)
    cfg = load_experiment(args.experiment / "config.toml")
    init = args.experiment / "checkpoints" / "init_step0.pt"
    if not init.exists():  # the untrained model: the causal log-MMSE every run starts from
        fc = family_config(cfg.model)
        save_model(init, build_model(cfg.model.family, fc), cfg.model.family, fc, sample_rate=cfg.data.sample_rate)
    todo = [("logmmse", None), ("bandmmse@0", init)]
    todo += [(f"bandmmse@{s}", p) for s, p in snapshots(args.experiment, args.every)]
    todo += [(f"extra:{Path(p).name}", Path(p)) for p in args.extra]
    for name, ckpt in todo:
        if name in results and not name.startswith("extra:"):
            continue
        method = get_method("logmmse") if ckpt is None else get_method("bandmmse", checkpoint=str(ckpt))
        rows = score(method, sets)
        results[name] = {"checkpoint": str(ckpt) if ckpt else None, "rows": rows,
                         "mean": {k: means(v) for k, v in rows.items()}}
        m = results[name]["mean"]
        log.info("%-22s p287 %s | mix %s", name, " ".join(f"{k}={m['p287'][k]:.3f}" for k in METRICS),
                 " ".join(f"{k}={m['mix'][k]:.3f}" for k in METRICS))
        out.write_text(json.dumps(results, indent=1))
    base = results["logmmse"]["mean"]["p287"]
    ok = [n for n, r in results.items() if n != "logmmse" and all(r["mean"]["p287"][k] > base[k] for k in METRICS)]
    log.info("beats logmmse on p287 on %s: %s", "/".join(METRICS), ", ".join(ok) or "none")
    if args.plot:
        runs = {args.label: results}
        for item in args.compare:
            label, _, other = item.partition("=")
            runs[label] = json.loads(Path(other).read_text())
        plot(runs, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
