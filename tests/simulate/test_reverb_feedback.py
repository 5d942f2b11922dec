"""Reverberation (synthetic RIR and RT60), echo, and the acoustic feedback loop."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from audiorestore.errors import ParameterError
from audiorestore.simulate import (Echo, Feedback, Reverb, echo, feedback, feedback_path, measure_rt60,
                                   reverberate, schroeder_decay, soft_limit, synthetic_rir)

SR = 16000


@pytest.mark.parametrize("rt60", [0.2, 0.5, 1.0])
def test_synthetic_rir_has_the_requested_rt60(rt60: float) -> None:
    for seed in range(3):
        h = synthetic_rir(rt60, SR, np.random.default_rng(seed), drr_db=3.0)
        assert h[0] == 1.0 and h.shape == (int(round(1.2 * rt60 * SR)),)
        assert abs(measure_rt60(h, SR) - rt60) < 0.15 * rt60
        tail = h[1:]
        assert abs(10 * np.log10(1.0 / np.sum(tail**2)) - 3.0) < 1e-9  # direct-to-reverberant ratio


def test_schroeder_decay_of_an_exact_exponential() -> None:
    t = np.arange(SR) / SR
    h = np.exp(-3 * np.log(10) / 0.4 * t)  # energy falls 60 dB in 0.4 s
    edc = schroeder_decay(h)
    assert edc[0] == 0.0 and np.all(np.diff(edc) <= 0)
    assert abs(measure_rt60(h, SR) - 0.4) < 1e-3
    with pytest.raises(ParameterError):
        measure_rt60(np.array([1.0, 0.9]), SR)


def test_reverberate_aligns_and_keeps_level() -> None:
    x = np.zeros((2, 1000))
    x[:, 100] = 1.0
    rir = np.zeros(50)
    rir[20], rir[30] = 1.0, 0.5  # 20 samples of propagation delay before the direct path
    y = reverberate(x, rir, rescale=False)
    assert y.shape == x.shape and y[0, 100] == 1.0 and y[0, 110] == 0.5
    rng = np.random.default_rng(0)
    s = rng.standard_normal(4000)
    z = reverberate(s, synthetic_rir(0.3, SR, rng))
    np.testing.assert_allclose(np.sqrt(np.mean(z**2)), np.sqrt(np.mean(s**2)), rtol=1e-12)


def test_echo_known_answer() -> None:
    x = np.zeros(10)
    x[0] = 1.0
    np.testing.assert_allclose(echo(x, 1000, 0.003, 0.5, echoes=3), [1, 0, 0, .5, 0, 0, .25, 0, 0, .125])
    with pytest.raises(ParameterError):
        echo(x, 1000, 0.0001, 0.5)
    p = Echo(delay_s=0.003, gain=0.5).sample(np.random.default_rng(0), 10, 1000)
    np.testing.assert_allclose(Echo().apply(x, 1000, p)[3], 0.5)


def test_reverb_stage_targets_and_rir_files(tmp_path) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(8000)
    stage = Reverb(rt60_s=(0.3, 0.3), target="early")
    p = stage.sample(np.random.default_rng(2), 8000, SR)
    y = stage.apply(x, SR, p)
    early = stage.apply_target(x, SR, p)
    # the early target is the first 50 ms of the very response (same gain) the input went through
    h = synthetic_rir(0.3, SR, np.random.default_rng(p["seed"]), drr_db=p["drr_db"])
    late = np.convolve(x, np.concatenate([np.zeros(800), h[800:]]))[:8000]
    gain = np.sqrt(np.mean(x**2) / np.mean(np.convolve(x, h)[:8000] ** 2))
    np.testing.assert_allclose(y - early, late * gain, atol=1e-9)
    assert np.array_equal(Reverb(target="dry").apply_target(x, SR, {**p, "target": "dry"}), x)
    rir = np.zeros(400)
    rir[100], rir[300] = 0.8, 0.4
    sf.write(tmp_path / "rir.wav", rir, SR, subtype="FLOAT")
    fstage = Reverb(rir_files=(str(tmp_path / "rir.wav"),))
    fp = fstage.sample(np.random.default_rng(0), 8000, SR)
    imp = np.zeros(8000)
    imp[1000] = 1.0
    out = fstage.apply(imp, SR, fp)
    assert np.argmax(out) == 1000 and out[1200] / out[1000] == pytest.approx(0.5, rel=1e-6)


def test_soft_limit_is_linear_below_the_knee_and_bounded() -> None:
    v = np.linspace(-50, 50, 10001)
    y = soft_limit(v, 0.9)
    assert np.all(np.abs(y) <= 0.9) and np.all(np.diff(y) >= 0)
    small = np.abs(v) <= 0.72
    np.testing.assert_array_equal(y[small], v[small])


def _burst(n: int) -> np.ndarray:
    x = np.zeros(n)
    x[:800] = 0.3 * np.random.default_rng(0).standard_normal(800)
    return x


def test_feedback_below_unity_loop_gain_dies_away() -> None:
    y = feedback(_burst(SR), SR, gain=0.5, delay_s=0.01)
    assert np.all(np.isfinite(y))
    assert np.sqrt(np.mean(y[-SR // 4:] ** 2)) < 1e-6


def test_feedback_above_unity_loop_gain_howls_but_stays_bounded() -> None:
    y = feedback(_burst(SR), SR, gain=1.5, delay_s=0.01, limit=0.8)
    tail = y[-SR // 4:]
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) <= 0.8
    assert np.sqrt(np.mean(tail**2)) > 0.3  # a sustained howl after the input stopped
    f = np.fft.rfftfreq(tail.size, 1 / SR)[np.argmax(np.abs(np.fft.rfft(tail)))]
    assert 200 < f < 5000  # it howls inside the loudspeaker's band


def test_feedback_path_is_normalised_and_stage_is_reproducible() -> None:
    from scipy import signal

    sos, fir, scale = feedback_path(SR, (300.0, 3000.0))
    _, h = signal.sosfreqz(sos, worN=8192, fs=SR)
    assert fir is None and abs(np.max(np.abs(h)) * scale - 1.0) < 1e-3
    stage = Feedback(gain=(0.5, 1.5), room_rt60_s=0.1)
    p = stage.sample(np.random.default_rng(3), SR // 2, SR)
    assert {"gain", "delay_s", "low_hz", "high_hz", "limit", "room_rt60_s", "seed"} <= set(p)
    x = _burst(SR // 2)
    a, b = stage.apply(x, SR, p), stage.apply(x, SR, p)
    assert np.array_equal(a, b) and np.all(np.isfinite(a))
    rows = np.stack([x, -0.5 * x])  # (channels, time): each row is its own loop
    both = feedback(rows, SR, 1.2, 0.007)
    np.testing.assert_allclose(both[1], feedback(rows[1], SR, 1.2, 0.007), atol=1e-12)
    with pytest.raises(ParameterError):
        feedback(x, SR, gain=1.0, delay_s=0.0)
