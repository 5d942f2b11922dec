"""Super-resolution benchmark: every method at 8 -> 16 kHz, 16 -> 48 kHz and 22.05 -> 44.1 kHz, and the
default (``auto``) at ratios no model was trained for (8 -> 48 kHz, 16 -> 44.1 kHz).

    python benchmarks/superres.py --data ../shared/data --out bench_out/superres
    python benchmarks/superres.py --data ../shared/data --out bench_out/superres --checkpoints experiments \\
        [--piano-dir PIANO_DIR] [--max-files 40] [--rolloff-guard on off]

Test sets (held out from every recipe; recipes/splits.toml, fixed before any training):
  8to16   the 16 kHz test speakers: Lombard GRID s39, s40 and EmoDB speakers 03, 16;
  16to48  RAVDESS actors 19 and 20 (48 kHz); 8to48 and 16to44 use the same files (16to44 at 44.1 kHz);
  piano   the real MAESTRO clip (music/real_piano, 48 kHz, brought to 44.1 kHz with soxr) and, with
          --piano-dir, the rendered test pieces PIANO_TEST_PIECES (never trained on by the piano recipes).

Protocol (Kuleshov, Enam and Ermon 2017, Sec. 4): the full-band file is the reference; the input is
it low-passed by an order-8 Chebyshev type I filter (0.05 dB ripple, edge at 0.8 of the new Nyquist,
zero phase) and decimated (:func:`audiorestore.simulate.lowpass.lowpass_decimate`); each method brings
it back to the full rate. Metrics: LSD (whole band), LSD-HF (bins above the input's Nyquist
frequency) and SNR, per file then averaged (mean and 95% interval half-width); CPU real-time factor on
one thread (method time / audio duration, summed over files); parameter count.

Methods: the baselines linear, spline and sinc and the default ``auto`` (the shipped models for the
ratio, chained or resampled where none was trained for it: :func:`audiorestore.registry.upsampler_chain`)
always; with --checkpoints DIR every super-resolution checkpoint below DIR (``best.pt`` where an
experiment has one, else any other ``.pt``), matched to the ratio it was trained for. Per-file results
are cached in ``OUT/<set>/<method>.jsonl`` (a neural
method's cache name carries its checkpoint's hash), so an interrupted run resumes. Writes
``OUT/summary.md`` and ``OUT/summary.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from audiorestore import config as cfgio  # noqa: E402
from audiorestore import registry  # noqa: E402
from audiorestore import io  # noqa: E402
from audiorestore.enhancer import get_method  # noqa: E402
from audiorestore.metrics import compute_all, mean_ci  # noqa: E402
from audiorestore.simulate.lowpass import lowpass_decimate  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
METRICS = ["lsd", "lsd_hf", "snr"]
BASELINES = ["linear", "spline", "sinc"]
#: set name -> (input rate, target rate)
RATIOS: dict[str, tuple[int, int]] = {"8to16": (8000, 16000), "16to48": (16000, 48000), "piano": (22050, 44100),
                                      "8to48": (8000, 48000), "16to44": (16000, 44100)}
#: Rendered pieces (render_piano.py names) held out as the piano test set; the piano recipes exclude them.
PIANO_TEST_PIECES = ("bach_bwv846", "schumann_clara_polonaise_op1n3", "beach_prayer_of_a_tired_child")
#: The benchmark's band-limiting filter: scipy.signal.decimate's, as in Kuleshov et al. 2017.
PROTOCOL = {"kind": "cheby1", "order": 8, "ripple_db": 0.05, "cutoff_ratio": 0.8}


@dataclass(frozen=True)
class Item:
    name: str
    path: str


def _test_patterns() -> list[str]:
    return list(cfgio.load_dict(REPO / "recipes" / "splits.toml")["test"]["speech"])


def test_items(data: Path, set_name: str, piano_dir: Path | None = None, max_files: int = 0) -> list[Item]:
    """The files of one test set, sorted; ``max_files`` > 0 keeps that many, evenly spread."""
    if set_name == "piano":
        files = sorted((data / "music" / "real_piano").glob("*.flac"))
        if piano_dir is not None:
            files += sorted(p for p in Path(piano_dir).iterdir()
                            if p.suffix in (".flac", ".wav") and p.stem in PIANO_TEST_PIECES)
            missing = set(PIANO_TEST_PIECES) - {p.stem for p in files}
            if missing:
                raise SystemExit(f"--piano-dir {piano_dir} lacks {sorted(missing)} (render them with render_piano.py)")
        items = [Item(p.stem, str(p)) for p in files]
    else:
        corpus = "speech/ravdess_48k" if RATIOS[set_name][1] > 16000 else ("speech/grid_16k", "speech/emodb_16k")
        pats = [p for p in _test_patterns() if p.startswith(corpus)]
        rels = sorted({p.relative_to(data).as_posix() for p in data.glob("speech/**/*.flac")
                       if any(fnmatch.fnmatchcase(p.relative_to(data).as_posix(), q) for q in pats)})
        items = [Item(r, str(data / r)) for r in rels]
    if max_files and len(items) > max_files:
        idx = np.linspace(0, len(items) - 1, max_files).round().astype(int)
        items = [items[i] for i in sorted(set(idx))]
    return items


# ---------------------------------------------------------------------------------------- methods
@dataclass(frozen=True)
class Method:
    title: str
    name: str
    checkpoint: str = ""
    params: int = 0
    digest: str = ""
    keep_input_band: float = 0.0
    rolloff_guard: bool = True
    settings: tuple = ()   # a shipped model's own roll-off guard settings (models.json params), as items

    @property
    def label(self) -> str:
        return (self.title + (f" keep {self.keep_input_band:g}" if self.keep_input_band else "")
                + ("" if self.rolloff_guard else " no guard"))

    @property
    def neural(self) -> bool:
        return bool(self.checkpoint) or self.name == "auto"

    def build(self):
        if not self.checkpoint:
            return get_method(self.name, **({} if self.rolloff_guard else {"rolloff_guard": False}))
        from audiorestore.superres import upsampler_from_checkpoint

        return upsampler_from_checkpoint(self.checkpoint, **dict(self.settings), keep_input_band=self.keep_input_band,
                                         rolloff_guard=self.rolloff_guard)

    def with_keep(self, keep: float) -> Method:
        """The same checkpoint run with ``keep_input_band = keep`` (its own label and cache)."""
        return dataclasses.replace(self, keep_input_band=keep) if keep else self

    def with_guard(self, guard: bool) -> Method:
        """The same method with the roll-off guard on or off (a neural method's own label and cache)."""
        return self if guard or not self.neural else dataclasses.replace(self, rolloff_guard=False)


def find_checkpoints(root: Path) -> dict[str, list[Method]]:
    """Super-resolution checkpoints below ``root`` by test set (``best.pt`` preferred per folder)."""
    from audiorestore.models.registry import get_family
    from audiorestore.train.checkpoint import load_package

    shipped = {m.path.resolve(): m.params for m in registry.list_models(include_unittest=False) if m.path}
    found: dict[str, list[Method]] = {}
    paths = sorted(root.rglob("*.pt"))
    for p in paths:
        if p.name != "best.pt" and (p.parent / "best.pt").exists():
            continue
        try:
            pkg = load_package(p)
        except Exception as exc:  # noqa: BLE001  anything not a checkpoint is skipped, with its reason
            print(f"skip {p}: {exc}", file=sys.stderr)
            continue
        fam = str(pkg["family"])
        if get_family(fam).task != "upsample":
            continue
        cfg = pkg["config"]
        ratio = (int(cfg["input_rate"]), int(cfg["sample_rate"]))
        set_name = next((k for k, v in RATIOS.items() if v == ratio), None)
        if set_name is None:
            print(f"skip {p}: trained for {ratio[0]} -> {ratio[1]} Hz, not a benchmark ratio", file=sys.stderr)
            continue
        exp = p.parent.parent.name if p.parent.name == "checkpoints" else p.parent.name
        n = param_count(pkg)
        digest = hashlib.sha256(p.read_bytes()).hexdigest()[:10]
        own = shipped.get(p.resolve(), {})  # a shipped model's own settings
        keep = float(own.get("keep_input_band", 0.0))
        settings = tuple(sorted((k, v) for k, v in own.items() if k.startswith("rolloff_")))
        found.setdefault(set_name, []).append(Method(f"{fam} ({exp})", fam, str(p), n, digest, keep,
                                                     settings=settings))
    return found


def param_count(pkg: dict) -> int:
    """Parameters of a checkpoint package: its network and, where it has one, its envelope corrector."""
    states = [pkg["state_dict"]] + ([pkg["envelope"]["state_dict"]] if "envelope" in pkg else [])
    return sum(int(np.prod(v.shape)) for sd in states for v in sd.values() if hasattr(v, "shape"))


def auto_method(set_name: str) -> Method:
    """The default upsampler at a set's ratio; its cache name carries the shipped models' index hash."""
    from audiorestore.train.checkpoint import load_package

    chain = registry.upsampler_chain(*RATIOS[set_name])
    n = sum(param_count(load_package(registry.resolve(m.name))) for m in chain)
    title = "auto: " + (" + ".join(m.name for m in chain) if chain else "sinc (no model)")
    return Method(title, "auto", params=n, digest=hashlib.sha256(registry.INDEX_FILE.read_bytes()).hexdigest()[:10])


# --------------------------------------------------------------------------------------- scoring
def run_item(method: Method, upsampler, item: Item, in_rate: int, rate: int) -> dict:
    ref, _ = io.read(item.path, sample_rate=rate, mono=True)
    ref = ref[0].astype(np.float64)
    low = lowpass_decimate(ref, rate, in_rate, PROTOCOL["kind"], PROTOCOL["order"], PROTOCOL["ripple_db"],
                           cutoff_ratio=PROTOCOL["cutoff_ratio"])
    t = time.perf_counter()
    est = upsampler(low[None].astype(np.float32), in_rate, rate)[0]
    seconds = time.perf_counter() - t
    scores, failures = compute_all(ref, est.astype(np.float64), rate, METRICS, cutoff_hz=in_rate / 2)
    return {"item": item.name, "seconds": seconds, "duration": ref.size / rate,
            **{k: (None if not np.isfinite(v) else float(v)) for k, v in scores.items()}, "failures": failures}


def cache_path(out: Path, set_name: str, method: Method) -> Path:
    stem = f"{method.name}-{method.digest}" if method.digest else method.name
    if method.keep_input_band:
        stem += f"-keep{method.keep_input_band:g}"
    if method.neural:  # caches written before the guard existed (no suffix) are not mistaken for either
        stem += "-guard" if method.rolloff_guard else "-noguard"
    if method.settings and method.rolloff_guard:
        stem += "-" + hashlib.sha256(repr(method.settings).encode()).hexdigest()[:6]
    return out / set_name / f"{stem}.jsonl"


def run_set(set_name: str, items: list[Item], methods: list[Method], out: Path) -> None:
    import torch

    torch.set_num_threads(1)  # the real-time factor is for one CPU thread
    in_rate, rate = RATIOS[set_name]
    for method in methods:
        cache = cache_path(out, set_name, method)
        cache.parent.mkdir(parents=True, exist_ok=True)
        done = {json.loads(line)["item"] for line in open(cache)} if cache.exists() else set()
        todo = [it for it in items if it.name not in done]
        if not todo:
            continue
        up = method.build()
        t0 = time.perf_counter()
        with open(cache, "a") as f:
            for it in todo:
                f.write(json.dumps(run_item(method, up, it, in_rate, rate)) + "\n")
                f.flush()
        print(f"{set_name:>7} {method.label:<40} {len(todo):4d} files in {time.perf_counter() - t0:6.1f} s",
              file=sys.stderr)


def summarize(out: Path, sets: dict[str, list[Item]], methods: dict[str, list[Method]]) -> str:
    lines = ["# Super-resolution benchmark", "",
             "Input: the reference low-passed (Chebyshev I, order 8, 0.05 dB, edge 0.8 x new Nyquist, zero phase) "
             "and decimated (Kuleshov et al. 2017). LSD, LSD-HF (above the input's Nyquist frequency): lower is "
             "better; SNR in dB: higher is better. Mean ± 95% interval half-width over files. CPU RTF: one thread."]
    table: dict = {}
    for set_name, items in sets.items():
        in_rate, rate = RATIOS[set_name]
        names = {it.name for it in items}
        lines += ["", f"## {set_name}: {in_rate / 1000:g} -> {rate / 1000:g} kHz ({len(items)} files)", "",
                  "| method | LSD | LSD-HF | SNR (dB) | params | CPU RTF |", "|---|---:|---:|---:|---:|---:|"]
        for method in methods[set_name]:
            cache = cache_path(out, set_name, method)
            if not cache.exists():
                continue
            rows = [r for r in map(json.loads, open(cache)) if r["item"] in names]
            if not rows:
                continue
            entry: dict = {"n": len(rows), "params": method.params, "checkpoint": method.checkpoint,
                           "neural": method.neural}
            cells = []
            for m in METRICS:
                s = mean_ci([r[m] if r[m] is not None else float("nan") for r in rows])
                entry[m] = {"mean": s.mean, "ci95": s.half_width}
                cells.append(f"{s.mean:.2f} ± {s.half_width:.2f}")
            dur = sum(r["duration"] for r in rows)
            entry["rtf"] = sum(r["seconds"] for r in rows) / dur if dur else float("nan")
            partial = "" if len(rows) == len(items) else f" ({len(rows)}/{len(items)} files)"
            lines.append(f"| {method.label}{partial} | " + " | ".join(cells)
                         + f" | {method.params / 1e6:.2f} M | {entry['rtf']:.4f} |" if method.params
                         else f"| {method.label}{partial} | " + " | ".join(cells) + f" | 0 | {entry['rtf']:.4f} |")
            table.setdefault(set_name, {})[method.label] = entry
    lines += ["", "## Targets", ""] + targets(table)
    (out / "summary.json").write_text(json.dumps(table, indent=1))
    text = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(text)
    return text


def targets(table: dict) -> list[str]:
    """The issue's targets: every trained model beats sinc and spline on LSD at every ratio; the best
    beats sinc by at least 1.0 LSD at 16 -> 48 kHz."""
    out = []
    for set_name, rows in table.items():
        neural = {k: v for k, v in rows.items() if v.get("neural", bool(v["checkpoint"]))}
        if not neural:
            out.append(f"- {set_name}: no trained model benchmarked")
            continue
        sinc, spline = rows.get("sinc", {}).get("lsd", {}).get("mean"), rows.get("spline", {}).get("lsd", {}).get("mean")
        spline_snr = rows.get("spline", {}).get("snr", {}).get("mean")
        for k, v in neural.items():
            lsd = v["lsd"]["mean"]
            ok = sinc is not None and spline is not None and lsd < min(sinc, spline)
            # LSD rewards any energy in an empty band (linear interpolation's images beat spline and
            # sinc; so does an untrained network's noise), so the SNR against spline's is shown too
            snr_note = ("" if spline_snr is None else f"; SNR {v['snr']['mean']:.2f} vs spline {spline_snr:.2f} dB"
                        + ("" if v["snr"]["mean"] >= spline_snr else " (LOWER: the LSD gain may be added noise)"))
            out.append(f"- {set_name}: {k} LSD {lsd:.2f} vs sinc {sinc:.2f}, spline {spline:.2f}: "
                       f"{'beats both' if ok else 'does NOT beat both'}{snr_note}")
        if set_name == "16to48" and sinc is not None:
            best = min(v["lsd"]["mean"] for v in neural.values())
            out.append(f"- 16to48: best model beats sinc by {sinc - best:.2f} LSD (target >= 1.0: "
                       f"{'met' if sinc - best >= 1.0 else 'NOT met'})")
            if spline is not None:
                out.append(f"- 16to48: best model beats spline by {spline - best:.2f} LSD (target >= 1.0: "
                           f"{'met' if spline - best >= 1.0 else 'NOT met'})")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data", type=Path)
    ap.add_argument("--out", default="bench_out/superres", type=Path)
    ap.add_argument("--checkpoints", type=Path, help="folder searched for super-resolution checkpoints (.pt)")
    ap.add_argument("--piano-dir", type=Path, help="render_piano.py output at 44.1 kHz: adds the rendered test pieces")
    ap.add_argument("--sets", nargs="*", default=list(RATIOS), choices=list(RATIOS))
    ap.add_argument("--max-files", type=int, default=0, help="at most this many files per set, evenly spread (0: all)")
    ap.add_argument("--keep-input-band", nargs="*", type=float, default=[0.0], metavar="F",
                    help="also run every checkpoint with each of these keep_input_band values (0: as found: "
                         "the network's whole output, or a shipped model's own models.json setting)")
    ap.add_argument("--rolloff-guard", nargs="*", default=["on"], choices=["on", "off"],
                    help="run every neural method with the roll-off guard on (the default), off, or both")
    args = ap.parse_args()
    guards = [g == "on" for g in args.rolloff_guard]
    neural = find_checkpoints(args.checkpoints) if args.checkpoints else {}
    neural = {s: list(dict.fromkeys(m.with_keep(k) for m in ms for k in args.keep_input_band))
              for s, ms in neural.items()}
    sets = {s: test_items(args.data, s, args.piano_dir, args.max_files) for s in args.sets}
    methods = {s: [Method(b, b) for b in BASELINES]
               + list(dict.fromkeys(m.with_guard(g) for m in [auto_method(s)] + neural.get(s, []) for g in guards))
               for s in sets}
    args.out.mkdir(parents=True, exist_ok=True)
    for s, items in sets.items():
        run_set(s, items, methods[s], args.out)
    print(summarize(args.out, sets, methods))
    return 0


if __name__ == "__main__":
    sys.exit(main())
