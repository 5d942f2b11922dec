"""The listening page: a small Starlette (ASGI) app whose handlers call :mod:`.design` and :mod:`.store`.

Routes (all JSON except the page, static files and audio):

* ``GET /``: the page (``templates/index.html``); ``GET /static/...``: its script and style;
* ``POST /api/listeners``: a new listener id and its randomised plan (no personal data);
* ``GET /api/listeners/{id}``: where the listener stands: training, the next trial, or done;
* ``POST /api/listeners/{id}/qualification``: ``{"answer": stimulus id}`` of the clip heard as worse;
* ``POST /api/listeners/{id}/trials/{n}``: ``{"rating": 1..5}`` (ACR), ``{"sig", "bak", "ovl"}`` (P.835)
  or ``{"scores": {stimulus id: 0..100}}`` (MUSHRA), committed to the database before the answer;
* ``GET /audio/{id}``: a clip, by opaque id only (no path ever comes from a request).

Safety: every request is validated (unknown listener, trial or stimulus ids -> 404; a trial answered
twice -> 409; bodies that are not a small JSON object -> 400 or 413; wrong keys, types or out-of-range
ratings -> 422) and changes nothing when refused; errors are one-line JSON, never a traceback. With an
access key (required by :func:`audiorestore.web.serve` on a non-local address) every request must carry
it as ``?key=``, an ``X-Access-Key`` header or the cookie the page sets.

Example:
    >>> app = create_app(test, store, access_key=None)          # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8765)           # doctest: +SKIP
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
import threading
from collections import OrderedDict
from importlib import resources
from typing import Any

from .design import TITLES, ListeningTest, make_plan, wav_bytes
from .store import AlreadyAnswered, RatingStore

log = logging.getLogger(__name__)

#: largest request body accepted (a MUSHRA answer with a dozen conditions is under 1 kB)
MAX_BODY_BYTES = 16 * 1024
#: audio clips kept rendered in memory
AUDIO_CACHE = 256
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
COOKIE = "audiorestore_key"


class RequestError(Exception):
    """A refused request: HTTP status and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _package_text(*parts: str) -> str:
    return resources.files("audiorestore.web").joinpath(*parts).read_text(encoding="utf-8")


class ListeningService:
    """The handlers' logic, free of HTTP: state of a listener, answers, audio (all validated)."""

    def __init__(self, test: ListeningTest, store: RatingStore) -> None:
        self.test, self.store = test, store
        self._audio: OrderedDict[str, bytes] = OrderedDict()
        self._audio_lock = threading.Lock()

    # -------------------------------------------------------------------- helpers
    def _listener(self, listener_id: str):
        if not ID_PATTERN.match(listener_id):
            raise RequestError(404, "unknown listener")
        lis = self.store.listener(listener_id)
        if lis is None:
            raise RequestError(404, "unknown listener")
        return lis

    @staticmethod
    def _audio_url(sid: str) -> str:
        return f"/audio/{sid}"

    def _scales(self) -> list[dict[str, Any]]:
        return [{"key": s.key, "prompt": s.prompt, "low": s.low, "high": s.high, "labels": list(s.labels)}
                for s in self.test.scales]

    # -------------------------------------------------------------------- listeners
    def new_listener(self) -> dict[str, Any]:
        listener_id = secrets.token_urlsafe(12)
        seed = secrets.randbits(32)
        self.store.add_listener(listener_id, seed, make_plan(self.test, seed))
        log.info("new listener %s", listener_id)
        return {"listener": listener_id}

    def state(self, listener_id: str) -> dict[str, Any]:
        lis = self._listener(listener_id)
        trials = lis.plan["trials"]
        answered = self.store.answered(listener_id)
        out: dict[str, Any] = {"listener": lis.id, "protocol": self.test.protocol, "title": TITLES[self.test.protocol],
                               "scales": self._scales(), "total": len(trials), "answered": len(answered),
                               "qualified": lis.qualified, "trial": None}
        if not lis.qualified:
            tr, q = lis.plan["training"], lis.plan["qualification"]
            out["training"] = {"best": self._audio_url(tr["best"]), "worst": self._audio_url(tr["worst"]),
                               "options": [{"id": sid, "label": "AB"[i], "audio": self._audio_url(sid)}
                                           for i, sid in enumerate(q["options"])],
                               "attempts": lis.qualification_attempts}
            return out
        nxt = next((i for i in range(len(trials)) if i not in answered), None)
        if nxt is not None:
            t = trials[nxt]
            out["trial"] = {"index": nxt, "number": len(answered) + 1,
                            "stimuli": [{"id": sid, "label": _letter(i), "audio": self._audio_url(sid)}
                                        for i, sid in enumerate(t["stimuli"])],
                            "reference": self._audio_url(t["reference"]) if "reference" in t else None}
        return out

    def qualify(self, listener_id: str, body: Any) -> dict[str, Any]:
        lis = self._listener(listener_id)
        if not isinstance(body, dict) or set(body) != {"answer"} or not isinstance(body["answer"], str):
            raise RequestError(422, 'expected {"answer": "<stimulus id>"}')
        q = lis.plan["qualification"]
        if body["answer"] not in q["options"]:
            raise RequestError(422, "the answer is not one of the two clips")
        if lis.qualified:
            return {"passed": True}
        passed = hmac.compare_digest(body["answer"], q["worse"])
        self.store.record_qualification(listener_id, passed)
        return {"passed": passed}

    # -------------------------------------------------------------------- ratings
    def _parse_ratings(self, trial: dict[str, Any], body: Any) -> list[tuple[str, str, int]]:
        if not isinstance(body, dict):
            raise RequestError(422, "expected a JSON object")
        scales = self.test.scales

        def value(x: Any, lo: int, hi: int, what: str) -> int:
            if isinstance(x, bool) or not isinstance(x, int):
                raise RequestError(422, f"{what} must be an integer")
            if not lo <= x <= hi:
                raise RequestError(422, f"{what} must lie in {lo}..{hi}, got {x}")
            return int(x)

        if self.test.protocol == "mushra":
            s = scales[0]
            if set(body) != {"scores"} or not isinstance(body["scores"], dict):
                raise RequestError(422, 'expected {"scores": {"<stimulus id>": 0..100, ...}}')
            scores = body["scores"]
            if set(scores) != set(trial["stimuli"]):
                raise RequestError(422, "scores must rate exactly this trial's clips")
            return [(sid, s.key, value(scores[sid], s.low, s.high, "a score")) for sid in trial["stimuli"]]
        keys = {"rating"} if self.test.protocol == "acr" else {s.key for s in scales}
        if set(body) != keys:
            raise RequestError(422, f"expected exactly the keys {sorted(keys)}")
        sid = trial["stimuli"][0]
        if self.test.protocol == "acr":
            s = scales[0]
            return [(sid, s.key, value(body["rating"], s.low, s.high, "rating"))]
        return [(sid, s.key, value(body[s.key], s.low, s.high, s.key)) for s in scales]

    def answer(self, listener_id: str, trial_index: str, body: Any) -> dict[str, Any]:
        lis = self._listener(listener_id)
        if not re.fullmatch(r"\d{1,6}", trial_index) or int(trial_index) >= len(lis.plan["trials"]):
            raise RequestError(404, "unknown trial")
        if not lis.qualified:
            raise RequestError(409, "answer the qualification question first")
        index = int(trial_index)
        ratings = self._parse_ratings(lis.plan["trials"][index], body)
        try:
            self.store.add_response(listener_id, index, ratings)  # committed before we answer
        except AlreadyAnswered:
            raise RequestError(409, "this trial is already answered") from None
        return self.state(listener_id)

    # -------------------------------------------------------------------- audio
    def audio(self, sid: str) -> bytes:
        if not ID_PATTERN.match(sid) or sid not in self.test.stimuli:
            raise RequestError(404, "unknown clip")
        with self._audio_lock:
            data = self._audio.get(sid)
        if data is None:
            data = wav_bytes(self.test.stimuli[sid])
            with self._audio_lock:
                self._audio[sid] = data
                while len(self._audio) > AUDIO_CACHE:
                    self._audio.popitem(last=False)
        return data


def _letter(i: int) -> str:
    return chr(ord("A") + i) if i < 26 else f"A{i - 25}"


# ------------------------------------------------------------------------------------------ ASGI
def create_app(test: ListeningTest, store: RatingStore, access_key: str | None = None) -> Any:
    """The Starlette application serving ``test`` and writing to ``store``."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    service = ListeningService(test, store)
    page = _package_text("templates", "index.html")

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status, headers={"Cache-Control": "no-store"})

    async def read_json(request: Request) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
            raise RequestError(413, f"request body larger than {MAX_BODY_BYTES} bytes")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise RequestError(413, f"request body larger than {MAX_BODY_BYTES} bytes")
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise RequestError(400, "the body is not valid JSON") from None

    async def index(request: Request) -> Response:
        resp = HTMLResponse(page, headers={"Cache-Control": "no-store"})
        if access_key is not None:  # the page was opened with ?key=: let its scripts and audio use a cookie
            resp.set_cookie(COOKIE, access_key, httponly=True, samesite="strict")
        return resp

    async def new_listener(request: Request) -> Response:
        await read_json_or_empty(request)
        return JSONResponse(await run_in_threadpool(service.new_listener), status_code=201)

    async def read_json_or_empty(request: Request) -> Any:
        declared = request.headers.get("content-length")
        if declared in (None, "0"):
            return None
        return await read_json(request)

    async def state(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(service.state, request.path_params["listener"]),
                            headers={"Cache-Control": "no-store"})

    async def qualification(request: Request) -> Response:
        body = await read_json(request)
        return JSONResponse(await run_in_threadpool(service.qualify, request.path_params["listener"], body))

    async def trial(request: Request) -> Response:
        body = await read_json(request)
        p = request.path_params
        return JSONResponse(await run_in_threadpool(service.answer, p["listener"], p["trial"], body))

    async def audio(request: Request) -> Response:
        data = await run_in_threadpool(service.audio, request.path_params["stimulus"])
        return Response(data, media_type="audio/wav", headers={"Cache-Control": "private, max-age=3600"})

    async def on_request_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestError)
        return error(exc.status, str(exc))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error(exc.status_code, str(exc.detail))

    async def on_error(request: Request, exc: Exception) -> Response:
        log.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        return error(500, "internal error (see the server's log)")

    static = StaticFiles(directory=str(resources.files("audiorestore.web").joinpath("static")))
    routes = [Route("/", index), Route("/api/listeners", new_listener, methods=["POST"]),
              Route("/api/listeners/{listener}", state), Route("/api/listeners/{listener}/qualification",
                                                               qualification, methods=["POST"]),
              Route("/api/listeners/{listener}/trials/{trial}", trial, methods=["POST"]),
              Route("/audio/{stimulus}", audio), Mount("/static", static, name="static")]
    app = Starlette(routes=routes, exception_handlers={RequestError: on_request_error,
                                                       HTTPException: on_http_error, Exception: on_error})
    return AccessKeyMiddleware(app, access_key) if access_key is not None else app


class AccessKeyMiddleware:
    """Pure ASGI middleware: a request without the access key (query, header or cookie) gets 403."""

    def __init__(self, app: Any, key: str) -> None:
        self.app, self.key = app, key

    def _presented(self, scope: dict[str, Any]) -> list[str]:
        from urllib.parse import parse_qs

        found = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("key", [])
        for name, value in scope.get("headers", []):
            if name == b"x-access-key":
                found.append(value.decode("latin-1"))
            elif name == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    k, _, v = part.strip().partition("=")
                    if k == COOKIE:
                        found.append(v)
        return found

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not any(hmac.compare_digest(k.encode(), self.key.encode())
                                               for k in self._presented(scope)):
            body = b'{"error":"access key missing or wrong: open the URL the server printed"}'
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


__all__ = ["create_app", "ListeningService", "RequestError", "AccessKeyMiddleware", "MAX_BODY_BYTES"]
