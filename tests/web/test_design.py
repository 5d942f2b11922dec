"""The test design (stimuli, anchors, per-listener plans), the results with known answers, bench --ratings."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from audiorestore.errors import AudioInputError, ParameterError
from audiorestore.web.design import build_test, lowpass_anchor, make_plan, mnru, render
from audiorestore.web.results import listening_results
from audiorestore.web.store import RatingStore

from .conftest import make_sources


def test_mnru_noise_is_q_db_below_the_signal():
    x = np.sin(np.arange(200000) * 0.05)
    y = mnru(x, 5.0, seed=1)
    ratio_db = 10 * np.log10(np.mean(x ** 2) / np.mean((y - x) ** 2))
    assert ratio_db == pytest.approx(5.0, abs=0.1)
    assert np.array_equal(mnru(x, 5.0, seed=1), y)  # reproducible


def test_lowpass_anchor_keeps_1khz_and_removes_6khz():
    sr = 16000
    t = np.arange(sr) / sr
    low, high = np.sin(2 * np.pi * 1000 * t), np.sin(2 * np.pi * 6000 * t)
    mid = slice(2000, -2000)
    assert np.std(lowpass_anchor(low, sr)[mid]) / np.std(low[mid]) == pytest.approx(1.0, abs=0.01)
    assert 20 * np.log10(np.std(lowpass_anchor(high, sr)[mid]) / np.std(high[mid])) < -50


def test_build_test_and_plans(sources):
    test = build_test(sources, "acr", seed=0)
    assert test.conditions == ["mild", "strong"] and len(test.items) == 3
    assert len(test.stimuli) == 3 * (2 + 2)  # conditions + hidden reference + MNRU anchor per item
    assert all(len(sid) == 12 and not any(w in sid for w in ("mild", "strong", "clean")) for sid in test.stimuli)
    plan = make_plan(test, 11)
    rated = [t["stimuli"][0] for t in plan["trials"] if t["kind"] == "rate"]
    conds = sorted(test.stimuli[s].condition for s in rated)
    assert conds == ["mild"] * 3 + ["strong"] * 3 and len(set(rated)) == 6
    assert sorted(t["gold"] for t in plan["trials"] if t["kind"] == "gold") == ["anchor", "reference"]
    assert make_plan(test, 11) == plan  # the recorded seed reproduces the plan
    orders = {tuple(s for t in make_plan(test, k)["trials"] for s in t["stimuli"]) for k in range(10)}
    assert len(orders) > 5  # randomised per listener
    q = plan["qualification"]
    assert q["worse"] in q["options"] and test.stimuli[q["worse"]].kind == "anchor_mnru"

    m = build_test(sources, "mushra", items=2, seed=3)
    assert len(m.items) == 2 and m.items == build_test(sources, "mushra", items=2, seed=3).items
    for trial in make_plan(m, 5)["trials"]:
        kinds = sorted(m.stimuli[s].kind for s in trial["stimuli"])
        assert kinds == ["anchor_lp", "condition", "condition", "hidden_reference"]
        assert trial["reference"] not in trial["stimuli"] and m.stimuli[trial["reference"]].kind == "reference"
    anchor = next(s for s in m.stimuli.values() if s.kind == "anchor_lp")
    x, sr = render(anchor)
    assert sr == 16000 and 20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2))) == pytest.approx(-26, abs=0.2)


def test_sources_are_checked(tmp_path):
    srcs = make_sources(tmp_path / "s")
    with pytest.raises(ParameterError, match="clean=FOLDER"):
        build_test(srcs[1:], "acr")
    with pytest.raises(ParameterError, match="unknown test"):
        build_test(srcs, "abx")
    # a symlink in a condition folder that leads outside it is refused
    outside = tmp_path / "secret.wav"
    outside.write_bytes((tmp_path / "s" / "clean" / "spk0" / "utt0.wav").read_bytes())
    link = tmp_path / "s" / "mild" / "spk0" / "utt0.wav"
    link.unlink()
    os.symlink(outside, link)
    with pytest.raises(AudioInputError, match="outside its source folder"):
        build_test(srcs, "acr")


def _answer(store: RatingStore, test, lid: str, seed: int, by_what: dict[str, list[int]]) -> None:
    """Store answers for every trial of a new listener; values popped per (condition or kind)."""
    plan = make_plan(test, seed)
    store.add_listener(lid, seed, plan)
    store.record_qualification(lid, True)
    for i, t in enumerate(plan["trials"]):
        s = test.stimuli[t["stimuli"][0]]
        key = s.condition if s.kind == "condition" else s.kind
        store.add_response(lid, i, [(s.id, "acr", by_what[key].pop(0))])


def test_results_known_answers_and_screening(sources, tmp_path):
    test = build_test(sources, "acr")
    db = tmp_path / "r.sqlite"
    store = RatingStore(db)
    store.initialise(test.meta(), list(test.stimuli.values()))
    _answer(store, test, "good", 1, {"mild": [3, 4, 5], "strong": [2, 2, 2], "hidden_reference": [5],
                                     "anchor_mnru": [1]})
    _answer(store, test, "careless", 2, {"mild": [1, 1, 1], "strong": [5, 5, 5], "hidden_reference": [2],
                                         "anchor_mnru": [4]})
    store.close()
    res = listening_results(db)
    assert res.listeners == 2 and res.completed == 2 and res.n_ratings == 16
    assert list(res.screened) == ["careless"]
    assert any("clean reference 2" in w for w in res.screened["careless"])
    assert any("degraded anchor 4" in w for w in res.screened["careless"])
    mild = res.overall()["mild"]
    # the careless listener is left out: 3, 4, 5 -> mean 4, t_{0.975,2} * 1 / sqrt(3) = 2.4841
    assert mild.n == 3 and mild.mean == 4.0 and mild.half_width == pytest.approx(2.4841, abs=1e-4)
    assert res.overall()["reference (hidden)"].mean == 5.0
    written = res.write(tmp_path / "out")
    doc = json.loads(written["json"].read_text())
    assert doc["screened"]["careless"] and "access_key" not in json.dumps(doc)
    assert "| mild | ACR | 4.00 | ± 2.48 | 3 | 1 |" in written["markdown"].read_text()
    assert written["csv"].read_text().startswith("condition,scale,group,n,mean")


def test_results_cli_errors(tmp_path, capsys):
    from audiorestore.cli.main import main

    assert main(["listen", "--results", str(tmp_path / "none.sqlite")]) == 2
    assert "no such ratings database" in capsys.readouterr().err
    (tmp_path / "junk.sqlite").write_bytes(b"not a database at all" * 100)
    assert main(["listen", "--results", str(tmp_path / "junk.sqlite")]) == 2
    assert "not a ratings database" in capsys.readouterr().err
    assert main(["listen", "x=y"]) == 2
    assert "--db" in capsys.readouterr().err
    assert main(["listen", "--results", str(tmp_path / "junk.sqlite"), "--db", "x"]) == 2
    assert "--results takes only the database" in capsys.readouterr().err
    # a test that cannot be built leaves no database behind
    assert main(["listen", f"noisy={tmp_path}", "--db", str(tmp_path / "new.sqlite")]) == 2
    assert "clean=FOLDER" in capsys.readouterr().err and not (tmp_path / "new.sqlite").exists()


def test_bench_report_source_and_bench_ratings_column(tmp_path, capsys):
    from tests.bench.conftest import make_pairs

    from audiorestore.bench import benchmark
    from audiorestore.cli.main import main

    pairs = make_pairs(tmp_path / "pairs", n_items=3)
    report = tmp_path / "report"
    benchmark(["wiener"], [f"mix={pairs}"], report, metrics="snr", plots=False, examples=2)
    cmd = ["bench", "--methods", "wiener", "--dataset", f"mix={pairs}", "--out", str(report), "--metrics", "snr",
           "--no-plots", "--examples", "2", "-q"]
    test = build_test([str(report)], "acr")
    assert test.conditions == ["noisy", "wiener"] and len(test.items) == 2
    assert all(i.startswith("mix/") for i in test.items)
    db = tmp_path / "r.sqlite"
    store = RatingStore(db)
    store.initialise(test.meta(), list(test.stimuli.values()))
    _answer(store, test, "a", 1, {"noisy": [2, 3], "wiener": [4, 4], "hidden_reference": [5], "anchor_mnru": [1]})
    store.close()
    assert main([*cmd, "--ratings", str(db)]) == 0  # cached scores: only the tables are written again
    md = (report / "summary.md").read_text()
    assert "| method | snr | MOS (listeners) | CPU RTF (1 thread) |" in md
    assert "| 2.50 ± 6.35 |" in md and "| 4.00 ± 0.00 |" in md  # noisy 2, 3 (t_{0.975,1} = 12.706); wiener 4, 4
    assert "MOS (listeners)" in (report / "report.html").read_text()
    assert main([*cmd, "--ratings", str(tmp_path / "missing.sqlite")]) == 2
    assert "no such ratings database" in capsys.readouterr().err
