"""Scoring files and folders: pair references with estimates (and optionally the noisy inputs), score
every pair, and write the per-file table and the summary. ``audiorestore evaluate`` is a thin shell over
:func:`evaluate` and :meth:`Evaluation.write`.

Pairing (:func:`pair_files`): two files are one pair; two folders are paired by relative path, then by
relative path without extension (``a/x.wav`` with ``a/x.flac``), then by a file stem found once on
each side, then by a stem carrying an output suffix of the CLI (``x_denoised.wav`` for ``x.wav``).
Unpaired files are reported, not fatal. A file that cannot be read or scored gets a one-line error and
the others are still scored.

Multichannel files are scored channel by channel and the scores averaged; a mono file against a
multichannel one is compared with each of its channels.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Sequence

import numpy as np

from .. import io
from ..errors import AudioInputError, AudioRestoreError, ParameterError
from . import registry
from .report import Summary, summarize, write_rows_csv, write_summary_csv, write_summary_json, write_summary_markdown

log = logging.getLogger(__name__)

#: Suffixes the CLI appends to output stems (``x_denoised.wav``); used as the last pairing resort.
OUTPUT_SUFFIXES = ("denoised", "upsampled", "enhanced", "restored")

#: Output file names written by :meth:`Evaluation.write`.
REPORT_FILES = {"per_file": "per_file.csv", "summary_csv": "summary.csv", "summary_json": "summary.json",
                "summary_md": "summary.md"}


@dataclass(frozen=True)
class Pair:
    """A reference, its estimate and optionally the noisy input it was made from."""

    name: str
    reference: Path
    estimate: Path
    noisy: Path | None = None


@dataclass
class FileScores:
    """Scores of one pair: ``scores[m]`` for the estimate and, with a noisy input, ``m_noisy`` and
    ``m_improvement`` (positive = the estimate is better, whichever direction the metric runs). A metric
    that could not be computed is NaN, with its reason in ``failures``."""

    name: str
    reference: str
    estimate: str
    noisy: str | None
    sample_rate: int
    duration_s: float
    scores: dict[str, float]
    #: one line per metric that could not be computed for this pair (its score is NaN)
    failures: list[str] = field(default_factory=list)

    def row(self) -> dict[str, object]:
        return {"file": self.name, "reference": self.reference, "estimate": self.estimate,
                "noisy": self.noisy or "", "sample_rate": self.sample_rate,
                "duration_s": round(self.duration_s, 4), **self.scores}


@dataclass
class Evaluation:
    """Everything one evaluation produced: per-file scores, errors and unpaired files."""

    metrics: list[str]
    files: list[FileScores] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    with_noisy: bool = False
    sources: dict[str, object] = field(default_factory=dict)

    @property
    def failures(self) -> list[str]:
        """One line per metric that could not be computed for a scored file."""
        return [line for f in self.files for line in f.failures]

    @property
    def score_columns(self) -> list[str]:
        """``m`` per metric, or ``m, m_noisy, m_improvement`` with a noisy input."""
        if not self.with_noisy:
            return list(self.metrics)
        return [c for m in self.metrics for c in (m, f"{m}_noisy", f"{m}_improvement")]

    @property
    def columns(self) -> list[str]:
        return ["file", "reference", "estimate", "noisy", "sample_rate", "duration_s", *self.score_columns]

    def rows(self) -> list[dict[str, object]]:
        return [f.row() for f in self.files]

    def summary(self, confidence: float = 0.95) -> list[Summary]:
        """Mean and confidence interval of every score column over the scored files."""
        return summarize([f.scores for f in self.files], self.score_columns, confidence)

    def write(self, outdir: str | os.PathLike, confidence: float = 0.95) -> dict[str, Path]:
        """Write ``per_file.csv``, ``summary.csv``, ``summary.json`` and ``summary.md`` into ``outdir``."""
        out = Path(outdir)
        summ = self.summary(confidence)
        notes = [f"{len(self.files)} file(s) scored, {len(self.errors)} failed, {len(self.missing)} unpaired, "
                 f"{len(self.failures)} metric value(s) not computable"]
        if self.with_noisy:
            notes.append("`*_noisy`: the noisy input scored against the reference; `*_improvement`: estimate "
                         "minus noisy for higher-is-better metrics, noisy minus estimate otherwise")
        notes += [f"error: {e}" for e in self.errors + self.failures] + [f"unpaired: {m}" for m in self.missing]
        extra = {"metrics": self.metrics, "n_files": len(self.files), "confidence": confidence, **self.sources,
                 "errors": self.errors, "metric_failures": self.failures, "missing": self.missing,
                 "files": self.rows()}
        return {
            "per_file": write_rows_csv(out / REPORT_FILES["per_file"], self.rows(), self.columns),
            "summary_csv": write_summary_csv(out / REPORT_FILES["summary_csv"], summ),
            "summary_json": write_summary_json(out / REPORT_FILES["summary_json"], summ, extra),
            "summary_md": write_summary_markdown(out / REPORT_FILES["summary_md"], summ, "Evaluation", notes),
        }


# --------------------------------------------------------------------------- pairing
class _Index:
    """Lookup of the audio files under a folder by relative path, path without extension, and stem."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = [(f, f.relative_to(root)) for f in io.find_audio(root)]
        self.by_rel = {rel.as_posix(): f for f, rel in self.files}
        self.by_noext: dict[str, list[Path]] = {}
        self.by_stem: dict[str, list[Path]] = {}
        self.by_stripped: dict[str, list[Path]] = {}
        for f, rel in self.files:
            self.by_noext.setdefault(rel.with_suffix("").as_posix(), []).append(f)
            self.by_stem.setdefault(rel.stem, []).append(f)
            for suffix in OUTPUT_SUFFIXES:
                if rel.stem.endswith("_" + suffix):
                    self.by_stripped.setdefault(rel.stem[: -len(suffix) - 1], []).append(f)

    def match(self, rel: Path, ref_stem_unique: bool) -> Path | None:
        hit = self.by_rel.get(rel.as_posix())
        if hit is not None:
            return hit
        for table, key, need_unique_ref in ((self.by_noext, rel.with_suffix("").as_posix(), False),
                                            (self.by_stem, rel.stem, True),
                                            (self.by_stripped, rel.stem, True)):
            cands = table.get(key, [])
            if len(cands) == 1 and (ref_stem_unique or not need_unique_ref):
                return cands[0]
        return None


def pair_files(reference: str | os.PathLike, estimate: str | os.PathLike,
               noisy: str | os.PathLike | None = None) -> tuple[list[Pair], list[str]]:
    """Pair reference, estimate (and noisy) files; returns the pairs and one message per unpaired file.

    ``reference``, ``estimate`` and ``noisy`` are all files or all folders.
    """
    ref_p, est_p = Path(reference), Path(estimate)
    noisy_p = None if noisy is None else Path(noisy)
    for p in (ref_p, est_p, noisy_p):
        if p is not None and not p.exists():
            raise AudioInputError("no such file or directory", p)
    if not ref_p.is_dir():
        for p in (est_p, noisy_p):
            if p is not None and p.is_dir():
                raise ParameterError(f"the reference {ref_p} is a file but {p} is a directory: give files or "
                                     "directories for all of them")
        return [Pair(ref_p.name, ref_p, est_p, noisy_p)], []
    for p in (est_p, noisy_p):
        if p is not None and not p.is_dir():
            raise ParameterError(f"the reference {ref_p} is a directory but {p} is a file: give files or "
                                 "directories for all of them")
    refs = [(f, f.relative_to(ref_p)) for f in io.find_audio(ref_p)]
    if not refs:
        raise AudioInputError("no audio files in reference directory", ref_p)
    stems: dict[str, int] = {}
    for _, rel in refs:
        stems[rel.stem] = stems.get(rel.stem, 0) + 1
    est_index = _Index(est_p)
    noisy_index = None if noisy_p is None else _Index(noisy_p)
    pairs: list[Pair] = []
    missing: list[str] = []
    used: set[Path] = set()
    for f, rel in refs:
        unique = stems[rel.stem] == 1
        est = est_index.match(rel, unique)
        if est is None or est in used:
            missing.append(f"{rel.as_posix()}: no estimate in {est_p}")
            continue
        used.add(est)
        nz = None
        if noisy_index is not None:
            nz = noisy_index.match(rel, unique)
            if nz is None:
                missing.append(f"{rel.as_posix()}: no noisy input in {noisy_p} (scored without improvement)")
        pairs.append(Pair(rel.as_posix(), f, est, nz))
    for f, rel in est_index.files:
        if f not in used:
            missing.append(f"{rel.as_posix()}: estimate without a reference in {ref_p}")
    return pairs, missing


# --------------------------------------------------------------------------- scoring
def _channel_pairs(ref: np.ndarray, est: np.ndarray, path: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    cr, ce = ref.shape[0], est.shape[0]
    if cr == ce:
        return [(ref[c], est[c]) for c in range(cr)]
    if cr == 1:
        return [(ref[0], est[c]) for c in range(ce)]
    if ce == 1:
        return [(ref[c], est[0]) for c in range(cr)]
    raise AudioInputError(f"has {ce} channels but its reference has {cr}", path)


def _score(ref: np.ndarray, other: np.ndarray, path: Path, sample_rate: int, names: Sequence[str],
           cutoff_hz: float | None) -> tuple[dict[str, float], list[str]]:
    """Channel-averaged scores of ``other`` against ``ref``, and one line per metric that failed."""
    per_channel: list[dict[str, float]] = []
    failures: dict[str, str] = {}
    try:
        for r, e in _channel_pairs(ref, other, path):
            scores, failed = registry.compute_all(r, e, sample_rate, names, cutoff_hz=cutoff_hz)
            per_channel.append(scores)
            failures.update(failed)
    except AudioRestoreError as exc:
        if exc.path is None:  # metric errors carry no file name: name the file being scored
            raise AudioInputError(str(exc), path) from None
        raise
    lines = [f"{path}: {name}: {reason}" for name, reason in failures.items()]
    return {n: float(np.mean([c[n] for c in per_channel])) for n in names}, lines


def _read(path: Path, sample_rate: int | None, allow_silence: bool) -> tuple[np.ndarray, int, int]:
    native = io.info(path).sample_rate
    audio, sr = io.read(path, sample_rate=sample_rate, allow_silence=allow_silence)
    if native != sr:
        log.info("%s: resampled from %d Hz to %d Hz for scoring", path, native, sr)
    return audio, sr, native


def score_pair(pair: Pair, metrics: Sequence[str], sample_rate: int | None = None,
               cutoff_hz: float | None = None) -> FileScores:
    """Read and score one pair at ``sample_rate`` (default: the reference's rate).

    ``cutoff_hz`` (for ``lsd_hf``) defaults to the noisy input's Nyquist frequency when its native rate
    is below the scoring rate (a super-resolution input), else to the metric's own default.
    """
    names = list(metrics)
    ref, sr, _ = _read(pair.reference, sample_rate, allow_silence=False)
    est, _, _ = _read(pair.estimate, sr, allow_silence=True)  # a silent output is a (bad) valid estimate
    n = min(ref.shape[-1], est.shape[-1])
    if abs(ref.shape[-1] - est.shape[-1]) > 0.1 * max(ref.shape[-1], est.shape[-1]):
        log.warning("%s: %d samples but its reference has %d; scoring the first %d", pair.estimate,
                    est.shape[-1], ref.shape[-1], n)
    noisy = None
    if pair.noisy is not None:
        noisy, _, noisy_native = _read(pair.noisy, sr, allow_silence=True)
        if cutoff_hz is None and noisy_native < sr and "lsd_hf" in names:
            cutoff_hz = noisy_native / 2
    scores, failures = _score(ref, est, pair.estimate, sr, names, cutoff_hz)
    if noisy is not None:
        base, noisy_failures = _score(ref, noisy, pair.noisy, sr, names, cutoff_hz)  # type: ignore[arg-type]
        failures += noisy_failures
        out: dict[str, float] = {}
        for m in names:
            sign = 1.0 if registry.get_metric(m).higher_is_better else -1.0
            out[m], out[f"{m}_noisy"], out[f"{m}_improvement"] = scores[m], base[m], sign * (scores[m] - base[m])
        scores = out
    return FileScores(pair.name, str(pair.reference), str(pair.estimate),
                      None if pair.noisy is None else str(pair.noisy), sr, n / sr, scores, failures)


def _score_item(state: None, pair: Pair, *, metrics: list[str], sample_rate: int | None,
                cutoff_hz: float | None) -> FileScores:
    return score_pair(pair, metrics, sample_rate, cutoff_hz)


def evaluate_pairs(pairs: Sequence[Pair], metrics: str | Sequence[str] | None = None,
                   sample_rate: int | None = None, cutoff_hz: float | None = None,
                   on_file: Callable[[Pair, FileScores | None, str | None], None] | None = None,
                   missing: Sequence[str] = (), with_noisy: bool | None = None,
                   sources: dict[str, object] | None = None, *, engine: str = "local", jobs: int | None = 1,
                   address: str | None = None) -> Evaluation:
    """Score already-paired files (see :func:`evaluate`); ``missing`` is carried into the result.

    ``engine``, ``jobs``, ``address``: where the pairs are scored (:func:`audiorestore.engine.run`;
    ``jobs=None``: every core). ``on_file`` is called as pairs finish; the result lists them in order.
    """
    from functools import partial

    from ..engine import Job, Outcome, run

    names = registry.parse_metrics(metrics)
    if sample_rate is not None and sample_rate <= 0:
        raise ParameterError(f"sample rate must be positive, got {sample_rate}")
    if with_noisy is None:
        with_noisy = any(p.noisy is not None for p in pairs)
    ev = Evaluation(names, missing=list(missing), with_noisy=with_noisy, sources=dict(sources or {}))

    def done(o: Outcome) -> None:
        pair = pairs[o.index]
        if on_file:
            on_file(pair, o.value, None) if o.ok else on_file(pair, None, _message(o, pair))

    def _message(o: Outcome, pair: Pair) -> str:
        return o.error if o.named else f"{pair.estimate}: {o.error}"  # type: ignore[return-value]

    job = Job(fn=partial(_score_item, metrics=names, sample_rate=sample_rate, cutoff_hz=cutoff_hz))
    for o in run(job, pairs, engine=engine, jobs=jobs, address=address, on_done=done):
        if o.ok:
            ev.files.append(o.value)
        else:
            ev.errors.append(_message(o, pairs[o.index]))
    return ev


def evaluate(reference: str | os.PathLike, estimate: str | os.PathLike, noisy: str | os.PathLike | None = None,
             metrics: str | Sequence[str] | None = None, sample_rate: int | None = None,
             cutoff_hz: float | None = None,
             on_file: Callable[[Pair, FileScores | None, str | None], None] | None = None) -> Evaluation:
    """Score every estimate against its reference (and the noisy inputs too, for the improvement).

    ``reference``, ``estimate``, ``noisy``: files, or folders paired as :func:`pair_files` says.
    ``metrics``: names or a comma-separated string (default :func:`registry.default_metrics`).
    ``sample_rate``: scoring rate (default: each reference's own). ``cutoff_hz``: for ``lsd_hf``.
    ``on_file(pair, scores, error)`` is called after each pair, with ``scores`` or a one-line ``error``.

    Example:
        >>> ev = evaluate("clean/", "enhanced/", noisy="noisy/", metrics="pesq_wb,csig")   # doctest: +SKIP
        >>> ev.write("results/")                                                          # doctest: +SKIP
    """
    names = registry.parse_metrics(metrics)
    pairs, missing = pair_files(reference, estimate, noisy)
    for m in missing:
        log.warning("unpaired: %s", m)
    sources: dict[str, object] = {"reference": str(reference), "estimate": str(estimate),
                                  "noisy": None if noisy is None else str(noisy), "sample_rate": sample_rate}
    return evaluate_pairs(pairs, names, sample_rate, cutoff_hz, on_file, missing, noisy is not None, sources)
