"""Train the spectral-envelope corrector of a super-resolution checkpoint (audiorestore.superres.envelope)
and write the checkpoint with it inside.

    python recipes/train_envelope.py experiments/default_upsample_16to48_lsd3/checkpoints/best.pt \\
        --data ../shared/data --out experiments/envelope_16to48
    python recipes/ship.py experiments/envelope_16to48/best.pt upsample_16to48 --default \\
        --param keep_input_band=0.7 --description ... --license ...

(The shipped corrector was trained on the shipped third-stage network, named ``upsample_16to48`` then;
the script ignores any corrector the input checkpoint already has, so it also retrains the shipped
file's. About 10 minutes on two CPU threads: 5 to cache the network's outputs, 5 to train.)

Training pairs: full-band training files (RAVDESS actors 1-16 by recipes/splits.toml: every
``--corpus`` file that is neither valid, test nor never_train), each band-limited as the network was
trained (half with the protocol filter, half with a random filter family, order, ripple and edge; a
random level in -6..+12 dB) and upsampled by the checkpoint with ``--keep-input-band`` (its shipped
setting); the STFT power of that output and of the original are cached in ``OUT/cache.npz`` (a re-run
reuses it). The corrector learns the log-spectral distance itself (Adam, cosine schedule) on random
crops of ``--crop`` frames; every ``--eval-every`` steps it is scored on the validation files (protocol
filter, their own level) and the best state is kept. ``OUT/best.pt`` is the input checkpoint plus
``pkg["envelope"]``; ``OUT/history.jsonl`` holds the curve. No test file is read.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from audiorestore import io  # noqa: E402
from audiorestore.data.datasets import matches  # noqa: E402
from audiorestore.data.superres import PROTOCOL_FILTER, decimate_with, random_filter_stage  # noqa: E402
from audiorestore.dsp.stft import stft  # noqa: E402
from audiorestore.metrics.spectral import LSD_FLOOR  # noqa: E402
from audiorestore.registry import resolve  # noqa: E402
from audiorestore.simulate.noise import colored_noise  # noqa: E402
from audiorestore.superres import upsampler_from_checkpoint  # noqa: E402
from audiorestore.superres.envelope import EnvelopeConfig, EnvelopeNet, envelope_lsd_loss  # noqa: E402
from audiorestore.train.checkpoint import load_package  # noqa: E402
from audiorestore.train.experiment import DataSection, apply_splits  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def split_files(root: Path, corpus: list[str], valid: list[str] | None = None,
                exclude: list[str] | None = None) -> tuple[list[Path], list[Path]]:
    """(train, valid) files of ``corpus`` (globs under ``root``): by recipes/splits.toml, or by the
    ``valid`` and ``exclude`` glob patterns (relative to ``root``) where given."""
    splits = apply_splits(DataSection(splits=str(REPO / "recipes" / "splits.toml")))
    valid_pat, held = splits.valid_clean, splits.exclude
    if valid is not None:
        valid_pat, held = list(valid), list(exclude or [])
    files = sorted({f for pattern in corpus for f in root.glob(pattern)})
    rel = [f.relative_to(root).as_posix() for f in files]
    valid = [f for f, r in zip(files, rel) if matches(r, valid_pat)]
    train = [f for f, r in zip(files, rel) if not matches(r, [*valid_pat, *held])]
    return train, valid


def spectra(up, ref: np.ndarray, rate: int, in_rate: int, params: dict, n_fft: int, hop: int):
    """(output power, reference log power), each (F, N) float32."""
    low = decimate_with(ref, rate, in_rate, params)
    est = up.upsample(low[None].astype(np.float32), in_rate, rate)[0].astype(np.float64)
    e = np.abs(stft(est, n_fft=n_fft, hop_length=hop, window="hann")) ** 2
    r = np.log10(np.abs(stft(ref, n_fft=n_fft, hop_length=hop, window="hann")) ** 2 + LSD_FLOOR)
    return e.astype(np.float32), r.astype(np.float32)


def build_cache(args, up, rate: int, in_rate: int, cfg: EnvelopeConfig) -> dict[str, list[np.ndarray]]:
    path = args.out / "cache.npz"
    if path.exists():
        z = np.load(path)
        n_tr = int(z["n_train"])
        arrs = [z[f"a{i}"] for i in range(len(z.files) - 1)]
        print(f"cache: {path} ({n_tr} training, {len(arrs) // 2 - n_tr} validation files)", flush=True)
        return {"train": arrs[: 2 * n_tr], "valid": arrs[2 * n_tr:]}
    train, valid = split_files(args.data, args.corpus, args.valid, args.exclude)
    if not train or not valid:
        sys.exit(f"train_envelope: {len(train)} training and {len(valid)} validation files under {args.data}")
    rng = np.random.default_rng(args.seed)
    train = [train[i] for i in sorted(rng.choice(len(train), size=min(args.files, len(train)), replace=False))]
    valid = valid[:: max(1, len(valid) // args.valid_files)][: args.valid_files]
    print(f"{len(train)} training and {len(valid)} validation files", flush=True)
    stage = random_filter_stage(in_rate)
    out: dict[str, list[np.ndarray]] = {"train": [], "valid": []}
    t0 = time.time()
    for split, files in (("train", train), ("valid", valid)):
        for i, f in enumerate(files):
            ref = io.read(f, sample_rate=rate, mono=True)[0][0].astype(np.float64)
            if args.noise_floor_fraction and rng.random() < args.noise_floor_fraction:
                # a white or pink floor below the file's RMS, on both sides (as data.noise_floor_* in training)
                color = "white" if rng.random() < 0.5 else "pink"
                level = rng.uniform(*args.noise_floor_db)
                ref = ref + colored_noise(color, ref.size, rng) * np.sqrt(np.mean(ref ** 2)) * 10 ** (level / 20)
            params = dict(PROTOCOL_FILTER)
            if split == "train":
                if rng.random() >= 0.5:
                    p = stage.sample(rng, ref.size, rate)
                    params = {k: p[k] for k in ("kind", "order", "ripple_db", "stopband_db", "cutoff_ratio") if k in p}
                gain = 10 ** (rng.uniform(-6.0, 12.0) / 20)
                ref = ref * min(gain, 0.99 / max(np.abs(ref).max(), 1e-9))
            e, r = spectra(up, ref, rate, in_rate, params, cfg.n_fft, cfg.hop_length)
            out[split] += [e, r]
            if (i + 1) % 50 == 0:
                print(f"  {split} {i + 1}/{len(files)} ({time.time() - t0:.0f} s)", flush=True)
    np.savez(path, n_train=len(train), **{f"a{i}": a for i, a in enumerate(out["train"] + out["valid"])})
    return out


def evaluate(net: EnvelopeNet, pairs: list[np.ndarray]) -> float:
    """Mean per-file LSD of the corrected STFT frames on the validation files."""
    vals = []
    with torch.no_grad():
        for e, r in zip(pairs[::2], pairs[1::2]):
            e_t, r_t = torch.from_numpy(e)[None], torch.from_numpy(r)[None]
            gain = net(e_t)
            vals.append(float(envelope_lsd_loss(gain, e_t, r_t)))
    return float(np.mean(vals))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", help="a super-resolution checkpoint (.pt) or shipped model name")
    p.add_argument("--data", type=Path, required=True, help="data root (../shared/data)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--corpus", nargs="+", default=["speech/ravdess_48k/*/*.flac"],
                   help="full-band files (globs under --data): those the network was trained on")
    p.add_argument("--valid", nargs="+", help="validation files (glob patterns under --data); default: "
                   "recipes/splits.toml's valid speech")
    p.add_argument("--exclude", nargs="*", default=[], help="with --valid: files never read (test pieces)")
    p.add_argument("--noise-floor-db", type=float, nargs=2, default=[-70.0, -40.0], metavar=("LOW", "HIGH"),
                   help="level of the added noise floor relative to the file's RMS (dB)")
    p.add_argument("--noise-floor-fraction", type=float, default=0.0,
                   help="share of the files (training and validation) given a noise floor")
    p.add_argument("--keep-input-band", type=float, default=0.7, help="the network's keep_input_band")
    p.add_argument("--files", type=int, default=960, help="training files drawn (cache size)")
    p.add_argument("--valid-files", type=int, default=24)
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=96, help="STFT frames per training crop")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--channels", type=int, default=96)
    p.add_argument("--high-bands", type=int, default=16, help="mel bands (gains) above the start frequency")
    p.add_argument("--dilations", type=int, nargs="+", default=[1, 2, 4, 8, 1],
                   help="dilations of the convolutions over frames (receptive field)")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    pkg = load_package(resolve(args.checkpoint))
    mcfg = pkg["config"]
    rate, in_rate = int(mcfg["sample_rate"]), int(mcfg["input_rate"])
    cfg = EnvelopeConfig(sample_rate=rate, start_hz=args.keep_input_band * in_rate / 2 if args.keep_input_band
                         else 0.8 * in_rate / 2, channels=args.channels, high_bands=args.high_bands,
                         dilations=list(args.dilations))
    up = upsampler_from_checkpoint(args.checkpoint, keep_input_band=args.keep_input_band, envelope=False)
    cache = build_cache(args, up, rate, in_rate, cfg)
    train = list(zip(cache["train"][::2], cache["train"][1::2]))
    net = EnvelopeNet(cfg)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 100) * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * s / args.steps))))
    rng = np.random.default_rng(args.seed + 1)
    best, best_state, history = evaluate(net, cache["valid"]), None, []
    print(f"step 0: valid LSD {best:.4f} (the network alone)", flush=True)
    history.append({"step": 0, "valid_lsd": best})
    t0 = time.time()
    for step in range(1, args.steps + 1):
        es, rs = [], []
        for i in rng.integers(len(train), size=args.batch):
            e, r = train[i]
            s = int(rng.integers(0, max(1, e.shape[1] - args.crop)))
            es.append(e[:, s:s + args.crop]), rs.append(r[:, s:s + args.crop])
        n = min(x.shape[1] for x in es)
        e_t = torch.from_numpy(np.stack([x[:, :n] for x in es]))
        r_t = torch.from_numpy(np.stack([x[:, :n] for x in rs]))
        loss = envelope_lsd_loss(net(e_t), e_t, r_t)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % args.eval_every == 0 or step == args.steps:
            v = evaluate(net, cache["valid"])
            history.append({"step": step, "train_loss": float(loss.detach()), "valid_lsd": v})
            mark = ""
            if v < best:
                best, best_state, mark = v, {k: t.clone() for k, t in net.state_dict().items()}, " (best)"
            print(f"step {step}: train {float(loss.detach()):.4f}, valid LSD {v:.4f}{mark} ({time.time() - t0:.0f} s)",
                  flush=True)
    (args.out / "history.jsonl").write_text("".join(json.dumps(h) + "\n" for h in history))
    if best_state is None:
        print("the corrector never beat the network alone on validation: nothing written", file=sys.stderr)
        sys.exit(1)
    pkg["envelope"] = {"config": dataclasses.asdict(cfg), "state_dict": best_state,
                       "train": {"steps": args.steps, "files": len(train), "valid_lsd": best,
                                 "keep_input_band": args.keep_input_band, "seed": args.seed}}
    tmp = args.out / "best.pt.tmp"
    torch.save(pkg, tmp)
    os.replace(tmp, args.out / "best.pt")
    print(f"wrote {args.out / 'best.pt'} (valid LSD {best:.4f})")


if __name__ == "__main__":
    main()
