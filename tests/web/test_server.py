"""A real ``audiorestore listen`` server on 127.0.0.1: load, bad requests, kill and restart, access key."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import listen_server

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

N_LISTENERS = 50


def db_rows(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(str(db))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def qualify(client, base: str, lid: str) -> None:
    """Answer the qualification question as a listener who does not know the answer: A, then B if wrong."""
    state = client.get(f"{base}/api/listeners/{lid}").json()
    for option in state["training"]["options"]:
        r = client.post(f"{base}/api/listeners/{lid}/qualification", json={"answer": option["id"]})
        assert r.status_code == 200
        if r.json()["passed"]:
            return
    raise AssertionError("neither clip passed the qualification")


async def _listener(client, base: str, k: int, sent: dict, stats: dict) -> None:
    lid = (await client.post(f"{base}/api/listeners")).json()["listener"]
    state = (await client.get(f"{base}/api/listeners/{lid}")).json()
    for option in state["training"]["options"]:
        r = await client.post(f"{base}/api/listeners/{lid}/qualification", json={"answer": option["id"]})
        if r.json()["passed"]:
            break
    state = (await client.get(f"{base}/api/listeners/{lid}")).json()
    first = True
    for _ in range(state["total"]):  # bounded: one answer per trial
        trial = state["trial"]
        value = 1 + (k + trial["index"]) % 5
        url = f"{base}/api/listeners/{lid}/trials/{trial['index']}"
        if first:  # the same answer twice at once: exactly one is stored
            r1, r2 = await asyncio.gather(client.post(url, json={"rating": value}),
                                          client.post(url, json={"rating": value}))
            codes = sorted([r1.status_code, r2.status_code])
            assert codes == [200, 409], codes
            stats["duplicates_refused"] += 1
            r = r1 if r1.status_code == 200 else r2
            first = False
        else:
            r = await client.post(url, json={"rating": value})
            assert r.status_code == 200, r.text
        sent[(lid, trial["index"])] = value
        stats["ratings"] += 1
        state = r.json()
    assert state["trial"] is None and state["answered"] == state["total"]


def test_load_50_concurrent_listeners_every_rating_once(sources, tmp_path):
    db = tmp_path / "r.sqlite"
    with listen_server([*sources, "--db", str(db)]) as server:
        sent: dict = {}
        stats = {"ratings": 0, "duplicates_refused": 0}

        async def main() -> float:
            limits = httpx.Limits(max_connections=N_LISTENERS * 2)
            async with httpx.AsyncClient(timeout=60, limits=limits) as client:
                t0 = time.perf_counter()
                await asyncio.gather(*(_listener(client, server.base, k, sent, stats) for k in range(N_LISTENERS)))
                return time.perf_counter() - t0

        seconds = asyncio.run(main())
    rows = db_rows(db, "SELECT listener, trial, value FROM ratings WHERE scale = 'acr'")
    stored = {(lid, trial): value for lid, trial, value in rows}
    lost = sum(1 for key in sent if key not in stored)
    print(f"\nload test: {N_LISTENERS} listeners, {stats['ratings']} ratings, {seconds:.2f} s, "
          f"{stats['duplicates_refused']} duplicate answers refused, lost {lost}")
    assert len(db_rows(db, "SELECT id FROM listeners")) == N_LISTENERS
    assert len(rows) == len(stored) == len(sent) == stats["ratings"] == N_LISTENERS * 8  # 3 items x 2 + 2 gold
    assert stored == sent and lost == 0
    assert stats["duplicates_refused"] == N_LISTENERS


def test_bad_requests_get_4xx_and_change_nothing(sources, tmp_path):
    db = tmp_path / "r.sqlite"
    with listen_server([*sources, "--db", str(db)]) as server, httpx.Client(timeout=30) as c:
        b = server.base
        lid = c.post(f"{b}/api/listeners").json()["listener"]
        state = c.get(f"{b}/api/listeners/{lid}").json()
        trial_url = f"{b}/api/listeners/{lid}/trials/0"
        tried: list[tuple[str, int, int]] = []

        def expect(what: str, response, status: int) -> None:
            tried.append((what, response.status_code, status))
            assert response.status_code == status, (what, response.status_code, response.text)
            assert "Traceback" not in response.text and "File \"" not in response.text
            if status >= 400 and response.headers.get("content-type", "").startswith("application/json"):
                assert "error" in response.json()

        expect("rating before the qualification", c.post(trial_url, json={"rating": 3}), 409)
        expect("qualification answer not one of the clips", c.post(f"{b}/api/listeners/{lid}/qualification",
                                                                     json={"answer": "nope"}), 422)
        expect("qualification with extra keys", c.post(f"{b}/api/listeners/{lid}/qualification",
                                                        json={"answer": state["training"]["options"][0]["id"],
                                                              "x": 1}), 422)
        qualify(c, b, lid)
        expect("unknown listener (state)", c.get(f"{b}/api/listeners/AAAAAAAAAAAAAAAA"), 404)
        expect("unknown listener (rating)", c.post(f"{b}/api/listeners/AAAAAAAAAAAAAAAA/trials/0",
                                                   json={"rating": 3}), 404)
        expect("listener id with odd characters", c.get(f"{b}/api/listeners/a%20b%27%3B--"), 404)
        expect("trial index out of range", c.post(f"{b}/api/listeners/{lid}/trials/999", json={"rating": 3}), 404)
        expect("negative trial index", c.post(f"{b}/api/listeners/{lid}/trials/-1", json={"rating": 3}), 404)
        expect("trial index not a number", c.post(f"{b}/api/listeners/{lid}/trials/abc", json={"rating": 3}), 404)
        for bad in (0, 6, -1, 3.5, "4", True, None, [3]):
            expect(f"rating {bad!r}", c.post(trial_url, json={"rating": bad}), 422)
        expect("extra key", c.post(trial_url, json={"rating": 3, "x": 1}), 422)
        expect("missing key", c.post(trial_url, json={}), 422)
        expect("JSON array body", c.post(trial_url, json=[3]), 422)
        expect("malformed JSON", c.post(trial_url, content=b"{rating: 3", headers={"content-type": "application/json"}),
               400)
        expect("body not UTF-8", c.post(trial_url, content=b"\xff\xfe\x00"), 400)
        expect("empty body", c.post(trial_url, content=b""), 400)
        big = json.dumps({"rating": 3, "pad": "x" * 20000}).encode()
        expect("oversized body (Content-Length)", c.post(trial_url, content=big), 413)

        def chunks():
            for _ in range(40):
                yield b"x" * 1024

        expect("oversized chunked body without Content-Length", c.post(trial_url, content=chunks()), 413)
        expect("unknown audio id", c.get(f"{b}/audio/AAAAAAAAAAAA"), 404)
        for path in ("/audio/..%2F..%2F..%2Fetc%2Fpasswd", "/audio/%2e%2e%2fstore.py", "/audio/../web/store.py",
                     "/static/../store.py", "/static/%2e%2e/store.py", "/static/..%2fstore.py",
                     "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd"):
            r = c.get(b + path)
            expect(f"traversal {path}", r, 404)
            assert b"import" not in r.content and b"root:" not in r.content
        expect("wrong method", c.get(f"{b}/api/listeners"), 405)
        expect("unknown route", c.get(f"{b}/api/nothing"), 404)
        # nothing above changed the database: the listener has no answer yet
        assert db_rows(db, "SELECT COUNT(*) FROM responses")[0][0] == 0
        assert db_rows(db, "SELECT COUNT(*) FROM ratings")[0][0] == 0
        # a good answer, then the same trial again
        expect("valid rating", c.post(trial_url, json={"rating": 4}), 200)
        expect("second answer to the same trial", c.post(trial_url, json={"rating": 1}), 409)
        assert db_rows(db, "SELECT value FROM ratings") == [(4,)]
        # the static page and a real clip are served
        assert c.get(f"{b}/static/listen.js").status_code == 200
        sid = c.get(f"{b}/api/listeners/{lid}").json()["trial"]["stimuli"][0]["id"]
        r = c.get(f"{b}/audio/{sid}")
        assert r.status_code == 200 and r.content[:4] == b"RIFF" and r.headers["content-type"] == "audio/wav"
    print("\n" + "\n".join(f"{what}: {got}" for what, got, _ in tried))


def test_mushra_bad_scores_refused(sources, tmp_path):
    db = tmp_path / "m.sqlite"
    with listen_server([*sources, "--db", str(db), "--test", "mushra", "--items", "2"]) as server, \
            httpx.Client(timeout=30) as c:
        b = server.base
        lid = c.post(f"{b}/api/listeners").json()["listener"]
        qualify(c, b, lid)
        trial = c.get(f"{b}/api/listeners/{lid}").json()["trial"]
        ids = [s["id"] for s in trial["stimuli"]]
        assert len(ids) == 4 and trial["reference"]  # 2 conditions + hidden reference + anchor
        url = f"{b}/api/listeners/{lid}/trials/{trial['index']}"
        for scores in ({i: 50 for i in ids[:-1]}, {**{i: 50 for i in ids}, "AAAAAAAAAAAA": 3},
                       {**{i: 50 for i in ids}, ids[0]: 101}, {**{i: 50 for i in ids}, ids[0]: -1},
                       {**{i: 50 for i in ids}, ids[0]: 50.5}):
            assert c.post(url, json={"scores": scores}).status_code == 422
        assert c.post(url, json={"rating": 3}).status_code == 422
        assert db_rows(db, "SELECT COUNT(*) FROM ratings")[0][0] == 0
        r = c.post(url, json={"scores": {i: 10 * k for k, i in enumerate(ids)}})
        assert r.status_code == 200 and r.json()["answered"] == 1
        assert sorted(v for (v,) in db_rows(db, "SELECT value FROM ratings")) == [0, 10, 20, 30]


def test_kill_mid_test_then_restart_continues(sources, tmp_path):
    db = tmp_path / "r.sqlite"
    args = [*sources, "--db", str(db), "--test", "p835"]
    with listen_server(args) as server, httpx.Client(timeout=30) as c:
        lid = c.post(f"{server.base}/api/listeners").json()["listener"]
        qualify(c, server.base, lid)
        for k in range(3):
            trial = c.get(f"{server.base}/api/listeners/{lid}").json()["trial"]
            r = c.post(f"{server.base}/api/listeners/{lid}/trials/{trial['index']}",
                       json={"sig": 5 - k, "bak": 4, "ovl": 3})
            assert r.status_code == 200
        server.kill()  # SIGKILL right after the third answer
    assert db_rows(db, "SELECT COUNT(*) FROM responses")[0][0] == 3
    assert db_rows(db, "SELECT COUNT(*) FROM ratings")[0][0] == 9
    with listen_server(["--db", str(db)]) as server, httpx.Client(timeout=30) as c:  # sources not needed again
        state = c.get(f"{server.base}/api/listeners/{lid}").json()
        assert state["protocol"] == "p835" and state["qualified"] and state["answered"] == 3
        while state["trial"] is not None:
            state = c.post(f"{server.base}/api/listeners/{lid}/trials/{state['trial']['index']}",
                           json={"sig": 4, "bak": 4, "ovl": 4}).json()
        assert state["answered"] == state["total"] == 8
    assert db_rows(db, "SELECT COUNT(*) FROM ratings")[0][0] == 8 * 3
    # another protocol on the same database is refused with one line
    r = subprocess.run([sys.executable, "-m", "audiorestore.cli.main", "listen", "--db", str(db), "--test", "acr"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "holds a test with protocol = p835" in r.stderr and "Traceback" not in r.stderr


def test_non_local_host_requires_the_printed_key(sources, tmp_path):
    db = tmp_path / "r.sqlite"
    with listen_server([*sources, "--db", str(db), "--host", "0.0.0.0"]) as server:
        assert "?key=" in server.url
        key = server.url.split("?key=")[1]
        base = "http://127.0.0.1:" + server.base.rsplit(":", 1)[1]
        with httpx.Client(timeout=30) as c:
            for path in ("/", "/static/listen.js", "/api/listeners/x"):
                r = c.get(base + path)
                assert r.status_code == 403 and "access key" in r.json()["error"]
            assert c.post(f"{base}/api/listeners").status_code == 403
            assert c.get(f"{base}/?key=wrong{key}").status_code == 403
            page = c.get(f"{base}/?key={key}")  # sets the cookie the page's scripts and audio then use
            assert page.status_code == 200 and "audiorestore_key" in page.headers["set-cookie"]
            lid = c.post(f"{base}/api/listeners").json()["listener"]
            assert c.get(f"{base}/api/listeners/{lid}").status_code == 200
        with httpx.Client(timeout=30, headers={"X-Access-Key": key}) as c2:
            assert c2.get(f"{base}/api/listeners/{lid}").status_code == 200
    assert db_rows(db, "SELECT COUNT(*) FROM listeners")[0][0] == 1
