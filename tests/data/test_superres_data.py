"""Super-resolution data: band-limited inputs at the target rate, determinism by (seed, index), the
protocol filter and the randomised ones, full-band checks, autoencoder pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiorestore.data.datasets import scan_files
from audiorestore.data.superres import (PROTOCOL_FILTER, FullBandDataset, SuperResDataset, band_limit,
                                        random_filter_stage)
from audiorestore.errors import AudioInputError, ParameterError
from audiorestore.simulate.lowpass import lowpass_decimate
from audiorestore.superres.baselines import interpolate

torch.set_num_threads(1)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Three 0.3 s white-noise 'recordings' at 16 kHz (full band up to 8 kHz) and one at 8 kHz."""
    rng = np.random.default_rng(0)
    for i in range(3):
        p = tmp_path / "data" / "wide" / f"w{i}.flac"
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(p, (0.1 * rng.standard_normal(4800)).astype(np.float32), 16000)
    p = tmp_path / "data" / "narrow" / "n0.flac"
    p.parent.mkdir(parents=True)
    sf.write(p, (0.1 * rng.standard_normal(2400)).astype(np.float32), 8000)
    return tmp_path / "data"


def _band_energy(x: np.ndarray, rate: int, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    f = np.fft.rfftfreq(x.size, 1 / rate)
    return float(spec[(f >= lo) & (f < hi)].sum())


def test_items_are_aligned_pairs_at_the_target_rate_with_the_band_removed(root):
    ds = SuperResDataset(scan_files(root, ["wide"]), 16000, 8000, segment=2048, seed=3)
    for i in range(4):
        low, high = ds[i]
        assert low.shape == high.shape == (1, 2048) and low.dtype == high.dtype == torch.float32
        x, y = low[0].numpy(), high[0].numpy()
        # the target is white up to 8 kHz; the input keeps the band below the filter edge (3.2 kHz)
        # and loses the band above the input's Nyquist frequency (4 kHz)
        assert _band_energy(x, 16000, 4500, 8000) < 0.01 * _band_energy(y, 16000, 4500, 8000)
        below = _band_energy(x - y, 16000, 0, 2500) / _band_energy(y, 16000, 0, 2500)
        assert below < 0.01, below


def test_examples_are_reproducible_by_seed_and_index(root):
    files = scan_files(root, ["wide"])
    stage = random_filter_stage(8000)
    a = SuperResDataset(files, 16000, 8000, 1024, seed=5, random_filters=stage, gain_db=(-6, 6))
    b = SuperResDataset(files, 16000, 8000, 1024, seed=5, random_filters=stage, gain_db=(-6, 6))
    c = SuperResDataset(files, 16000, 8000, 1024, seed=6, random_filters=stage, gain_db=(-6, 6))
    for i in (0, 7, 2):  # any order, any index (past one epoch too)
        assert all(torch.equal(u, v) for u, v in zip(a[i], b[i]))
        assert a.describe(i) == b.describe(i)
    assert not torch.equal(a[0][1], c[0][1])


def test_protocol_share_and_randomised_filters(root):
    files = scan_files(root, ["wide"])
    fixed = SuperResDataset(files, 16000, 8000, 1024, seed=0)  # no random stage: the protocol only
    assert all(fixed.describe(i)["filter"] == PROTOCOL_FILTER for i in range(5))
    assert PROTOCOL_FILTER["kind"] == "cheby1" and PROTOCOL_FILTER["order"] == 8  # Kuleshov et al., Sec. 4
    stage = random_filter_stage(8000, {"kinds": ["butter", "ellip", "bessel"], "order": [4, 10]})
    mixed = SuperResDataset(files, 16000, 8000, 1024, seed=0, random_filters=stage, fixed_fraction=0.5)
    filters = [mixed.describe(i)["filter"] for i in range(40)]
    n_protocol = sum(f == PROTOCOL_FILTER for f in filters)
    assert 8 <= n_protocol <= 32
    drawn = [f for f in filters if f != PROTOCOL_FILTER]
    assert {f["kind"] for f in drawn} == {"butter", "ellip", "bessel"}
    assert len({f["order"] for f in drawn}) > 3 and all(4 <= f["order"] <= 10 for f in drawn)
    none = SuperResDataset(files, 16000, 8000, 1024, seed=0, random_filters=stage, fixed_fraction=0.0)
    assert all(none.describe(i)["filter"] != PROTOCOL_FILTER for i in range(10))


def test_band_limit_is_the_benchmark_protocol():
    x = np.random.default_rng(1).standard_normal(4800)
    low = lowpass_decimate(x, 48000, 16000, "cheby1", 8, 0.05, 60.0, True, 0.8)
    np.testing.assert_allclose(band_limit(x, 48000, 16000, PROTOCOL_FILTER),
                               interpolate(low, 16000, 48000, "spline").astype(np.float32), rtol=1e-5, atol=1e-6)


def test_bad_inputs_are_refused(root):
    with pytest.raises(AudioInputError, match="below the target rate"):
        SuperResDataset(scan_files(root, ["narrow"]), 16000, 8000, 1024)
    with pytest.raises(ParameterError, match="input_rate"):
        SuperResDataset(scan_files(root, ["wide"]), 16000, 16000, 1024)
    with pytest.raises(ParameterError, match="input_rate"):
        random_filter_stage(8000, {"target_rates": [4000]})
    with pytest.raises(ParameterError, match="restore"):
        random_filter_stage(8000, {"restore": True})
    with pytest.raises(ParameterError, match="decimate to"):
        SuperResDataset(scan_files(root, ["wide"]), 16000, 8000, 1024, random_filters=random_filter_stage(4000))


def test_full_band_pairs_are_identical_and_never_silent(root, tmp_path):
    ds = FullBandDataset(scan_files(root, ["wide"]), 16000, 1024, seed=0, gain_db=(-3, 3))
    x, y = ds[4]
    assert torch.equal(x, y) and x.shape == (1, 1024) and float(x.abs().max()) > 0
    # a recording that is mostly silence: the patch is redrawn until it holds signal
    sig = np.zeros(16000, np.float32)
    sig[12000:13500] = 0.1 * np.random.default_rng(2).standard_normal(1500)
    p = tmp_path / "quiet" / "q.flac"
    p.parent.mkdir()
    sf.write(p, sig, 16000)
    quiet = FullBandDataset(scan_files(tmp_path, ["quiet"]), 16000, 1024, seed=0, tries=50)
    assert all(float(quiet[i][0].abs().max()) > 0 for i in range(5))


def test_noise_floor_reaches_the_added_band_at_its_drawn_level(tmp_path):
    """A band-limited 'recording' (a 1 kHz tone) gains a broadband floor, in input and target alike,
    at the drawn level below the patch's RMS; without the option nothing is added."""
    p = tmp_path / "tone" / "t.flac"
    p.parent.mkdir()
    sf.write(p, (0.3 * np.sin(2 * np.pi * 1000 * np.arange(8000) / 16000)).astype(np.float32), 16000)
    files = scan_files(tmp_path, ["tone"])
    plain = SuperResDataset(files, 16000, 8000, segment=2048, seed=0)
    floored = SuperResDataset(files, 16000, 8000, segment=2048, seed=0, noise_floor_db=(-30.0, -30.0),
                              noise_floor_fraction=1.0)
    for i in range(3):
        _, clean = plain[i]
        low, high = floored[i]
        info = floored.describe(i)
        assert info["noise_floor"] in ("white", "pink") and info["noise_floor_db"] == -30.0
        y, c = high[0].numpy().astype(np.float64), clean[0].numpy().astype(np.float64)
        assert _band_energy(c, 16000, 4500, 8000) < 1e-6 * _band_energy(c, 16000, 0, 8000)
        assert _band_energy(y, 16000, 4500, 8000) > 1e-5 * _band_energy(y, 16000, 0, 8000)
        added = y - c   # the same crop and gain: the difference is the floor alone
        ratio_db = 10 * np.log10(np.mean(added ** 2) / np.mean(c ** 2))
        assert ratio_db == pytest.approx(-30.0, abs=1.0)
        assert _band_energy(low[0].numpy(), 16000, 4500, 8000) < 0.05 * _band_energy(added, 16000, 4500, 8000)
    with pytest.raises(ParameterError):
        SuperResDataset(files, 16000, 8000, segment=2048, noise_floor_db=(-30.0,), noise_floor_fraction=0.5)
