"""Additive noise: exact SNR mixing, coloured noise slopes, noise fitting, babble, AddNoise stage."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from audiorestore.errors import AudioInputError, ParameterError
from audiorestore.simulate import (NOISE_COLORS, AddNoise, Babble, babble, colored_noise, fit_noise, measure_snr,
                                   mix_at_snr, random_offset)


def tone(n: int, sr: int = 16000, f: float = 440.0) -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * f * np.arange(n) / sr)


@pytest.mark.parametrize("snr", [-10.0, 0.0, 7.5, 30.0])
def test_mix_at_snr_is_exact(snr: float) -> None:
    rng = np.random.default_rng(0)
    clean, noise = tone(8000), rng.standard_normal(8000) * 3.0
    noisy, scaled = mix_at_snr(clean, noise, snr)
    assert abs(float(measure_snr(clean, scaled)) - snr) < 1e-6
    np.testing.assert_allclose(noisy, clean + scaled, atol=1e-15)


def test_mix_at_snr_per_channel_float32_and_broadcast() -> None:
    rng = np.random.default_rng(1)
    clean = np.stack([tone(4000), 0.01 * tone(4000, f=300)]).astype(np.float32)
    noise = rng.standard_normal(4000).astype(np.float32)  # (time,) broadcast over channels
    noisy, scaled = mix_at_snr(clean, noise, 5.0)
    assert noisy.shape == clean.shape and noisy.dtype == np.float32
    np.testing.assert_allclose(measure_snr(clean, scaled), [5.0, 5.0], atol=1e-5)


def test_mix_at_snr_rejects_silence_and_bad_shapes() -> None:
    with pytest.raises(ParameterError, match="noise is silent"):
        mix_at_snr(tone(100), np.zeros(100), 0.0)
    with pytest.raises(ParameterError, match="clean signal is silent"):
        mix_at_snr(np.zeros(100), np.ones(100), 0.0)
    with pytest.raises(ParameterError, match=r"shape \(50,\)"):
        mix_at_snr(tone(100), np.ones(50), 0.0)
    with pytest.raises(AudioInputError, match="NaN"):
        mix_at_snr(np.full(10, np.nan), np.ones(10), 0.0)


@pytest.mark.parametrize("color", ["white", "pink", "brown", "blue", "violet"])
def test_colored_noise_has_the_expected_spectral_slope(color: str) -> None:
    x = colored_noise(color, 2**15, np.random.default_rng(2), shape=(4,))
    assert x.shape == (4, 2**15)
    np.testing.assert_allclose(np.sqrt(np.mean(x**2, axis=-1)), 1.0, rtol=1e-12)
    f, pxx = signal.welch(x, nperseg=2048, axis=-1)
    band = (f > 0.005) & (f < 0.45)
    slope = np.polyfit(np.log10(f[band]), np.log10(pxx.mean(axis=0)[band]), 1)[0]
    assert abs(slope + NOISE_COLORS[color]) < 0.1, slope


def test_colored_noise_is_reproducible_and_rejects_unknown_colors() -> None:
    a = colored_noise("pink", 1000, np.random.default_rng(5))
    b = colored_noise("pink", 1000, np.random.default_rng(5))
    assert np.array_equal(a, b)
    with pytest.raises(ParameterError, match="unknown noise colour"):
        colored_noise("purple", 1000, np.random.default_rng(0))


def test_fit_noise_crops_at_offset() -> None:
    noise = np.arange(100.0)
    np.testing.assert_array_equal(fit_noise(noise, 10, offset=90), np.arange(90.0, 100.0))
    rng = np.random.default_rng(0)
    offsets = {random_offset(100, 10, rng) for _ in range(300)}
    assert min(offsets) == 0 and max(offsets) == 90
    with pytest.raises(ParameterError, match="outside"):
        fit_noise(noise, 10, offset=91)


def test_fit_noise_loops_without_a_seam() -> None:
    sr = 8000
    noise = np.sin(2 * np.pi * 100 * np.arange(1000) / sr)  # not a whole number of periods
    y = fit_noise(noise, 5000, offset=0, crossfade=100)
    period = 1000 - 100
    np.testing.assert_allclose(y[100:period], noise[100:period])  # untouched middle of the loop
    np.testing.assert_allclose(y[period:2 * period], y[:period])    # periodic
    # no jump at the seam: the step there is as small as inside the signal
    assert abs(y[period] - y[period - 1]) < 2 * np.max(np.abs(np.diff(noise)))
    assert fit_noise(noise, 5000, offset=899, crossfade=100).shape == (5000,)


def test_babble_is_unit_rms_and_reproducible() -> None:
    speech = [tone(3000, f=f) for f in (120.0, 170.0, 230.0, 310.0)]
    a = babble(speech, 4000, np.random.default_rng(3), talkers=3)
    b = babble(speech, 4000, np.random.default_rng(3), talkers=3)
    assert a.shape == (4000,) and np.array_equal(a, b)
    assert abs(np.sqrt(np.mean(a**2)) - 1.0) < 1e-12
    spectrum = np.abs(np.fft.rfft(a))
    peaks = np.sort(np.argsort(spectrum)[-3:]) * 16000 / 4000  # three talkers, three pitches
    assert len(set(peaks)) == 3


def test_add_noise_from_files_at_another_rate(tmp_path) -> None:
    rng = np.random.default_rng(4)
    sf.write(tmp_path / "n.wav", 0.1 * rng.standard_normal(11025), 22050)  # 0.5 s at 22.05 kHz
    stage = AddNoise(files=(str(tmp_path / "n.wav"),), snr_db=(3.0, 3.0))
    params = stage.sample(np.random.default_rng(0), 16000, 16000)
    assert params["file"].endswith("n.wav") and 0 <= params["offset"] < 8000 - 256
    x = tone(16000)
    y = stage.apply(x, 16000, params)
    assert abs(float(measure_snr(x, y - x)) - 3.0) < 1e-6
    assert np.array_equal(y, stage.apply(x, 16000, params))


def test_add_noise_colour_and_babble_stages(tmp_path) -> None:
    x = tone(8000)
    stage = AddNoise(colors=("brown",), snr_db=(0.0, 10.0))
    p = stage.sample(np.random.default_rng(1), 8000, 16000)
    assert p["color"] == "brown" and 0 <= p["snr_db"] <= 10
    y = stage.apply(x, 16000, p)
    assert abs(float(measure_snr(x, y - x)) - p["snr_db"]) < 1e-6
    for i in range(3):
        sf.write(tmp_path / f"s{i}.wav", tone(6000, f=150.0 + 60 * i), 16000)
    bab = Babble(files=tuple(str(tmp_path / f"s{i}.wav") for i in range(3)), talkers=(2, 2), snr_db=5.0)
    pb = bab.sample(np.random.default_rng(2), 8000, 16000)
    assert len(pb["files"]) == 2 and len(pb["offsets"]) == 2
    yb = bab.apply(x, 16000, pb)
    assert abs(float(measure_snr(x, yb - x)) - 5.0) < 1e-6
    with pytest.raises(ParameterError):
        AddNoise(colors=("grey",))


def test_add_noise_never_draws_a_silent_excerpt(tmp_path):
    """A recording that is silent half of the time still always gives an audible excerpt."""
    import soundfile as sf

    from audiorestore.simulate import AddNoise

    sr = 8000
    rng = np.random.default_rng(0)
    noise = np.zeros(sr * 10)
    noise[: sr * 2] = rng.standard_normal(sr * 2)  # 2 s of noise then 8 s of digital silence
    path = tmp_path / "gappy.wav"
    sf.write(str(path), noise, sr, subtype="FLOAT")
    stage = AddNoise(files=(str(path),), snr_db=(5.0, 5.0))
    x = np.sin(np.arange(sr // 2) * 0.1)
    for seed in range(20):
        params = stage.sample(np.random.default_rng(seed), x.size, sr)
        y = stage.apply(x, sr, params)
        assert np.isclose(10 * np.log10(np.mean(x**2) / np.mean((y - x) ** 2)), 5.0, atol=1e-6)
