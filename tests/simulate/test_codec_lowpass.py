"""Lossy codecs (MP3, Opus, Vorbis round trips) and low-pass/decimation for super-resolution pairs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from audiorestore.errors import ParameterError
from audiorestore.simulate import (Codec, LowpassDecimate, codec, colored_noise, lowpass, lowpass_decimate,
                                   measure_snr, mp3_bitrates, parse_codec, subsample, upsample)
from audiorestore.simulate.codec import _encode, _mp3_plan, _vorbis_kbps, _vorbis_level


def _lag(x: np.ndarray, y: np.ndarray, max_lag: int = 400) -> int:
    c = signal.correlate(y, x, mode="full", method="fft")
    mid = x.size - 1
    return int(np.argmax(c[mid - max_lag: mid + max_lag + 1])) - max_lag


def _signal(sr: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    rng = np.random.default_rng(0)
    tone = 0.3 * np.sin(2 * np.pi * 300 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return tone + 0.03 * rng.standard_normal(t.size)


@pytest.mark.parametrize("name,kbps,sr", [("mp3", 24, 16000), ("mp3", 64, 16000), ("mp3", 16, 44100),
                                          ("opus", 16, 16000), ("opus", 24, 22050), ("vorbis", 48, 16000)])
def test_codec_round_trip_is_aligned_and_same_length(name: str, kbps: float, sr: int) -> None:
    x = _signal(sr)
    y = codec(x, sr, name, kbps)
    assert y.shape == x.shape and np.all(np.isfinite(y))
    assert _lag(x, y) == 0
    assert measure_snr(x, y - x) > 5.0  # a lossy copy, not noise


def test_codec_quality_rises_with_bitrate_and_keeps_channels() -> None:
    sr = 16000
    x = np.stack([_signal(sr, 0.5), 0.5 * _signal(sr, 0.5)[::-1]])
    for name, low, high in (("mp3", 16, 96), ("opus", 8, 48), ("vorbis", 40, 96)):
        lo, hi = codec(x, sr, name, low), codec(x, sr, name, high)
        assert lo.shape == x.shape
        assert np.all(measure_snr(x, hi - x) > measure_snr(x, lo - x))


def test_codec_bitrate_mapping_and_errors() -> None:
    assert _mp3_plan(16000, 32) == (16000, pytest.approx((160 - 32 - 0.5) / 152))
    x = _signal(16000, 2.0)
    for kbps in (24, 64):  # the encoded stream really has the requested constant bitrate
        data = _encode(x, 16000, "MP3", "MPEG_LAYER_III", _mp3_plan(16000, kbps)[1], "CONSTANT")
        assert abs(len(data) * 8 / 2.0 / 1000 - kbps) < 0.1 * kbps
    for kbps in (35.0, 55.0):  # vorbis: the bisection lands near the request on the signal itself
        got = _vorbis_kbps(x, 16000, _vorbis_level(x, 16000, kbps), {})
        assert abs(got - kbps) < 0.15 * kbps, (kbps, got)
    assert _mp3_plan(44100, 16)[0] == 24000  # no 16 kbps in MPEG-1: coded at a lower MPEG-2 rate
    assert 320 in mp3_bitrates(48000) and 8 in mp3_bitrates(8000)
    with pytest.raises(ParameterError, match="no 17 kbps"):
        codec(_signal(16000, 0.1), 16000, "mp3", 17)
    with pytest.raises(ParameterError, match="6..256"):
        codec(_signal(16000, 0.1), 16000, "opus", 300)
    with pytest.raises(ParameterError, match="unknown codec"):
        codec(_signal(16000, 0.1), 16000, "aac", 64)
    assert parse_codec("Opus:12") == ("opus", 12.0)
    with pytest.raises(ParameterError):
        parse_codec("mp3")
    stage = Codec(formats=("mp3:32", "opus:12"))
    drawn = {tuple(stage.sample(np.random.default_rng(s), 10, 16000).values()) for s in range(20)}
    assert drawn == {("mp3", 32.0), ("opus", 12.0)}


def test_codec_handles_signals_beyond_full_scale() -> None:
    x = 3.0 * _signal(16000, 0.5)  # peak about 1.4: an encoder would clip it
    y = codec(x, 16000, "mp3", 64)
    assert abs(np.max(np.abs(y)) / np.max(np.abs(x)) - 1.0) < 0.2 and measure_snr(x, y - x) > 5.0


def test_lowpass_removes_energy_above_the_new_nyquist() -> None:
    sr, target = 16000, 8000
    x = colored_noise("white", 2**15, np.random.default_rng(0))
    f, px = signal.welch(x, fs=sr, nperseg=4096)  # Hann-windowed: no leakage from the ends
    for kind, order, extra in (("cheby1", 8, {}), ("ellip", 8, {"stopband_db": 80.0}), ("butter", 12, {}),
                               ("cheby2", 8, {})):
        cutoff = (1.0 if kind == "cheby2" else 0.8) * target / 2
        y = lowpass(x, sr, cutoff, kind, order, zero_phase=True, **extra)
        _, py = signal.welch(y, fs=sr, nperseg=4096)
        above = 10 * np.log10(py[f >= target / 2].sum() / py.sum())
        assert above < -60, (kind, above)
        passband = f < 0.7 * target / 2
        assert abs(10 * np.log10(py[passband].sum() / px[passband].sum())) < 0.2  # pass band kept


def test_decimate_subsample_and_upsample_lengths() -> None:
    sr = 16000
    t = np.arange(sr // 2) / sr
    tone = np.sin(2 * np.pi * 5000 * t)  # above the new 4 kHz Nyquist
    low_tone = lowpass_decimate(tone, sr, 8000)
    assert low_tone.shape == (4000,)
    assert np.sqrt(np.mean(low_tone[200:-200] ** 2)) < 1e-4  # filtered away (away from the cut ends)
    assert np.max(np.abs(low_tone)) < 0.5
    aliased = subsample(tone, 2)  # no filter: 5 kHz folds to 3 kHz
    f = np.fft.rfftfreq(aliased.size, 1 / 8000)[np.argmax(np.abs(np.fft.rfft(aliased)))]
    assert f == pytest.approx(3000, abs=2)
    assert lowpass_decimate(tone, 44100, 16000).shape == (int(round(tone.size * 16000 / 44100)),)
    low = lowpass_decimate(np.sin(2 * np.pi * 500 * t), sr, 8000)
    for method in ("soxr", "cubic", "linear"):
        up = upsample(low, 8000, sr, t.size, method=method)
        assert up.shape == (t.size,)
        assert measure_snr(np.sin(2 * np.pi * 500 * t)[100:-100], (up - np.sin(2 * np.pi * 500 * t))[100:-100]) > 20
    with pytest.raises(ParameterError):
        lowpass_decimate(tone, sr, 16000)
    with pytest.raises(ParameterError):
        lowpass_decimate(tone, 44100, 16000, kind="subsample")


def test_lowpass_decimate_stage_restore_and_low_rate() -> None:
    sr = 16000
    x = colored_noise("pink", sr, np.random.default_rng(1))
    stage = LowpassDecimate(target_rates=(8000, 4000), kinds=("butter", "cheby1", "ellip", "cheby2"), order=(4, 10))
    seen = set()
    for s in range(12):
        p = stage.sample(np.random.default_rng(s), sr, sr)
        seen.add(p["kind"])
        y = stage.apply(x, sr, p)
        assert y.shape == x.shape and stage.output_rate(sr, p) == sr
        spec = np.abs(np.fft.rfft(y)) ** 2
        f = np.fft.rfftfreq(sr, 1 / sr)
        assert spec[f > p["target_rate"] / 2 * 1.02].sum() < 1e-4 * spec.sum()
    assert len(seen) >= 3
    keep = LowpassDecimate(target_rates=(8000,), restore=False)
    p = keep.sample(np.random.default_rng(0), sr, sr)
    assert keep.apply(x, sr, p).shape == (8000,) and keep.output_rate(sr, p) == 8000
    with pytest.raises(ParameterError, match="below"):
        LowpassDecimate(target_rates=(22050,)).sample(np.random.default_rng(0), sr, sr)
