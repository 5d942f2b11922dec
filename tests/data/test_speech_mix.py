"""SpeechMixDataset: speaker-balanced draws, exact SNR, reproducibility, babble speakers held apart."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import soundfile as sf

from audiorestore.data.datasets import scan_files
from audiorestore.data.speech_mix import SpeechMixDataset, speaker_groups
from audiorestore.errors import ParameterError
from audiorestore.train.experiment import DataSection
from audiorestore.train.trainer import speech_mix_sets

SR = 16000


def _write(path, seconds: float, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = 0.2 * np.sin(2 * np.pi * (120 + 10 * seed % 200) * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    sf.write(path, (x + 0.001 * rng.standard_normal(t.size)).astype(np.float32), SR)


@pytest.fixture
def corpus(tmp_path):
    # corpus "big": one speaker with 20 files; corpus "many": 4 speakers with one file each
    for i in range(20):
        _write(tmp_path / "speech" / "big" / "spk0" / f"f{i}.flac", 1.0, i)
    for s in range(4):
        _write(tmp_path / "speech" / "many" / f"spk{s}" / "a.flac", 1.0, 100 + s)
    for s in range(3):
        _write(tmp_path / "speech" / "babble" / f"b{s}" / "a.flac", 1.0, 200 + s)
    _write(tmp_path / "noise" / "n" / "hum.flac", 2.0, 300)
    return tmp_path


def test_draws_corpus_by_sqrt_speakers_then_speaker(corpus) -> None:
    clean = scan_files(corpus, ["speech/big", "speech/many"])
    groups = speaker_groups(corpus, clean)
    assert {g for g in groups} == {("speech/big", "speech/big/spk0")} | {
        ("speech/many", f"speech/many/spk{s}") for s in range(4)}
    ds = SpeechMixDataset(clean, [], SR, 800, groups=groups, kinds=(0, 0, 1, 0))
    rng = np.random.default_rng(0)
    counts = collections.Counter("/".join(ds.draw_clean(rng).rel.split("/")[:3]) for _ in range(3000))
    # p(big) = sqrt(1) / (sqrt(1) + sqrt(4)) = 1/3, although it holds 20 of the 24 files
    assert abs(counts["speech/big/spk0"] / 3000 - 1 / 3) < 0.03
    for s in range(4):  # the other two thirds split evenly over its four speakers
        assert abs(counts[f"speech/many/spk{s}"] / 3000 - 1 / 6) < 0.03


def test_mixes_at_the_drawn_snr_and_is_reproducible(corpus) -> None:
    clean = scan_files(corpus, ["speech/many"])
    ds = SpeechMixDataset(clean, [], SR, 8000, seed=3, kinds=(0, 0, 1, 0), sources=(1.0,), eq_prob=0.0,
                          reverb_prob=0.0, clip_prob=0.0, level_db=(-30.0, -20.0))
    for i in range(5):
        noisy, target, info = ds.make(i)
        snr = 10 * np.log10(np.sum(target.astype(np.float64) ** 2) / np.sum((noisy - target).astype(np.float64) ** 2))
        assert abs(snr - info["snr_db"]) < 0.05, (snr, info)
        level = 20 * np.log10(np.sqrt(np.mean(noisy.astype(np.float64) ** 2)))
        assert -30.01 <= level <= -19.99
        again = ds.make(i)
        assert np.array_equal(noisy, again[0]) and np.array_equal(target, again[1])
    n, c = ds[0]
    assert tuple(n.shape) == tuple(c.shape) == (1, 8000)


def test_rooms_give_an_early_reverberation_target_and_sources_add_up(corpus) -> None:
    clean = scan_files(corpus, ["speech/many"])
    noise = scan_files(corpus, ["noise/n"])
    babble = scan_files(corpus, ["speech/babble"])
    ds = SpeechMixDataset(clean, noise, SR, 8000, seed=1, babble=babble, reverb_prob=1.0, sources=(0, 0, 1.0),
                          kinds=(1, 1, 1, 1))
    for i in range(4):
        noisy, target, info = ds.make(i)
        assert info["room"].startswith("rt60=") and len(info["noise"]) == 3
        assert np.all(np.isfinite(noisy)) and np.abs(noisy).max() <= 0.99 + 1e-6
        assert not np.allclose(noisy, target)


def test_bad_settings_are_refused(corpus) -> None:
    clean = scan_files(corpus, ["speech/many"])
    with pytest.raises(ParameterError, match="no noise kind"):
        SpeechMixDataset(clean, [], SR, 800, kinds=(1, 1, 0, 0))
    with pytest.raises(ParameterError, match="snr_db"):
        SpeechMixDataset(clean, [], SR, 800, snr_db=(10.0, 0.0))
    with pytest.raises(ParameterError, match="reverb_prob"):
        SpeechMixDataset(clean, [], SR, 800, reverb_prob=2.0)


def test_babble_speakers_are_held_apart_from_the_targets(corpus) -> None:
    d = DataSection(root=str(corpus), sample_rate=SR, valid_count=2,
                    mix={"babble_dirs": ["speech"], "babble": ["speech/babble"], "kinds": [1, 1, 0, 0]})
    clean = scan_files(corpus, ["speech"])
    noise = scan_files(corpus, ["noise/n"])
    train, valid = speech_mix_sets(d, clean, noise, [], [], 4000, 4000, 0)
    assert valid is None
    assert len(train.babble) == 3 and all(f.rel.startswith("speech/babble/") for f in train.babble)
    assert not any(f.rel.startswith("speech/babble/") for f in train.clean)
    with pytest.raises(ParameterError, match="data.mix"):
        speech_mix_sets(DataSection(root=str(corpus), mix={"unknown_key": 1}), clean, noise, [], [], 4000, 4000, 0)
