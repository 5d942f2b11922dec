"""SNR, segmental SNR and SI-SDR against known answers."""

from __future__ import annotations

import numpy as np
import pytest

from audiorestore.errors import AudioInputError
from audiorestore.metrics.basic import align, loizou_frames, segsnr, segsnr_frames, si_sdr, snr

from .conftest import add_noise


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 7.5, 20.0])
def test_snr_of_scaled_noise_is_exact(speech, snr_db):
    assert snr(speech, add_noise(speech, snr_db), 16000) == pytest.approx(snr_db, abs=1e-9)


def test_snr_known_gain_error():
    x = np.random.default_rng(0).standard_normal(4000)
    # estimate 1.1 x: error 0.1 x, so SNR = 10 log10(1 / 0.01) = 20 dB
    assert snr(x, 1.1 * x, 8000) == pytest.approx(20.0, abs=1e-9)


def test_snr_identical_is_finite_cap():
    x = np.random.default_rng(0).standard_normal(1000)
    assert snr(x, x, 8000) == pytest.approx(-10 * np.log10(np.finfo(np.float64).eps))


def test_si_sdr_invariant_to_scaling(speech):
    y = add_noise(speech, 10.0)
    ref = si_sdr(speech, y, 16000)
    for g in (0.01, 0.5, 3.0, -2.0):
        assert si_sdr(speech, g * y, 16000) == pytest.approx(ref, abs=1e-9)
    # plain SNR is not scale invariant
    assert snr(speech, 0.5 * y, 16000) != pytest.approx(snr(speech, y, 16000), abs=0.1)


def test_si_sdr_known_answer_orthogonal_noise():
    rng = np.random.default_rng(3)
    s = rng.standard_normal(8000)
    s -= s.mean()
    n = rng.standard_normal(8000)
    n -= n.mean()
    n -= (n @ s) / (s @ s) * s  # exactly orthogonal to s: the projection leaves s untouched
    n *= np.sqrt((s @ s) / (n @ n) / 10 ** (12.0 / 10))
    assert si_sdr(s, 0.3 * (s + n), 16000) == pytest.approx(12.0, abs=1e-9)


def test_align_truncates_to_common_length():
    r, e = align(np.arange(10.0), np.arange(7.0))
    assert r.shape == e.shape == (7,)
    assert snr(np.ones(100), np.r_[np.ones(100), np.zeros(50)], 8000) > 150  # extra tail ignored


def test_shape_error_names_shape():
    with pytest.raises(AudioInputError, match=r"\(2, 100\)"):
        snr(np.zeros((2, 100)), np.zeros(100), 8000)


def test_segsnr_bounds_and_known_values(speech):
    sr = 16000
    assert segsnr(speech, speech, sr) == pytest.approx(35.0)          # upper limit
    assert segsnr(speech, -speech, sr) == pytest.approx(10 * np.log10(1 / 4), abs=1e-6)  # error 2x in every frame
    assert segsnr(speech, speech + 100.0 * np.random.default_rng(0).standard_normal(speech.size), sr) \
        == pytest.approx(-10.0)                                       # lower limit
    frames = segsnr_frames(speech, add_noise(speech, 5.0), sr)
    assert frames.min() >= -10.0 and frames.max() <= 35.0


def test_loizou_frame_count_matches_matlab():
    # composite.m: num_frames = len/skip - win/skip, iterated 1:num_frames (floor); 16 kHz: win 480, hop 120
    assert loizou_frames(np.ones(16000), 16000).shape == (16000 // 120 - 4, 480)
    assert loizou_frames(np.ones(8000), 8000).shape == (int(8000 / 60 - 4), 240)
    with pytest.raises(AudioInputError, match="too short"):
        segsnr(np.ones(500), np.ones(500), 16000)
