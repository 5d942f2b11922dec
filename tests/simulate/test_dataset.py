"""make_dataset: layout, manifest, exact SNRs, replay, resume, limits, and input errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiorestore.errors import AudioInputError, ParameterError
from audiorestore.simulate import DegradeConfig, build_chain, load_manifest, make_dataset, measure_snr, replay


def speechlike(n: int, sr: int, f0: float = 140.0) -> np.ndarray:
    t = np.arange(n) / sr
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8) if f0 * k < sr / 2.2)
    return (0.2 * x * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) ** 2).astype(np.float32)


def make_inputs(root: Path) -> tuple[Path, Path]:
    clean, noise = root / "clean", root / "noise"
    (clean / "spk1").mkdir(parents=True)
    noise.mkdir()
    sf.write(clean / "spk1" / "a.wav", speechlike(8000, 16000), 16000)
    sf.write(clean / "spk1" / "b.flac", speechlike(11025, 22050, 180.0), 22050)  # resampled to 16 kHz
    sf.write(clean / "c.wav", speechlike(6000, 16000, 220.0), 16000)
    rng = np.random.default_rng(0)
    sf.write(noise / "n1.wav", 0.05 * rng.standard_normal(20000), 16000)
    sf.write(noise / "n2.flac", 0.05 * rng.standard_normal(3000), 8000)  # short: looped
    return clean, noise


def test_snr_grid_dataset_is_exact_and_replayable(tmp_path) -> None:
    clean, noise = make_inputs(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(ParameterError, match="FLAC cannot store subtype FLOAT"):
        make_dataset(clean, noise, out, DegradeConfig(snrs=[0], subtype="FLOAT"))
    cfg = DegradeConfig(snrs=[0, 5, 10], sample_rate=16000, seed=1, subtype="FLOAT", out_format="wav")
    manifest = make_dataset(clean, noise, out, cfg)
    lines = load_manifest(manifest)
    assert manifest == out / "manifest.jsonl" and len(lines) == 9
    assert {ln["id"] for ln in lines} >= {"spk1/a_snr0", "spk1/b_snr10", "c_snr5"}
    by_id = {ln["id"]: ln for ln in lines}
    b = by_id["spk1/b_snr5"]
    assert b["clean"] == "clean/spk1/b_snr5.wav" and b["noisy"] == "noisy/spk1/b_snr5.wav"
    assert b["noise_file"].endswith(("n1.wav", "n2.flac")) and isinstance(b["offset"], int)
    for ln in lines:
        c, sr = sf.read(out / ln["clean"], dtype="float64")
        y, _ = sf.read(out / ln["noisy"], dtype="float64")
        v, _ = sf.read(out / ln["noise"], dtype="float64")
        assert sr == 16000 and c.shape == y.shape == v.shape
        np.testing.assert_allclose(y, c + v, atol=1e-6)
        assert abs(float(measure_snr(c, v)) - ln["snr_db"]) < 1e-3
        assert ln["snr_db"] == float(ln["id"].rsplit("_snr", 1)[1])
    # a manifest line alone regenerates its noisy file
    a = by_id["spk1/a_snr10"]
    src, _ = sf.read(a["source"], dtype="float32")
    degraded, target = replay(src.astype(np.float64)[None], 16000, a["params"])
    y, _ = sf.read(out / a["noisy"], dtype="float64")
    np.testing.assert_allclose(degraded[0] * a["gain"], y, atol=1e-6)


def test_rerun_resumes_and_repairs_an_interrupted_manifest(tmp_path) -> None:
    clean, noise = make_inputs(tmp_path)
    out = tmp_path / "out"
    cfg = DegradeConfig(snr_range=[0, 20], variants=2, seed=3)
    make_dataset(clean, noise, out, cfg, limit=1)
    first = load_manifest(out / "manifest.jsonl")
    assert [ln["id"] for ln in first] == ["c_v0", "c_v1"]  # sorted: c.wav before spk1/
    stamp = os.stat(out / "noisy" / "c_v0.wav").st_mtime_ns
    with open(out / "manifest.jsonl", "a") as f:
        f.write('{"id": "spk1/a_v0", "clean": "cl')  # a run killed mid-line
    seen = []
    make_dataset(clean, noise, out, cfg, progress=lambda d, t, pid, st: seen.append((pid, st)))
    lines = load_manifest(out / "manifest.jsonl")
    assert len(lines) == 6 and len({ln["id"] for ln in lines}) == 6
    assert os.stat(out / "noisy" / "c_v0.wav").st_mtime_ns == stamp  # not regenerated
    assert [st for pid, st in seen if pid.startswith("c_")] == ["skipped (in manifest)"] * 2
    assert lines[:2] == first  # the same pairs, with the same parameters
    assert all(0 <= ln["snr_db"] <= 20 for ln in lines)
    with pytest.raises(ParameterError, match="other options"):
        make_dataset(clean, noise, out, DegradeConfig(snr_range=[0, 20], variants=2, seed=4))
    make_dataset(clean, noise, out, DegradeConfig(snr_range=[0, 20], variants=2, seed=4), overwrite=True)
    assert load_manifest(out / "manifest.jsonl")[0]["seed"] != first[0]["seed"]


def test_super_resolution_pairs_and_other_stages(tmp_path) -> None:
    clean, _ = make_inputs(tmp_path)
    out = tmp_path / "sr"
    cfg = DegradeConfig(lowpass_rates=[8000], keep_low_rate=True, sample_rate=16000, out_format="wav",
                        quantize_bits=[12], clip=[0.9])
    make_dataset(clean, None, out, cfg)
    ln = {x["id"]: x for x in load_manifest(out / "manifest.jsonl")}["spk1/b"]
    assert ln["noise"] is None and ln["snr_db"] is None and ln["noisy_sample_rate"] == 8000
    assert sf.info(out / ln["noisy"]).samplerate == 8000 and sf.info(out / ln["clean"]).samplerate == 16000
    assert sf.info(out / ln["noisy"]).frames * 2 == sf.info(out / ln["clean"]).frames
    assert [s["name"] for s in ln["params"]["stages"]] == ["clip", "lowpass_decimate", "quantize"]
    assert not (out / "noise").exists()


def test_build_chain_orders_stages_physically() -> None:
    cfg = DegradeConfig(colors=["pink"], codecs=["mp3:32"], reverb_rt60_s=[0.3], hum_hz=[50], hiss_snr_db=[40],
                        clip=[0.5], lowpass_rates=[8000], quantize_bits=[8], mu_law=True, echo_delay_s=[0.1],
                        feedback_gain=[0.5, 1.1])
    names = [s.name for s in build_chain(cfg, snr_db=5.0).stages]
    assert names == ["reverb", "echo", "feedback", "add_noise", "hum", "hiss", "clip", "lowpass_decimate",
                     "quantize", "mu_law", "codec"]


def test_bad_inputs_raise_one_line_errors(tmp_path) -> None:
    clean, noise = make_inputs(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(AudioInputError, match="does not exist"):
        make_dataset(tmp_path / "missing", noise, tmp_path / "o1")
    with pytest.raises(AudioInputError, match="no audio files"):
        make_dataset(tmp_path / "empty", noise, tmp_path / "o2")
    with pytest.raises(AudioInputError, match="no audio files"):
        make_dataset(clean, tmp_path / "empty", tmp_path / "o3")
    with pytest.raises(ParameterError, match="needs a noise source"):
        make_dataset(clean, None, tmp_path / "o4", DegradeConfig(snrs=[5]))
    with pytest.raises(ParameterError, match="one noise source"):
        make_dataset(clean, noise, tmp_path / "o5", DegradeConfig(colors=["pink"]))
    with pytest.raises(ParameterError, match="not both"):
        make_dataset(clean, noise, tmp_path / "o6", DegradeConfig(snrs=[0], snr_range=[0, 5]))
    (clean / "broken.wav").write_bytes(b"RIFF....not audio")
    with pytest.raises(AudioInputError, match="1 of 4 pairs failed"):
        make_dataset(clean, None, tmp_path / "o7", DegradeConfig(colors=["white"], snrs=[0]))
    assert len(load_manifest(tmp_path / "o7" / "manifest.jsonl")) == 3  # the good pairs were written
    assert json.loads((tmp_path / "o7" / "degrade_config.json").read_text())["snrs"] == [0]
