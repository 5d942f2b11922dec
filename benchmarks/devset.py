"""Evaluation sets shared by the benchmarks, built from a data root (../shared/data) and recipes/splits.toml.

* SpEAR: the recorded noisy/clean pairs (Noisy_Recordings and Lombard; Monaural is two-talker, left out).
* Mixtures: test (or valid) speakers mixed with test (or valid) noise recordings at 0/5/10/15 dB by
  ``audiorestore degrade`` (the library's make_dataset), at 16 kHz, seeded: the same files every run.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np

from audiorestore import io
from audiorestore.bench.datasets import Item  # noqa: F401  (re-exported: the benchmarks use devset.Item)
from audiorestore.simulate import DegradeConfig, make_dataset

REPO = Path(__file__).resolve().parents[1]
SPLITS = REPO / "recipes" / "splits.toml"


def load_splits(path: Path = SPLITS) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


def split_files(root: Path, patterns: list[str]) -> list[Path]:
    files: set[Path] = set()
    for pat in patterns:
        files.update(p for p in root.glob(pat) if io.is_audio_file(p))
    return sorted(files)


def spear_pairs(root: Path) -> list[Item]:
    rows = [json.loads(line) for line in open(root / "manifest.jsonl")]
    items = []
    for r in rows:
        if r["path"].startswith("pairs/spear_16k") and r["kind"] == "pair_noisy" and r.get("clean_ref") \
                and "/Monaural/" not in r["path"]:
            items.append(Item(Path(r["path"]).stem, root / r["path"], root / r["clean_ref"]))
    return items


def _pick_speech(files: list[Path], per_group: int, seed: int) -> list[Path]:
    """A fixed, balanced subset: up to ``per_group`` files from each speaker folder/corpus."""
    groups: dict[str, list[Path]] = {}
    for f in files:
        key = f.parent.name if f.parent.name.startswith("s") and f.parent.name[1:].isdigit() else (
            f.name[:2] if "emodb" in str(f) else f.parent.name)
        groups.setdefault(key, []).append(f)
    rng = np.random.default_rng(seed)
    picked = []
    for key in sorted(groups):
        g = groups[key]
        idx = rng.permutation(len(g))[:per_group]
        picked.extend(g[i] for i in sorted(idx))
    return picked


def mixtures(root: Path, out_dir: Path, split: str = "test", per_group: int = 8, seed: int = 2026,
             snrs: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0)) -> list[Item]:
    """Build (or reuse) the mixture set of ``split`` under ``out_dir``; 16 kHz speech only (no RAVDESS)."""
    splits = load_splits()[split]
    speech = [f for f in split_files(root, splits["speech"]) if "ravdess" not in str(f)]
    speech = _pick_speech(speech, per_group, seed)
    noises = split_files(root, splits["noise"])
    stage = out_dir / f"{split}_stage"
    for sub, files in (("clean", speech), ("noise", noises)):
        d = stage / sub
        d.mkdir(parents=True, exist_ok=True)
        for f in files:
            link = d / f"{f.parent.name}__{f.name}"
            if not link.exists():
                link.symlink_to(f.resolve())
    out = out_dir / f"{split}_mix"
    cfg = DegradeConfig(snrs=list(snrs), sample_rate=16000, seed=seed)
    manifest = make_dataset(stage / "clean", stage / "noise", out, cfg)
    items = []
    for line in open(manifest):
        r = json.loads(line)
        items.append(Item(Path(r["noisy"]).stem, out / r["noisy"], out / r["clean"],
                          out / r["noise"] if r.get("noise") else None))
    return sorted(items, key=lambda i: i.name)


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description="Build the mixture dev sets (test and valid splits) for "
                                             "'audiorestore bench --dataset mix=OUT/test_mix'.")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data", help="data root")
    ap.add_argument("--out", type=Path, default=REPO / "bench_out" / "devset", help="output folder")
    ap.add_argument("--per-group", type=int, default=4, help="files per speaker group (4: the 80 files of docs/benchmarks.md)")
    args = ap.parse_args()
    for split in ("test", "valid"):
        items = mixtures(args.data, args.out, split, per_group=args.per_group)
        print(f"{split}: {len(items)} mixtures in {args.out / f'{split}_mix'}")


if __name__ == "__main__":
    main()
