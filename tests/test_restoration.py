"""``restore``: the analysis measures known degradations (bandwidth, SNR, clipping, hum, DC), the plan
runs only what is needed at the rates the measured bandwidth calls for, and the chain undoes the
damage; through the Python API and the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import audiorestore as ar
from audiorestore.restoration import (analyse, detect_hum, effective_bandwidth, estimate_snr, plan_stages,
                                      working_rate)
from audiorestore.simulate.clipping import clip
from audiorestore.simulate.hum import hum
from audiorestore.simulate.lowpass import lowpass
from audiorestore.simulate.noise import mix_at_snr

SRC = str(Path(__file__).resolve().parents[1] / "src")


def speech16k() -> np.ndarray:
    x, sr = ar.read_audio(ar.example_path("clean"), mono=True)
    assert sr == 16000
    return x[0].astype(np.float64)


def narrowband_44k(seconds: float = 1.5, seed: int = 0) -> np.ndarray:
    """Speech brought to 44.1 kHz, then low-passed at 4 kHz: a 44.1 kHz file that stops at 4 kHz."""
    from audiorestore.dsp.resample import resample

    x = resample(speech16k()[: int(seconds * 16000)], 16000, 44100)
    return lowpass(x, 44100, 4000.0)


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference ** 2) / np.sum((reference - estimate) ** 2)))


def test_bandwidth_is_measured_from_the_spectrum_not_the_rate():
    assert effective_bandwidth(narrowband_44k(), 44100) == pytest.approx(4000, abs=300)
    noise = np.random.default_rng(0).standard_normal(48000) * np.repeat([1.0, 0.05], 24000)  # comes and goes
    assert effective_bandwidth(noise, 48000) == 24000.0  # fills its band
    assert effective_bandwidth(lowpass(noise, 48000, 11000.0), 48000) == pytest.approx(11000, abs=600)
    hissy = mix_at_snr(narrowband_44k(), np.random.default_rng(4).standard_normal(66150), 35.0)[0]
    assert effective_bandwidth(hissy, 44100) == pytest.approx(4000, abs=300)  # hiss 35 dB down: still narrow
    assert working_rate(4000.0, [8000, 16000]) == 8000 and working_rate(7500.0, [8000, 16000]) == 16000


@pytest.mark.parametrize("snr", [0.0, 10.0, 20.0])
def test_snr_estimate_within_3_db(snr):
    x = speech16k()
    y = mix_at_snr(x, np.random.default_rng(1).standard_normal(x.size), snr)[0]
    assert estimate_snr(y, 16000) == pytest.approx(snr, abs=3.0)  # measured: 0.3, 9.8, 17.8


def test_hum_is_found_with_its_frequency_and_harmonics_and_speech_is_not_hum():
    x = speech16k()
    h = hum(x.size, 16000, 60.0, 4, 0.0, np.random.default_rng(0))
    found = detect_hum(mix_at_snr(x, h, 15.0)[0], 16000)
    assert found is not None and found.freq_hz == pytest.approx(60.0, abs=0.5)
    assert found.harmonics[:2] == (1, 2) and found.snr_db == pytest.approx(15.0, abs=3.0)
    assert detect_hum(x, 16000) is None


def test_a_pure_mains_tone_is_hum_and_the_snr_is_measured_without_it():
    """A ground loop's nearly pure 50 Hz tone (one line, no harmonics) is hum too."""
    x = speech16k()
    tone = np.sin(2 * np.pi * 50.0 * np.arange(x.size) / 16000)
    y = mix_at_snr(x, tone, 10.0)[0]
    found = detect_hum(y, 16000)
    assert found is not None and found.freq_hz == pytest.approx(50.0, abs=0.5) and found.harmonics[0] == 1
    assert found.snr_db == pytest.approx(10.0, abs=2.0)
    assert analyse(y, 16000).snr_db > 20  # the tone is notched out before the noise is measured


def test_analysis_of_a_known_mixture_of_damage():
    x = speech16k()
    rng = np.random.default_rng(2)
    y = mix_at_snr(x, rng.standard_normal(x.size), 8.0)[0]
    y = mix_at_snr(y, hum(x.size, 16000, 50.0, 3, 0.0, rng), 20.0)[0] + 0.02
    theta = 0.6 * np.max(y)
    y = clip(y, theta)
    a = analyse(y, 16000)
    assert a.clipped_fraction == pytest.approx(np.mean(np.abs(y) >= theta * (1 - 1e-9)), rel=0.05)
    assert a.hum_hz == pytest.approx(50.0, abs=0.5) and a.dc_offset == pytest.approx(0.02, abs=0.005)
    assert a.snr_db == pytest.approx(8.0, abs=4.0) and a.bandwidth_hz > 6000
    names = [s.name for s in plan_stages(a, 16000)]
    assert names == ["declip", "dc", "hum", "denoise"]  # nothing to extend at 16 kHz: no bandwidth stage


def test_plan_picks_the_rate_from_the_measured_bandwidth():
    a = analyse(narrowband_44k(), 44100)
    plan = plan_stages(a, 48000)
    assert [s.name for s in plan] == ["bandwidth"]
    assert plan[0].method == "auto" and plan[0].params["working_rate"] == 8000
    syllables = np.tile(np.repeat([0.1, 0.0001], 12000), 6)  # 2 bursts a second, quiet between them
    full = plan_stages(analyse(np.random.default_rng(0).standard_normal(syllables.size) * syllables, 48000), 48000)
    assert full == []  # a full-band 48 kHz file with no noise between its bursts: nothing to do
    assert [(s.name, s.method) for s in plan_stages(a, 44100, stages=["denoise"])] == []
    silent = analyse(np.zeros((2, 1000)), 16000)
    assert silent.silent and [s.method for s in plan_stages(silent, 48000)] == ["silence"]


def test_restore_undoes_clipping_hum_and_dc():
    x = speech16k()[:24000]
    rng = np.random.default_rng(3)
    y = mix_at_snr(x, hum(x.size, 16000, 50.0, 4, 0.0, rng), 15.0)[0] + 0.03
    y = clip(y, 0.5 * np.max(np.abs(y)))
    out, report = ar.restore(y, 16000, target_rate=16000)
    assert [s.name for s in report.stages] == ["declip", "dc", "hum"]
    assert out.shape == y.shape
    assert snr_db(x, out) > snr_db(x, y) + 10.0
    same, dry = ar.restore(y, 16000, target_rate=16000, dry_run=True)
    assert same is y or np.array_equal(same, y)
    assert dry.dry_run and "plan: declip" in dry.text()


def test_restore_of_silence_is_silence_at_the_target_rate():
    out, report = ar.restore(np.zeros((2, 1600), np.float32), 16000, target_rate=48000)
    assert out.shape == (2, 4800) and not np.any(out) and report.analysis.silent


def test_restore_with_a_given_upsampler_keeps_the_band_it_has():
    x = narrowband_44k(1.0)
    out, report = ar.restore(x, 44100, target_rate=48000, upsample_method="spline")
    assert report.stages[0].params["working_rate"] == 8000 and out.shape == (48000,)
    from audiorestore.dsp.resample import resample

    ref = lowpass(resample(x, 44100, 48000), 48000, 3000.0)
    assert snr_db(ref, lowpass(out, 48000, 3000.0)) > 25.0  # below the band edge: the input itself


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "audiorestore.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=600)


def test_cli_restores_a_batch_reports_and_fails_one_bad_file(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    sf.write(str(src / "narrow.wav"), narrowband_44k(1.0).astype(np.float32), 44100)
    (src / "broken.wav").write_text("not audio\n" * 10)
    out = tmp_path / "out"
    r = cli("restore", str(src), "-o", str(out), "--report", str(tmp_path / "report.json"))
    assert r.returncode == 1  # one file failed
    err = [line for line in r.stderr.splitlines() if "error" in line]
    assert len(err) == 1 and "broken.wav" in err[0] and "Traceback" not in r.stderr
    assert "bandwidth 4" in r.stdout and "did: bandwidth (auto)" in r.stdout and "8000 Hz -> 48000 Hz" in r.stdout
    y, sr = sf.read(str(out / "narrow.wav"))
    assert sr == 48000 and y.shape == (48000,) and np.all(np.isfinite(y))
    report = json.loads((tmp_path / "report.json").read_text())
    assert report[0]["analysis"]["sample_rate"] == 44100 and report[0]["stages"][0]["params"]["working_rate"] == 8000
    # a re-run skips the finished output; --dry-run analyses and plans but writes nothing
    before = (out / "narrow.wav").stat().st_mtime_ns
    r = cli("restore", str(src / "narrow.wav"), "-o", str(out))
    assert r.returncode == 0 and "skipped" in r.stderr and (out / "narrow.wav").stat().st_mtime_ns == before
    r = cli("restore", str(src / "narrow.wav"), "-o", str(tmp_path / "dry.wav"), "--dry-run")
    assert r.returncode == 0 and "plan: bandwidth (auto)" in r.stdout and not (tmp_path / "dry.wav").exists()


def test_declipping_at_full_scale_makes_room_for_the_restored_peaks():
    x = speech16k()[:16000]
    x = x / np.max(np.abs(x)) * 1.6  # clipped by a converter at full scale
    y = np.clip(x, -1.0, 1.0)
    out, report = ar.restore(y, 16000, target_rate=16000, stages=["declip"])
    assert report.stages[0].params["gain"] == pytest.approx(0.5) and "lowered by 6.0 dB" in report.text()
    assert np.max(np.abs(out)) <= 1.0 and np.max(np.abs(out)) > 0.5  # peaks above the old level, in range
