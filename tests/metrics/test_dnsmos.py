"""DNSMOS through speechmos: our metric equals the package's own reference call, and it hears the noise."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from audiorestore.metrics import registry
from tests.conftest import speechlike

speechmos_dnsmos = pytest.importorskip("speechmos.dnsmos")
pytest.importorskip("onnxruntime")

SR = 16000
NAMES = ["dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808"]


def signals() -> tuple[np.ndarray, np.ndarray]:
    # 0.6 s: the package repeats a short clip to 9.6 s, one 9.01 s window
    clean = speechlike(int(0.6 * SR), SR, seed=3).astype(np.float64)
    noise = np.random.default_rng(0).standard_normal(clean.size)
    noise *= np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2))  # 0 dB SNR
    noisy = clean + noise
    g = 0.9 / np.max(np.abs(noisy))  # in [-1, 1], where the package takes arrays as they are
    return g * clean, g * noisy


def test_equals_the_packages_reference_usage(tmp_path):
    clean, noisy = signals()
    path = tmp_path / "noisy.wav"
    sf.write(str(path), noisy, SR, subtype="FLOAT")
    ours = registry.compute(clean, noisy, SR, NAMES)  # one model run for the four
    ref = speechmos_dnsmos.run(str(path), SR)  # the package's documented call, on the file
    for name, key in zip(NAMES, ["sig_mos", "bak_mos", "ovrl_mos", "p808_mos"]):
        assert ours[name] == pytest.approx(float(ref[key]), abs=1e-4), name
    # non-intrusive: the reference does not matter
    assert registry.compute(np.zeros_like(clean) + 1e-3, noisy, SR, ["dnsmos_bak"])["dnsmos_bak"] == \
        pytest.approx(ours["dnsmos_bak"], abs=1e-9)


def test_hears_the_background_noise_and_other_rates():
    clean, noisy = signals()
    c = registry.compute(clean, clean, SR, NAMES)
    n = registry.compute(clean, noisy, SR, NAMES)
    assert c["dnsmos_bak"] > n["dnsmos_bak"] + 1.0  # white noise at 0 dB: an intrusive background
    assert c["dnsmos_ovrl"] > n["dnsmos_ovrl"]
    assert all(1.0 <= v <= 5.0 for v in (*c.values(), *n.values()))
    # 48 kHz input is resampled to 16 kHz; a peak above 1 is scaled, not refused
    from audiorestore.dsp.resample import resample

    loud = 3.0 * resample(noisy, SR, 48000)
    assert registry.compute(loud, loud, 48000, ["dnsmos_bak"])["dnsmos_bak"] == pytest.approx(n["dnsmos_bak"], abs=0.15)


def test_evaluate_cli_lists_and_computes_dnsmos(tmp_path):
    import subprocess
    import sys

    clean, noisy = signals()
    sf.write(str(tmp_path / "c.wav"), clean, SR)
    sf.write(str(tmp_path / "n.wav"), noisy, SR)
    r = subprocess.run([sys.executable, "-m", "audiorestore.cli.main", "evaluate", str(tmp_path / "c.wav"),
                        str(tmp_path / "n.wav"), "--metrics", "dnsmos_ovrl,dnsmos_p808"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "dnsmos_ovrl" in r.stdout and "dnsmos_p808" in r.stdout
