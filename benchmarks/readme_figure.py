"""The README's before/after figure: spectrograms of the bundled noisy example, the same file through
`audiorestore denoise` (the default method, through the real command line), and its clean reference.

    python benchmarks/readme_figure.py [--out docs/images/before_after.png]

Needs the `plot` extra (matplotlib). The figure is drawn by the benchmark report's own
`audiorestore.bench.plots.spectrogram_comparison`, so it looks like the spectrograms of `audiorestore bench`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import audiorestore as ar
from audiorestore.api import default_denoise_method
from audiorestore.bench.plots import spectrogram_comparison


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="docs/images/before_after.png", help="PNG to write")
    ap.add_argument("--dpi", type=int, default=110, help="figure resolution")
    args = ap.parse_args()

    noisy_path = ar.example_path("noisy")
    with tempfile.TemporaryDirectory() as tmp:
        denoised_path = Path(tmp) / "denoised.flac"
        # the command a user runs, not a re-implementation of it
        subprocess.run([sys.executable, "-m", "audiorestore.cli.main", "denoise", noisy_path,
                        "-o", str(denoised_path)], check=True)
        denoised, sr = ar.read_audio(denoised_path)
    noisy, _ = ar.read_audio(noisy_path)
    clean, _ = ar.read_audio(ar.example_path("clean"))
    png = spectrogram_comparison(
        [("noisy input (VoiceBank-DEMAND p287_002)", noisy[0]),
         (f"audiorestore denoise (default: {default_denoise_method()})", denoised[0]),
         ("clean reference", clean[0])], sr, dpi=args.dpi)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)
    print(f"wrote {out} ({len(png) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
