"""Upsampling that does no harm: the shipped upsamplers on recordings whose spectrum rolls off below
the Nyquist frequency, with and without the roll-off guard (:mod:`audiorestore.superres.rolloff`).

    python benchmarks/rolloff.py --data ../shared/data --piano-dir data/piano44k --out bench_out/rolloff \\
        --sets piano_real piano_rolloff speech_rolloff_8to16 speech_rolloff_16to48 [--split valid|test] \\
        [--variants NAME:KEY=V,...] [--max-files 40]

Sets (the reference is the full-rate recording *after* the simulated recording chain; the input is it
low-passed and decimated with the protocol filter of ``benchmarks/superres.py``; each method brings it
back; LSD, LSD-HF above the input's Nyquist frequency, SNR):

  piano_real             the real MAESTRO clip (music/real_piano, 48 kHz brought to 44.1 kHz), as it is.
  piano_rolloff          rendered piano (render_piano.py at 44.1 kHz, ``--piano-dir``) through simulated
                         recording chains, 30 s from each piece under each chain. ``--split valid``: the
                         piano recipes' validation pieces (Mozart K545, C. Schumann op. 1 no. 4), on which
                         the guard's parameters were chosen; ``--split test``: the piano test pieces
                         (PIANO_TEST_PIECES), never used to choose anything.
  speech_rolloff_8to16   band-limited speech at 16 kHz (valid: GRID s38, EmoDB 15; test: GRID s39-s40,
                         EmoDB 03, 16), 8 -> 16 kHz.
  speech_rolloff_16to48  band-limited speech at 48 kHz (valid: RAVDESS actors 17-18; test: 19-20),
                         16 -> 48 kHz.

Recording chains (parameters drawn per item from a generator seeded by the item's name; every draw
is written to the per-item results):

  both:   ``none``  the recording as it is (the standard protocol, for comparison);
  piano:  ``tilt``  a shelf falling -3..-12 dB per octave above 4-8 kHz (microphone, room absorption);
          ``room``  a tilt (-3..-9 dB/octave above 5-8 kHz) then a synthetic room (RT60 0.4-1.2 s,
                    direct-to-reverberant ratio 0-10 dB);
          ``tape``  a tilt (-6..-12 dB/octave above 3-6 kHz), a 2nd-order Butterworth low-pass at
                    10-14 kHz and hiss 55-70 dB below the music;
          ``mp3``   a tilt (-3..-6 dB/octave above 6-8 kHz) then MP3 at 96 or 128 kbit/s (LAME through
                    libsndfile, whose own low-pass removes the top of the band).
  speech: ``telephone`` band-pass 300-3400 Hz (4th-order Butterworth);
          ``oldmic``    a tilt of -6..-12 dB per octave above 0.15-0.3 of the Nyquist frequency;
          ``mp3lp``     an 8th-order Butterworth low-pass at 0.8 of the Nyquist frequency (the low-pass
                        MP3 encoders apply before coding);
          ``tilt``      a gentle tilt, -3..-6 dB per octave above 0.3-0.5 of the Nyquist frequency.

Methods: spline, sinc, the shipped model for the ratio without the guard (``rolloff_guard=False``)
and with it (its defaults, through the upsampler's own pipeline), and ``--variants``: other guard
settings (keyword arguments of :func:`audiorestore.superres.rolloff.rolloff_guard`) applied to the
same network output, the way the guard's parameters were chosen on the validation split. Per-item
results are cached in ``OUT/<set>-<split>/<method>.jsonl`` (resumable); ``OUT/summary.md`` is written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from superres import PIANO_TEST_PIECES, PROTOCOL, Item, test_items  # noqa: E402

from audiorestore import io  # noqa: E402
from audiorestore import config as cfgio  # noqa: E402
from audiorestore.dsp.filters import apply_filter, design_filter  # noqa: E402
from audiorestore.enhancer import get_method  # noqa: E402
from audiorestore.metrics import compute_all, mean_ci  # noqa: E402
from audiorestore.simulate.codec import codec  # noqa: E402
from audiorestore.simulate.lowpass import lowpass, lowpass_decimate  # noqa: E402
from audiorestore.simulate.reverb import reverberate, synthetic_rir  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
METRICS = ["lsd", "lsd_hf", "snr"]
#: set -> (input rate, rate, shipped model)
SETS: dict[str, tuple[int, int, str]] = {
    "piano_real": (22050, 44100, "upsample_piano_22to44"),
    "piano_rolloff": (22050, 44100, "upsample_piano_22to44"),
    "speech_rolloff_8to16": (8000, 16000, "upsample_8to16"),
    "speech_rolloff_16to48": (16000, 48000, "upsample_16to48"),
}
PIANO_VALID_PIECES = ("mozart_k545_movement1_exposition", "schumann_clara_polonaise_op1n4")
PIANO_CHAINS = ("none", "tilt", "room", "tape", "mp3")
SPEECH_CHAINS = ("none", "telephone", "oldmic", "mp3lp", "tilt")
EXCERPT_S, OFFSET_S = 30.0, 5.0


# ------------------------------------------------------------------------------- recording chains
def tilt(x: np.ndarray, sample_rate: int, corner_hz: float, slope_db: float) -> np.ndarray:
    """Zero-phase shelf: 0 dB below ``corner_hz``, ``slope_db`` per octave above (an FFT gain)."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, 1 / sample_rate)
    gain_db = np.where(f > corner_hz, slope_db * np.log2(np.maximum(f, corner_hz) / corner_hz), 0.0)
    return np.fft.irfft(spec * 10 ** (gain_db / 20), n=x.size)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x)))


def piano_chain(x: np.ndarray, sr: int, chain: str, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """``x`` through one simulated recording chain; returns it and the drawn parameters."""
    if chain == "tilt":
        p = {"corner_hz": rng.uniform(4000, 8000), "slope_db": rng.uniform(-12, -3)}
        return tilt(x, sr, p["corner_hz"], p["slope_db"]), p
    if chain == "room":
        p = {"corner_hz": rng.uniform(5000, 8000), "slope_db": rng.uniform(-9, -3),
             "rt60_s": rng.uniform(0.4, 1.2), "drr_db": rng.uniform(0, 10)}
        y = tilt(x, sr, p["corner_hz"], p["slope_db"])
        return reverberate(y, synthetic_rir(p["rt60_s"], sr, rng, drr_db=p["drr_db"])), p
    if chain == "tape":
        p = {"corner_hz": rng.uniform(3000, 6000), "slope_db": rng.uniform(-12, -6),
             "lowpass_hz": rng.uniform(10000, 14000), "hiss_db": rng.uniform(-70, -55)}
        y = lowpass(tilt(x, sr, p["corner_hz"], p["slope_db"]), sr, p["lowpass_hz"], "butter", 2)
        return y + _rms(y) * 10 ** (p["hiss_db"] / 20) * rng.standard_normal(y.size), p
    if chain == "mp3":
        p = {"corner_hz": rng.uniform(6000, 8000), "slope_db": rng.uniform(-6, -3),
             "kbps": int(rng.choice([96, 128]))}
        return codec(tilt(x, sr, p["corner_hz"], p["slope_db"]), sr, "mp3", p["kbps"]), p
    raise ValueError(chain)


def speech_chain(x: np.ndarray, sr: int, chain: str, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    nyq = sr / 2
    if chain == "telephone":
        sos = design_filter("butter", "bandpass", [300.0, 3400.0], sr, 4)
        return apply_filter(x, sos, zero_phase=True), {"band_hz": [300, 3400]}
    if chain == "oldmic":
        p = {"corner_hz": rng.uniform(0.15, 0.3) * nyq, "slope_db": rng.uniform(-12, -6)}
        return tilt(x, sr, p["corner_hz"], p["slope_db"]), p
    if chain == "mp3lp":
        return lowpass(x, sr, 0.8 * nyq, "butter", 8), {"lowpass_hz": 0.8 * nyq}
    if chain == "tilt":
        p = {"corner_hz": rng.uniform(0.3, 0.5) * nyq, "slope_db": rng.uniform(-6, -3)}
        return tilt(x, sr, p["corner_hz"], p["slope_db"]), p
    raise ValueError(chain)


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(int(hashlib.sha256(name.encode()).hexdigest()[:12], 16))


@dataclass(frozen=True)
class Case:
    """One reference: a file, the excerpt read from it and the recording chain applied."""

    name: str
    path: str
    chain: str = ""          # "" : the file as it is
    offset_s: float = 0.0
    duration_s: float = 0.0  # 0: whole file


def cases(args: argparse.Namespace, set_name: str) -> list[Case]:
    if set_name == "piano_real":
        return [Case(p.stem, str(p)) for p in sorted((args.data / "music" / "real_piano").glob("*.flac"))]
    if set_name == "piano_rolloff":
        if args.piano_dir is None:
            raise SystemExit("piano_rolloff needs --piano-dir (render_piano.py --rate 44100 output)")
        pieces = PIANO_VALID_PIECES if args.split == "valid" else PIANO_TEST_PIECES
        files = {p.stem: p for p in Path(args.piano_dir).iterdir() if p.suffix in (".flac", ".wav")}
        missing = [p for p in pieces if p not in files]
        if missing:
            raise SystemExit(f"--piano-dir lacks {missing} (render them with render_piano.py --rate 44100)")
        return [Case(f"{p}:{c}", str(files[p]), c, OFFSET_S, EXCERPT_S) for p in pieces for c in PIANO_CHAINS]
    rate = SETS[set_name][1]
    if args.split == "test":
        items = test_items(args.data, "16to48" if rate > 16000 else "8to16")
    else:
        import fnmatch

        corpus = "speech/ravdess_48k" if rate > 16000 else ("speech/grid_16k", "speech/emodb_16k")
        pats = [p for p in cfgio.load_dict(REPO / "recipes" / "splits.toml")["valid"]["speech"]
                if p.startswith(corpus)]
        rels = sorted({p.relative_to(args.data).as_posix() for p in args.data.glob("speech/**/*.flac")
                       if any(fnmatch.fnmatchcase(p.relative_to(args.data).as_posix(), q) for q in pats)})
        items = [Item(r, str(args.data / r)) for r in rels]
    if args.max_files and len(items) > args.max_files:
        idx = sorted(set(np.linspace(0, len(items) - 1, args.max_files).round().astype(int)))
        items = [items[i] for i in idx]
    return [Case(f"{it.name}:{SPEECH_CHAINS[i % len(SPEECH_CHAINS)]}", it.path, SPEECH_CHAINS[i % len(SPEECH_CHAINS)])
            for i, it in enumerate(items)]


def reference(case: Case, rate: int, speech: bool) -> tuple[np.ndarray, dict]:
    """The case's full-rate reference (float64, mono) and the chain's parameters."""
    info = io.info(case.path)
    start = int(case.offset_s * info.sample_rate)
    frames = int(case.duration_s * info.sample_rate) if case.duration_s else -1
    x, _ = io.read(case.path, sample_rate=rate, mono=True, start=start, frames=frames)
    x = x[0].astype(np.float64)
    if case.chain in ("", "none"):
        return x, {}
    chain = speech_chain if speech else piano_chain
    y, params = chain(x, rate, case.chain, _rng(case.name))
    return y, {k: (round(v, 3) if isinstance(v, float) else v) for k, v in params.items()}


# --------------------------------------------------------------------------------------- methods
def parse_variant(spec: str) -> tuple[str, dict[str, float]]:
    """``"NAME:key=value,key=value"`` -> (NAME, keyword arguments of :func:`rolloff_guard`)."""
    name, _, body = spec.partition(":")
    kwargs = {k: float(v) for k, v in (kv.split("=") for kv in body.split(",") if kv)}
    return name, kwargs


def methods(model: str, variants: list[str]) -> dict[str, Callable]:
    """label -> ``f(low, in_rate, rate) -> estimate``: baselines, the model without the guard, with it
    (its shipped settings, through the upsampler's own pipeline) and guard variants applied to the
    same network output."""
    from audiorestore.superres import interpolate, upsampler_from_checkpoint
    from audiorestore.superres.rolloff import rolloff_guard

    out: dict[str, Callable] = {"spline": get_method("spline"), "sinc": get_method("sinc")}
    off = upsampler_from_checkpoint(model, rolloff_guard=False)
    memo: dict[str, np.ndarray | None] = {"low": None, "y": None}   # one network run per input

    def network(low: np.ndarray, in_rate: int, rate: int) -> np.ndarray:
        if memo["low"] is not low:  # the held reference keeps the old input alive: no identity reuse
            memo["low"], memo["y"] = low, off(low, in_rate, rate)
        return memo["y"]

    out[f"{model} (no guard)"] = network
    out[f"{model} + guard"] = upsampler_from_checkpoint(model, rolloff_guard=True)
    for spec in variants:
        name, kwargs = parse_variant(spec)

        def guarded(low: np.ndarray, in_rate: int, rate: int, kwargs: dict = kwargs) -> np.ndarray:
            exact = interpolate(low, in_rate, rate, "sinc")
            return rolloff_guard(network(low, in_rate, rate), exact, rate, in_rate, **kwargs)

        out[f"{model} + guard {name}"] = guarded
    return out


def run_set(args: argparse.Namespace, set_name: str) -> list[str]:
    import torch

    torch.set_num_threads(1)
    in_rate, rate, model = SETS[set_name]
    speech = set_name.startswith("speech")
    tag = set_name if set_name == "piano_real" else f"{set_name}-{args.split}"
    folder = args.out / tag
    folder.mkdir(parents=True, exist_ok=True)
    todo = cases(args, set_name)
    meths = methods(model, args.variants)
    caches = {label: folder / (label.replace(" ", "_").replace("(", "").replace(")", "").replace("+", "") + ".jsonl")
              for label in meths}
    done = {label: ({json.loads(line)["item"] for line in open(p)} if p.exists() else set())
            for label, p in caches.items()}
    for case in todo:
        if all(case.name in done[label] for label in meths):
            continue
        ref, params = reference(case, rate, speech)
        low = lowpass_decimate(ref, rate, in_rate, PROTOCOL["kind"], PROTOCOL["order"], PROTOCOL["ripple_db"],
                               cutoff_ratio=PROTOCOL["cutoff_ratio"])[None].astype(np.float32)
        for label, fn in meths.items():
            if case.name in done[label]:
                continue
            est = np.asarray(fn(low, in_rate, rate))[0].astype(np.float64)
            scores, failures = compute_all(ref, est, rate, METRICS, cutoff_hz=in_rate / 2)
            row = {"item": case.name, "chain": case.chain, "params": params, "failures": failures,
                   **{k: (None if not np.isfinite(v) else float(v)) for k, v in scores.items()}}
            with open(caches[label], "a") as f:
                f.write(json.dumps(row) + "\n")
        print(f"{tag}: {case.name}", file=sys.stderr)
    return summarize(tag, in_rate, rate, todo, caches)


def summarize(tag: str, in_rate: int, rate: int, todo: list[Case], caches: dict[str, Path]) -> list[str]:
    names = {c.name for c in todo}
    chains = sorted({c.chain for c in todo})
    lines = [f"## {tag}: {in_rate / 1000:g} -> {rate / 1000:g} kHz ({len(todo)} items)", "",
             "| method | LSD | LSD-HF | SNR (dB) | " + " | ".join(f"LSD {c}" for c in chains if c) + " |",
             "|---|---:|---:|---:|" + "---:|" * len([c for c in chains if c])]
    for label, path in caches.items():
        rows = [r for r in map(json.loads, open(path)) if r["item"] in names] if path.exists() else []
        if not rows:
            continue
        cells = []
        for m in METRICS:
            s = mean_ci([r[m] if r[m] is not None else float("nan") for r in rows])
            cells.append(f"{s.mean:.3f} ± {s.half_width:.3f}" if len(rows) > 1 else f"{s.mean:.3f}")
        per_chain = [f"{np.mean([r['lsd'] for r in rows if r['chain'] == c]):.3f}" for c in chains if c]
        partial = "" if len(rows) == len(todo) else f" ({len(rows)}/{len(todo)})"
        lines.append(f"| {label}{partial} | " + " | ".join(cells + per_chain) + " |")
    return lines + [""]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data", type=Path)
    ap.add_argument("--piano-dir", type=Path, help="render_piano.py output at 44.1 kHz")
    ap.add_argument("--out", default="bench_out/rolloff", type=Path)
    ap.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    ap.add_argument("--split", default="test", choices=["valid", "test"])
    ap.add_argument("--variants", nargs="*", default=[], metavar="NAME:KEY=V,...",
                    help="guard settings to compare (keyword arguments of rolloff_guard), applied to the same "
                         "network output, e.g. steep:min_slope_db=-48,fit_octaves=0.5")
    ap.add_argument("--max-files", type=int, default=0, help="speech sets: at most this many files, evenly spread")
    args = ap.parse_args()
    if args.split == "valid" and "piano_real" in args.sets:
        args.sets.remove("piano_real")  # the real clip is test material only
    args.out.mkdir(parents=True, exist_ok=True)
    lines = ["# Roll-off benchmark", "", "Input: the reference (after the recording chain) low-passed (Chebyshev I, "
             "order 8, edge 0.8 x new Nyquist) and decimated. LSD lower is better, SNR higher is better; "
             "mean ± 95% interval over items; per-chain columns are mean LSD.", ""]
    for s in args.sets:
        lines += run_set(args, s)
    text = "\n".join(lines)
    (args.out / f"summary-{args.split}.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
