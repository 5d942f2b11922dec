"""The Ray engine: the same :class:`~audiorestore.engine.runner.Job` on every core of a Ray cluster.

One actor per core (``num_cpus=1``, spread over the nodes) calls ``job.setup()`` once, so each keeps
its model loaded, then receives items one or two at a time (a small window per actor keeps it busy
while results travel back). Inputs and outputs are paths on storage every node sees: a shared
filesystem mounted at the same place on every node; each actor works in the driver's working
directory, so relative paths mean the same thing everywhere.

Faults: when an actor's process or its node dies, its items in flight go back to the queue and are
retried on the other actors, and a replacement actor is started (Ray places it wherever a CPU is
free). An item whose actor dies :data:`~audiorestore.engine.runner.MAX_ATTEMPTS` times is reported as
failed. When the driver dies the cluster drops its actors; re-running the command resumes (finished
outputs exist and are skipped).

Example:
    >>> outcomes = run_ray(Job(fn=my_fn, setup=my_setup), paths, address="head-node:6379")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from ..errors import AudioRestoreError, MissingExtraError
from .runner import MAX_ATTEMPTS, Job, OnDone, Outcome, call, single_thread

log = logging.getLogger(__name__)

#: Items in flight per actor: one running, one waiting, so an actor never idles between items.
WINDOW_PER_ACTOR = 2
#: Seconds without any live actor (all dead, replacements not placed) before giving up.
NO_WORKER_TIMEOUT_S = 300.0


def _ray():
    try:
        import ray
    except ImportError:
        raise MissingExtraError("ray", "cluster", "--engine ray") from None
    return ray


class _Worker:
    """The actor: builds the job's state once, then processes items."""

    def __init__(self, job: Job, cwd: str) -> None:
        single_thread()
        if os.path.isdir(cwd):  # the shared filesystem: relative paths resolve as on the driver
            os.chdir(cwd)
        self.job = job
        self.state = job.setup() if job.setup is not None else None

    def ready(self) -> bool:
        return True

    def process(self, item: Any, index: int) -> Outcome:
        return call(self.job.fn, self.state, item, index)


def connect(address: str | None = None) -> None:
    """Join the cluster at ``address`` (``HOST:PORT``); without one, Ray's rule: ``RAY_ADDRESS``, else the
    cluster last started on this machine with ``ray start``, else a new local instance."""
    ray = _ray()
    if ray.is_initialized():
        return
    kwargs: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise AudioRestoreError(f"cannot reach the Ray cluster at {address or os.environ.get('RAY_ADDRESS')}: "
                                f"{' '.join(str(exc).split())[:200]}") from None


def cluster_cpus(address: str | None = None) -> int:
    """CPUs of the cluster (joining it first): the default number of actors."""
    connect(address)
    return max(int(_ray().cluster_resources().get("CPU", 1)), 1)


def run_ray(job: Job, items: Sequence[Any], *, jobs: int | None = None, address: str | None = None,
            on_done: OnDone | None = None) -> list[Outcome]:
    """Run ``job`` over ``items`` on a Ray cluster; one :class:`Outcome` per item, in item order.

    ``jobs``: actors (default: one per CPU of the cluster, at most one per item).
    """
    ray = _ray()
    from ray.exceptions import GetTimeoutError, RayError, RayTaskError

    results: list[Outcome | None] = [None] * len(items)
    if not items:
        return []
    n = min(jobs or cluster_cpus(address), len(items))
    remote_cls = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(_Worker)
    job_ref = ray.put(job)
    cwd = os.getcwd()

    def start() -> Any:
        return remote_cls.options(scheduling_strategy="SPREAD").remote(job_ref, cwd)

    runs = [0] * len(items)
    deaths = [0] * len(items)
    todo: deque[int] = deque(range(len(items)))
    pending: dict[Any, Any] = {}  # ready() ref -> actor not yet usable
    for _ in range(n):
        a = start()
        pending[a.ready.remote()] = a
    idle: dict[Any, int] = {}  # usable actor -> free slots
    running: dict[Any, tuple[int, Any]] = {}  # result ref -> (item, actor), in submission order
    finished = 0
    last_alive = time.monotonic()

    def lose(actor: Any) -> None:
        """An actor died: its items go back to the front of the queue, and a replacement is started.

        An actor runs its items one after another, so only the first of them was being processed:
        that one is charged with the death; after MAX_ATTEMPTS deaths it is reported as failed."""
        nonlocal finished
        idle.pop(actor, None)
        mine = [(ref, i) for ref, (i, a) in running.items() if a is actor]
        for ref, _ in mine:
            del running[ref]
        for k, (_, i) in reversed(list(enumerate(mine))):
            if k == 0:
                deaths[i] += 1
                if deaths[i] >= MAX_ATTEMPTS:
                    o = Outcome(i, error=f"its Ray worker died {deaths[i]} times processing it; giving up on this "
                                         "item", attempts=runs[i])
                    results[i] = o
                    finished += 1
                    if on_done is not None:
                        on_done(o)
                    continue
            todo.appendleft(i)
        try:
            ray.kill(actor, no_restart=True)
        except Exception:  # already gone with its node
            pass
        if todo or running:
            r = start()
            pending[r.ready.remote()] = r

    try:
        while finished < len(items):
            for actor in [a for a, free in idle.items() if free > 0]:
                while todo and idle[actor] > 0:
                    i = todo.popleft()
                    runs[i] += 1
                    idle[actor] -= 1
                    running[actor.process.remote(items[i], i)] = (i, actor)
            refs = list(running) + list(pending)
            if idle or running:
                last_alive = time.monotonic()
            elif time.monotonic() - last_alive > NO_WORKER_TIMEOUT_S:
                raise AudioRestoreError(f"no Ray worker could be started for {NO_WORKER_TIMEOUT_S:.0f} s; "
                                        f"{len(todo)} item(s) not processed (re-run to resume)")
            ready, _ = ray.wait(refs, num_returns=1, timeout=5.0)
            for ref in ready:
                if ref in pending:
                    actor = pending.pop(ref)
                    try:
                        ray.get(ref)
                    except RayTaskError as exc:  # setup() raised: the job cannot run anywhere
                        raise AudioRestoreError(f"a Ray worker could not set up: {_cause(exc)}") from None
                    except RayError as exc:
                        log.warning("a Ray worker died while starting (%s); starting another", _cause(exc))
                        lose(actor)
                        continue
                    idle[actor] = WINDOW_PER_ACTOR
                    continue
                if ref not in running:  # requeued already: its actor was lost through another item
                    continue
                i, actor = running[ref]
                try:
                    o = ray.get(ref)
                except (RayError, GetTimeoutError) as exc:
                    log.warning("a Ray worker died (%s); retrying its items on the others", _cause(exc))
                    lose(actor)
                    continue
                del running[ref]
                o.attempts = runs[i]
                results[i] = o
                finished += 1
                if actor in idle:
                    idle[actor] += 1
                if on_done is not None:
                    on_done(o)
    finally:
        for actor in list(idle) + list(pending.values()):
            try:
                ray.kill(actor, no_restart=True)
            except Exception:
                pass
    return [o for o in results if o is not None]


def _cause(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


__all__ = ["run_ray", "connect", "cluster_cpus", "WINDOW_PER_ACTOR", "NO_WORKER_TIMEOUT_S"]
