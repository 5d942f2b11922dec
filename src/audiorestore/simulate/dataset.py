"""Paired datasets: a folder of clean files (and of noise files) -> ``clean/``, ``noisy/``, ``noise/``
and a JSONL manifest with every parameter and seed.

Layout of ``out_dir``::

    clean/<rel>/<stem><tag>.<ext>    the training target (time-aligned with noisy)
    noisy/<rel>/<stem><tag>.<ext>    the degraded input (same name as its target)
    noise/<rel>/<stem><tag>.<ext>    the additive noise as mixed in (when the chain adds any)
    manifest.jsonl                   one line per pair
    degrade_config.json              the DegradeConfig the pairs were made with

``<tag>`` is ``_snr<value>`` on an SNR grid, ``_v<k>`` for the k-th random draw when
``variants > 1``, else empty. Every pair has its own seed, derived from the dataset seed and the
pair's id, so a pair does not change when files are added or ``limit`` is raised, and re-running
skips pairs already in the manifest (audio is written atomically before its manifest line).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from collections.abc import Callable

import numpy as np

from .. import io
from ..config import from_dict, to_dict
from ..errors import AudioInputError, AudioRestoreError, ParameterError
from .base import Degradation, to_jsonable
from .chain import Chain
from .clipping import Clip
from .codec import Codec
from .feedback import Feedback
from .hum import Hiss, Hum
from .lowpass import LOWPASS_KINDS, LowpassDecimate
from .noise import NOISE_COLORS, AddNoise, Babble
from .quantize import MuLaw, Quantize
from .reverb import Echo, Reverb

log = logging.getLogger(__name__)

MANIFEST = "manifest.jsonl"
CONFIG = "degrade_config.json"
DEFAULT_SNRS = [0.0, 5.0, 10.0, 15.0]
_LOSSY = {".mp3", ".ogg", ".oga", ".opus"}

#: ``progress(done, total, pair_id, status)`` is called after each pair.
ProgressFn = Callable[[int, int, str, str], None]


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@dataclass
class DegradeConfig:
    """How :func:`make_dataset` degrades each clean file. A list of one number is fixed, of two a
    uniform range; lists of names are choices. ``None`` leaves a stage out.

    Stages run in physical order: reverb, echo, feedback, additive noise (noise files, babble or
    colours), hum, hiss, clipping, low-pass/decimation, quantisation, mu-law, codec.
    """

    snrs: list[float] | None = field(default=None, metadata=_doc("SNR grid (dB): one pair per value"))
    snr_range: list[float] | None = field(default=None, metadata=_doc("SNR range (dB) drawn per pair"))
    variants: int = field(default=1, metadata=_doc("pairs per clean file with a random SNR range"))
    colors: list[str] = field(default_factory=list, metadata=_doc("coloured noise when no noise files"))
    talkers: list[int] = field(default_factory=lambda: [3, 7], metadata=_doc("babble talkers"))
    reverb_rt60_s: list[float] | None = None
    reverb_drr_db: list[float] = field(default_factory=lambda: [0.0, 6.0])
    reverb_target: str = "dry"
    echo_delay_s: list[float] | None = None
    echo_gain: list[float] = field(default_factory=lambda: [0.2, 0.6])
    feedback_gain: list[float] | None = None
    feedback_delay_s: list[float] = field(default_factory=lambda: [0.005, 0.05])
    hum_hz: list[float] | None = None
    hum_snr_db: list[float] = field(default_factory=lambda: [10.0, 40.0])
    hiss_snr_db: list[float] | None = None
    clip: list[float] | None = field(default=None, metadata=_doc("clipping threshold relative to the peak"))
    lowpass_rates: list[int] | None = field(default=None, metadata=_doc("simulated low sample rates (Hz)"))
    filter_kinds: list[str] = field(default_factory=lambda: ["cheby1"])
    filter_order: list[int] = field(default_factory=lambda: [8])
    ripple_db: float = 0.05
    zero_phase: bool = True
    keep_low_rate: bool = False
    quantize_bits: list[int] | None = None
    mu_law: bool = False
    codecs: list[str] | None = field(default=None, metadata=_doc("lossy codecs, 'mp3:32', 'opus:12'..."))
    sample_rate: int | None = field(default=None, metadata=_doc("resample everything to this rate"))
    seed: int = 0
    out_format: str | None = field(default=None, metadata=_doc("output extension; default: the input's"))
    subtype: str | None = field(default=None, metadata=_doc("soundfile subtype, e.g. PCM_16, FLOAT"))


def _rng_spec(name: str, values: list[float] | list[int] | None) -> Any:
    if values is None:
        return None
    vals = list(values)
    if len(vals) == 1:
        return vals[0]
    if len(vals) == 2:
        return (vals[0], vals[1])
    raise ParameterError(f"{name} takes one value (fixed) or two (a range), got {len(vals)}")


def _noise_stage(cfg: DegradeConfig, noise_files: list[Path], babble_files: list[Path],
                 snr: float | tuple[float, float]) -> Degradation | None:
    sources = sum(bool(s) for s in (noise_files, babble_files, cfg.colors))
    if sources > 1:
        raise ParameterError("give one noise source: noise files, babble speech files or noise colours")
    if noise_files:
        return AddNoise(files=tuple(map(str, noise_files)), snr_db=snr)
    if babble_files:
        return Babble(files=tuple(map(str, babble_files)), talkers=_rng_spec("talkers", cfg.talkers), snr_db=snr)
    if cfg.colors:
        return AddNoise(colors=tuple(cfg.colors), snr_db=snr)
    return None


def build_chain(config: DegradeConfig, noise_files: list[Path] | None = None,
                babble_files: list[Path] | None = None, rir_files: list[Path] | None = None,
                snr_db: float | tuple[float, float] | None = None) -> Chain:
    """The :class:`Chain` a config describes (``snr_db`` overrides the config's SNRs: one grid point).

    Example:
        >>> chain = build_chain(DegradeConfig(colors=["pink"], clip=[0.5]), snr_db=5.0)
        >>> [s.name for s in chain.stages]
        ['add_noise', 'clip']
    """
    cfg = config
    stages: list[Degradation] = []
    if cfg.reverb_rt60_s is not None or rir_files:
        stages.append(Reverb(rt60_s=_rng_spec("reverb_rt60_s", cfg.reverb_rt60_s or [0.2, 0.8]),
                             drr_db=_rng_spec("reverb_drr_db", cfg.reverb_drr_db),
                             rir_files=tuple(map(str, rir_files or ())),
                             target=cfg.reverb_target))  # type: ignore[arg-type]
    if cfg.echo_delay_s is not None:
        stages.append(Echo(delay_s=_rng_spec("echo_delay_s", cfg.echo_delay_s),
                           gain=_rng_spec("echo_gain", cfg.echo_gain)))
    if cfg.feedback_gain is not None:
        stages.append(Feedback(gain=_rng_spec("feedback_gain", cfg.feedback_gain),
                               delay_s=_rng_spec("feedback_delay_s", cfg.feedback_delay_s)))
    snr = snr_db
    if snr is None:
        snr = _rng_spec("snr_range", cfg.snr_range) if cfg.snr_range is not None else (
            float(cfg.snrs[0]) if cfg.snrs else DEFAULT_SNRS[0])
    noise = _noise_stage(cfg, list(noise_files or []), list(babble_files or []), snr)
    if noise is not None:
        stages.append(noise)
    if cfg.hum_hz is not None:
        stages.append(Hum(freq_hz=tuple(cfg.hum_hz), snr_db=_rng_spec("hum_snr_db", cfg.hum_snr_db)))
    if cfg.hiss_snr_db is not None:
        stages.append(Hiss(snr_db=_rng_spec("hiss_snr_db", cfg.hiss_snr_db)))
    if cfg.clip is not None:
        stages.append(Clip(threshold=_rng_spec("clip", cfg.clip)))
    if cfg.lowpass_rates is not None:
        stages.append(LowpassDecimate(target_rates=tuple(cfg.lowpass_rates), kinds=tuple(cfg.filter_kinds),
                                      order=_rng_spec("filter_order", cfg.filter_order), ripple_db=cfg.ripple_db,
                                      zero_phase=cfg.zero_phase, restore=not cfg.keep_low_rate))
    if cfg.quantize_bits is not None:
        stages.append(Quantize(bits=_rng_spec("quantize_bits", cfg.quantize_bits)))
    if cfg.mu_law:
        stages.append(MuLaw())
    if cfg.codecs:
        stages.append(Codec(formats=tuple(cfg.codecs)))
    return Chain(tuple(stages))


def check_config(config: DegradeConfig, has_noise: bool) -> list[tuple[str, float | None]]:
    """Validate a config; return the variants ``(tag, snr or None)`` made per clean file."""
    cfg = config
    if cfg.snrs is not None and cfg.snr_range is not None:
        raise ParameterError("give an SNR grid (snrs) or an SNR range (snr_range), not both")
    if (cfg.snrs is not None or cfg.snr_range is not None) and not has_noise:
        raise ParameterError("an SNR needs a noise source: noise files, babble speech files or noise colours")
    if cfg.snr_range is not None and len(cfg.snr_range) not in (1, 2):
        raise ParameterError(f"snr_range takes one or two values, got {len(cfg.snr_range)}")
    if cfg.snrs is not None and not cfg.snrs:
        raise ParameterError("the SNR grid is empty")
    if cfg.variants < 1:
        raise ParameterError(f"variants must be at least 1, got {cfg.variants}")
    for c in cfg.colors:
        if c not in NOISE_COLORS:
            raise ParameterError(f"unknown noise colour '{c}' (use one of {', '.join(NOISE_COLORS)})")
    for k in cfg.filter_kinds:
        if k not in LOWPASS_KINDS:
            raise ParameterError(f"unknown filter '{k}' (use one of {', '.join(LOWPASS_KINDS)})")
    if cfg.sample_rate is not None and cfg.sample_rate <= 0:
        raise ParameterError(f"sample_rate must be positive, got {cfg.sample_rate}")
    if has_noise and cfg.snr_range is None:
        grid = cfg.snrs if cfg.snrs is not None else DEFAULT_SNRS
        if cfg.variants != 1:
            raise ParameterError("variants > 1 needs a random SNR range (snr_range), not a grid")
        return [(f"_snr{float(s):g}", float(s)) for s in grid]
    if cfg.variants == 1:
        return [("", None)]
    width = len(str(cfg.variants - 1))
    return [(f"_v{k:0{width}d}", None) for k in range(cfg.variants)]


def pair_seed(seed: int, pair_id: str) -> int:
    """The seed of one pair: a hash of the dataset seed and the pair's id (stable across runs)."""
    digest = hashlib.sha256(f"{int(seed)}:{pair_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _audio_files(directory: str | os.PathLike, what: str, exclude: Path | None) -> list[Path]:
    d = Path(directory)
    if not d.exists():
        raise AudioInputError(f"{what} directory does not exist", str(d))
    if not d.is_dir():
        raise AudioInputError(f"{what} must be a directory", str(d))
    files = io.find_audio(d)
    if exclude is not None:
        ex = exclude.resolve()
        files = [f for f in files if not f.resolve().is_relative_to(ex)]
    if not files:
        raise AudioInputError(f"no audio files ({', '.join(io.AUDIO_EXTENSIONS[:6])}, ...) in {what} directory",
                              str(d))
    return files


def _read_manifest(path: Path) -> dict[str, dict[str, Any]]:
    """Manifest lines by id; a line cut short by a killed run is dropped (and the file repaired)."""
    if not path.exists():
        return {}
    text = path.read_text()
    entries: dict[str, dict[str, Any]] = {}
    good: list[str] = []
    broken = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            entries[rec["id"]] = rec
            good.append(line)
        except (json.JSONDecodeError, KeyError, TypeError):
            broken += 1
    if broken or (text and not text.endswith("\n")):
        log.warning("%s: dropped %d unreadable line(s) left by an interrupted run", path, broken)
        io.write_text_atomic(path, "".join(g + "\n" for g in good))
    return entries


def _output_ext(src: Path, out_format: str | None) -> str:
    if out_format:
        return "." + out_format.lstrip(".").lower()
    ext = src.suffix.lower()
    return ".flac" if ext in _LOSSY else ext


def _rate_or_none(path: Path) -> int | None:
    try:
        return io.info(path).sample_rate
    except AudioRestoreError:
        return None  # reported when the file's pairs are made


def _noise_summary(params: dict[str, Any]) -> dict[str, Any]:
    for rec in params["stages"]:
        p = rec["params"]
        if rec["name"] == "add_noise":
            return {"noise_file": p.get("file"), "offset": p.get("offset"), "color": p.get("color"),
                    "snr_db": p["snr_db"]}
        if rec["name"] == "babble":
            return {"noise_file": p["files"], "offset": p["offsets"], "color": None, "snr_db": p["snr_db"]}
    return {"noise_file": None, "offset": None, "color": None, "snr_db": None}


def make_dataset(clean_dir: str | os.PathLike, noise_dir: str | os.PathLike | None, out_dir: str | os.PathLike,
                 config: DegradeConfig | None = None, *, babble_dir: str | os.PathLike | None = None,
                 rir_dir: str | os.PathLike | None = None, limit: int | None = None, overwrite: bool = False,
                 progress: ProgressFn | None = None, engine: str = "local", jobs: int | None = 1,
                 address: str | None = None) -> Path:
    """Degrade every clean file into paired ``clean/`` + ``noisy/`` (+ ``noise/``) files; return the manifest.

    ``limit`` takes the first N clean files (sorted). Re-running resumes: pairs already in the
    manifest, with their files present, are skipped. A different config for an existing
    ``out_dir`` is refused unless ``overwrite`` (which regenerates every pair). Files that cannot
    be read are reported and skipped; if any failed, an :class:`AudioInputError` naming the count
    and the first failure is raised at the end (every other pair is written).

    ``engine``, ``jobs``, ``address``: where the clean files are processed (:func:`audiorestore.engine.run`;
    ``jobs=None``: every core). The files, the manifest (rewritten in file order at the end) and the
    seeds are the same whatever runs them.

    Example:
        >>> make_dataset("clean", "noise", "pairs", DegradeConfig(snrs=[0, 5, 10], sample_rate=16000))  # doctest: +SKIP
        PosixPath('pairs/manifest.jsonl')
    """
    cfg = config or DegradeConfig()
    out = Path(out_dir)
    clean_files = _audio_files(clean_dir, "clean", out)
    noise_files = _audio_files(noise_dir, "noise", out) if noise_dir is not None else []
    babble_files = _audio_files(babble_dir, "babble speech", out) if babble_dir is not None else []
    rir_files = _audio_files(rir_dir, "impulse response", out) if rir_dir is not None else []
    variants = check_config(cfg, bool(noise_files or babble_files or cfg.colors))
    if limit is not None:
        if limit < 1:
            raise ParameterError(f"limit must be at least 1, got {limit}")
        clean_files = clean_files[:limit]
    for ext in sorted({_output_ext(f, cfg.out_format) for f in clean_files}):
        io.format_for(f"output{ext}", cfg.subtype)  # e.g. FLAC cannot hold FLOAT: fail before any work
    chains = {tag: build_chain(cfg, noise_files, babble_files, rir_files, snr) for tag, snr in variants}
    # a configuration that cannot work (a low-pass rate above the signal's, a band above Nyquist...)
    # fails here, once, instead of once per pair
    rates = {cfg.sample_rate} if cfg.sample_rate else set(filter(None, map(_rate_or_none, clean_files)))
    for rate in sorted(rates):
        for chain in chains.values():
            chain.sample(np.random.default_rng(0), int(rate), int(rate))

    out.mkdir(parents=True, exist_ok=True)
    manifest, config_path = out / MANIFEST, out / CONFIG
    saved = to_dict(cfg)
    if config_path.exists() and not overwrite:
        try:
            previous = to_dict(from_dict(DegradeConfig, json.loads(config_path.read_text())))
        except (json.JSONDecodeError, AudioRestoreError):
            previous = None
        if previous != saved:
            raise ParameterError(f"{out} was made with other options ({config_path}); use a new output "
                                 "directory or overwrite")
    if overwrite and manifest.exists():
        manifest.unlink()
    io.write_text_atomic(config_path, json.dumps(saved, indent=2) + "\n")
    done = _read_manifest(manifest)

    root = Path(clean_dir)
    total = len(clean_files) * len(variants)
    count = failed = 0
    first_error: str | None = None
    order: list[str] = []  # every pair id of this run, in file order: the manifest's final order
    items: list[tuple[str, list[tuple[str, str, str]]]] = []  # (clean file, [(tag, pair id, name)]) to make
    for src in clean_files:
        rel = src.relative_to(root)
        ext = _output_ext(src, cfg.out_format)
        todo = []
        for tag, _ in variants:
            name = (rel.parent / f"{rel.stem}{tag}{ext}").as_posix()
            pid = (rel.parent / f"{rel.stem}{tag}").as_posix()
            order.append(pid)
            rec = done.get(pid)
            if rec and all((out / rec[k]).exists() for k in ("clean", "noisy")) and (
                    not rec.get("noise") or (out / rec["noise"]).exists()):
                count += 1
                if progress:
                    progress(count, total, pid, "skipped (in manifest)")
                continue
            todo.append((tag, pid, name))
        if todo:
            items.append((str(src), todo))

    from ..engine import Job, Outcome, run

    made: dict[str, dict[str, Any]] = {}
    with open(manifest, "a") as mf:
        def on_done(o: Outcome) -> None:  # in the driver, as each clean file's pairs are finished
            nonlocal count, failed, first_error
            results = o.value if o.ok else [(pid, None, o.error) for _, pid, _ in items[o.index][1]]
            for pid, line, error in results:
                count += 1
                if line is None:
                    failed += 1
                    first_error = first_error or error
                    log.error("%s", error)
                    if progress:
                        progress(count, total, pid, f"failed: {error}")
                    continue
                mf.write(json.dumps(line) + "\n")  # audio is on disk: the pair is done even if we stop here
                mf.flush()
                made[pid] = line
                if progress:
                    progress(count, total, pid, f"snr {line['snr_db']:.1f} dB" if line["snr_db"] is not None else "ok")

        job = Job(fn=partial(_make_pairs, chains=chains, out=str(out), cfg=cfg))
        run(job, items, engine=engine, jobs=jobs, address=address, on_done=on_done)
    if made:  # pairs finish in any order on several workers: keep the manifest in file order
        lines = {**done, **made}
        planned = set(order)
        ids = [pid for pid in order if pid in lines] + [pid for pid in lines if pid not in planned]
        io.write_text_atomic(manifest, "".join(json.dumps(lines[pid]) + "\n" for pid in ids))
    if failed:
        raise AudioInputError(f"{failed} of {total} pairs failed (first: {first_error}); the others are in "
                              f"{manifest}")
    return manifest


def _make_pairs(state: None, item: tuple[str, list[tuple[str, str, str]]], *, chains: dict[str, Chain], out: str,
                cfg: DegradeConfig) -> list[tuple[str, dict[str, Any] | None, str | None]]:
    """Run in a worker: every pending pair of one clean file -> ``[(pair id, manifest line, None) or
    (pair id, None, error line)]``."""
    src, todo = Path(item[0]), item[1]
    try:
        audio, sr = io.read(src, sample_rate=cfg.sample_rate, mono=True)
    except AudioRestoreError as exc:
        return [(pid, None, str(exc)) for _, pid, _ in todo]
    x = audio.astype(np.float64)
    results: list[tuple[str, dict[str, Any] | None, str | None]] = []
    for tag, pid, name in todo:
        try:
            results.append((pid, _make_pair(chains[tag], x, sr, pid, name, src, Path(out), cfg), None))
        except AudioRestoreError as exc:
            results.append((pid, None, str(exc) if exc.path else f"{src}: {exc}"))
    return results


def _make_pair(chain: Chain, x: np.ndarray, sample_rate: int, pid: str, name: str, src: Path, out: Path,
               cfg: DegradeConfig) -> dict[str, Any]:
    seed = pair_seed(cfg.seed, pid)
    params = chain.sample(np.random.default_rng(seed), x.shape[-1], sample_rate)
    params["seed"] = seed
    result = chain.process(x, sample_rate, params)
    # one gain for the whole pair keeps it consistent while every file fits in full scale
    peak = max(float(np.max(np.abs(a))) for a in (result.degraded, result.target) +
               (() if result.noise is None else (result.noise,)))
    gain = 0.999 / peak if peak > 0.999 else 1.0
    paths = {"clean": Path("clean") / name, "noisy": Path("noisy") / name}
    io.write(out / paths["noisy"], result.degraded * gain, result.sample_rate, subtype=cfg.subtype,
             protect=(str(src),))
    io.write(out / paths["clean"], result.target * gain, sample_rate, subtype=cfg.subtype, protect=(str(src),))
    noise_rel = None
    if result.noise is not None:
        noise_rel = Path("noise") / name
        io.write(out / noise_rel, result.noise * gain, int(result.noise_rate or sample_rate), subtype=cfg.subtype,
                 protect=(str(src),))
    line: dict[str, Any] = {"id": pid, "clean": paths["clean"].as_posix(), "noisy": paths["noisy"].as_posix(),
                            "noise": None if noise_rel is None else noise_rel.as_posix(), "source": str(src)}
    line.update(_noise_summary(params))
    line.update({"sample_rate": int(sample_rate), "noisy_sample_rate": int(result.sample_rate),
                 "num_samples": int(x.shape[-1]), "seed": seed, "gain": gain, "params": params})
    return to_jsonable(line)


def load_manifest(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The lines of a dataset manifest, in file order."""
    p = Path(path)
    if not p.exists():
        raise AudioInputError("manifest not found", str(p))
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


__all__ = ["DegradeConfig", "build_chain", "check_config", "make_dataset", "load_manifest", "pair_seed",
           "MANIFEST", "CONFIG", "DEFAULT_SNRS"]
