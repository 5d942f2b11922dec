"""Neural upsamplers from checkpoints: rates and ratios, chunked inference, the Python API and the CLI."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import audiorestore as ar
from audiorestore.cli.main import main
from audiorestore.enhancer import get_method
from audiorestore.errors import ParameterError
from audiorestore.superres import NeuralUpsampler, upsampler_from_checkpoint

from .conftest import harmonic_tone

RATIOS = [(22050, 44100), (12000, 48000), (11025, 44100), (16000, 48000)]


def _stereo(n: int, sample_rate: int) -> np.ndarray:
    left = harmonic_tone(n, sample_rate, 220.0, sample_rate / 2)
    right = harmonic_tone(n, sample_rate, 330.0, sample_rate / 2)
    return np.stack([left, right]).astype(np.float32)


@pytest.mark.parametrize("family", ["audiounet", "tfilm", "mugan"])
def test_method_named_after_family_loads_its_checkpoint(family: str, tiny_checkpoint) -> None:
    up = get_method(family, checkpoint=str(tiny_checkpoint(family)))
    assert isinstance(up, NeuralUpsampler) and up.name == family
    assert up.model_rate == 48000 and up.model_input_rate == 16000
    y = up(_stereo(1600, 16000), 16000, 48000)
    assert y.shape == (2, 4800) and y.dtype == np.float32 and np.all(np.isfinite(y))


def test_neural_method_errors_are_one_line(tiny_checkpoint, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="needs a trained model"):
        get_method("audiounet")
    with pytest.raises(ParameterError, match="use --method mugan"):
        get_method("audiounet", checkpoint=str(tiny_checkpoint("mugan")))
    with pytest.raises(ParameterError, match="not a super-resolution model"):
        get_method("mugan", checkpoint=str(tiny_checkpoint("mugan_ae")))
    with pytest.raises(ar.AudioRestoreError, match="checkpoint not found"):
        get_method("tfilm", checkpoint=str(tmp_path / "missing.pt"))


@pytest.mark.parametrize("rates", RATIOS)
def test_rational_ratios_give_the_right_length(rates: tuple[int, int], tiny_checkpoint, caplog) -> None:
    sr, target = rates
    up = upsampler_from_checkpoint(tiny_checkpoint("audiounet"))
    x = _stereo(sr // 10 + 1, sr)
    with caplog.at_level(logging.WARNING):
        y = up(x, sr, target)
    assert y.shape == (2, round(x.shape[-1] * target / sr))
    assert np.all(np.isfinite(y))
    # the model is trained for 16 -> 48 kHz: other input rates are flagged
    assert ("trained for 16000 -> 48000 Hz" in caplog.text) == (sr != 16000)


@pytest.mark.parametrize("family", ["audiounet", "mugan"])
def test_chunked_inference_equals_whole_signal_inference(family: str, tiny_checkpoint) -> None:
    """Convolutional models: chunks of 30 ms with 5 ms context (receptive field ~ 100 samples = 2 ms)
    reproduce whole-signal inference to float precision, including at chunk boundaries."""
    path = str(tiny_checkpoint(family))
    whole = get_method(family, checkpoint=path, chunk_s=10.0)
    chunked = get_method(family, checkpoint=path, chunk_s=0.03, context_s=0.005)
    x = _stereo(3333, 16000)
    core, ctx, hop = chunked.chunk_plan(10000)
    assert core == 1440 and ctx == 240 and core % hop == 0
    y_whole = whole(x, 16000, 48000)
    y_chunked = chunked(x, 16000, 48000)
    assert y_whole.shape == y_chunked.shape == (2, 9999)
    assert np.abs(y_whole - y_chunked).max() < 1e-5
    assert np.abs(y_whole).max() > 0.1


def test_tfilm_chunked_inference_is_close_to_whole(tmp_path: Path) -> None:
    import torch

    from audiorestore.models.registry import build_model, get_family
    from audiorestore.train.checkpoint import save_model

    torch.manual_seed(0)
    cfg = get_family("tfilm").tiny()
    model = build_model("tfilm", cfg)
    for film in [*model.down_film, model.bottleneck_film, *model.up_film]:  # non-identity modulation
        torch.nn.init.normal_(film.proj.weight, std=0.1)
    path = str(save_model(tmp_path / "tfilm.pt", model, "tfilm", cfg, 48000))
    x = _stereo(3333, 16000)
    y_whole = get_method("tfilm", checkpoint=path, chunk_s=10.0)(x, 16000, 48000)
    y_chunked = get_method("tfilm", checkpoint=path, chunk_s=0.03, context_s=0.005)(x, 16000, 48000)
    assert y_chunked.shape == y_whole.shape
    err = np.sqrt(np.mean((y_whole - y_chunked) ** 2) / np.mean(y_whole**2))
    assert 0 < err < 0.1  # the LSTM sees a different history per chunk: close, not identical


def test_python_api_upsample(tiny_checkpoint) -> None:
    x = _stereo(1000, 16000)
    assert ar.upsample(x, 16000, 48000).shape == (2, 3000)  # default: auto (the shipped model, else sinc)
    assert ar.upsample(x[0], 16000, 48000, method="spline").shape == (3000,)
    y = ar.upsample(x, 16000, 48000, checkpoint=str(tiny_checkpoint("mugan")))  # family from the checkpoint
    assert y.shape == (2, 3000)
    with pytest.raises(ParameterError, match="not an upsampler"):
        ar.upsample(x, 16000, 48000, method="filter")


def test_upsample_file_blockwise_equals_in_memory(write_audio, tmp_path: Path) -> None:
    """A stereo 22.05 kHz file in 0.25 s blocks (rational block alignment) matches whole-array spline
    interpolation: block seams are cross-faded where both blocks agree."""
    x = _stereo(int(1.3 * 22050), 22050)
    src = write_audio("in.wav", x, 22050, subtype="FLOAT")
    up = get_method("spline")
    up.block_s, up.overlap_s = 0.25, 0.05  # instance override of the class defaults: several blocks
    dst = ar.upsample_file(src, tmp_path / "out.wav", 44100, up)
    y, sr = sf.read(str(dst), dtype="float32", always_2d=True)
    assert sr == 44100 and y.shape == (2 * x.shape[-1], 2)
    ref = up(x, 22050, 44100)
    assert np.abs(y.T - ref).max() < 1e-4
    with pytest.raises(ar.AudioInputError, match="exists"):
        ar.upsample_file(src, dst, 44100, "spline")


def test_cli_upsample_through_main(write_audio, tmp_path: Path, tiny_checkpoint) -> None:
    src = write_audio("in/a.flac", _stereo(12000, 12000), 12000)
    write_audio("in/sub/b.wav", _stereo(11025, 11025)[0], 11025)
    out = tmp_path / "out"
    assert main(["upsample", str(tmp_path / "in"), "-o", str(out), "--rate", "48000", "--method", "spline",
                 "-q"]) == 0
    a, b = sf.info(str(out / "a.flac")), sf.info(str(out / "sub" / "b.wav"))
    assert (a.samplerate, a.frames, a.channels) == (48000, 48000, 2)
    assert (b.samplerate, b.frames, b.channels) == (48000, 48000, 1)
    one = tmp_path / "one.wav"
    assert main(["upsample", str(src), "-o", str(one), "--rate", "48000",
                 "--checkpoint", str(tiny_checkpoint("tfilm")), "--set", "chunk_s=0.5", "-q"]) == 0
    assert sf.info(str(one)).frames == 48000
    assert main(["upsample", str(src), "-o", str(one), "--rate", "48000", "--method", "nope", "-q"]) == 2
    assert main(["upsample", str(src), "-o", str(one), "--rate", "48000", "-m", "wiener", "-q"]) == 2
    with pytest.raises(SystemExit):
        main(["upsample", str(src)])  # --rate is required


def test_cli_upsample_subprocess(write_audio, tmp_path: Path) -> None:
    src = write_audio("tone.wav", _stereo(22050 // 2, 22050)[0], 22050)
    dst = tmp_path / "tone_44k.flac"
    proc = subprocess.run([sys.executable, "-m", "audiorestore.cli.main", "upsample", str(src), "-o", str(dst),
                           "--rate", "44100", "-m", "sinc"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "upsampled 1 file(s)" in proc.stderr
    info = sf.info(str(dst))
    assert (info.samplerate, info.frames) == (44100, 22050)


def test_shipped_upsampler_is_the_default_for_its_ratio(tiny_checkpoint, tmp_path: Path, monkeypatch) -> None:
    from audiorestore import registry
    from audiorestore.superres.baselines import SincUpsampler

    shipped = tmp_path / "pretrained"
    monkeypatch.setattr(registry, "PRETRAINED_DIR", shipped)
    monkeypatch.setattr(registry, "INDEX_FILE", shipped / "models.json")
    ckpt = tiny_checkpoint("audiounet")  # 16 -> 48 kHz
    entry = registry.add_model(ckpt, "sr_16to48_test", "tiny", "CC0", default=True)
    assert (entry.task, entry.family, entry.input_rate, entry.sample_rate) == ("upsample", "audiounet", 16000, 48000)
    assert registry.verify(entry) == shipped / "sr_16to48_test.pt"
    assert registry.upsampler_for(16000, 48000).name == "sr_16to48_test"
    assert registry.upsampler_for(8000, 16000) is None
    x = _stereo(1600, 16000)
    auto = get_method("auto")
    assert isinstance(auto.choose(16000, 48000), NeuralUpsampler)
    assert isinstance(auto.choose(8000, 16000), SincUpsampler)
    direct = get_method("audiounet", checkpoint=str(ckpt))(x, 16000, 48000)
    np.testing.assert_allclose(ar.upsample(x, 16000, 48000), direct, atol=1e-6)  # the default is the model
    np.testing.assert_allclose(get_method("audiounet", checkpoint="sr_16to48_test")(x, 16000, 48000), direct,
                               atol=1e-6)  # a shipped name works as --checkpoint
    np.testing.assert_allclose(ar.upsample(x[:, :800], 8000, 16000), get_method("sinc")(x[:, :800], 8000, 16000))
    # shipping again replaces the record; the weight file carries no training state
    registry.add_model(ckpt, "sr_16to48_test", "tiny again", "CC0", default=True)
    assert [m.description for m in registry.list_models("upsample", include_unittest=False)] == ["tiny again"]
    import torch

    assert "train_state" not in torch.load(shipped / "sr_16to48_test.pt", weights_only=True)
    # a shipped model's own inference parameters apply when it is called by name; explicit ones win
    registry.add_model(ckpt, "sr_16to48_test", "tiny", "CC0", default=True, params={"keep_input_band": 0.6})
    assert registry.get("sr_16to48_test").params == {"keep_input_band": 0.6}
    assert get_method("auto").choose(16000, 48000).keep_input_band == 0.6
    assert get_method("audiounet", checkpoint="sr_16to48_test").keep_input_band == 0.6  # by name, directly
    assert get_method("audiounet", checkpoint="sr_16to48_test", keep_input_band=0.0).keep_input_band == 0.0
    assert get_method("audiounet", checkpoint=str(ckpt)).keep_input_band == 0.0
    assert upsampler_from_checkpoint("sr_16to48_test", keep_input_band=0.0).keep_input_band == 0.0
    assert upsampler_from_checkpoint(str(ckpt)).keep_input_band == 0.0  # a file carries no such settings
    with pytest.raises(ParameterError, match="model name"):
        registry.add_model(ckpt, "bad name", "x", "CC0")


def test_auto_chains_and_resamples_shipped_models_for_other_ratios(tiny_checkpoint, tmp_path: Path,
                                                                     monkeypatch) -> None:
    import dataclasses

    import soundfile as sf
    import torch

    from audiorestore import registry
    from audiorestore.models.registry import build_model, get_family
    from audiorestore.superres.baselines import SincUpsampler
    from audiorestore.superres.neural import ChainUpsampler
    from audiorestore.train.checkpoint import save_model

    shipped = tmp_path / "pretrained"
    monkeypatch.setattr(registry, "PRETRAINED_DIR", shipped)
    monkeypatch.setattr(registry, "INDEX_FILE", shipped / "models.json")
    torch.manual_seed(1)
    cfg = dataclasses.replace(get_family("audiounet").tiny(), sample_rate=16000, input_rate=8000)
    low = save_model(tmp_path / "sr8.pt", build_model("audiounet", cfg), "audiounet", cfg, cfg.sample_rate)
    high = tiny_checkpoint("audiounet")  # 16 -> 48 kHz
    registry.add_model(low, "sr_8to16_test", "tiny", "CC0", default=True)
    registry.add_model(high, "sr_16to48_test", "tiny", "CC0", default=True)
    names = lambda a, b: [m.name for m in registry.upsampler_chain(a, b)]  # noqa: E731
    assert names(8000, 16000) == ["sr_8to16_test"]  # trained for exactly that ratio
    assert names(8000, 48000) == ["sr_8to16_test", "sr_16to48_test"]
    assert names(8000, 12000) == ["sr_8to16_test"]  # its output resampled down to 12 kHz
    assert names(16000, 44100) == names(16000, 96000) == ["sr_16to48_test"]
    assert names(22050, 44100) == names(48000, 16000) == names(16000, 16000) == []

    auto = get_method("auto")
    x = _stereo(4000, 8000)
    first, second = get_method("audiounet", checkpoint=str(low)), get_method("audiounet", checkpoint=str(high))
    assert isinstance(auto.choose(8000, 48000), ChainUpsampler)
    y = auto(x, 8000, 48000)
    assert y.shape == (2, 24000)
    np.testing.assert_allclose(y, second(first(x, 8000, 16000), 16000, 48000), atol=1e-6)
    z = _stereo(8000, 16000)
    np.testing.assert_allclose(auto(z, 16000, 44100), second(z, 16000, 44100), atol=1e-6)
    assert auto(z, 16000, 44100).shape == (2, 22050)
    assert isinstance(auto.choose(22050, 44100), SincUpsampler)
    assert auto.describe(8000, 48000) == "sr_8to16_test + sr_16to48_test" and auto.describe(22050, 44100) == "sinc"
    # through the CLI, file to file, 8 kHz telephone-band audio to 48 kHz
    src = tmp_path / "phone.wav"
    sf.write(str(src), x.T, 8000)
    out = tmp_path / "phone_48k.wav"
    assert main(["upsample", str(src), "-o", str(out), "--rate", "48000", "-q"]) == 0
    got, sr = sf.read(str(out), dtype="float32")
    assert sr == 48000 and got.shape == (24000, 2)
    np.testing.assert_allclose(got.T, np.clip(y, -1, 1), atol=1e-3)  # 16-bit output (an untrained model's peaks clip)


def test_keep_input_band_takes_the_low_band_from_the_input_and_the_rest_from_the_network(tiny_checkpoint) -> None:
    from audiorestore.superres.neural import keep_input_band

    rng = np.random.default_rng(0)
    n, sr = 48000, 48000
    a, b = (rng.standard_normal((1, n)).astype(np.float32) for _ in range(2))
    y = keep_input_band(b, a, sr, 6000.0)
    spec = lambda x: np.abs(np.fft.rfft(x[0, 2000:-2000]))  # noqa: E731  (away from the edges)
    f = np.fft.rfftfreq(n - 4000, 1 / sr)
    low, high = f < 5000, f > 7000
    # below the transition the result is the input, above it the network's output, to within 1 %
    assert np.sqrt(np.mean((y[0] - a[0]) ** 2)) > 0.5  # not simply the input
    err_low = np.sum(np.abs(np.fft.rfft((y - a)[0, 2000:-2000]))[low] ** 2) / np.sum(spec(a)[low] ** 2)
    err_high = np.sum(np.abs(np.fft.rfft((y - b)[0, 2000:-2000]))[high] ** 2) / np.sum(spec(b)[high] ** 2)
    assert err_low < 1e-2 and err_high < 1e-2
    # in an upsampler: the output below 0.6 x the input's Nyquist frequency is the sinc-interpolated input
    x = _stereo(8000, 16000)
    up = upsampler_from_checkpoint(tiny_checkpoint("audiounet"), keep_input_band=0.6)
    out, ref = (m[:, 3000:-3000] for m in (up(x, 16000, 48000), get_method("sinc")(x, 16000, 48000)))
    raw = upsampler_from_checkpoint(tiny_checkpoint("audiounet"))(x, 16000, 48000)[:, 3000:-3000]
    g = np.fft.rfftfreq(ref.shape[-1], 1 / 48000) < 4000
    kept = np.abs(np.fft.rfft(out - ref)[:, g]).sum() / np.abs(np.fft.rfft(ref)[:, g]).sum()
    untouched = np.abs(np.fft.rfft(raw - ref)[:, g]).sum() / np.abs(np.fft.rfft(ref)[:, g]).sum()
    assert kept < 0.02 and untouched > 5 * kept, (kept, untouched)
    with pytest.raises(ParameterError, match="keep_input_band"):
        upsampler_from_checkpoint(tiny_checkpoint("audiounet"), keep_input_band=1.0)
