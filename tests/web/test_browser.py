"""End to end in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright; nothing downloaded).

The simulated listener plays every clip, rates it through the page's own controls, reloads mid-test and
resumes; the database and ``listen --results`` are then checked against the ratings given. The scores it
gives depend on what each clip is (looked up in the database by the clip's opaque id, which the page
never explains), so the results have known answers.

Set ``AUDIORESTORE_SCREENSHOTS=DIR`` to keep a screenshot of each page type there (docs/images).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import listen_server

CHROMIUM = "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("starlette")
if not os.path.exists(CHROMIUM):  # .ci/run installs it with apt-get
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

#: what the simulated listener answers, by what the clip really is
ACR_SCORE = {"mild": 4, "strong": 2, "hidden_reference": 5, "anchor_mnru": 1}
MUSHRA_SCORE = {"mild": 70, "strong": 30, "hidden_reference": 100, "anchor_lp": 20}


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--autoplay-policy=no-user-gesture-required", "--no-sandbox", "--mute-audio"])
        yield b
        b.close()


def shot(page, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"listen_{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5000
    target = os.environ.get("AUDIORESTORE_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def stimuli(db: Path) -> dict[str, tuple[str, str]]:
    """opaque id -> (kind, condition)."""
    con = sqlite3.connect(str(db))
    try:
        return {sid: (kind, cond) for sid, kind, cond in con.execute("SELECT id, kind, condition FROM stimuli")}
    finally:
        con.close()


def plan_of(db: Path, listener: str) -> dict:
    con = sqlite3.connect(str(db))
    try:
        return json.loads(con.execute("SELECT plan FROM listeners WHERE id = ?", (listener,)).fetchone()[0])
    finally:
        con.close()


def what(stim: dict[str, tuple[str, str]], sid: str) -> str:
    kind, cond = stim[sid]
    return cond if kind == "condition" else kind


def play_all(page) -> None:
    """Play every clip on the page to its end, one after the other (the page pauses the others on play and
    unlocks the ratings on 'ended')."""
    page.evaluate("""async () => { for (const a of document.querySelectorAll('audio')) {
        await new Promise((ok, fail) => { a.addEventListener('ended', ok, {once: true});
            a.addEventListener('error', fail, {once: true}); a.muted = true; a.play().catch(fail); }); } }""")


def qualify(page, db: Path, tmp_path: Path | None = None) -> str:
    page.wait_for_selector("text=Before you start")
    listener = page.evaluate("new URL(location.href).searchParams.get('listener')")
    worse = plan_of(db, listener)["qualification"]["worse"]
    if tmp_path is not None:
        shot(page, tmp_path, "training")
    page.evaluate("""() => { const a = [...document.querySelectorAll('audio')]; return a[0].play(); }""")
    page.check(f"input[name=worse][value='{worse}']")
    page.click("#check")
    page.wait_for_selector("#progress:not([hidden])")
    return listener


def open_test(browser, server, db: Path, height: int = 800, tmp_path: Path | None = None):
    """A new page on the test, past the qualification: (page, opaque id -> what, listener id)."""
    stim = stimuli(db)
    page = browser.new_page(viewport={"width": 900, "height": height})
    page.goto(server.url)
    return page, stim, qualify(page, db, tmp_path)


def sid_of(src: str) -> str:
    return src.rsplit("/", 1)[1]


def test_full_acr_test_with_reload_then_results(browser, sources, tmp_path):
    db = tmp_path / "r.sqlite"
    stimuli_db = None
    with listen_server([*sources, "--db", str(db)]) as server:
        page, stim, listener = open_test(browser, server, db, tmp_path=tmp_path)
        given: dict[int, int] = {}
        for k in range(8):  # 3 items x 2 conditions + 2 gold questions
            page.wait_for_selector(f"h2:has-text('Clip {k + 1} of 8')")
            if k == 4:  # leave mid-test and come back: the page resumes at the fifth clip
                page.reload()
                page.wait_for_selector("h2:has-text('Clip 5 of 8')")
            assert page.is_disabled("input[name=acr][value='3']")  # locked until the clip has been heard
            sid = sid_of(page.get_attribute("audio", "src"))
            play_all(page)
            value = ACR_SCORE[what(stim, sid)]
            page.check(f"input[name=acr][value='{value}']")
            if k == 0:
                shot(page, tmp_path, "acr")
            page.click("#submit")
            given[k] = value
        page.wait_for_selector("#done")
        assert "All 8 answers are saved" in page.inner_text("main")
        shot(page, tmp_path, "done")
        page.close()
        stimuli_db = stim
    con = sqlite3.connect(str(db))
    rows = con.execute("SELECT r.trial, r.stimulus, r.value FROM ratings r WHERE r.listener = ?", (listener,)).fetchall()
    con.close()
    assert len(rows) == 8 and {t for t, _, _ in rows} == set(range(8))
    assert all(v == ACR_SCORE[what(stimuli_db, s)] for _, s, v in rows)
    out = tmp_path / "res"
    r = subprocess.run([sys.executable, "-m", "audiorestore.cli.main", "listen", "--results", str(db), "-o", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "| mild | ACR | 4.00 |" in r.stdout and "| strong | ACR | 2.00 |" in r.stdout
    assert "1 listener(s), 1 completed, 0 screened out" in r.stdout
    res = json.loads((out / "listening.json").read_text())
    mild = next(x for x in res["results"] if x["condition"] == "mild" and x["group"] == "")
    assert mild["n"] == 3 and mild["mean"] == 4.0 and mild["listeners"] == 1


def test_mushra_trial_and_p835_page(browser, sources, tmp_path):
    db = tmp_path / "m.sqlite"
    with listen_server([*sources, "--db", str(db), "--test", "mushra", "--items", "2"]) as server:
        page, stim, listener = open_test(browser, server, db)
        page.wait_for_selector("h2:has-text('Trial 1 of 2')")
        assert page.is_disabled("#submit")
        play_all(page)
        ids = page.eval_on_selector_all("input[type=range]", "els => els.map(e => e.dataset.stimulus)")
        assert len(ids) == 4
        for sid in ids:
            page.eval_on_selector(f"input[data-stimulus='{sid}']", "(e, v) => { e.value = v; "
                                  "e.dispatchEvent(new Event('input', {bubbles: true})); }", MUSHRA_SCORE[what(stim, sid)])
        shot(page, tmp_path, "mushra")
        page.click("#submit")
        page.wait_for_selector("h2:has-text('Trial 2 of 2')")
        page.reload()  # resume on the second trial
        page.wait_for_selector("h2:has-text('Trial 2 of 2')")
        page.close()
    con = sqlite3.connect(str(db))
    rows = con.execute("SELECT stimulus, value FROM ratings WHERE listener = ?", (listener,)).fetchall()
    con.close()
    assert sorted(v for _, v in rows) == [20, 30, 70, 100]
    assert all(v == MUSHRA_SCORE[what(stim, s)] for s, v in rows)
    first = plan_of(db, listener)["trials"][0]
    assert set(first["stimuli"]) == {s for s, _ in rows}

    db2 = tmp_path / "p.sqlite"
    with listen_server([*sources, "--db", str(db2), "--test", "p835", "--items", "1"]) as server:
        page, stim, listener = open_test(browser, server, db2, height=1000)
        page.wait_for_selector("h2:has-text('Clip 1 of 4')")
        play_all(page)
        for key, value in (("sig", 5), ("bak", 3), ("ovl", 4)):
            page.check(f"input[name={key}][value='{value}']")
        shot(page, tmp_path, "p835")
        page.click("#submit")
        page.wait_for_selector("h2:has-text('Clip 2 of 4')")
        page.close()
    con = sqlite3.connect(str(db2))
    rows = dict(con.execute("SELECT scale, value FROM ratings WHERE listener = ?", (listener,)).fetchall())
    con.close()
    assert rows == {"sig": 5, "bak": 3, "ovl": 4}
