"""Whole folders and corpora: :func:`denoise_files` and :func:`upsample_files` run
:func:`~audiorestore.api.process_file` / :func:`~audiorestore.api.upsample_file` over many
``(input, output)`` pairs on every local core or on a Ray cluster (:mod:`audiorestore.engine`).

Each worker builds the method once (a neural model is loaded once per worker, not per file). Outputs
that exist are skipped unless ``overwrite`` (outputs are written atomically, so a killed run resumes
where it stopped); a file that fails is reported in its :class:`FileResult` and the others are done.
The outputs do not depend on the engine or the number of workers.

Example:
    >>> pairs = [(Path("in/a.wav"), Path("out/a.wav")), (Path("in/b.wav"), Path("out/b.wav"))]   # doctest: +SKIP
    >>> results = denoise_files(pairs, "logmmse", jobs=8)                                          # doctest: +SKIP
    >>> results = upsample_files(pairs, 48000, engine="ray", address="head:6379")                  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from . import io
from .api import get_upsampler, process_file, upsample_file
from .engine import Job, Outcome, run
from .enhancer import Enhancer, Upsampler, get_method

PathPair = tuple[str | os.PathLike, str | os.PathLike]


@dataclass(frozen=True)
class FileResult:
    """What became of one file: ``status`` is ``done``, ``skipped`` (its output existed before the run)
    or ``failed`` (``error`` says why, in one line naming the file). ``audio_s``: seconds of audio in
    the input; ``seconds``: processing wall time; ``detail``: a note from the method (upsample: the
    models used)."""

    input: Path
    output: Path
    status: str
    seconds: float = 0.0
    audio_s: float = 0.0
    detail: str = ""
    error: str | None = None
    #: a method's own record of the file (restore: ``{"report": RestoreReport.as_dict(), "text": its summary}``)
    record: dict[str, Any] | None = None


def _audio_s(path: Path) -> float:
    info = io.info(path)
    return info.frames / info.sample_rate


def _denoise_one(enhancer: Enhancer, item: tuple[str, str], *, noise: str | None, overwrite: bool) -> dict[str, Any]:
    src, dst = Path(item[0]), Path(item[1])
    if not (dst.exists() and not overwrite):  # exists: written by an attempt whose worker then died
        process_file(enhancer, src, dst, noise=noise, overwrite=overwrite)
    return {"audio_s": _audio_s(src), "detail": ""}


def _upsample_one(upsampler: Upsampler, item: tuple[str, str], *, target_rate: int, overwrite: bool) -> dict[str, Any]:
    src, dst = Path(item[0]), Path(item[1])
    if not (dst.exists() and not overwrite):
        upsample_file(src, dst, target_rate, upsampler, overwrite=overwrite)
    detail = f"{target_rate} Hz"
    if hasattr(upsampler, "describe"):  # auto: which shipped models served this file's rate
        detail += f", {upsampler.describe(io.info(src).sample_rate, target_rate)}"
    return {"audio_s": _audio_s(src), "detail": detail}


def _restore_one(_state: None, item: tuple[str, str], *, target_rate: int | None, overwrite: bool,
                 **options: Any) -> dict[str, Any]:
    from .restoration import restore_file

    src, dst = Path(item[0]), Path(item[1])
    report = restore_file(src, dst, target_rate, overwrite=True, **options) if not (dst.exists() and not overwrite) \
        else None
    if report is None:  # written by an attempt whose worker then died
        return {"audio_s": _audio_s(src), "detail": "", "record": None}
    return {"audio_s": _audio_s(src), "detail": ", ".join(s.name for s in report.stages) or "nothing to do",
            "record": {"report": report.as_dict(), "text": report.text()}}


def _remove_partial(dst: Path) -> None:
    """Delete temporary files of ``dst`` left by a worker that died while writing it (see io.temp_path)."""
    if dst.parent.is_dir():
        for p in dst.parent.glob(f".{dst.name}.*.tmp{dst.suffix}"):
            p.unlink(missing_ok=True)


def run_files(job: Job, pairs: Sequence[PathPair], *, overwrite: bool = False, engine: str = "local",
              jobs: int | None = None, address: str | None = None,
              on_file: Callable[[FileResult], None] | None = None) -> list[FileResult]:
    """Run a per-file ``job`` (``fn(state, (input, output)) -> {"audio_s", "detail"}``) over ``pairs``.

    Pairs whose output exists are skipped (unless ``overwrite``) without reaching a worker. Returns one
    :class:`FileResult` per pair, in order; ``on_file`` is called as each one is known.
    """
    plan = [(Path(s), Path(d)) for s, d in pairs]
    results: list[FileResult | None] = [None] * len(plan)
    todo: list[int] = []
    for k, (src, dst) in enumerate(plan):
        if dst.exists() and not overwrite:
            results[k] = FileResult(src, dst, "skipped")
            if on_file is not None:
                on_file(results[k])
        else:
            todo.append(k)

    def done(o: Outcome) -> None:
        k = todo[o.index]
        src, dst = plan[k]
        if o.attempts > 1:  # a worker died under this file: drop what it was writing
            _remove_partial(dst)
        if o.ok:
            r = FileResult(src, dst, "done", o.seconds, float(o.value["audio_s"]), o.value["detail"],
                           record=o.value.get("record"))
        else:
            r = FileResult(src, dst, "failed", o.seconds, error=o.error if o.named else f"{src}: {o.error}")
        results[k] = r
        if on_file is not None:
            on_file(r)

    items = [(str(plan[k][0]), str(plan[k][1])) for k in todo]
    run(job, items, engine=engine, jobs=jobs, address=address, on_done=done)
    return [r for r in results if r is not None]


def denoise_files(pairs: Sequence[PathPair], method: str | None = None, *, noise: str | os.PathLike | None = None,
                  overwrite: bool = False, engine: str = "local", jobs: int | None = None, address: str | None = None,
                  on_file: Callable[[FileResult], None] | None = None, **params: Any) -> list[FileResult]:
    """Denoise every ``(input, output)`` pair with ``method`` (default: the shipped default model).

    ``engine``/``jobs``/``address``: where to run (see :func:`audiorestore.engine.run`; default every
    local core). ``params``: the method's parameters. Returns one :class:`FileResult` per pair.

    Example:
        >>> denoise_files([("noisy.wav", "clean.wav")], "logmmse", jobs=1)[0].status   # doctest: +SKIP
        'done'
    """
    from .api import default_denoise_method

    name = method or default_denoise_method()
    get_method(name, **params)  # unknown names and parameters fail here, once, not in every worker
    job = Job(fn=partial(_denoise_one, noise=None if noise is None else str(noise), overwrite=overwrite),
              setup=partial(get_method, name, **params))
    return run_files(job, pairs, overwrite=overwrite, engine=engine, jobs=jobs, address=address, on_file=on_file)


def upsample_files(pairs: Sequence[PathPair], target_rate: int, method: str | None = None, *,
                   overwrite: bool = False, engine: str = "local", jobs: int | None = None,
                   address: str | None = None, on_file: Callable[[FileResult], None] | None = None,
                   **params: Any) -> list[FileResult]:
    """Super-resolve every ``(input, output)`` pair to ``target_rate`` (see :func:`upsample_file`);
    ``method`` None is ``auto`` (or the family of a ``checkpoint`` parameter).

    Example:
        >>> upsample_files([("nb.wav", "wb.wav")], 48000, "sinc", jobs=1)[0].status   # doctest: +SKIP
        'done'
    """
    get_upsampler(method, dict(params))  # fail early on bad names or parameters
    job = Job(fn=partial(_upsample_one, target_rate=int(target_rate), overwrite=overwrite),
              setup=partial(get_upsampler, method, dict(params)))
    return run_files(job, pairs, overwrite=overwrite, engine=engine, jobs=jobs, address=address, on_file=on_file)


def restore_files(pairs: Sequence[PathPair], target_rate: int | None = None, *, overwrite: bool = False,
                  engine: str = "local", jobs: int | None = None, address: str | None = None,
                  on_file: Callable[[FileResult], None] | None = None, **options: Any) -> list[FileResult]:
    """Restore every ``(input, output)`` pair (:func:`audiorestore.restoration.restore_file`: analyse,
    then the stages the file needs) at ``target_rate`` (None: each input's rate). ``options``:
    ``denoise_method``, ``upsample_method``, ``stages``. Each :class:`FileResult`'s ``record`` holds the
    file's report (``"report"``: ``RestoreReport.as_dict()``; ``"text"``: the printed summary).

    Example:
        >>> restore_files([("old.wav", "fixed.wav")], 48000, jobs=1)[0].record["report"]["stages"]  # doctest: +SKIP
    """
    job = Job(fn=partial(_restore_one, target_rate=target_rate, overwrite=overwrite, **options))
    return run_files(job, pairs, overwrite=overwrite, engine=engine, jobs=jobs, address=address, on_file=on_file)


__all__ = ["FileResult", "run_files", "denoise_files", "upsample_files", "restore_files"]
