"""The ratings database: one SQLite file (standard library ``sqlite3``), explicit transactions.

Everything the listening test keeps lives here: the test's definition (protocol, seed, sources, access
key), its stimuli (opaque id -> file and how to render it), the listeners (a random id, the randomised
plan they were given, their qualification) and every rating. The connection runs in autocommit mode and
each write is one explicit ``BEGIN IMMEDIATE ... COMMIT``; a trial's ratings are one transaction,
committed (WAL journal, ``synchronous=FULL``) before the web page is answered, so killing the server at
any moment loses nothing already answered. A second answer to the same trial violates the primary key
and changes nothing.

Tables::

    meta(key, value)                                     test definition, JSON values
    stimuli(id, item, grp, condition, kind, path)        kind: condition | reference | anchor_lp | anchor_mnru
    listeners(id, created, seed, plan, qualified, qualification_attempts)
    responses(listener, trial, submitted)                one row per answered trial
    ratings(listener, trial, stimulus, scale, value)     scale: acr | sig | bak | ovl | mushra

Example:
    >>> store = RatingStore("ratings.sqlite")                      # doctest: +SKIP
    >>> store.add_response("k3Xc...", 0, [("s1", "acr", 4)])        # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AudioInputError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stimuli(id TEXT PRIMARY KEY, item TEXT NOT NULL, grp TEXT NOT NULL,
    condition TEXT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS listeners(id TEXT PRIMARY KEY, created REAL NOT NULL, seed INTEGER NOT NULL,
    plan TEXT NOT NULL, qualified INTEGER NOT NULL DEFAULT 0, qualification_attempts INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS responses(listener TEXT NOT NULL REFERENCES listeners(id), trial INTEGER NOT NULL,
    submitted REAL NOT NULL, PRIMARY KEY(listener, trial));
CREATE TABLE IF NOT EXISTS ratings(listener TEXT NOT NULL, trial INTEGER NOT NULL, stimulus TEXT NOT NULL
    REFERENCES stimuli(id), scale TEXT NOT NULL, value INTEGER NOT NULL,
    PRIMARY KEY(listener, trial, stimulus, scale), FOREIGN KEY(listener, trial) REFERENCES responses(listener, trial));
"""


class AlreadyAnswered(Exception):
    """The trial already has its ratings (nothing was changed)."""


@dataclass(frozen=True)
class Stimulus:
    """One playable clip: an opaque ``id`` and what it is (never sent to the listener)."""

    id: str
    item: str
    group: str
    condition: str
    kind: str
    path: str


@dataclass
class Listener:
    """A listener: id, the seed of their randomisation, their plan (list of trials), qualification."""

    id: str
    created: float
    seed: int
    plan: list[dict[str, Any]]
    qualified: bool
    qualification_attempts: int


class RatingStore:
    """Thread-safe access to the ratings database (one connection, one lock, explicit transactions)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_file():
            raise AudioInputError("is not a file", self.path)
        if not self.path.parent.exists():
            raise AudioInputError("the folder of the database does not exist", self.path)
        self._lock = threading.Lock()
        try:
            self._con = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30)
            self._con.execute("PRAGMA journal_mode=WAL")
            self._con.execute("PRAGMA synchronous=FULL")
            self._con.execute("PRAGMA foreign_keys=ON")
            with self.transaction() as cur:  # executescript would commit on its own: one statement at a time
                for stmt in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                    cur.execute(stmt)
        except sqlite3.DatabaseError as exc:
            raise AudioInputError(f"not a ratings database ({exc})", self.path) from None

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any exception)."""
        cur = self._con.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    def _locked(self) -> threading.Lock:
        return self._lock

    def close(self) -> None:
        with self._locked():
            self._con.close()

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._locked():
            return self._con.execute(sql, args).fetchall()

    # ------------------------------------------------------------------ the test definition
    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self._query("SELECT key, value FROM meta")}

    def set_meta(self, key: str, value: Any) -> None:
        with self._locked(), self.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def is_initialised(self) -> bool:
        return bool(self._query("SELECT 1 FROM meta WHERE key = 'protocol'"))

    def initialise(self, meta: dict[str, Any], stimuli: Sequence[Stimulus]) -> None:
        """Write the test definition and its stimuli in one transaction (a new database only)."""
        with self._locked(), self.transaction() as cur:
            if cur.execute("SELECT 1 FROM meta WHERE key = 'protocol'").fetchone():
                raise AudioInputError("already holds a test", self.path)
            cur.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                            [(k, json.dumps(v)) for k, v in {**meta, "schema": SCHEMA_VERSION}.items()])
            cur.executemany("INSERT INTO stimuli(id, item, grp, condition, kind, path) VALUES (?, ?, ?, ?, ?, ?)",
                            [(s.id, s.item, s.group, s.condition, s.kind, s.path) for s in stimuli])

    def stimuli(self) -> list[Stimulus]:
        return [Stimulus(*row) for row in
                self._query("SELECT id, item, grp, condition, kind, path FROM stimuli ORDER BY rowid")]

    # ------------------------------------------------------------------ listeners
    def add_listener(self, listener_id: str, seed: int, plan: list[dict[str, Any]]) -> Listener:
        created = time.time()
        with self._locked(), self.transaction() as cur:
            cur.execute("INSERT INTO listeners(id, created, seed, plan) VALUES (?, ?, ?, ?)",
                        (listener_id, created, seed, json.dumps(plan)))
        return Listener(listener_id, created, seed, plan, False, 0)

    def listener(self, listener_id: str) -> Listener | None:
        rows = self._query("SELECT id, created, seed, plan, qualified, qualification_attempts FROM listeners "
                           "WHERE id = ?", (listener_id,))
        if not rows:
            return None
        r = rows[0]
        return Listener(r[0], r[1], r[2], json.loads(r[3]), bool(r[4]), r[5])

    def listeners(self) -> list[Listener]:
        rows = self._query("SELECT id, created, seed, plan, qualified, qualification_attempts FROM listeners "
                           "ORDER BY created")
        return [Listener(r[0], r[1], r[2], json.loads(r[3]), bool(r[4]), r[5]) for r in rows]

    def record_qualification(self, listener_id: str, passed: bool) -> None:
        with self._locked(), self.transaction() as cur:
            cur.execute("UPDATE listeners SET qualification_attempts = qualification_attempts + 1, "
                        "qualified = MAX(qualified, ?) WHERE id = ?", (int(passed), listener_id))

    # ------------------------------------------------------------------ ratings
    def answered(self, listener_id: str) -> set[int]:
        return {r[0] for r in self._query("SELECT trial FROM responses WHERE listener = ?", (listener_id,))}

    def add_response(self, listener_id: str, trial: int, ratings: Sequence[tuple[str, str, int]]) -> None:
        """Store one trial's ratings ``[(stimulus id, scale, value), ...]`` in one committed transaction.

        Raises :class:`AlreadyAnswered` (and changes nothing) when the trial has been answered before.
        """
        with self._locked():
            try:
                with self.transaction() as cur:
                    cur.execute("INSERT INTO responses(listener, trial, submitted) VALUES (?, ?, ?)",
                                (listener_id, trial, time.time()))
                    cur.executemany("INSERT INTO ratings(listener, trial, stimulus, scale, value) "
                                    "VALUES (?, ?, ?, ?, ?)", [(listener_id, trial, s, k, v) for s, k, v in ratings])
            except sqlite3.IntegrityError:
                raise AlreadyAnswered(f"trial {trial} is already answered") from None

    def ratings(self) -> list[dict[str, Any]]:
        """Every rating joined with its stimulus: listener, trial, item, group, condition, kind, scale, value."""
        rows = self._query(
            "SELECT r.listener, r.trial, s.item, s.grp, s.condition, s.kind, r.scale, r.value, r.stimulus "
            "FROM ratings r JOIN stimuli s ON s.id = r.stimulus ORDER BY r.listener, r.trial, r.stimulus, r.scale")
        keys = ("listener", "trial", "item", "group", "condition", "kind", "scale", "value", "stimulus")
        return [dict(zip(keys, r)) for r in rows]


def open_existing(path: str | os.PathLike) -> RatingStore:
    """Open a database that must already hold a test (for ``--results``)."""
    p = Path(path)
    if not p.is_file():
        raise AudioInputError("no such ratings database", p)
    store = RatingStore(p)
    if not store.is_initialised():
        store.close()
        raise AudioInputError("holds no listening test", p)
    return store


__all__ = ["RatingStore", "Stimulus", "Listener", "AlreadyAnswered", "open_existing", "SCHEMA_VERSION"]
