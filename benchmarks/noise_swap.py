"""Speech or noise? Rebuild a set of noisy/clean pairs with other noises at each pair's own SNR.

    python benchmarks/noise_swap.py ../shared/data/pairs/vbdemand_p287_16k --out bench_out/p287_swapped \\
        --noise ../shared/data/noise/0ad/building_amb_port_10.flac ../shared/data/noise/0ad/weather_wind_11.flac
    audiorestore bench --methods logmmse nmmse:BEST.pt --dataset real=../shared/data/pairs/vbdemand_p287_16k \\
        --dataset swapped=bench_out/p287_swapped --out bench_out/p287_swap_report

Each pair's SNR is measured (clean against noisy minus clean); the output pair keeps the clean file and
mixes it with a crop of one of ``--noise`` (in turn, at a seeded random offset) at exactly that SNR,
``--variants`` times, written as ``OUT/clean/NAME_K`` and ``OUT/noisy/NAME_K`` (16-bit WAV at the pair's
rate), the layout
``audiorestore bench`` reads. A method that loses on the real pairs but not on the swapped ones fails on
their noise; one that loses on both fails on their speech. Rerunning overwrites OUT's files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from audiorestore import io
from audiorestore.simulate.noise import measure_snr, mix_at_snr


def pairs(root: Path) -> list[tuple[Path, Path]]:
    """``(clean, noisy)`` files of a ``clean/`` + ``noisy/`` folder, matched by name."""
    clean = {p.name: p for p in sorted((root / "clean").glob("*")) if p.is_file()}
    noisy = {p.name: p for p in sorted((root / "noisy").glob("*")) if p.is_file()}
    common = sorted(set(clean) & set(noisy))
    if not common:
        raise SystemExit(f"{root}: no files with the same name in clean/ and noisy/")
    return [(clean[n], noisy[n]) for n in common]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pairs", type=Path, help="folder with clean/ and noisy/ of the same names")
    ap.add_argument("--noise", type=Path, nargs="+", required=True, help="noise recordings to mix in, in turn")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--variants", type=int, default=1, help="mixtures per pair, with the next noises in turn")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    (args.out / "clean").mkdir(parents=True, exist_ok=True)
    (args.out / "noisy").mkdir(parents=True, exist_ok=True)
    print("| pair | SNR (dB) | noise |\n|---|---:|---|")
    found = pairs(args.pairs)
    for i, ((c, n), k) in enumerate((p, k) for k in range(max(args.variants, 1)) for p in found):
        clean, sr = io.read(c, mono=True)
        noisy, _ = io.read(n, sample_rate=sr, mono=True)
        length = min(clean.shape[-1], noisy.shape[-1])
        clean, noisy = clean[0, :length].astype(np.float64), noisy[0, :length].astype(np.float64)
        snr = float(measure_snr(clean, noisy - clean))
        source = args.noise[(i + k) % len(args.noise)]
        noise = io.read(source, sample_rate=sr, mono=True)[0][0].astype(np.float64)
        noise = np.tile(noise, int(np.ceil(length / noise.size)) + 1)   # a crop may span the loop point
        start = int(rng.integers(0, noise.size - length + 1))
        mixed, _ = mix_at_snr(clean, noise[start:start + length], snr)
        peak = max(np.abs(mixed).max(), np.abs(clean).max())
        scale = 0.99 / peak if peak > 0.99 else 1.0  # both scaled alike: the SNR is kept
        stem = f"{c.stem}_{k}.wav"
        io.write(args.out / "clean" / stem, (scale * clean)[None].astype(np.float32), sr, subtype="PCM_16",
                 overwrite=True)
        io.write(args.out / "noisy" / stem, (scale * mixed)[None].astype(np.float32), sr, subtype="PCM_16",
                 overwrite=True)
        print(f"| {c.stem}_{k} | {snr:.1f} | {source.name} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
