"""Methods x datasets: enhance every item with every method, score it, cache the row, summarise.

Each (dataset, method) keeps its per-item rows in ``CACHE/<dataset>/<method>.jsonl`` (one JSON object per
line: ``item``, ``seconds``, ``cpu_seconds``, ``duration``, one value per metric (null when it could not be
computed) and ``failures``), so an interrupted run resumes where it stopped and adding a metric or a
method recomputes only what is missing. The noisy input is always scored as the method ``noisy``: the
improvement columns are paired differences against it, item by item.

Workers are processes with one thread each (torch and the peers' ONNX sessions), so the CPU real-time
factor (CPU seconds spent in the method / seconds of audio) is a one-thread figure and does not depend on
``jobs``. Each worker calls a method once on a short signal before timing it, so model loading is not
charged to the first item.

Example:
    >>> result = run_bench(["wiener", "logmmse"], ["spear=../shared/data"], "report/")   # doctest: +SKIP
    >>> for s in result.summaries(): print(s.dataset, s.method, s.scores["pesq_wb"].mean)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import time
import zlib
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from collections.abc import Callable, Sequence

import numpy as np

from .. import io
from ..engine import Job, Outcome, run
from ..enhancer import get_method
from ..errors import AudioRestoreError, ParameterError
from ..metrics import registry as metric_registry
from ..metrics.report import Summary, mean_ci
from .datasets import Dataset, Item, load_dataset

log = logging.getLogger(__name__)

#: The pseudo-method that returns the noisy input unchanged: the baseline of the improvement columns.
NOISY = "noisy"
#: Metrics of the benchmark tables when none are asked.
DEFAULT_METRICS: tuple[str, ...] = ("pesq_wb", "stoi", "csig", "cbak", "covl", "si_sdr")
#: Scoring rate of every item (inputs at other rates are resampled to it on reading).
DEFAULT_SAMPLE_RATE = 16000

#: ``progress(dataset, method, done, total)`` after each item of a (dataset, method) pair.
ProgressFn = Callable[[str, str, int, int], None]


# ------------------------------------------------------------------------------------------ methods
@dataclass(frozen=True)
class MethodSpec:
    """A method of the benchmark: ``label`` as the user wrote it, the registered ``name``, parameters.

    Written ``NAME[:ARG[,ARG...]]`` where each ``ARG`` is ``key=value`` or a bare checkpoint path:
    ``wiener``, ``wiener:n_fft=1024``, ``crm:runs/crm/best.pt``, ``crm:runs/crm/best.pt,device=cpu``.
    """

    label: str
    name: str
    params: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """File-safe form of the label (cache and example file names)."""
        safe = re.sub(r"[^A-Za-z0-9_.+-]", "_", self.label)
        if safe != self.label:  # two labels could map to one name: disambiguate with a short hash
            safe = f"{safe[:60]}-{hashlib.sha1(self.label.encode()).hexdigest()[:8]}"
        return safe


def parse_method(spec: str) -> MethodSpec:
    """``"crm:ckpt.pt,device=cpu"`` -> ``MethodSpec("crm:ckpt.pt,device=cpu", "crm", (("checkpoint",
    "ckpt.pt"), ("device", "cpu")))``."""
    spec = spec.strip()
    name, sep, rest = spec.partition(":")
    name = name.strip()
    if not name:
        raise ParameterError(f"empty method name in '{spec}'")
    params: list[tuple[str, str]] = []
    if sep:
        for arg in (a.strip() for a in rest.split(",")):
            if not arg:
                continue
            key, eq, value = arg.partition("=")
            params.append((key.strip(), value.strip()) if eq else ("checkpoint", arg))
    if name == NOISY and params:
        raise ParameterError("the 'noisy' baseline takes no parameters")
    return MethodSpec(spec, name, tuple(params))


def build_method(spec: MethodSpec) -> Any:
    """The Enhancer of a spec (None for the ``noisy`` baseline); ``peer_*`` names register their peer
    first (ParameterError naming the package to install when it is missing)."""
    if spec.name == NOISY:
        return None
    if spec.name.startswith("peer_"):
        from . import peers

        peers.register(spec.name)
    enhancer = get_method(spec.name, **dict(spec.params))
    if getattr(enhancer, "task", "denoise") != "denoise":
        raise ParameterError(f"method '{spec.name}' is a {enhancer.task} method; the benchmark compares denoisers")
    return enhancer


# ------------------------------------------------------------------------------------ one item
def reference_noise(noise: np.ndarray, seed: int) -> np.ndarray:
    """The noise as a second microphone would hear it: through a random decaying 64-tap path.

    Adaptive noise cancellation needs a reference correlated with, not equal to, the mixed-in noise;
    datasets give only the latter. Seeded per item (CRC-32 of its name) so every run is the same.
    """
    rng = np.random.default_rng(seed)
    h = rng.standard_normal(64) * np.exp(-np.arange(64) / 12.0)
    return np.convolve(noise, h / np.linalg.norm(h))[: noise.size]


def _finite_or_none(v: float) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def score_item(enhancer: Any, item: Item, metrics: Sequence[str], sample_rate: int = DEFAULT_SAMPLE_RATE,
               example: Path | None = None, example_s: float = 4.0) -> dict[str, Any]:
    """Enhance one item with ``enhancer`` (None: the noisy input itself), time it and score it.

    Both files are read as mono at ``sample_rate`` and cut to their common length. A method that needs a
    time-aligned reference (ANC) gets :func:`reference_noise` of the item's noise. With ``example``, the
    first ``example_s`` seconds of the estimate are written there (FLAC) for the report.

    Returns the cache row: ``item``, ``seconds`` (wall), ``cpu_seconds`` (this process's CPU time),
    ``duration``, one value per metric (None when not computable) and ``failures``.
    """
    clean, _ = io.read(item.clean, sample_rate=sample_rate, mono=True)
    noisy, _ = io.read(item.noisy, sample_rate=sample_rate, mono=True)
    n = min(clean.shape[-1], noisy.shape[-1])
    x, ref = noisy[0, :n].astype(np.float64), clean[0, :n].astype(np.float64)
    noise_ref = None
    if enhancer is not None and getattr(enhancer, "needs_reference", False):
        if item.noise is None:
            raise ParameterError(f"{enhancer.name} needs the noise recording of each item; '{item.name}' has none")
        nz, _ = io.read(item.noise, sample_rate=sample_rate, mono=True, allow_silence=True)
        nz = np.pad(nz[0, :n], (0, max(0, n - nz.shape[-1]))).astype(np.float64)
        noise_ref = reference_noise(nz, zlib.crc32(item.name.encode()))
    if enhancer is None:
        est, seconds, cpu = x, 0.0, 0.0
    else:
        t, c = time.perf_counter(), time.process_time()
        est = np.asarray(enhancer(x, sample_rate, noise=noise_ref), dtype=np.float64)
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
    if est.shape != x.shape:
        raise AudioRestoreError(f"method returned shape {est.shape} for input {x.shape}")
    if not np.all(np.isfinite(est)):
        raise AudioRestoreError("method returned NaN or infinite samples")
    scores, failures = metric_registry.compute_all(ref, est, sample_rate, list(metrics))
    if example is not None:
        clip = est[: int(example_s * sample_rate)]
        peak = float(np.max(np.abs(clip))) if clip.size else 0.0
        io.write(example, (clip / peak * 0.99 if peak > 0.99 else clip)[None].astype(np.float32), sample_rate,
                 subtype="PCM_16", overwrite=True)
    return {"item": item.name, "seconds": seconds, "cpu_seconds": cpu, "duration": n / sample_rate,
            **{k: _finite_or_none(v) for k, v in scores.items()}, "failures": failures}


# ------------------------------------------------------------------------------- worker processes
def _worker_state(enhancers: dict[str, Any]) -> dict[str, Any]:
    """A worker's state (built once per worker by the engine): label -> Enhancer, and those warmed up."""
    return {"enhancers": enhancers, "warm": set()}


def _warm_up(state: dict[str, Any], label: str, enhancer: Any, sample_rate: int) -> None:
    """One untimed call on 0.5 s of quiet noise, so lazy model loading is not charged to an item."""
    if enhancer is None or label in state["warm"]:
        return
    state["warm"].add(label)
    if getattr(enhancer, "needs_reference", False):
        return
    x = 1e-3 * np.random.default_rng(0).standard_normal(sample_rate // 2)
    try:
        enhancer(x, sample_rate)
    except Exception as exc:  # the timed call will report it properly
        log.debug("warm-up of %s failed: %s", label, exc)


def _work(state: dict[str, Any], task: tuple[str, Item, Path | None], *, metrics: Sequence[str], sample_rate: int,
          example_s: float) -> tuple[dict[str, Any] | None, str | None]:
    """Run in a worker: ``(row, None)`` or ``(None, error line)``; never raises, so one bad file or a
    failing peer does not stop the batch."""
    label, item, example = task
    enhancer = state["enhancers"][label]
    _warm_up(state, label, enhancer, sample_rate)
    try:
        return score_item(enhancer, item, metrics, sample_rate, example, example_s), None
    except Exception as exc:  # any failure of a method (peers raise anything) becomes one line
        msg = " ".join(str(exc).split())[:300] or type(exc).__name__
        prefix = "" if isinstance(exc, AudioRestoreError) else f"{type(exc).__name__}: "
        return None, f"{label}: {item.name}: {prefix}{msg}"


# ------------------------------------------------------------------------------------ summaries
@dataclass(frozen=True)
class MethodSummary:
    """One table row: a method on a dataset.

    ``scores[m]``: mean and 95 % interval of metric ``m`` over the items; ``improvement[m]``: of the paired
    difference against the noisy input (positive = better, whichever way the metric runs); ``rtf``: CPU
    seconds per second of audio on one thread (0 for ``noisy``).
    """

    dataset: str
    method: str
    n: int
    scores: dict[str, Summary]
    improvement: dict[str, Summary]
    rtf: float
    errors: int = 0


def _value(row: dict[str, Any], metric: str) -> float:
    v = row.get(metric)
    return math.nan if v is None else float(v)


def summarize_rows(dataset: str, method: str, rows: Sequence[dict[str, Any]], metrics: Sequence[str],
                   baseline: Sequence[dict[str, Any]] | None = None, confidence: float = 0.95,
                   errors: int = 0) -> MethodSummary:
    """Mean/CI of each metric, the paired improvement over ``baseline`` rows (matched by ``item``), and
    the real-time factor (sum of ``cpu_seconds``, or of ``seconds`` for rows that lack it, over the sum of
    ``duration``)."""
    scores = {m: mean_ci([_value(r, m) for r in rows], confidence, m) for m in metrics}
    base = {r["item"]: r for r in (baseline or [])}
    improvement: dict[str, Summary] = {}
    for m in metrics:
        sign = 1.0 if metric_registry.get_metric(m).higher_is_better else -1.0
        diffs = [sign * (_value(r, m) - _value(base[r["item"]], m)) for r in rows if r["item"] in base]
        improvement[m] = mean_ci(diffs, confidence, f"{m}_improvement")
    duration = sum(float(r.get("duration") or 0.0) for r in rows)
    spent = sum(float(r["cpu_seconds"] if r.get("cpu_seconds") is not None else r.get("seconds") or 0.0)
                for r in rows)
    rtf = spent / duration if duration > 0 else math.nan
    return MethodSummary(dataset, method, len(rows), scores, improvement, rtf, errors)


@dataclass
class BenchResult:
    """What :func:`run_bench` produced: every row, the example items, and the errors."""

    metrics: list[str]
    datasets: list[Dataset]
    methods: list[MethodSpec]
    #: (dataset name, method label) -> cache rows of the dataset's current items, in item order
    rows: dict[tuple[str, str], list[dict[str, Any]]]
    #: dataset name -> names of the items whose audio is kept for the report
    examples: dict[str, list[str]] = field(default_factory=dict)
    #: folder of the example clips: ``<dataset>/<method key or 'clean'>/<item key>.flac``
    example_dir: Path | None = None
    errors: list[str] = field(default_factory=list)
    #: (dataset, method label) -> why the method was not run on the dataset (e.g. ANC without noise files)
    skipped: dict[tuple[str, str], str] = field(default_factory=dict)
    confidence: float = 0.95
    sample_rate: int = DEFAULT_SAMPLE_RATE
    #: listening-test scores from ``bench --ratings``: dataset -> method label -> summary, and the column name
    listening: dict[str, dict[str, Summary]] = field(default_factory=dict)
    listening_label: str = "MOS"

    def summaries(self) -> list[MethodSummary]:
        """One :class:`MethodSummary` per (dataset, method) that has rows, in dataset then method order."""
        out = []
        for ds in self.datasets:
            baseline = self.rows.get((ds.name, NOISY))
            for spec in self.methods:
                rows = self.rows.get((ds.name, spec.label))
                if rows is None:
                    continue
                n_err = sum(1 for e in self.errors if e.startswith(f"{ds.name}: {spec.label}: "))
                out.append(summarize_rows(ds.name, spec.label, rows, self.metrics, baseline, self.confidence, n_err))
        return out

    def example_path(self, dataset: str, who: str, item: str) -> Path | None:
        """Path of an example clip (``who``: a method label, or ``clean``); None when not kept."""
        if self.example_dir is None:
            return None
        key = "clean" if who == "clean" else next((s.key for s in self.methods if s.label == who), who)
        return self.example_dir / dataset / key / f"{item_key(item)}.flac"


def item_key(name: str) -> str:
    """File-safe form of an item name."""
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name)


def pick_examples(items: Sequence[Item], k: int) -> list[str]:
    """``k`` item names spread evenly over the (name-sorted) dataset, so several conditions are heard."""
    if k <= 0 or not items:
        return []
    idx = sorted(set(np.linspace(0, len(items) - 1, min(k, len(items))).round().astype(int).tolist()))
    return [items[i].name for i in idx]


# ------------------------------------------------------------------------------------- the run
def _load_cache(path: Path, metrics: Sequence[str]) -> dict[str, dict[str, Any]]:
    """item -> its last complete row (one with every asked metric); torn or partial lines are ignored."""
    done: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return done
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a killed run
            if isinstance(row, dict) and "item" in row and all(m in row for m in metrics):
                done[row["item"]] = row
    return done


def run_bench(methods: Sequence[str | MethodSpec], datasets: Sequence[str | Dataset], out: str | os.PathLike,
              *, metrics: str | Sequence[str] | None = None, jobs: int | None = 1, examples: int = 3,
              example_s: float = 4.0, limit: int | None = None, sample_rate: int = DEFAULT_SAMPLE_RATE,
              cache_dir: str | os.PathLike | None = None, fresh: bool = False, confidence: float = 0.95,
              progress: ProgressFn | None = None, engine: str = "local", address: str | None = None) -> BenchResult:
    """Score every method on every dataset; rows are cached, so a re-run only does what is missing.

    Args:
        methods: method specs (see :class:`MethodSpec`); ``noisy`` is added first when absent.
        datasets: ``NAME=PATH`` strings (see :func:`~audiorestore.bench.datasets.load_dataset`) or Datasets.
        out: report folder; example clips go to ``out/examples``.
        metrics: metric names (default :data:`DEFAULT_METRICS`, those whose extra is missing dropped).
        jobs: worker processes, each on one thread (1: run in this process, torch limited to one thread
            for the duration; None: every core). ``engine``/``address``: where they run
            (:func:`audiorestore.engine.run`: local processes or a Ray cluster).
        examples: items per dataset whose first ``example_s`` seconds are kept for the report's players.
        limit: use only the first ``limit`` items of each dataset.
        cache_dir: where the per-item JSONL rows live (default ``out/cache``).
        fresh: discard cached rows of these (dataset, method) pairs and recompute.
    Returns:
        A :class:`BenchResult`; call :func:`audiorestore.bench.report.write_report` to write the report.
    """
    if jobs is not None and jobs < 1:
        raise ParameterError(f"jobs must be at least 1, got {jobs}")
    if metrics is None:
        metric_names = [m for m in DEFAULT_METRICS if metric_registry.get_metric(m).is_available()]
        dropped = [m for m in DEFAULT_METRICS if m not in metric_names]
        if dropped:
            log.warning("skipping %s: pip install 'audiorestore[metrics]' to compute them", ", ".join(dropped))
    else:
        metric_names = metric_registry.parse_metrics(metrics)
    specs = [m if isinstance(m, MethodSpec) else parse_method(m) for m in methods]
    if NOISY not in [s.label for s in specs]:
        specs.insert(0, MethodSpec(NOISY, NOISY))
    labels = [s.label for s in specs]
    if len(set(labels)) != len(labels):
        raise ParameterError(f"a method is listed twice: {', '.join(sorted({x for x in labels if labels.count(x) > 1}))}")
    keys = [s.key for s in specs]
    if len(set(keys)) != len(keys):
        raise ParameterError("two method labels map to the same file name; rename one")
    enhancers = {s.label: build_method(s) for s in specs}  # fail early on unknown names or parameters
    dsets = [d if isinstance(d, Dataset) else load_dataset(d, limit) for d in datasets]
    if limit is not None:
        dsets = [Dataset(d.name, d.items[: max(int(limit), 0)], d.source, d.kind) for d in dsets]
    names = [d.name for d in dsets]
    if len(set(names)) != len(names):
        raise ParameterError(f"two datasets are named the same: {names}")
    out_p = Path(out)
    cache_p = Path(cache_dir) if cache_dir is not None else out_p / "cache"
    example_dir = out_p / "examples"
    result = BenchResult(metric_names, dsets, specs, {}, example_dir=example_dir, confidence=confidence,
                         sample_rate=sample_rate)

    # plan: the items each (dataset, method) still needs
    jobs_todo: list[tuple[Dataset, MethodSpec, Item, Path | None]] = []
    cached: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for ds in dsets:
        ex_names = pick_examples(ds.items, examples)
        result.examples[ds.name] = ex_names
        for name in ex_names:  # the clean references of the example items
            dst = example_dir / ds.name / "clean" / f"{item_key(name)}.flac"
            if not dst.exists():
                item = next(i for i in ds.items if i.name == name)
                clean, _ = io.read(item.clean, sample_rate=sample_rate, mono=True)
                io.write(dst, clean[:, : int(example_s * sample_rate)], sample_rate, subtype="PCM_16", overwrite=True)
        for spec in specs:
            enh = enhancers[spec.label]
            if enh is not None and getattr(enh, "needs_reference", False) and any(i.noise is None for i in ds.items):
                result.skipped[(ds.name, spec.label)] = "needs the noise recording of every item"
                log.info("%s: %s skipped: it needs the noise recording of every item", ds.name, spec.label)
                continue
            cache = cache_p / ds.name / f"{spec.key}.jsonl"
            if fresh and cache.exists():
                cache.unlink()
            done = _load_cache(cache, metric_names)
            cached[(ds.name, spec.label)] = done
            for item in ds.items:
                ex = example_dir / ds.name / spec.key / f"{item_key(item.name)}.flac" \
                    if item.name in ex_names else None
                if item.name in done and (ex is None or ex.exists()):
                    continue
                jobs_todo.append((ds, spec, item, ex))

    totals: dict[tuple[str, str], int] = {}
    for ds, spec, _, _ in jobs_todo:
        totals[(ds.name, spec.label)] = totals.get((ds.name, spec.label), 0) + 1
    counts: dict[tuple[str, str], int] = {}
    handles: dict[tuple[str, str], Any] = {}

    def record(ds: Dataset, spec: MethodSpec, row: dict[str, Any] | None, error: str | None) -> None:
        key = (ds.name, spec.label)
        if row is not None:
            row = {**row, "method": spec.label}
            if key not in handles:
                path = cache_p / ds.name / f"{spec.key}.jsonl"
                path.parent.mkdir(parents=True, exist_ok=True)
                torn = path.exists() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")
                handles[key] = open(path, "a", encoding="utf-8")
                if torn:  # a run killed mid-line: start the next row on a line of its own
                    handles[key].write("\n")
            handles[key].write(json.dumps(row) + "\n")
            handles[key].flush()
            cached[key][row["item"]] = row
        else:
            result.errors.append(f"{ds.name}: {error}")
            log.info("%s: %s", ds.name, error)
        counts[key] = counts.get(key, 0) + 1
        if progress is not None:
            progress(ds.name, spec.label, counts[key], totals[key])

    t0 = time.perf_counter()

    def done(o: Outcome) -> None:
        ds, spec, item, _ = jobs_todo[o.index]
        row, err = o.value if o.ok else (None, f"{spec.label}: {item.name}: {o.error}")
        record(ds, spec, row, err)

    job = Job(fn=partial(_work, metrics=metric_names, sample_rate=sample_rate, example_s=example_s),
              setup=partial(_worker_state, enhancers))
    try:
        run(job, [(spec.label, item, ex) for _, spec, item, ex in jobs_todo], engine=engine, jobs=jobs,
            address=address, on_done=done)
    finally:
        for h in handles.values():
            h.close()
    if jobs_todo:
        log.info("%d item runs in %.1f s", len(jobs_todo), time.perf_counter() - t0)

    for ds in dsets:
        for spec in specs:
            done = cached.get((ds.name, spec.label))
            if done is None:
                continue
            result.rows[(ds.name, spec.label)] = [done[i.name] for i in ds.items if i.name in done]
    return result


__all__ = ["NOISY", "DEFAULT_METRICS", "DEFAULT_SAMPLE_RATE", "MethodSpec", "parse_method", "build_method",
           "reference_noise", "score_item", "MethodSummary", "summarize_rows", "BenchResult", "pick_examples",
           "item_key", "run_bench"]
