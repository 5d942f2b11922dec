"""Where batch work runs. Commands hand a :class:`Job` (set up once per worker, then one function per
item) and a list of items to :func:`run`, which runs them in this process, on a pool of local processes
(``engine="local"``, one thread each) or on a Ray cluster (``engine="ray"``, the ``cluster`` extra),
and returns the same outcomes in the same order whichever it was.

Example:
    >>> from audiorestore.engine import Job, run
    >>> outcomes = run(Job(fn=denoise_one, setup=load_model), files, jobs=8)       # doctest: +SKIP
    >>> outcomes = run(job, files, engine="ray", address="head:6379")              # doctest: +SKIP
"""

from .runner import ENGINES, MAX_ATTEMPTS, Job, Outcome, default_jobs, run

__all__ = ["ENGINES", "MAX_ATTEMPTS", "Job", "Outcome", "default_jobs", "run"]
