"""Wall time of the CLI from a fresh process: ``--help``, ``methods`` and a classical ``denoise`` of a 2 s file.

    python benchmarks/startup.py [--repeats 10]
    python benchmarks/startup.py --src /tmp/before/src src     # before/after: one column per source tree
    python benchmarks/startup.py --script                      # also the installed `audiorestore` script

Every command runs end to end as its own process (``python -m audiorestore.cli.main ...`` with
``PYTHONPATH=SRC``; with ``--script`` also the ``audiorestore`` console script installed beside this
interpreter, with the same ``PYTHONPATH``), the trees taking turns so that both see the same
machine load. The 2 s file is cut from the bundled example (16 kHz, VoiceBank-DEMAND p287_002) and
denoised with the default method (log-MMSE while no denoising model ships). Reported: min, median and
mean wall seconds, the median CPU seconds of the process (user + system: what it costs, whatever the
load), and the load average before and after. Issue 20's targets: ``--help`` and
``methods`` under 0.3 s, ``denoise`` under 1 s; the median is checked (exit code 1 when one is missed
for the last tree). An old tree for the before column: ``git archive eec1282 src | tar -x -C /tmp/before``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
TARGETS_S = {"--help": 0.3, "methods": 0.3, "denoise (2 s file)": 1.0}


def _commands(wav: Path, out: Path) -> dict[str, list[str]]:
    return {"--help": ["--help"], "methods": ["methods"],
            "denoise (2 s file)": ["denoise", str(wav), "-o", str(out), "--overwrite", "-q"]}


def _time(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, the child's: less disturbed by other processes)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", nargs="+", default=[str(ROOT / "src")], help="source trees to compare (PYTHONPATH)")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2, help="untimed runs first (file cache, .pyc files)")
    ap.add_argument("--script", action="store_true", help="also time the installed `audiorestore` script")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wav, out = Path(tmp) / "p287_002_2s.wav", Path(tmp) / "denoised.wav"
        x, sr = sf.read(str(Path(args.src[-1]) / "audiorestore" / "examples" / "p287_002_noisy.flac"))
        sf.write(str(wav), x[: 2 * sr], sr)
        # the console script beside this interpreter (a pyenv shim on PATH would add its own start-up)
        script = Path(sys.executable).with_name("audiorestore")
        script = script if script.exists() else Path(shutil.which("audiorestore") or "audiorestore")
        runners: dict[str, tuple[list[str], dict[str, str]]] = {}
        for src in args.src:
            env = {**os.environ, "PYTHONPATH": str(Path(src).resolve()), "OMP_NUM_THREADS": "1"}
            runners[f"python -m ... ({src})"] = ([sys.executable, "-m", "audiorestore.cli.main"], env)
            if args.script:
                runners[f"{script.name} script ({src})"] = ([str(script)], env)
        commands = _commands(wav, out)
        times: dict[tuple[str, str], list[tuple[float, float]]] = {(r, c): [] for r in runners for c in commands}
        load_before = os.getloadavg()
        for i in range(args.warmup + args.repeats):
            for r, (prefix, env) in runners.items():
                for c, argv in commands.items():
                    t = _time(prefix + argv, env)
                    if i >= args.warmup:
                        times[(r, c)].append(t)
        load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; {os.cpu_count()} CPUs; "
          f"{args.repeats} runs each\n")
    print("| command | how | wall min (s) | wall median (s) | wall mean (s) | CPU median (s) | target (s) |\n"
          "|---|---|---:|---:|---:|---:|---:|")
    missed = []
    for c, target in TARGETS_S.items():
        for r in runners:
            t = [w for w, _ in times[(r, c)]]
            med = statistics.median(t)
            cpu = statistics.median(u for _, u in times[(r, c)])
            print(f"| `{c}` | {r} | {min(t):.3f} | {med:.3f} | {statistics.mean(t):.3f} | {cpu:.3f} | {target:g} |")
            if r == f"python -m ... ({args.src[-1]})" and med >= target:
                missed.append(c)
    if missed:
        print(f"\nmedian over target for: {', '.join(missed)}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
