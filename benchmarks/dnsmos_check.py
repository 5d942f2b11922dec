"""Check audiorestore's DNSMOS metrics against the speechmos package's own reference call, file by file.

For each file, ``audiorestore.metrics.registry.compute`` (the audio read by audiorestore's io module, the
package's DNSMOS with one-thread ONNX sessions) is compared with ``speechmos.dnsmos.run(path, 16000)``,
the call the package documents (it reads the file with librosa). Prints one row per file and the
largest absolute difference per score.

    python benchmarks/dnsmos_check.py /work/shared/data/pairs/vbdemand_p287_16k/noisy/*.flac
"""

from __future__ import annotations

import argparse
import sys


from audiorestore import io
from audiorestore.metrics import registry

NAMES = {"dnsmos_sig": "sig_mos", "dnsmos_bak": "bak_mos", "dnsmos_ovrl": "ovrl_mos", "dnsmos_p808": "p808_mos"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", help="16 kHz mono audio files")
    args = p.parse_args(argv)
    from speechmos import dnsmos as reference

    worst = dict.fromkeys(NAMES, 0.0)
    print("| file | SIG ours / package | BAK ours / package | OVRL ours / package | P.808 ours / package |")
    print("|---|---|---|---|---|")
    for path in args.files:
        audio, sr = io.read(path, mono=True)
        ours = registry.compute(audio[0], audio[0], sr, list(NAMES))
        ref = reference.run(path, 16000)
        cells = []
        for name, key in NAMES.items():
            worst[name] = max(worst[name], abs(ours[name] - float(ref[key])))
            cells.append(f"{ours[name]:.4f} / {float(ref[key]):.4f}")
        name = "/".join(path.rsplit("/", 2)[-2:])
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\nlargest absolute difference: " + ", ".join(f"{n} {v:.2e}" for n, v in worst.items()))
    return 0 if max(worst.values()) < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
