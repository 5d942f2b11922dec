"""Start (or continue) a listening test: the database, the test, the access key, then uvicorn.

Example:
    >>> serve(["bench_out/report"], "ratings.sqlite", protocol="acr")   # doctest: +SKIP
    listening test (ACR, 9 items x 4 conditions): http://127.0.0.1:8765/
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import MissingExtraError, ParameterError
from .design import ListeningTest, build_test
from .store import RatingStore

log = logging.getLogger(__name__)

EXTRA = "listen"


def require_web() -> None:
    """Import check for the ``listen`` extra (Starlette and uvicorn)."""
    for module in ("starlette", "uvicorn"):
        try:
            __import__(module)
        except ImportError:
            raise MissingExtraError(module, EXTRA, "the listening test") from None


def is_local(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine (loopback)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Prepared:
    """A test ready to serve: its definition, its database, the access key (None on loopback)."""

    test: ListeningTest
    store: RatingStore
    access_key: str | None
    resumed: bool


def prepare(sources: list[str], db: str | os.PathLike, protocol: str | None = None, items: int | None = None,
            seed: int | None = None, host: str = "127.0.0.1") -> Prepared:
    """Open ``db``; continue the test it holds (the same sources, protocol, items and seed) or create it.

    A database this call created is removed again when the test cannot be built (bad sources)."""
    existed = Path(db).exists()
    store = RatingStore(db)
    try:
        if store.is_initialised():
            meta = store.meta()
            wanted = {"protocol": protocol, "items_n": items, "seed": seed}
            held = {"protocol": meta["protocol"], "items_n": meta.get("items_n"), "seed": meta["seed"]}
            for key, value in wanted.items():
                if value is not None and value != held[key]:
                    raise ParameterError(f"{db} holds a test with {key.replace('_n', '')} = {held[key]}, not {value}; "
                                         "give another --db to start a new test")
            if sources and [str(s) for s in sources] != list(meta["sources"]):
                raise ParameterError(f"{db} holds a test of {' '.join(meta['sources'])}; give the same sources "
                                     "(or none) to continue it, or another --db")
            test = ListeningTest.from_store(meta, store.stimuli())
            resumed = True
        else:
            if not sources:
                raise ParameterError(f"{db} holds no test yet: give a bench report folder or NAME=FOLDER sources")
            test = build_test(sources, protocol or "acr", items, 0 if seed is None else seed)
            store.initialise({**test.meta(), "items_n": items}, list(test.stimuli.values()))
            resumed = False
        key = None
        if not is_local(host):
            key = store.meta().get("access_key")
            if not key:
                key = secrets.token_urlsafe(16)
                store.set_meta("access_key", key)
    except BaseException:
        store.close()
        if not existed:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
        raise
    return Prepared(test, store, key, resumed)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one), so the URL is known before serving."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ParameterError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(host: str, port: int, key: str | None) -> str:
    shown = f"[{host}]" if ":" in host else ("127.0.0.1" if host == "localhost" else host)
    if host in ("0.0.0.0", "::"):
        shown = socket.gethostname()
    return f"http://{shown}:{port}/" + (f"?key={key}" if key else "")


def serve(sources: list[str], db: str | os.PathLike, *, protocol: str | None = None, host: str = "127.0.0.1",
          port: int = 8765, items: int | None = None, seed: int | None = None,
          on_ready: Callable[[str, Prepared], None] | None = None) -> None:
    """Serve the listening test until interrupted; ``on_ready(url, prepared)`` once the socket is bound.

    Every rating is committed to ``db`` before the page moves on; run it again with the same ``db`` to
    continue the test (sources may then be omitted).
    """
    require_web()
    import uvicorn

    from .app import create_app

    if not Path(db).parent.exists():
        raise ParameterError(f"the folder of {db} does not exist")
    prepared = prepare(sources, db, protocol, items, seed, host)
    try:
        sock = bind(host, port)
        real_port = sock.getsockname()[1]
        app = create_app(prepared.test, prepared.store, prepared.access_key)
        config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False,
                                timeout_graceful_shutdown=2)
        server = uvicorn.Server(config)
        if on_ready is not None:
            on_ready(url_of(host, real_port, prepared.access_key), prepared)
        server.run(sockets=[sock])
    finally:
        prepared.store.close()


__all__ = ["serve", "prepare", "Prepared", "is_local", "bind", "url_of", "require_web"]
