"""De-clipping: detection finds exactly the clipped samples; A-SPADE restores them (known answers on
clipped sums of sinusoids and on clipped real speech) and never touches the reliable samples."""

from __future__ import annotations

import numpy as np
import pytest

import audiorestore as ar
from audiorestore.classical.declip import aspade_declip, aspade_frames, detect_clipping
from audiorestore.enhancer import get_method
from audiorestore.simulate.clipping import clip


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference ** 2) / np.sum((reference - estimate) ** 2)))


def sines(n: int = 4000, sr: int = 8000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    return sum(a * np.sin(2 * np.pi * f * t + p) for a, f, p in
               zip(rng.uniform(0.3, 1, 5), rng.uniform(100, 2000, 5), rng.uniform(0, 2 * np.pi, 5)))


def test_detection_finds_exactly_the_clipped_samples():
    x = sines()
    theta = 0.5 * np.max(np.abs(x))
    y = clip(x, theta)
    det = detect_clipping(y)
    assert det.high == pytest.approx(theta) and det.low == pytest.approx(-theta)
    assert np.array_equal(det.positive, x >= theta) and np.array_equal(det.negative, x <= -theta)
    assert det.fraction == pytest.approx(np.mean(np.abs(x) >= theta))
    assert not detect_clipping(x).clipped  # its peaks are reached once, not held
    assert not detect_clipping(np.zeros(100)).clipped


def test_detection_with_a_dc_offset_gives_two_levels():
    x = sines() + 0.3
    y = np.clip(x, -1.0, 1.2)  # one converter range, the signal shifted by the offset
    det = detect_clipping(y)
    assert det.high == pytest.approx(1.2) and det.low == pytest.approx(-1.0)
    only_top = np.minimum(sines(), 1.0)
    det = detect_clipping(only_top)
    assert det.high == pytest.approx(1.0) and det.low is None and not det.negative.any()


@pytest.mark.parametrize("relative", [0.3, 0.6])
def test_aspade_restores_clipped_sinusoids(relative):
    x = sines()
    y = clip(x, relative * np.max(np.abs(x)))
    det = detect_clipping(y)
    z = aspade_declip(y, det, 8000)
    m = det.mask
    assert np.array_equal(z[~m], y[~m])  # reliable samples bit for bit
    assert np.all(z[det.positive] >= det.high) and np.all(z[det.negative] <= det.low)  # consistent
    before, after = snr_db(x[m], y[m]), snr_db(x[m], z[m])
    assert after > before + 15.0, (before, after)  # measured: 6.5 -> 23.8 dB (0.3), 14.0 -> 31.8 dB (0.6)
    assert snr_db(x, z) > snr_db(x, y) + 15.0


def test_aspade_on_clipped_real_speech():
    speech, sr = ar.read_audio(ar.example_path("clean"), mono=True)
    s = speech[0, sr // 2: 2 * sr].astype(np.float64)
    y = clip(s, 0.3 * np.max(np.abs(s)))
    out = get_method("declip")(y, sr)
    det = detect_clipping(y)
    m = det.mask
    assert 0.01 < det.fraction < 0.2
    assert np.array_equal(out[~m], y[~m])
    assert snr_db(s[m], out[m]) > snr_db(s[m], y[m]) + 8.0  # measured: 7.8 -> 18.3 dB


def test_frames_solver_is_consistent_and_stops_at_epsilon():
    rng = np.random.default_rng(0)
    y = rng.uniform(-0.5, 0.5, (3, 128))
    est, _ = aspade_frames(y, y, y)  # every sample reliable: the only consistent signal is y itself
    assert np.allclose(est, y, atol=1e-6)
    low, high = y.copy(), y.copy()
    high[:, 40:50], y[:, 40:50] = np.inf, 0.5  # clipped at the top: the estimate stays at or above 0.5
    low[:, 40:50] = 0.5
    est, iters = aspade_frames(y, low, high, epsilon=0.05, max_iter=500)
    assert np.all(est[:, 40:50] >= 0.5 - 1e-6) and np.allclose(est[:, :40], y[:, :40], atol=1e-6)
    assert np.all(iters < 500)  # stopped by epsilon, not by the iteration cap


def test_declip_method_keeps_unclipped_audio_and_shapes():
    x = np.stack([sines(seed=1), sines(seed=2)]).astype(np.float32)
    dc = get_method("declip")
    assert np.array_equal(dc(x, 8000), x)  # nothing clipped: unchanged
    y = clip(x, 0.5 * np.max(np.abs(x)))
    z = dc(y, 8000)
    assert z.shape == y.shape and z.dtype == np.float32
    assert snr_db(x, z) > snr_db(x, y) + 10
    assert "declip" in [c.name for c in ar.list_methods("declip")]
