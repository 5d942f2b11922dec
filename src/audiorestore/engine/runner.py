"""One runner for batch work: a :class:`Job` (what to do with each item) and a list of items go in, one
:class:`Outcome` per item comes out, in item order, whatever engine ran it.

Engines:

* ``local`` (the default): ``jobs`` worker processes of one thread each (torch, OpenMP and BLAS limited
  to one thread, so N processes use N cores without oversubscription). Each worker calls
  ``job.setup()`` once (loads the model) and then ``job.fn(state, item)`` per item. With ``jobs=1``, or
  a single item, everything runs in this process, still on one thread, so results do not depend on
  ``jobs``.
* ``ray``: the same on a Ray cluster (:mod:`audiorestore.engine.cluster`): one actor per core holds the
  state; items whose actor or node dies are retried on the others.

A failing item never stops the batch: its exception becomes the outcome's one-line ``error``. A worker
process that dies (killed, out of memory) is replaced and its items retried; an item whose worker
dies :data:`MAX_ATTEMPTS` times is reported as failed (it probably kills workers).

Example:
    >>> def square(state, x):       # module-level in real use, so that it pickles
    ...     return x * x
    >>> [o.value for o in run(Job(fn=square), [1, 2, 3], jobs=1)]
    [1, 4, 9]
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from ..errors import AudioRestoreError, ParameterError

log = logging.getLogger(__name__)

#: Engine names accepted by :func:`run` (and ``--engine`` on the batch commands).
ENGINES = ("local", "ray")
#: Attempts per item when the worker running it dies; after that it is reported as failed.
MAX_ATTEMPTS = 3
#: Environment variables that size the thread pools of OpenMP, BLAS libraries and numexpr.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS")

#: ``on_done(outcome)``: called in the driver after each item, in completion order.
OnDone = Callable[["Outcome"], None]


@dataclass(frozen=True)
class Job:
    """What to do with each work item, independent of where it runs.

    ``setup()`` runs once per worker and returns its state (a loaded model, a built degradation chain;
    None when omitted); ``fn(state, item)`` processes one item and returns a small picklable result.
    Both must be picklable: module-level functions or :func:`functools.partial` of them (closures are
    not, and workers may be other processes or other machines).
    """

    fn: Callable[[Any, Any], Any]
    setup: Callable[[], Any] | None = None


@dataclass
class Outcome:
    """What became of one item: ``value`` (what ``fn`` returned) or ``error`` (a one-line message).

    ``seconds``: wall time of ``fn`` in the worker; ``attempts``: how many workers ran it (more than one
    when a worker died under it); ``named``: the error message already names the file it is about.
    """

    index: int
    value: Any = None
    error: str | None = None
    seconds: float = 0.0
    attempts: int = 1
    named: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


def default_jobs() -> int:
    """The number of cores this process may use (its CPU affinity where the OS tells, else the count)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):  # pragma: no cover - macOS, Windows
        return max(os.cpu_count() or 1, 1)


def error_line(exc: BaseException) -> tuple[str, bool]:
    """``(one-line message, names its file)`` for an exception raised by a work function."""
    if isinstance(exc, AudioRestoreError):
        return str(exc), exc.path is not None
    msg = " ".join(str(exc).split())[:300]
    return (f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__), False


def call(fn: Callable[[Any, Any], Any], state: Any, item: Any, index: int) -> Outcome:
    """Run ``fn(state, item)`` and wrap what happens in an :class:`Outcome` (never raises)."""
    t0 = time.perf_counter()
    try:
        value = fn(state, item)
    except Exception as exc:  # one bad item must not stop the batch: report it and go on
        msg, named = error_line(exc)
        return Outcome(index, error=msg, seconds=time.perf_counter() - t0, named=named)
    return Outcome(index, value=value, seconds=time.perf_counter() - t0)


def single_thread() -> None:
    """Limit this process to one compute thread: torch (intra- and inter-op) and, via the environment,
    OpenMP/BLAS pools created from now on."""
    for var in THREAD_VARIABLES:
        os.environ[var] = "1"
    # torch reads OMP_NUM_THREADS when it is first imported; only a torch already loaded (a forked
    # parent's) needs telling, and a classical job never imports it
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


@contextmanager
def _one_thread_here() -> Iterator[None]:
    """Run the ``with`` body on one torch thread, then restore the previous setting. Without torch loaded,
    the body runs with one-thread OpenMP/BLAS variables, which a torch imported inside it reads (so a
    classical job does not import torch just to limit it)."""
    torch = sys.modules.get("torch")
    if torch is None:
        with _child_environment():
            yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def _child_environment() -> Iterator[None]:
    """Processes started inside the ``with`` inherit one-thread settings for OpenMP and BLAS."""
    saved = {v: os.environ.get(v) for v in THREAD_VARIABLES}
    for var in THREAD_VARIABLES:
        os.environ[var] = "1"
    try:
        yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


# ------------------------------------------------------------------------------- local workers
#: The state of a local worker process: its job and what ``job.setup()`` returned.
_WORKER: dict[str, Any] = {}


def _init_worker(job: Job) -> None:
    single_thread()
    _WORKER["job"] = job
    _WORKER["state"] = job.setup() if job.setup is not None else None


def _work(item: Any, index: int) -> Outcome:
    return call(_WORKER["job"].fn, _WORKER["state"], item, index)


def _start_method() -> str:
    """How worker processes start: ``fork`` up to Python 3.11 (in milliseconds; a worker sets torch to
    one thread before any work, so it never enters a multi-threaded OpenMP region inherited from the
    driver), ``forkserver`` from 3.12 (where forking a process with threads is deprecated), else
    ``spawn``."""
    methods = mp.get_all_start_methods()
    if sys.version_info < (3, 12) and "fork" in methods:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def run_inline(job: Job, items: Sequence[Any], on_done: OnDone | None = None) -> list[Outcome]:
    """Every item in this process, one after another, on one torch thread."""
    out: list[Outcome] = []
    with _one_thread_here():
        state = job.setup() if job.setup is not None else None
        for i, item in enumerate(items):
            o = call(job.fn, state, item, i)
            out.append(o)
            if on_done is not None:
                on_done(o)
    return out


def run_pool(job: Job, items: Sequence[Any], jobs: int, on_done: OnDone | None = None) -> list[Outcome]:
    """Items over ``jobs`` local processes of one thread each.

    At most ``4 * jobs`` items are in flight: enough that a worker finds its next item queued even
    when this process is slow to collect results (short files, a busy machine), few enough that a
    corpus of a million files is not queued at once and a worker that dies takes few items with it.

    When a worker dies (killed, out of memory, a crash in a native library) the pool is lost with
    the items in flight, and which of them killed it is unknown: each is then run again alone, in a
    pool of one, where a death can only be its own. An item that kills its worker
    :data:`MAX_ATTEMPTS` times that way is reported as failed; the others are done.
    """
    results: list[Outcome | None] = [None] * len(items)
    runs = [0] * len(items)
    deaths = [0] * len(items)
    todo: deque[int] = deque(range(len(items)))
    suspects: deque[int] = deque()
    while todo or suspects:
        if suspects:  # one suspect at a time, alone
            i = suspects.popleft()
            if _pool_pass(job, items, deque([i]), 1, 1, results, runs, on_done):
                deaths[i] += 1
                if deaths[i] < MAX_ATTEMPTS:
                    suspects.appendleft(i)
                else:
                    results[i] = Outcome(i, error=f"its worker process died {deaths[i]} times processing it; "
                                                  "giving up on this item", attempts=runs[i])
                    if on_done is not None:
                        on_done(results[i])
            continue
        lost = _pool_pass(job, items, todo, jobs, 4 * jobs, results, runs, on_done)
        if lost:
            log.warning("a worker process died; retrying the %d item(s) it may have been processing", len(lost))
            suspects.extend(sorted(lost))
    return [o for o in results if o is not None]


def _pool_pass(job: Job, items: Sequence[Any], todo: deque[int], jobs: int, window: int,
               results: list[Outcome | None], runs: list[int], on_done: OnDone | None) -> list[int]:
    """Run items from ``todo`` on a fresh pool until it is empty or a worker dies; returns the items
    lost with the pool (empty when all went well)."""
    ctx = mp.get_context(_start_method())
    with _child_environment(), ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker,
                                                  initargs=(job,)) as pool:
        running: dict[Future, int] = {}
        lost: list[int] = []
        while todo or running:
            while todo and len(running) < window:
                i = todo.popleft()
                runs[i] += 1
                running[pool.submit(_work, items[i], i)] = i
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                i = running.pop(fut)
                try:
                    o = fut.result()
                except BrokenProcessPool:
                    lost.append(i)
                    continue
                o.attempts = runs[i]
                results[i] = o
                if on_done is not None:
                    on_done(o)
            if lost:  # every other item in flight is lost with the pool
                lost.extend(running.values())
                pool.shutdown(wait=True, cancel_futures=True)
                return lost
    return []


def auto_chunk(n_items: int, workers: int) -> int:
    """Items per task: 1 for small batches; large ones are cut into about 32 tasks per worker, of at
    most 64 items, so that the cost of each task (a message to a process, Ray's scheduling, of the
    order of a millisecond) stays small against its work while the load still balances."""
    return max(1, min(64, n_items // (32 * max(workers, 1))))


def _run_chunk(fn: Callable[[Any, Any], Any], state: Any, chunk: tuple[int, list[Any]]) -> list[Outcome]:
    start, group = chunk
    return [call(fn, state, item, start + k) for k, item in enumerate(group)]


def _execute(engine: str, job: Job, items: list[Any], workers: int, address: str | None,
             on_done: OnDone | None) -> list[Outcome]:
    if engine == "ray":
        from .cluster import run_ray

        return run_ray(job, items, jobs=workers, address=address, on_done=on_done)
    if workers <= 1:
        return run_inline(job, items, on_done)
    return run_pool(job, items, workers, on_done)


# ------------------------------------------------------------------------------------- the seam
def run(job: Job, items: Sequence[Any], *, engine: str = "local", jobs: int | None = None,
        address: str | None = None, on_done: OnDone | None = None, chunk: int | None = None) -> list[Outcome]:
    """Run ``job`` over ``items`` on ``engine``; returns one :class:`Outcome` per item, in item order.

    Args:
        job: what to do with each item (see :class:`Job`).
        items: picklable work items (file paths, pairs of them).
        engine: ``local`` (processes on this machine) or ``ray`` (a Ray cluster).
        jobs: local: worker processes (default :func:`default_jobs`); ray: actors (default one per CPU
            of the cluster).
        address: ray: the cluster's ``HOST:PORT`` (default: ``RAY_ADDRESS``, else a local instance).
        on_done: called in this process after each item, in completion order (progress, manifests).
        chunk: items sent to a worker at once (default :func:`auto_chunk`). The items of a group whose
            worker died are run again one by one, so a file that kills workers fails alone.

    Example:
        >>> outcomes = run(Job(fn=denoise_one, setup=load_model), files, jobs=4)   # doctest: +SKIP
        >>> failed = [o.error for o in outcomes if not o.ok]                        # doctest: +SKIP
    """
    if engine not in ENGINES:
        raise ParameterError(f"unknown engine '{engine}' (choose from {', '.join(ENGINES)})")
    if jobs is not None and jobs < 1:
        raise ParameterError(f"--jobs must be at least 1, got {jobs}")
    if chunk is not None and chunk < 1:
        raise ParameterError(f"chunk must be at least 1, got {chunk}")
    if address is not None and engine != "ray":
        raise ParameterError("--address is for --engine ray")
    items = list(items)
    if not items:
        return []
    if engine == "ray":
        from .cluster import cluster_cpus

        workers = min(jobs or cluster_cpus(address), len(items))
    else:
        workers = min(default_jobs() if jobs is None else jobs, len(items))
    size = chunk if chunk is not None else (1 if workers <= 1 else auto_chunk(len(items), workers))
    if size <= 1:
        return _execute(engine, job, items, workers, address, on_done)

    results: list[Outcome | None] = [None] * len(items)
    lost: list[int] = []
    starts = list(range(0, len(items), size))

    def chunk_done(o: Outcome) -> None:
        if not o.ok:  # its workers died (or it could not be sent back): redo its items one by one
            lost.extend(range(starts[o.index], min(starts[o.index] + size, len(items))))
            return
        for inner in o.value:
            inner.attempts = o.attempts
            results[inner.index] = inner
            if on_done is not None:
                on_done(inner)

    grouped = Job(fn=partial(_run_chunk, job.fn), setup=job.setup)
    _execute(engine, grouped, [(s, items[s: s + size]) for s in starts], max(1, min(workers, len(starts))),
             address, chunk_done)
    if lost:
        lost.sort()
        log.warning("retrying %d item(s) one by one after their worker died", len(lost))

        def single_done(o: Outcome) -> None:
            o.index = lost[o.index]
            o.attempts += 1
            results[o.index] = o
            if on_done is not None:
                on_done(o)

        _execute(engine, job, [items[i] for i in lost], max(1, min(workers, len(lost))), address, single_done)
    return [o for o in results if o is not None]


__all__ = ["ENGINES", "MAX_ATTEMPTS", "Job", "Outcome", "run", "run_inline", "run_pool", "default_jobs",
           "call", "error_line", "single_thread", "auto_chunk"]
