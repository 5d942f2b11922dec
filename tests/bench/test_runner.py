"""Runner: method specs, per-item cache and resume, summary math, worker processes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from audiorestore.bench import runner
from audiorestore.bench.runner import MethodSpec, parse_method, run_bench, summarize_rows
from audiorestore.errors import ParameterError

from .conftest import make_manifest

METRICS = "snr,si_sdr"


def test_parse_method_specs() -> None:
    assert parse_method("wiener") == MethodSpec("wiener", "wiener", ())
    s = parse_method("crm:runs/crm/best.pt,device=cpu")
    assert s.name == "crm" and s.params == (("checkpoint", "runs/crm/best.pt"), ("device", "cpu"))
    assert "/" not in s.key and s.key != parse_method("crm:runs/crm_best.pt").key
    with pytest.raises(ParameterError):
        parse_method("noisy:x=1")


def test_run_writes_cache_rows_and_example_clips(pairs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = run_bench(["wiener"], [f"mix={pairs}"], out, metrics=METRICS, examples=2, example_s=0.5)
    assert [s.label for s in res.methods] == ["noisy", "wiener"]  # the baseline is added
    rows = [json.loads(line) for line in open(out / "cache" / "mix" / "wiener.jsonl")]
    assert len(rows) == 4 and {"item", "seconds", "cpu_seconds", "duration", "snr", "si_sdr"} <= set(rows[0])
    assert res.examples["mix"] == ["g0/utt0", "g1/utt3"]
    for who in ("clean", "noisy", "wiener"):
        p = res.example_path("mix", who, "g0/utt0")
        assert p is not None and p.exists()
    by = {s.method: s for s in res.summaries()}
    assert by["wiener"].scores["snr"].mean > by["noisy"].scores["snr"].mean + 3  # white noise: easy
    assert by["wiener"].improvement["snr"].mean > 3 and by["wiener"].rtf > 0 and by["noisy"].rtf == 0


def test_rerun_resumes_from_cache(pairs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    first = run_bench(["wiener"], [f"mix={pairs}"], out, metrics=METRICS, examples=1)
    cache = out / "cache" / "mix" / "wiener.jsonl"
    lines = cache.read_text().splitlines(keepends=True)
    cache.write_text("".join(lines[:2]) + lines[2][:10])  # a killed run: two rows and a torn line
    calls: list[str] = []
    real = runner.score_item

    def counting(enhancer, item, *a, **k):  # type: ignore[no-untyped-def]
        calls.append(f"{getattr(enhancer, 'name', 'noisy')}:{item.name}")
        return real(enhancer, item, *a, **k)

    monkeypatch.setattr(runner, "score_item", counting)
    second = run_bench(["wiener"], [f"mix={pairs}"], out, metrics=METRICS, examples=1)
    assert sorted(calls) == ["wiener:g1/utt1", "wiener:g1/utt3"]
    a, b = first.summaries()[1], second.summaries()[1]
    assert a.n == b.n == 4 and math.isclose(a.scores["snr"].mean, b.scores["snr"].mean, rel_tol=1e-9)
    calls.clear()
    run_bench(["wiener"], [f"mix={pairs}"], out, metrics=METRICS, examples=1)
    assert calls == []  # nothing left to do
    run_bench(["wiener"], [f"mix={pairs}"], out, metrics="snr,si_sdr,lsd", examples=1)
    assert len(calls) == 8  # a new metric: every item of both methods again


def test_reference_method_runs_only_where_noise_is_known(tmp_path: Path, pairs: Path) -> None:
    mf = make_manifest(tmp_path / "m", n_items=2)
    res = run_bench(["anc"], [f"mix={mf}", f"folder={pairs}"], tmp_path / "out", metrics="snr", examples=0)
    assert ("mix", "anc") in res.rows and len(res.rows[("mix", "anc")]) == 2
    assert ("folder", "anc") in res.skipped and ("folder", "anc") not in res.rows


def test_worker_processes_give_the_same_scores(pairs: Path, tmp_path: Path) -> None:
    one = run_bench(["specsub"], [f"mix={pairs}"], tmp_path / "a", metrics=METRICS, examples=0, jobs=1)
    two = run_bench(["specsub"], [f"mix={pairs}"], tmp_path / "b", metrics=METRICS, examples=0, jobs=2)
    for s1, s2 in zip(one.summaries(), two.summaries()):
        assert math.isclose(s1.scores["si_sdr"].mean, s2.scores["si_sdr"].mean, rel_tol=1e-9)


def test_a_failing_method_is_reported_not_fatal(pairs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = runner.score_item

    def flaky(enhancer, item, *a, **k):  # type: ignore[no-untyped-def]
        if enhancer is not None and item.name == "g0/utt2":
            raise RuntimeError("peer crashed")
        return real(enhancer, item, *a, **k)

    monkeypatch.setattr(runner, "score_item", flaky)
    res = run_bench(["wiener"], [f"mix={pairs}"], tmp_path / "out", metrics=METRICS, examples=0)
    assert res.errors == ["mix: wiener: g0/utt2: RuntimeError: peer crashed"]
    wiener = res.summaries()[1]
    assert wiener.n == 3 and wiener.errors == 1


def test_unknown_method_and_bad_jobs_fail_early(pairs: Path, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="unknown method"):
        run_bench(["nope"], [f"mix={pairs}"], tmp_path / "o", metrics=METRICS)
    with pytest.raises(ParameterError, match="jobs"):
        run_bench(["wiener"], [f"mix={pairs}"], tmp_path / "o", metrics=METRICS, jobs=0)
    with pytest.raises(ParameterError, match="not installed|unknown peer"):
        run_bench(["peer_nosuch"], [f"mix={pairs}"], tmp_path / "o", metrics=METRICS)


def test_summary_math_mean_ci_paired_improvement_and_rtf() -> None:
    base = [{"item": f"i{k}", "snr": v, "lsd": 2.0, "duration": 2.0, "seconds": 0.0} for k, v in enumerate([1.0, 2.0, 3.0])]
    rows = [{"item": "i0", "snr": 2.0, "lsd": 1.5, "duration": 2.0, "seconds": 9.0, "cpu_seconds": 0.2},
            {"item": "i1", "snr": 4.0, "lsd": 1.0, "duration": 2.0, "seconds": 0.4},  # old row: wall time
            {"item": "i2", "snr": 6.0, "lsd": None, "duration": 2.0, "seconds": 0.1, "cpu_seconds": 0.1}]
    s = summarize_rows("d", "m", rows, ["snr", "lsd"], base)
    half = stats.t.ppf(0.975, 2) * np.std([2.0, 4.0, 6.0], ddof=1) / np.sqrt(3)
    assert s.scores["snr"].mean == pytest.approx(4.0) and s.scores["snr"].half_width == pytest.approx(half)
    assert s.improvement["snr"].mean == pytest.approx(2.0)  # (1 + 2 + 3) / 3, paired by item
    assert s.scores["lsd"].n == 2 and s.improvement["lsd"].mean == pytest.approx(0.75)  # lower is better: 2 - lsd
    assert s.rtf == pytest.approx((0.2 + 0.4 + 0.1) / 6.0)
