"""The runner (in-process and local process pool) and the batch commands on it: the same outputs,
manifests and summaries for -j 1 and -j 2, failures reported, dead workers replaced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiorestore.cli.main import main
from audiorestore.engine import MAX_ATTEMPTS, Job, default_jobs, run
from audiorestore.engine.runner import auto_chunk
from audiorestore.errors import AudioInputError, ParameterError
from tests.conftest import speechlike

REPO = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------- work functions (picklable)
def _setup_offset(offset: int) -> dict[str, int]:
    return {"offset": offset, "pid": os.getpid()}


def _add(state: dict[str, int], x: int) -> tuple[int, int]:
    if x < 0:
        raise AudioInputError("negative input", f"item{x}")
    if x == 13:
        raise ValueError("unlucky")
    return x + state["offset"], state["pid"]


def _die_once(state: None, item: tuple[int, str]) -> int:
    """Kill the worker process the first time item 3 is seen (a marker file remembers)."""
    x, marker = item
    if x == 3 and not os.path.exists(marker):
        Path(marker).touch()
        os._exit(1)
    return 10 * x


def _always_die(state: None, x: int) -> int:
    if x == 2:
        os._exit(1)
    return x


def test_outcomes_in_item_order_with_errors_whatever_the_jobs() -> None:
    items = [5, -1, 7, 13, 2, 9]
    job = Job(fn=_add, setup=partial(_setup_offset, 100))
    for jobs in (1, 2):
        seen: list[int] = []
        out = run(job, items, jobs=jobs, on_done=lambda o, seen=seen: seen.append(o.index))
        assert [o.index for o in out] == list(range(6)) and sorted(seen) == list(range(6))
        assert [o.value[0] if o.ok else None for o in out] == [105, None, 107, None, 102, 109]
        assert out[1].error == "item-1: negative input" and out[1].named
        assert out[3].error == "ValueError: unlucky" and not out[3].named
        pids = {o.value[1] for o in out if o.ok}
        # one setup per worker: every item of a worker saw the state its setup built
        assert (pids == {os.getpid()}) if jobs == 1 else (os.getpid() not in pids and 1 <= len(pids) <= 2)


def test_dead_worker_is_replaced_and_its_item_retried(tmp_path: Path) -> None:
    marker = str(tmp_path / "died")
    out = run(Job(fn=_die_once), [(x, marker) for x in range(8)], jobs=2)
    assert os.path.exists(marker)  # a worker really died
    assert [o.value for o in out] == [10 * x for x in range(8)] and out[3].attempts >= 2


def test_item_that_always_kills_its_worker_fails_alone() -> None:
    out = run(Job(fn=_always_die), list(range(12)), jobs=2)
    assert not out[2].ok and "worker process died 3 times" in out[2].error and MAX_ATTEMPTS == 3
    assert [o.value for i, o in enumerate(out) if i != 2] == [0, 1] + list(range(3, 12))  # the others: suspects only


def test_groups_of_items_same_outcomes_and_a_poison_item_still_fails_alone() -> None:
    assert auto_chunk(300, 2) == 4 and auto_chunk(10, 2) == 1 and auto_chunk(10 ** 7, 4) == 64
    job = Job(fn=_add, setup=partial(_setup_offset, 100))
    items = list(range(20)) + [13, -1]
    one = [o.value[0] if o.ok else o.error for o in run(job, items, jobs=1)]
    assert one == [o.value[0] if o.ok else o.error for o in run(job, items, jobs=2, chunk=3)]
    out = run(Job(fn=_always_die), list(range(12)), jobs=2, chunk=4)
    assert [o.index for o in out] == list(range(12)) and "worker process died 3 times" in out[2].error
    assert [o.value for i, o in enumerate(out) if i != 2] == [0, 1] + list(range(3, 12))


def test_bad_options() -> None:
    assert default_jobs() >= 1
    with pytest.raises(ParameterError, match="unknown engine"):
        run(Job(fn=_add), [1], engine="spark")
    with pytest.raises(ParameterError, match="at least 1"):
        run(Job(fn=_add), [1], jobs=0)
    assert run(Job(fn=_add, setup=partial(_setup_offset, 0)), [], jobs=2) == []


# --------------------------------------------------------------------------- the commands
def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"}
    return subprocess.run([sys.executable, "-m", "audiorestore.cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(1)
    for d in ("clean", "noisy/sub", "noise"):
        (root / d).mkdir(parents=True)
    for i in range(6):
        x = speechlike(16000, 16000, seed=i)
        sf.write(root / "clean" / f"s{i}.wav", x, 16000)
        noisy = x + 0.05 * rng.standard_normal(x.size)
        sf.write(root / "noisy" / ("sub" if i % 2 else "") / f"s{i}.wav", noisy.astype(np.float32), 16000)
    sf.write(root / "noise" / "n.wav", (0.1 * rng.standard_normal(24000)).astype(np.float32), 16000)
    (root / "noisy" / "bad.wav").write_bytes(b"RIFF....WAVEjunk")
    return root


def test_denoise_and_upsample_same_files_for_one_and_two_jobs(corpus: Path, tmp_path: Path, capsys) -> None:
    for j in ("1", "2"):
        rc = main(["denoise", str(corpus / "noisy"), "-o", str(tmp_path / f"den{j}"), "--method", "logmmse", "-j", j])
        err = capsys.readouterr().err
        assert rc == 1, err  # the bad file fails, the others are done
        assert err.count("bad.wav: not a readable audio file") == 1
        assert "denoised 6 file(s), skipped 0, failed 1" in err
        assert main(["upsample", str(corpus / "clean"), "-o", str(tmp_path / f"up{j}"), "--rate", "48000",
                     "--method", "sinc", "-j", j, "-q"]) == 0
    den1, up1 = _tree(tmp_path / "den1"), _tree(tmp_path / "up1")
    assert len(den1) == 6 and "sub/s1.wav" in den1 and den1 == _tree(tmp_path / "den2")
    assert len(up1) == 6 and up1 == _tree(tmp_path / "up2")
    assert sf.info(str(tmp_path / "up1" / "s0.wav")).samplerate == 48000
    # resumable, through the console entry point: a re-run skips what exists and still reports the bad file
    r = _cli("denoise", str(corpus / "noisy"), "-o", str(tmp_path / "den2"), "--method", "logmmse", "-j", "2",
             cwd=tmp_path)
    assert r.returncode == 1 and "denoised 0 file(s), skipped 6, failed 1" in r.stderr, r.stderr


def test_degrade_manifest_and_evaluate_summary_same_for_one_and_two_jobs(corpus: Path, tmp_path: Path,
                                                                         monkeypatch) -> None:
    for j in ("1", "2"):
        assert main(["degrade", str(corpus / "clean"), "-o", str(tmp_path / f"deg{j}"), "--noise-dir",
                     str(corpus / "noise"), "--snr-range", "0", "10", "--variants", "2", "--reverb-rt60", "0.2", "0.4",
                     "-j", j, "-q"]) == 0
        monkeypatch.chdir(tmp_path / f"deg{j}")  # relative paths: the reports name the same files
        assert main(["evaluate", "clean", "noisy", "-m", "si_sdr,snr,lsd", "-o", "eval", "-j", j, "-q"]) == 0
    deg1 = _tree(tmp_path / "deg1")
    assert deg1 == _tree(tmp_path / "deg2")  # audio, manifest (in file order), config, reports: byte for byte
    ids = [json.loads(x)["id"] for x in deg1["manifest.jsonl"].decode().splitlines()]
    assert ids == [f"s{i}_v{k}" for i in range(6) for k in range(2)]
    assert json.loads(deg1["eval/summary.json"])["n_files"] == 12


def test_ray_engine_without_ray_says_how_to_install(corpus: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the 'cluster' extra were not installed
    assert main(["denoise", str(corpus / "clean"), "-o", str(tmp_path / "x"), "--engine", "ray"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--engine ray needs the 'ray' package: pip install 'audiorestore[cluster]'" in err
    assert main(["denoise", str(corpus / "clean"), "-o", str(tmp_path / "y"), "--address", "127.0.0.1:6379"]) == 2
    assert "--address needs --engine ray" in capsys.readouterr().err
