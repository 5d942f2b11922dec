"""Mains hum, hiss, uniform and mu-law quantisation, clipping."""

from __future__ import annotations

import numpy as np
import pytest

from audiorestore.errors import ParameterError
from audiorestore.simulate import (Clip, Hiss, Hum, MuLaw, Quantize, clip, clipped_fraction, hiss, hum, measure_snr,
                                   mu_law, mu_law_decode, mu_law_encode, quantize)

SR = 8000


def _rms_db(x: np.ndarray) -> float:
    return 20 * float(np.log10(np.sqrt(np.mean(np.square(x)))))


@pytest.mark.parametrize("f0", [50.0, 60.0])
def test_hum_has_energy_only_at_the_line_harmonics(f0: float) -> None:
    h = hum(SR, SR, f0, harmonics=4, level_db=-26.0)  # 1 s: 1 Hz bins
    assert abs(_rms_db(h) + 26.0) < 1e-9
    spec = np.abs(np.fft.rfft(h)) / SR * 2
    peaks = np.nonzero(spec > 1e-6)[0]
    np.testing.assert_array_equal(peaks, [f0 * k for k in range(1, 5)])
    amps = spec[peaks]
    np.testing.assert_allclose(amps / amps[0], [1, 1 / 2, 1 / 3, 1 / 4], rtol=1e-9)  # 1/k amplitudes


def test_hum_drops_harmonics_above_nyquist_and_rejects_none_left() -> None:
    h = hum(1000, 1000, 200.0, harmonics=5, level_db=0.0)  # only 200 and 400 Hz fit below 500 Hz
    spec = np.abs(np.fft.rfft(h))
    assert set(np.nonzero(spec > 1e-6 * spec.max())[0]) == {200, 400}
    with pytest.raises(ParameterError):
        hum(1000, 1000, 600.0, harmonics=1)


def test_hiss_level_and_highpass() -> None:
    v = hiss(SR, np.random.default_rng(0), -50.0, sample_rate=SR, highpass_hz=2000.0)
    assert abs(_rms_db(v) + 50.0) < 1e-9
    spec = np.abs(np.fft.rfft(v)) ** 2
    f = np.fft.rfftfreq(SR, 1 / SR)
    assert spec[f < 500].sum() < 0.01 * spec[f > 2000].sum()


def test_hum_and_hiss_stages_hit_their_snr_and_replay() -> None:
    x = 0.3 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)
    for stage in (Hum(freq_hz=(60.0,), snr_db=(20.0, 20.0)), Hiss(snr_db=35.0)):
        p = stage.sample(np.random.default_rng(1), SR, SR)
        y = stage.apply(x, SR, p)
        assert abs(float(measure_snr(x, y - x)) - p["snr_db"]) < 1e-6
        assert np.array_equal(y, stage.apply(x, SR, p))


def test_quantize_levels_error_and_sine_snr() -> None:
    t = np.arange(4 * SR) / SR
    for bits in (4, 8, 12):
        step = 2.0 / 2**bits
        amp = 1.0 - step  # the largest sine that does not reach the clipped top code
        x = amp * np.sin(2 * np.pi * 97.3 * t)
        y = quantize(x, bits)
        assert len(np.unique(y)) <= 2**bits
        assert np.max(np.abs(y - x)) <= step / 2 + 1e-12
        snr = float(measure_snr(x, y - x))
        expected = 6.02 * bits + 1.76 + 20 * np.log10(amp)  # full-scale sine rule, scaled to the amplitude
        assert abs(snr - expected) < 1.0, (bits, snr)
    np.testing.assert_array_equal(quantize(np.array([1.5, -1.5]), 3), [0.75, -1.0])  # clipped to the code range


def test_dither_makes_the_error_white_with_the_tpdf_power() -> None:
    x = 0.02 * np.sin(2 * np.pi * 50 * np.arange(SR) / SR)  # a few LSB at 8 bits, 1 s: 1 Hz bins
    step = 2.0 / 2**8
    harmonic = np.zeros(SR // 2 + 1, dtype=bool)
    harmonic[50::50] = True

    def harmonic_share(e: np.ndarray) -> float:
        spec = np.abs(np.fft.rfft(e)) ** 2
        return float(spec[harmonic].sum() / spec.sum())

    plain = quantize(x, 8) - x
    dithered = quantize(x, 8, dither=True, rng=np.random.default_rng(0)) - x
    assert harmonic_share(plain) > 0.9  # undithered error is distortion: harmonics of the input
    assert harmonic_share(dithered) < 0.05  # dithered error is noise
    assert abs(np.mean(dithered**2) / (step**2 / 4) - 1.0) < 0.05  # TPDF: step^2/12 + 2 step^2/12
    with pytest.raises(ParameterError):
        quantize(x, 8, dither=True)


def test_mu_law_round_trip_and_small_signal_advantage() -> None:
    codes = np.arange(256)
    np.testing.assert_array_equal(mu_law_encode(mu_law_decode(codes)), codes)
    x = np.linspace(-1, 1, 20001)
    assert len(np.unique(mu_law(x))) == 256
    quiet = 0.01 * np.sin(2 * np.pi * 31 * np.arange(SR) / SR)
    assert measure_snr(quiet, mu_law(quiet) - quiet) > measure_snr(quiet, quantize(quiet, 8) - quiet) + 15
    p = MuLaw().sample(np.random.default_rng(0), 10, SR)
    assert p == {"mu": 255.0, "bits": 8}


def test_clip_hard_soft_and_relative_stage() -> None:
    x = np.array([-1.0, -0.25, 0.0, 0.4, 0.9])
    np.testing.assert_array_equal(clip(x, 0.5), [-0.5, -0.25, 0.0, 0.4, 0.5])
    np.testing.assert_allclose(clip(x, 0.5, soft=True), 0.5 * np.tanh(x / 0.5))
    assert clipped_fraction(clip(x, 0.5), 0.5) == pytest.approx(0.4)
    stage = Clip(threshold=0.5)
    y = stage.apply(0.2 * x, SR, stage.sample(np.random.default_rng(0), 5, SR))  # relative to the 0.2 peak
    np.testing.assert_allclose(y, np.clip(0.2 * x, -0.1, 0.1))
    with pytest.raises(ParameterError):
        Clip(threshold=1.5)
    with pytest.raises(ParameterError):
        clip(x, 0.0)


def test_quantize_stage_draws_bits_in_range() -> None:
    stage = Quantize(bits=(4, 6), dither=True)
    drawn = {stage.sample(np.random.default_rng(s), 10, SR)["bits"] for s in range(40)}
    assert drawn == {4, 5, 6}
    p = stage.sample(np.random.default_rng(0), 100, SR)
    x = np.random.default_rng(1).uniform(-1, 1, 100)
    assert np.array_equal(stage.apply(x, SR, p), stage.apply(x, SR, p))
