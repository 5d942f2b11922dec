"""Neural inference (models/neural.py): chunked overlap-add equals whole-signal inference away from
chunk edges, any length, stereo, any input rate; family methods and the denoise CLI."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

from audiorestore.cli.main import main
from audiorestore.dsp.resample import resample
from audiorestore.enhancer import get_method, list_methods
from audiorestore.errors import ParameterError
from audiorestore.models.neural import chunked_inference, forward_any_length
from audiorestore.models.registry import build_model, get_family, list_families
from audiorestore.train.checkpoint import save_model
from tests.conftest import speechlike

torch.set_num_threads(1)


def _conv_net(seed: int = 0) -> nn.Module:
    """Shift-invariant, receptive field 1 + 3 * 8 = 25 samples (12 each side)."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv1d(1, 4, 9, padding=4), nn.Tanh(), nn.Conv1d(4, 4, 9, padding=4), nn.Tanh(),
                         nn.Conv1d(4, 1, 9, padding=4)).eval()


def _interior_mask(n: int, chunk: int, overlap: int, margin: int) -> np.ndarray:
    """Samples at least ``margin`` away from every cross-fade region."""
    keep = np.ones(n, bool)
    for s in range(chunk - overlap, n, chunk - overlap):
        keep[max(s - margin, 0):s + overlap + margin] = False
    return keep


@pytest.mark.parametrize("n", [1, 17, 999, 1000, 1001, 5003])
def test_chunked_equals_whole_signal_away_from_chunk_edges(n):
    net = _conv_net()
    x = np.random.default_rng(n).standard_normal((2, n)).astype(np.float32) * 0.3
    with torch.no_grad():
        whole = net(torch.from_numpy(x)[:, None])[:, 0].numpy()
    chunk, overlap = 1000, 100
    y = chunked_inference(net, x, chunk=chunk, overlap=overlap, batch_size=3)
    assert y.shape == x.shape and y.dtype == np.float32
    # the receptive field (12 samples each side) fits in the guard (overlap // 4 = 25): exact everywhere
    np.testing.assert_allclose(y, whole, atol=1e-5)
    # a guard smaller than the receptive field leaves errors only inside the overlaps
    y = chunked_inference(net, x, chunk=chunk, overlap=24, batch_size=3)
    keep = _interior_mask(n, chunk, 24, margin=12)
    np.testing.assert_allclose(y[:, keep], whole[:, keep], atol=1e-5)


def test_chunk_edges_without_context_differ_but_crossfade_hides_them():
    net = _conv_net(1)
    x = np.random.default_rng(0).standard_normal((1, 3000)).astype(np.float32)
    with torch.no_grad():
        whole = net(torch.from_numpy(x)[:, None])[:, 0].numpy()
    hard = chunked_inference(net, x, chunk=500, overlap=0)  # no overlap: edges lack context
    soft = chunked_inference(net, x, chunk=500, overlap=60)
    assert np.abs(hard - whole).max() > 1e-3
    assert np.abs(soft - whole).max() < 1e-5


def test_forward_any_length_pads_to_valid_length_and_crops():
    model = build_model("segan", get_family("segan").tiny()).eval()
    with torch.no_grad():
        y = forward_any_length(model, torch.randn(2, 1, 300))
    assert y.shape == (2, 1, 300)


@pytest.fixture
def fcn_checkpoint(tmp_path):
    torch.manual_seed(0)
    cfg = get_family("fcn").tiny()
    model = build_model("fcn", cfg).eval()
    return save_model(tmp_path / "fcn.pt", model, "fcn", cfg, 16000), model


def test_neural_denoiser_resamples_and_processes_stereo(fcn_checkpoint):
    path, model = fcn_checkpoint
    sr = 22050
    x = np.stack([speechlike(sr // 2, sr, 0), speechlike(sr // 2, sr, 1)])
    enh = get_method("fcn", checkpoint=str(path), chunk_s=0.2, chunk_overlap_s=0.02, high_band="drop")
    assert enh.native_rate == 16000
    y = enh(x, sr)
    assert y.shape == x.shape and y.dtype == np.float32
    x16 = resample(x, sr, 16000)
    with torch.no_grad():
        ref16 = model(torch.from_numpy(x16.astype(np.float32))[:, None])[:, 0].numpy()
    np.testing.assert_allclose(y, resample(ref16, 16000, sr), atol=1e-4)
    np.testing.assert_allclose(get_method("neural", checkpoint=str(path), high_band="drop")(x[0], sr), y[0],
                               atol=1e-4)


def _band_power(x: np.ndarray, sr: int, lo_hz: float) -> float:
    spec = np.abs(np.fft.rfft(x, axis=-1)) ** 2
    return float(spec[..., np.fft.rfftfreq(x.shape[-1], 1 / sr) >= lo_hz].sum())


def test_input_above_the_model_rate_keeps_or_cleans_its_upper_band(fcn_checkpoint):
    path, _ = fcn_checkpoint
    sr = 48000
    rng = np.random.default_rng(0)
    x = (speechlike(sr, sr, 0) + 0.02 * rng.standard_normal(sr)).astype(np.float32)[None]
    run = {hb: get_method("fcn", checkpoint=str(path), high_band=hb)(x, sr) for hb in ("drop", "keep", "logmmse")}
    # drop: nothing above the model's Nyquist frequency (8 kHz) but the resampler's transition band
    assert _band_power(run["drop"], sr, 8500) < 1e-4 * _band_power(x, sr, 8500)  # -40 dB
    # keep: the added band is exactly the input minus its band-limited copy
    low = resample(resample(x.astype(np.float64), sr, 16000), 16000, sr)[..., :sr]
    np.testing.assert_allclose(run["keep"] - run["drop"], x - low, atol=1e-5)
    # logmmse: the upper band (white noise there) is attenuated, not removed or kept
    kept, cleaned = _band_power(run["keep"] - run["drop"], sr, 9000), _band_power(run["logmmse"] - run["drop"], sr, 9000)
    assert 0 < cleaned < 0.5 * kept
    for bad in ("anc", "segan", "sinc"):
        with pytest.raises(ParameterError, match="high_band must be"):
            get_method("fcn", checkpoint=str(path), high_band=bad)


def test_every_denoise_family_has_a_method_that_needs_a_model(fcn_checkpoint):
    path, _ = fcn_checkpoint
    names = {c.name for c in list_methods("denoise")}
    assert {s.name for s in list_families("denoise")} <= names
    with pytest.raises(ParameterError, match="'segan' need a trained model: pass --checkpoint"):
        get_method("segan")
    with pytest.raises(ParameterError, match="holds a 'fcn' model, not 'segan'"):
        # (not silence: restoring silence gives silence without running, or loading, any model)
        get_method("segan", checkpoint=str(path))(np.full(1600, 0.1, np.float32), 16000)
    y = get_method("segan", checkpoint="segan_unittest")(np.random.default_rng(0).standard_normal(3000) * 0.1, 16000)
    assert y.shape == (3000,) and np.all(np.isfinite(y))


def test_denoise_cli_with_a_checkpoint(fcn_checkpoint, tmp_path, capsys):
    path, _ = fcn_checkpoint
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    x = np.stack([speechlike(44100, 44100, 0), speechlike(44100, 44100, 2)]) * 0.5
    sf.write(src, x.T, 44100)
    assert main(["denoise", str(src), "-o", str(dst), "--method", "fcn", "--checkpoint", str(path),
                 "--device", "cpu", "-q"]) == 0
    y, sr = sf.read(dst)
    assert sr == 44100 and y.shape == x.T.shape
    assert main(["denoise", str(src), "-o", str(tmp_path / "o2.wav"), "--method", "fcn"]) == 2
    assert "need a trained model" in capsys.readouterr().err
