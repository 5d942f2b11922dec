"""The roll-off guard: known answers on shaped noise, and its switch through the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiorestore.simulate.lowpass import lowpass_decimate
from audiorestore.superres import interpolate, upsampler_from_checkpoint
from audiorestore.superres.rolloff import (band_centres, band_log_power, measure_input_band, rolloff_cap,
                                           rolloff_guard)

SR, IN_SR = 44100, 22050


def _shaped_noise(n: int, sample_rate: int, corner_hz: float, slope_db: float, top_hz: float | None = None,
                  seed: int = 0) -> np.ndarray:
    """White noise, flat below ``corner_hz``, falling ``slope_db`` per octave above it (to ``top_hz``,
    nothing beyond)."""
    spec = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / sample_rate)
    gain_db = np.where(f > corner_hz, slope_db * np.log2(np.maximum(f, corner_hz) / corner_hz), 0.0)
    if top_hz is not None:
        gain_db[f > top_hz] = -300.0
    return 0.05 * np.fft.irfft(spec * 10 ** (gain_db / 20), n=n)


def _levels(x: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    c = band_centres(sample_rate)
    return c, band_log_power(x, sample_rate, c).mean(axis=1)


def _input_and_interpolated(reference: np.ndarray) -> np.ndarray:
    low = lowpass_decimate(reference, SR, IN_SR, "cheby1", 8, 0.05, cutoff_ratio=0.8)
    return interpolate(low, IN_SR, SR, "sinc")


def test_measure_input_band_finds_the_cutoff_and_the_slope() -> None:
    ref = _shaped_noise(3 * SR, SR, 2000.0, -6.0)
    c, lv = _levels(_input_and_interpolated(ref), SR)
    band = measure_input_band(lv, c, IN_SR)
    assert band.slope_db_per_oct == pytest.approx(-6.0, abs=1.0)
    assert 0.7 * 11025 < band.cutoff_hz < 0.85 * 11025  # the protocol filter's edge, 0.8 of Nyquist
    assert not band.narrow
    # an input band-limited far below its Nyquist frequency (content to 3 kHz at 22.05 kHz) is narrow
    c, lv = _levels(_input_and_interpolated(_shaped_noise(3 * SR, SR, 1000.0, -3.0, top_hz=3000.0)), SR)
    narrow = measure_input_band(lv, c, IN_SR)
    assert narrow.narrow and 2500 < narrow.cutoff_hz < 3100


def test_guard_makes_a_too_loud_added_band_follow_the_input_slope() -> None:
    """An input falling 12 dB per octave up to its cutoff; the 'network' adds a flat band as loud as
    the input's low end. The guarded band follows the extrapolated -12 dB/octave line within 2 dB
    (the true continuation of the reference), and the band below the cutoff is untouched."""
    ref = _shaped_noise(4 * SR, SR, 1500.0, -12.0)
    x = _input_and_interpolated(ref)
    added = _shaped_noise(4 * SR, SR, 1e9, 0.0, seed=1)  # flat
    added = added - interpolate(interpolate(added, SR, IN_SR, "sinc"), IN_SR, SR, "sinc")  # only above 11 kHz
    y = (x + added)[None]
    out = rolloff_guard(y, x[None], SR, IN_SR)
    c, before = _levels(y[0], SR)
    _, after = _levels(out[0], SR)
    _, truth = _levels(ref, SR)
    top = (c > 12000) & (c < 20000)
    assert np.all(before[top] - truth[top] > 15)  # the flat band was far too loud
    assert np.abs(after[top] - truth[top]).max() < 2.0
    low = c < 7000
    assert np.abs(after[low] - before[low]).max() < 0.05
    assert np.array_equal(rolloff_guard(y, x[None], SR, IN_SR, cap=False), y.astype(np.float32))  # fallback only
    # the cap is the extrapolated line itself, with the headroom on top
    band = measure_input_band(_levels(x, SR)[1], c, IN_SR)
    cap = rolloff_cap(band, c)
    assert np.all(np.isinf(cap[c <= band.cutoff_hz]))
    np.testing.assert_allclose(np.diff(cap[top]) / np.diff(np.log2(c[top])), band.slope_db_per_oct, atol=1e-6)


def test_guard_changes_nothing_when_the_added_band_is_under_the_trend() -> None:
    # a flat spectrum up to Nyquist: the network's flat continuation is what the trend predicts
    ref = np.random.default_rng(2).standard_normal((2, 2 * SR)).astype(np.float32) * 0.05
    x = interpolate(interpolate(ref, SR, IN_SR, "sinc"), IN_SR, SR, "sinc")
    assert np.array_equal(rolloff_guard(ref, x, SR, IN_SR), ref)
    # a rolled-off input and an added band quieter than its extrapolation: left alone, bit for bit
    ref = _shaped_noise(2 * SR, SR, 2000.0, -6.0)
    x = _input_and_interpolated(ref)
    y = (x + 0.1 * (ref - x))[None].astype(np.float32)   # the true band, 20 dB too quiet
    assert np.array_equal(rolloff_guard(y, x[None], SR, IN_SR), y)
    # digital silence passes through
    z = np.zeros((1, SR), np.float32)
    assert np.array_equal(rolloff_guard(z, z, SR, IN_SR), z)


def test_guard_removes_an_added_band_from_a_narrow_input() -> None:
    """Content to 3 kHz in a 22.05 kHz file: the recording was band-limited before it was sampled, far
    below anything the models were trained on, so the guard falls back to the interpolation above the
    cutoff (no added band) and leaves the band below it alone."""
    ref = _shaped_noise(3 * SR, SR, 1000.0, -3.0, top_hz=3000.0)
    x = _input_and_interpolated(ref)
    added = _shaped_noise(3 * SR, SR, 1e9, 0.0, seed=4)
    added = added - interpolate(interpolate(added, SR, IN_SR, "sinc"), IN_SR, SR, "sinc")
    y = (x + added)[None]
    out = rolloff_guard(y, x[None], SR, IN_SR)
    c, before = _levels(y[0], SR)
    _, after = _levels(out[0], SR)
    top = (c > 12000) & (c < 20000)
    assert np.all(after[top] < before[top] - 40)
    low = c < 2500
    assert np.abs(after[low] - before[low]).max() < 0.05


def test_shape_errors_are_stated() -> None:
    with pytest.raises(ValueError, match="same"):
        rolloff_guard(np.zeros((1, 100)), np.zeros((1, 90)), SR, IN_SR)


def _steep_piano_like(n: int) -> np.ndarray:
    """Harmonics of 220 Hz falling 18 dB per octave: a dull recording (22.05 kHz)."""
    t = np.arange(n) / IN_SR
    ks = np.arange(1, 45)
    amps = 0.3 * ks ** (-3.0)
    return (amps[:, None] * np.sin(2 * np.pi * 220.0 * ks[:, None] * t)).sum(axis=0).astype(np.float32)


def test_cli_rolloff_guard_switch(write_audio, tiny_checkpoint, tmp_path: Path) -> None:
    """``--set rolloff_guard=false`` through the real entry point gives the unguarded network output;
    the default (on) never adds more treble than it."""
    ckpt = tiny_checkpoint("audiounet")   # an untrained 16 -> 48 kHz network: broadband junk above 8 kHz
    n = 16000
    x = interpolate(_steep_piano_like(n * 22050 // 16000), 22050, 16000, "sinc").astype(np.float32)
    src = write_audio("dull.wav", x, 16000, subtype="FLOAT")
    outs = {}
    for flag in ("true", "false"):
        dst = tmp_path / f"out_{flag}.wav"
        proc = subprocess.run([sys.executable, "-m", "audiorestore.cli.main", "upsample", str(src), "-o", str(dst),
                               "--rate", "48000", "--checkpoint", str(ckpt), "--set", f"rolloff_guard={flag}", "-q"],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        outs[flag], sr = sf.read(str(dst), dtype="float32")
        assert sr == 48000 and outs[flag].shape == (3 * n,)
    direct = upsampler_from_checkpoint(str(ckpt), rolloff_guard=False)(x[None], 16000, 48000)[0]
    np.testing.assert_allclose(outs["false"], direct, atol=1e-5)
    c = band_centres(48000)
    hf = c > 10000
    on, off = (band_log_power(outs[k], 48000, c).mean(axis=1)[hf] for k in ("true", "false"))
    assert np.all(on <= off + 0.1) and np.max(off - on) > 3.0
    bad = subprocess.run([sys.executable, "-m", "audiorestore.cli.main", "upsample", str(src), "-o",
                          str(tmp_path / "bad.wav"), "--rate", "48000", "--checkpoint", str(ckpt),
                          "--set", "rolloff_guard=maybe"], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "rolloff_guard" in bad.stderr and "Traceback" not in bad.stderr
