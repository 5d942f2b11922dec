"""The spectral-envelope corrector (audiorestore.superres.envelope) and its place in NeuralUpsampler."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiorestore.dsp.stft import stft
from audiorestore.errors import ParameterError
from audiorestore.metrics import lsd
from audiorestore.metrics.spectral import LSD_FLOOR
from audiorestore.superres import upsampler_from_checkpoint
from audiorestore.superres.envelope import EnvelopeConfig, EnvelopeNet, apply_envelope, envelope_lsd_loss

from .conftest import harmonic_tone

REPO = Path(__file__).resolve().parents[2]
SMALL = dict(sample_rate=16000, start_hz=4000.0, n_fft=512, hop_length=128, low_bands=8, high_bands=4, channels=8)


def _randomised(cfg: EnvelopeConfig) -> EnvelopeNet:
    torch.manual_seed(0)
    net = EnvelopeNet(cfg)
    torch.nn.init.normal_(net.out.weight, std=0.5)
    torch.nn.init.normal_(net.out.bias, std=0.5)
    return net.eval()


def test_untrained_corrector_is_the_identity() -> None:
    x = np.random.default_rng(0).standard_normal((2, 8000)).astype(np.float32)
    assert np.allclose(apply_envelope(EnvelopeNet(EnvelopeConfig(**SMALL)), x), x, atol=1e-5)


def test_gain_is_zero_at_and_below_start_and_bounded_above() -> None:
    cfg = EnvelopeConfig(**SMALL)
    net = _randomised(cfg)
    power = 10.0 ** (torch.randn(1, 257, 20) - 3)
    with torch.no_grad():
        gain = net(power)[0]
    freqs = np.arange(257) * 16000 / 512
    assert torch.all(gain[freqs <= cfg.start_hz] == 0)
    assert gain[freqs > cfg.start_hz].abs().max() > 0.1
    assert gain.abs().max() <= cfg.max_gain


def test_blockwise_processing_equals_whole_signal_processing() -> None:
    net = _randomised(EnvelopeConfig(**SMALL))
    x = np.random.default_rng(1).standard_normal((1, 12000)).astype(np.float32)
    whole = apply_envelope(net, x, block_frames=10_000)
    assert np.abs(whole - x).max() > 0.1  # it does change the band
    assert np.allclose(apply_envelope(net, x, block_frames=7), whole, atol=1e-5)


def test_loss_with_zero_gain_is_the_lsd_metric() -> None:
    rng = np.random.default_rng(2)
    ref = harmonic_tone(24000, 48000) + 0.01 * rng.standard_normal(24000)
    est = ref + 0.05 * rng.standard_normal(24000)
    e = torch.from_numpy(np.abs(stft(est, n_fft=2048, hop_length=512, window="hann")) ** 2)[None]
    r = torch.from_numpy(np.log10(np.abs(stft(ref, n_fft=2048, hop_length=512, window="hann")) ** 2 + LSD_FLOOR))[None]
    assert float(envelope_lsd_loss(torch.zeros_like(e), e, r)) == pytest.approx(lsd(ref, est, 48000), rel=1e-6)


def test_corrector_learns_a_missing_level() -> None:
    """The added band 20 dB too quiet: trained on the LSD, the corrector restores most of its level."""
    cfg = EnvelopeConfig(**SMALL)
    rng = np.random.default_rng(3)
    ref = rng.standard_normal(16000)
    spec = stft(ref, n_fft=512, hop_length=128, window="hann")
    freqs = np.arange(257) * 16000 / 512
    quiet = spec * np.where(freqs > cfg.start_hz, 0.1, 1.0)[:, None]
    e = torch.from_numpy(np.abs(quiet) ** 2).float()[None]
    r = torch.from_numpy(np.log10(np.abs(spec) ** 2 + LSD_FLOOR)).float()[None]
    torch.manual_seed(0)
    net = EnvelopeNet(cfg)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    with torch.no_grad():
        first = float(envelope_lsd_loss(net(e), e, r))
    for _ in range(150):
        loss = envelope_lsd_loss(net(e), e, r)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        gain = net(e)[0]
    assert float(loss.detach()) < 0.6 * first
    assert float(gain[freqs > cfg.start_hz + 500].mean()) == pytest.approx(2.0, abs=0.3)  # +20 dB in power


def _with_envelope(ckpt: Path, cfg: EnvelopeConfig, out: Path) -> Path:
    pkg = torch.load(ckpt, weights_only=True)
    pkg["envelope"] = {"config": dataclasses.asdict(cfg), "state_dict": _randomised(cfg).state_dict()}
    torch.save(pkg, out)
    return out


def test_upsampler_applies_the_checkpoints_corrector(tiny_checkpoint, tmp_path) -> None:
    ckpt = tiny_checkpoint("audiounet")
    rate = int(torch.load(ckpt, weights_only=True)["config"]["sample_rate"])
    in_rate = int(torch.load(ckpt, weights_only=True)["config"]["input_rate"])
    cfg = EnvelopeConfig(**{**SMALL, "sample_rate": rate, "start_hz": 0.8 * in_rate / 2})
    with_env = _with_envelope(ckpt, cfg, tmp_path / "env.pt")
    x = harmonic_tone(in_rate, in_rate)[None].astype(np.float32)
    # the roll-off guard runs after the corrector; off here, so the corrector's own output is compared
    plain = upsampler_from_checkpoint(str(ckpt), rolloff_guard=False).upsample(x, in_rate, rate)
    up = upsampler_from_checkpoint(str(with_env), rolloff_guard=False)
    assert up.params()["envelope"] is True
    corrected = up.upsample(x, in_rate, rate)
    net = _randomised(cfg)
    assert np.allclose(corrected, apply_envelope(net, plain), atol=1e-5)
    assert np.abs(corrected - plain).max() > 1e-3
    off = upsampler_from_checkpoint(str(with_env), envelope=False, rolloff_guard=False)
    assert off.params()["envelope"] is False
    assert np.allclose(off.upsample(x, in_rate, rate), plain, atol=1e-6)


def test_corrector_at_another_rate_is_refused(tiny_checkpoint, tmp_path) -> None:
    ckpt = tiny_checkpoint("audiounet")
    rate = int(torch.load(ckpt, weights_only=True)["config"]["sample_rate"])
    bad = _with_envelope(ckpt, EnvelopeConfig(**{**SMALL, "sample_rate": 2 * rate, "start_hz": 4000.0}),
                         tmp_path / "bad.pt")
    with pytest.raises(ParameterError, match="envelope corrector runs at"):
        upsampler_from_checkpoint(str(bad))


def test_damaged_corrector_entry_gives_a_clear_error(tiny_checkpoint, tmp_path) -> None:
    ckpt = tiny_checkpoint("audiounet")
    pkg = torch.load(ckpt, weights_only=True)
    pkg["envelope"] = {"config": {"sample_rate": int(pkg["config"]["sample_rate"])}, "state_dict": {}}
    torch.save(pkg, tmp_path / "damaged.pt")
    with pytest.raises(ParameterError, match="cannot load the checkpoint's envelope corrector"):
        upsampler_from_checkpoint(str(tmp_path / "damaged.pt"))


def test_bad_config_is_refused() -> None:
    with pytest.raises(ParameterError, match="start_hz"):
        EnvelopeConfig(sample_rate=16000, start_hz=9000.0)
    with pytest.raises(ParameterError, match="kernel_size"):
        EnvelopeConfig(kernel_size=4)


def test_training_script_writes_a_checkpoint_with_the_corrector(tiny_checkpoint, tmp_path) -> None:
    """recipes/train_envelope.py end to end on a fake corpus laid out like RAVDESS (actor 17 validates)."""
    ckpt = tiny_checkpoint("audiounet")
    rate = int(torch.load(ckpt, weights_only=True)["config"]["sample_rate"])
    rng = np.random.default_rng(4)
    for actor, n in (("Actor_01", 3), ("Actor_17", 1), ("Actor_19", 1)):
        d = tmp_path / "data" / "speech" / "ravdess_48k" / actor
        d.mkdir(parents=True)
        for i in range(n):
            x = 0.3 * harmonic_tone(rate // 2, rate, f0_hz=200.0 + 50 * i) + 0.01 * rng.standard_normal(rate // 2)
            sf.write(d / f"0{i}.flac", x, rate)
    out = tmp_path / "env"
    cmd = [sys.executable, str(REPO / "recipes" / "train_envelope.py"), str(ckpt), "--data", str(tmp_path / "data"),
           "--out", str(out), "--steps", "30", "--eval-every", "10", "--crop", "8", "--batch", "4", "--lr", "3e-3",
           "--channels", "8"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "3 training and 1 validation files" in res.stdout
    pkg = torch.load(out / "best.pt", weights_only=True)
    assert pkg["envelope"]["train"]["files"] == 3
    start = next(float(line.split()[4]) for line in res.stdout.splitlines() if line.startswith("step 0:"))
    assert pkg["envelope"]["train"]["valid_lsd"] < start  # kept only because it beat the network alone
    assert upsampler_from_checkpoint(str(out / "best.pt")).params()["envelope"] is True


def test_cli_default_upsampler_runs_the_shipped_corrector_and_can_skip_it(tmp_path) -> None:
    """The bundled 16 -> 48 kHz model carries a corrector; ``--set envelope=false`` runs its network alone."""
    from audiorestore import registry
    from audiorestore.cli.main import main

    pkg = torch.load(registry.get("upsample_16to48").path, weights_only=True)
    assert "envelope" in pkg and pkg["envelope"]["config"]["sample_rate"] == 48000
    t = np.arange(8000) / 16000
    sf.write(tmp_path / "low.wav", 0.2 * np.sin(2 * np.pi * 300 * t) * (1 + np.sin(2 * np.pi * 3 * t)), 16000)
    on, off = tmp_path / "on.wav", tmp_path / "off.wav"
    assert main(["upsample", str(tmp_path / "low.wav"), "-o", str(on), "--rate", "48000", "-q"]) == 0
    assert main(["upsample", str(tmp_path / "low.wav"), "-o", str(off), "--rate", "48000", "-q",
                 "--set", "envelope=false"]) == 0
    a, b = sf.read(on)[0], sf.read(off)[0]
    assert a.shape == b.shape == (24000,)
    assert np.abs(a - b).max() > 1e-4
    assert main(["upsample", str(tmp_path / "low.wav"), "-o", str(tmp_path / "x.wav"), "--rate", "48000", "-q",
                 "--set", "envelope=maybe"]) == 2


def test_training_script_takes_its_own_split_and_noise_floor(tiny_checkpoint, tmp_path) -> None:
    """--valid / --exclude replace splits.toml (a non-speech corpus); --noise-floor-fraction adds a floor."""
    ckpt = tiny_checkpoint("audiounet")
    rate = int(torch.load(ckpt, weights_only=True)["config"]["sample_rate"])
    for i, name in enumerate(("a", "b", "c", "valid_piece", "test_piece")):
        sf.write(tmp_path / f"{name}.flac", 0.3 * harmonic_tone(rate // 2, rate, f0_hz=220.0 + 30 * i), rate)
    cmd = [sys.executable, str(REPO / "recipes" / "train_envelope.py"), str(ckpt), "--data", str(tmp_path),
           "--corpus", "*.flac", "--valid", "valid_*", "--exclude", "test_*", "--noise-floor-fraction", "1",
           "--out", str(tmp_path / "env"), "--steps", "20", "--eval-every", "10", "--crop", "8", "--batch", "4",
           "--lr", "3e-3", "--channels", "8"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert "3 training and 1 validation files" in res.stdout, res.stdout + res.stderr[-2000:]
    bad = subprocess.run(cmd[:5] + ["--corpus", "*.wav", "--out", str(tmp_path / "none")], capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode != 0 and "0 training and 0 validation files" in bad.stderr
