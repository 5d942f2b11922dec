"""Band-GRU log-MMSE: streaming equals the whole-file pass, causality, classical start, contract tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from audiorestore.enhancer import get_method
from audiorestore.errors import ParameterError
from audiorestore.models.bandmmse import BandMMSE, BandMMSEConfig, CausalLogMMSE
from audiorestore.models.profiling import macs_per_second
from audiorestore.train.checkpoint import save_model
from tests.models.helpers import assert_checkpoint_round_trip, assert_shape_preserved, overfit, seeded, speechlike_pair

torch.set_num_threads(1)


def _trained_like(cfg: BandMMSEConfig | None = None, seed: int = 0) -> BandMMSE:
    """A model whose correction is not zero (the last layer randomised), so the network path matters."""
    model = seeded("bandmmse", cfg, seed=seed).eval()
    with torch.no_grad():
        torch.nn.init.normal_(model.out.weight, std=0.5, generator=torch.Generator().manual_seed(seed))
        torch.nn.init.normal_(model.out.bias, std=0.5, generator=torch.Generator().manual_seed(seed + 1))
    return model


def test_shape_preserved_for_any_length() -> None:
    assert_shape_preserved(_trained_like())


def test_streaming_equals_whole_file() -> None:
    # step() over blocks of different sizes, then flush(): the whole-file output, delayed by `latency`
    model = _trained_like()
    noisy, _ = speechlike_pair(2, 128 * 50, snr_db=0.0)
    with torch.no_grad():
        whole = model(noisy)
    state = model.init_state(2)
    sizes = [128, 256, 640, 128 * 10]
    parts, pos, i = [], 0, 0
    while pos < noisy.shape[-1]:
        n = min(sizes[i % len(sizes)], noisy.shape[-1] - pos)
        parts.append(model.step(noisy[..., pos:pos + n], state))
        pos, i = pos + n, i + 1
    parts.append(model.flush(state))
    streamed = torch.cat(parts, dim=-1)
    assert streamed.shape[-1] == noisy.shape[-1] + model.latency
    err = (streamed[..., model.latency:] - whole).abs().max()
    assert float(err) < 1e-4, float(err)
    with pytest.raises(ParameterError, match="multiple of 128"):
        model.step(noisy[..., :100], model.init_state(2))


def test_causal_within_one_window() -> None:
    # changing the input from t0 on leaves every output sample before t0 - n_fft unchanged
    model = _trained_like()
    noisy, _ = speechlike_pair(1, 8000)
    t0 = 5000
    other = noisy.clone()
    other[..., t0:] = torch.randn(1, 1, 8000 - t0, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a, b = model(noisy), model(other)
    n_fft = model.config.n_fft
    assert torch.equal(a[..., :t0 - n_fft], b[..., :t0 - n_fft])
    assert not torch.allclose(a[..., t0:], b[..., t0:])


def test_untrained_model_applies_the_causal_logmmse_gain() -> None:
    # the zero last layer: the mask is the classical gain (clipped to the logit's range)
    model = BandMMSE(BandMMSEConfig()).eval()
    noisy, _ = speechlike_pair(1, 16000, snr_db=5.0)
    with torch.no_grad():
        mask = model.mask(noisy)[0].double().numpy()
    x = torch.nn.functional.pad(noisy[0, 0].double(), (model.latency, 1024))
    frames = x.unfold(-1, 512, 128) * torch.hann_window(512, periodic=True, dtype=torch.float64)
    power = torch.fft.rfft(frames, dim=-1).abs().square().numpy()
    cl = CausalLogMMSE(model.config)
    state = cl.init_state(1)
    gains = np.stack([cl.step(power[None, i], state)[2][0] for i in range(mask.shape[0])])
    assert np.abs(mask - np.clip(gains, 1e-3, 1 - 1e-3)).max() < 1e-5


def test_noise_tracker_finds_a_stationary_noise_level() -> None:
    # white noise of variance s2 through a periodic Hann window of 512: expected periodogram s2 * sum(w^2)
    cl = CausalLogMMSE(BandMMSEConfig())
    rng = np.random.default_rng(0)
    w = np.hanning(513)[:512]
    s2 = 1e-3
    frames = rng.normal(0, math.sqrt(s2), (250, 512)) * w
    power = np.abs(np.fft.rfft(frames, axis=-1)) ** 2
    state = cl.init_state(1)
    lam = [cl.step(p[None], state)[0][0] for p in power]
    level_db = 10 * np.log10(np.mean(lam[-50:]) / (s2 * np.sum(w ** 2)))
    assert abs(level_db) < 2.0, level_db


def test_gain_passes_a_tone_and_suppresses_the_noise_around_it() -> None:
    sr = 16000
    t = np.arange(2 * sr) / sr
    rng = np.random.default_rng(1)
    x = 0.3 * np.sin(2 * np.pi * 1000 * t) * (t > 0.5) + 0.01 * rng.standard_normal(t.size)
    model = BandMMSE(BandMMSEConfig()).eval()
    with torch.no_grad():
        mask = model.mask(torch.from_numpy(x).float()[None, None])[0].numpy()
    tone_bin = 1000 * 512 // sr
    late = slice(150, 240)  # frames well after the tone starts
    assert mask[late, tone_bin].mean() > 0.9
    assert mask[late, 100:-1].mean() < 0.3  # log-MMSE at a -20 dB a priori SNR floor


def test_level_invariant_above_the_floor() -> None:
    model = _trained_like()
    noisy, _ = speechlike_pair(1, 6000)
    with torch.no_grad():
        y, y_loud = model(noisy), model(10 * noisy)
    assert torch.allclose(10 * y, y_loud, atol=1e-4 * float(y_loud.abs().max()))


def test_default_size_and_compute_budget() -> None:
    model = BandMMSE(BandMMSEConfig())
    assert sum(p.numel() for p in model.parameters()) < 300_000
    assert macs_per_second(model, 16000, seconds=1.0, meta=False) < 1e8


def test_overfits_one_batch() -> None:
    noisy, clean = speechlike_pair(2, 4000, snr_db=0.0)
    first, last = overfit(seeded("bandmmse"), noisy, clean, steps=40, lr=1e-2)
    assert last < 0.85 * first, (first, last)


def test_checkpoint_round_trip(tmp_path) -> None:
    cfg = BandMMSEConfig(bands=12, hidden_size=8, rnn_layers=2)
    assert_checkpoint_round_trip(tmp_path, "bandmmse", _trained_like(cfg), cfg)


def test_config_is_checked() -> None:
    with pytest.raises(ParameterError, match="hop_length"):
        BandMMSE(BandMMSEConfig(hop_length=400))
    with pytest.raises(ParameterError, match="gain_floor"):
        BandMMSE(BandMMSEConfig(gain_floor=0.7))


def test_method_streams_the_whole_file_like_one_forward_pass(tmp_path) -> None:
    cfg = BandMMSEConfig(bands=16, hidden_size=16, rnn_layers=1)
    model = _trained_like(cfg)
    path = save_model(tmp_path / "b.pt", model, "bandmmse", cfg, sample_rate=16000)
    noisy, _ = speechlike_pair(2, 7777)
    enh = get_method("bandmmse", checkpoint=str(path), stream_block_s=0.1)
    y = enh(noisy[:, 0].numpy(), 16000)
    with torch.no_grad():
        ref = model(noisy)[:, 0].numpy()
    assert y.shape == (2, 7777)
    assert np.abs(y - ref).max() < 1e-4
    y8 = enh(noisy[0, 0].numpy()[::2].copy(), 8000)  # other rates: resampled to 16 kHz and back
    assert y8.shape == (7777 // 2 + 1,) and np.all(np.isfinite(y8))
    with pytest.raises(ParameterError, match="stream_block_s"):
        get_method("bandmmse", checkpoint=str(path), stream_block_s=0.0)


def test_cli_denoises_a_file_with_a_bandmmse_checkpoint(tmp_path) -> None:
    import subprocess
    import sys

    import soundfile as sf

    cfg = BandMMSEConfig(bands=16, hidden_size=16, rnn_layers=1)
    model = _trained_like(cfg)
    ckpt = save_model(tmp_path / "b.pt", model, "bandmmse", cfg, sample_rate=16000)
    noisy, _ = speechlike_pair(1, 9000)
    sf.write(tmp_path / "in.wav", noisy[0, 0].numpy(), 16000)
    run = subprocess.run([sys.executable, "-m", "audiorestore.cli.main", "denoise", str(tmp_path / "in.wav"),
                          "-o", str(tmp_path / "out.wav"), "--method", "bandmmse", "--checkpoint", str(ckpt)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    y, sr = sf.read(tmp_path / "out.wav", dtype="float32")
    x, _ = sf.read(tmp_path / "in.wav", dtype="float32")  # the 16-bit input the CLI read
    with torch.no_grad():
        ref = model(torch.from_numpy(x)[None, None])[0, 0].numpy()
    assert sr == 16000 and y.shape == (9000,)
    assert np.abs(y - ref).max() < 1e-4  # 16-bit output file: rounding only
    bad = subprocess.run([sys.executable, "-m", "audiorestore.cli.main", "denoise", str(tmp_path / "in.wav"),
                          "-o", str(tmp_path / "out2.wav"), "--method", "bandmmse",
                          "--checkpoint", str(tmp_path / "missing.pt")], capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


def test_ar_stream_equals_the_offline_method_for_random_blocks(tmp_path) -> None:
    """``ar.stream("bandmmse")``: blocks of any size, output = offline method delayed by its latency."""
    from audiorestore.stream import stream

    cfg = BandMMSEConfig(bands=16, hidden_size=16, rnn_layers=1)
    path = save_model(tmp_path / "b.pt", _trained_like(cfg), "bandmmse", cfg, sample_rate=16000)
    noisy, _ = speechlike_pair(2, 5000)
    x = noisy[:, 0].numpy()
    offline = get_method("bandmmse", checkpoint=str(path))(x, 16000)
    s = stream("bandmmse", sample_rate=16000, channels=2, checkpoint=str(path))
    assert s.latency == 384 + 128 - 1  # the model's delay plus a partial hop buffered
    rng = np.random.default_rng(0)
    outs, i = [], 0
    while i < x.shape[-1]:
        b = int(rng.integers(1, 700)) if rng.random() > 0.1 else 1
        outs.append(s.process(x[:, i:i + b]))
        assert outs[-1].shape == (2, min(b, x.shape[-1] - i))
        i += b
    y = np.concatenate([*outs, s.flush()], axis=-1)
    assert y.shape == (2, x.shape[-1] + s.latency)
    assert np.abs(y[:, :s.latency]).max() == 0
    assert np.abs(y[:, s.latency:] - offline).max() < 1e-4
    with pytest.raises(ParameterError, match="16000 Hz"):
        stream("bandmmse", sample_rate=8000, checkpoint=str(path))
