"""Datasets: determinism by (seed, index), SNR, resampling, pairing, windows, step-addressed loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiorestore.data.datasets import (AudioFile, FixedSet, MixingDataset, PairedDataset, SlidingWindowDataset,
                                        StepBatchSampler, build_chain, paired_files, read_segment, scan_files,
                                        split_files, step_loader)
from audiorestore.data.windows import crossfade_window, window_starts
from audiorestore.dsp.resample import resample
from audiorestore.errors import AudioInputError, ParameterError
from tests.train.conftest import make_corpus

torch.set_num_threads(1)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_corpus(tmp_path / "data")


def _mixing(root: Path, **kw) -> MixingDataset:
    clean = scan_files(root, ["clean"])
    noise = scan_files(root, ["noise"])
    return MixingDataset(clean, noise, 16000, kw.pop("segment", 1024), **kw)


def test_scan_split_and_exclude(root):
    files = scan_files(root, ["clean"], exclude=["clean/s2"])
    assert [f.rel for f in files] == ["clean/s1/s1_a.flac", "clean/s3/s3_a.flac", "clean/s4/s4_a.flac"]
    held, rest = split_files(files, ["clean/s4", "*s3_a.flac"])
    assert [f.rel for f in held] == ["clean/s3/s3_a.flac", "clean/s4/s4_a.flac"]
    assert [f.rel for f in rest] == ["clean/s1/s1_a.flac"]
    with pytest.raises(AudioInputError, match="data folder not found"):
        scan_files(root, ["missing"])


def test_mixing_is_a_function_of_seed_and_index(root):
    a, b = _mixing(root, seed=3), _mixing(root, seed=3)
    n1, c1 = a[5]
    n2, c2 = b[5]
    assert n1.shape == c1.shape == (1, 1024)
    assert torch.equal(n1, n2) and torch.equal(c1, c2)
    assert not torch.equal(a[6][0], n1)
    assert not torch.equal(_mixing(root, seed=4)[5][0], n1)


def test_mixing_reaches_the_drawn_snr(root):
    ds = _mixing(root, seed=0, snr_db=(5.0, 5.0), segment=4000)
    for i in range(4):
        noisy, clean = (t[0].double().numpy() for t in ds[i])
        snr = 10 * np.log10(np.sum(clean ** 2) / np.sum((noisy - clean) ** 2))
        assert snr == pytest.approx(5.0, abs=1e-3)
        assert ds.describe(i)["snr_db"] == 5.0


def test_coloured_noise_share_and_snr(root):
    ds = _mixing(root, seed=0, snr_db=(5.0, 5.0), segment=4000, colors=["white", "pink"], color_fraction=0.5)
    kinds = [ds.describe(i)["noise"] for i in range(40)]
    coloured = [k for k in kinds if k.startswith("color:")]
    assert 10 <= len(coloured) <= 30 and {"color:white", "color:pink"} == set(coloured)
    i = kinds.index("color:white")
    noisy, clean = (t[0].double().numpy() for t in ds[i])
    residual = noisy - clean
    assert 10 * np.log10(np.sum(clean ** 2) / np.sum(residual ** 2)) == pytest.approx(5.0, abs=1e-3)
    # white noise: flat spectrum, low and high halves carry about the same power
    power = np.abs(np.fft.rfft(residual)) ** 2
    half = len(power) // 2
    assert np.sum(power[1:half]) / np.sum(power[half:]) == pytest.approx(1.0, rel=0.2)
    only = MixingDataset(scan_files(root, ["clean"]), [], 16000, 1000, colors=["brown"])  # no files: always colour
    assert all(only.describe(i)["noise"] == "color:brown" for i in range(5))


@pytest.mark.parametrize("kind, changed", [("noise_augment", 0), ("speech_augment", 1)])
def test_augmentation_share_snr_and_reproducibility(root, kind, changed):
    """Noise augmentation changes the input only; speech augmentation equalises the speech, which is the
    target too. Either way the mixture is at exactly the drawn SNR and an index gives the same example."""
    def make(**kw):
        return _mixing(root, seed=0, snr_db=(5.0, 5.0), segment=4000, **kw)

    ds = make(**{kind: 0.5})
    flags = [bool(ds.describe(i).get(kind)) for i in range(40)]
    assert 10 <= sum(flags) <= 30
    i = flags.index(True)
    noisy, clean = (t[0].double().numpy() for t in ds[i])
    assert 10 * np.log10(np.sum(clean ** 2) / np.sum((noisy - clean) ** 2)) == pytest.approx(5.0, abs=1e-3)
    assert torch.equal(ds[i][changed], make(**{kind: 0.5})[i][changed])
    assert not torch.equal(ds[i][changed], make()[i][changed])
    with pytest.raises(ParameterError, match=kind):
        _mixing(root, **{kind: 1.5})
    with pytest.raises(ParameterError, match="speech_eq_db"):
        _mixing(root, speech_eq_db=-1.0)


def test_speed_crop_scales_pitch_and_speech_speed_is_reproducible(root, tmp_path):
    import soundfile as sf

    from audiorestore.data.datasets import scan_files, speed_crop

    sr = 16000
    tone = (0.3 * np.sin(2 * np.pi * 500 * np.arange(2 * sr) / sr)).astype(np.float32)
    (tmp_path / "t").mkdir()
    sf.write(str(tmp_path / "t" / "tone.wav"), tone, sr)
    f = scan_files(tmp_path, ["t"])[0]
    y, factor = speed_crop(f, 8000, sr, (1.2, 1.2), np.random.default_rng(0))
    assert y.shape == (8000,) and factor == pytest.approx(1.2)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    assert np.fft.rfftfreq(y.size, 1 / sr)[np.argmax(spectrum)] == pytest.approx(600.0, abs=4.0)  # 500 Hz x 1.2
    ds = _mixing(root, seed=0, snr_db=(5.0, 5.0), segment=4000, speech_augment=1.0, speech_speed=[0.9, 1.1])
    factors = [ds.describe(i)["speech_speed"] for i in range(20)]
    assert all(0.9 <= v <= 1.1 for v in factors) and len(set(factors)) == 20
    again = _mixing(root, seed=0, snr_db=(5.0, 5.0), segment=4000, speech_augment=1.0, speech_speed=[0.9, 1.1])
    assert torch.equal(ds[3][1], again[3][1])
    noisy, clean = (t[0].double().numpy() for t in ds[3])
    assert 10 * np.log10(np.sum(clean ** 2) / np.sum((noisy - clean) ** 2)) == pytest.approx(5.0, abs=1e-3)
    # without speech_speed, speech_augment draws exactly what it drew before the option existed
    plain = _mixing(root, seed=0, snr_db=(5.0, 5.0), segment=4000, speech_augment=1.0)
    assert "speech_speed" not in plain.describe(0)
    with pytest.raises(ParameterError, match="speech_speed"):
        _mixing(root, speech_speed=[1.2, 0.8])


def test_random_equalizer_is_a_smooth_bounded_gain():
    from audiorestore.data.datasets import random_equalizer

    x = np.random.default_rng(1).standard_normal(16000).astype(np.float32)
    y = random_equalizer(x, np.random.default_rng(2), max_db=12.0)
    gain = np.abs(np.fft.rfft(y)[1:]) / np.abs(np.fft.rfft(x)[1:])
    assert gain.max() <= 10 ** (12 / 20) * 1.0001 and gain.min() >= 10 ** (-12 / 20) / 1.0001
    assert np.allclose(random_equalizer(x, np.random.default_rng(2), max_db=0.0), x, atol=1e-5)


def test_every_clean_file_once_per_epoch(root):
    ds = _mixing(root, seed=1)
    epoch = [ds.describe(i)["clean"] for i in range(len(ds))]
    assert sorted(epoch) == sorted(f.rel for f in ds.clean)


def test_read_segment_resamples_like_the_whole_file(root):
    f = next(x for x in scan_files(root, ["clean"]) if x.sample_rate == 22050)
    whole, _ = sf.read(f.path, dtype="float32")
    ref = resample(whole, 22050, 16000)
    seg = read_segment(f, 1000, 2000, 16000)
    assert seg.shape == (2000,)
    np.testing.assert_allclose(seg[200:-200], ref[1200:2800], atol=2e-3)
    tail = read_segment(f, len(ref) - 100, 300, 16000)  # past the end: zero padded
    assert np.all(tail[120:] == 0) and np.any(tail[:80])


def test_chain_is_applied_and_reproducible(root):
    chain = build_chain({"clip": {"threshold": [0.05, 0.05]}})
    ds = MixingDataset(scan_files(root, ["clean"]), [], 16000, 2048, chain=chain, seed=2)
    noisy, clean = ds[0]
    assert float(noisy.abs().max()) <= 0.05 + 1e-6 < float(clean.abs().max())
    assert torch.equal(ds[0][0], noisy)
    with pytest.raises(ParameterError, match="unknown degradation"):
        build_chain({"no_such_stage": {}})


def test_paired_crops_are_aligned(tmp_path):
    for side, scale in (("clean", 1.0), ("noisy", 2.0)):
        p = tmp_path / "p" / side / "a.wav"
        p.parent.mkdir(parents=True)
        sf.write(p, scale * 0.2 * np.sin(np.arange(5000) / 7.0), 16000, subtype="FLOAT")
    ds = PairedDataset(paired_files(tmp_path, ["p"]), 16000, 1000, seed=0)
    for i in range(3):
        noisy, clean = ds[i]
        torch.testing.assert_close(noisy, 2 * clean, atol=1e-6, rtol=0)
    (tmp_path / "p" / "noisy" / "b.wav").write_bytes((tmp_path / "p" / "noisy" / "a.wav").read_bytes())
    with pytest.raises(AudioInputError, match="do not pair up"):
        paired_files(tmp_path, ["p"])


def test_sliding_windows_cover_every_sample(root):
    pairs = paired_files(root, ["pairs"])
    ds = SlidingWindowDataset(pairs, 16000, window=3000, hop=2500)
    assert len(ds) == 2 * len(window_starts(8000, 3000, 2500)) == 6
    noisy, clean = ds[2]  # last window of the first file: 8000 - 5000 = 3000 samples, no padding
    ref, _ = sf.read(pairs[0][1].path, dtype="float32")
    np.testing.assert_allclose(clean[0].numpy(), ref[5000:8000], atol=1e-7)
    fixed = FixedSet.from_dataset(ds)
    assert len(fixed) == 6 and torch.equal(fixed[2][1], clean)


def test_windows_and_crossfades():
    assert window_starts(10, 4, 3) == [0, 3, 6] and window_starts(4, 4, 2) == [0]
    w = crossfade_window(100, 20, 30)
    assert w[20:70].min() == 1.0 and 0 < w[0] < 0.01 and 0 < w[-1] < 0.01
    np.testing.assert_allclose(crossfade_window(40, 0, 20)[20:] + crossfade_window(40, 20, 0)[:20], 1.0)
    with pytest.raises(ParameterError):
        window_starts(10, 4, 5)


def test_step_sampler_ranks_are_disjoint_and_resume_exactly():
    r0 = list(StepBatchSampler(3, 0, 4, rank=0, world_size=2))
    r1 = list(StepBatchSampler(3, 0, 4, rank=1, world_size=2))
    flat = [i for b in r0 + r1 for i in b]
    assert len(flat) == len(set(flat)) == 24
    assert list(StepBatchSampler(3, 2, 4, rank=1, world_size=2)) == r1[2:]


def test_step_loader_with_workers_matches_in_process_and_leaves_global_rng_alone(root):
    ds = _mixing(root, seed=0, segment=512)
    state = torch.get_rng_state()
    inline = [b[0] for b in step_loader(ds, 2, 1, 4, num_workers=0)]
    assert torch.equal(torch.get_rng_state(), state)
    workers = [b[0] for b in step_loader(ds, 2, 1, 4, num_workers=2)]
    assert len(inline) == 3 and inline[0].shape == (2, 1, 512)
    assert all(torch.equal(a, b) for a, b in zip(inline, workers))
    assert torch.equal(inline[0][0], ds[2][0])  # step 1, batch 2 -> examples 2, 3


def test_bad_settings_raise():
    f = AudioFile("x.flac", "x.flac", 16000, 100)
    with pytest.raises(ParameterError, match="noise colours or a degradation chain"):
        MixingDataset([f], [], 16000, 100)
    with pytest.raises(ParameterError, match="unknown noise colour"):
        MixingDataset([f], [f], 16000, 100, colors=["green"])
    with pytest.raises(ParameterError, match="color_fraction"):
        MixingDataset([f], [f], 16000, 100, colors=["white"], color_fraction=1.5)
    with pytest.raises(ParameterError, match="ranges"):
        MixingDataset([f], [f], 16000, 100, snr_db=(10.0, 0.0))


def test_paired_files_with_a_relative_root(tmp_path, monkeypatch):
    """A relative data.root (e.g. ../shared/data) is joined once, not twice."""
    import soundfile as sf

    from audiorestore.data.datasets import paired_files

    root = tmp_path / "data"
    for side in ("noisy", "clean"):
        (root / "pairs" / side).mkdir(parents=True)
        sf.write(str(root / "pairs" / side / "a.wav"), np.zeros(800) + 0.1, 8000)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    pairs = paired_files("../data", ["pairs"])
    assert len(pairs) == 1 and Path(pairs[0][0].path).name == "a.wav"
