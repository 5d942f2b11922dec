"""PESQ and STOI wrappers equal the reference packages; skipped without the 'metrics' extra."""

from __future__ import annotations

import numpy as np
import pytest

from audiorestore.dsp.resample import resample
from audiorestore.errors import AudioInputError
from audiorestore.metrics import perceptual

from .conftest import add_noise, vowel_like

pesq_pkg = pytest.importorskip("pesq")
pystoi = pytest.importorskip("pystoi")


@pytest.fixture(scope="module")
def pair16():
    x = vowel_like(16000, 3.0)
    return x, add_noise(x, 5.0)


def test_pesq_equals_the_pesq_package(pair16):
    x, y = pair16
    assert perceptual.pesq_wb(x, y, 16000) == pesq_pkg.pesq(16000, x, y, "wb")
    assert perceptual.pesq_nb(x, y, 16000) == pesq_pkg.pesq(16000, x, y, "nb")
    x8, y8 = resample(x, 16000, 8000), resample(y, 16000, 8000)
    assert perceptual.pesq_nb(x8, y8, 8000) == pesq_pkg.pesq(8000, x8, y8, "nb")


def test_pesq_resamples_other_rates(pair16):
    x, y = pair16
    x48, y48 = resample(x, 16000, 48000), resample(y, 16000, 48000)
    direct = pesq_pkg.pesq(16000, resample(x48, 48000, 16000), resample(y48, 48000, 16000), "wb")
    assert perceptual.pesq_wb(x48, y48, 48000) == direct


def test_pesq_ranges_and_ordering(pair16):
    x, y = pair16
    assert perceptual.pesq_wb(x, x, 16000) > 4.5       # P.862.2 maximum is 4.64
    assert 1.0 < perceptual.pesq_wb(x, y, 16000) < 3.0


def test_raw_pesq_inverts_the_p862_1_mapping(pair16):
    x, y = pair16
    mos = perceptual.pesq_nb(x, y, 16000)
    raw = perceptual.pesq_nb_raw(x, y, 16000)
    assert perceptual.raw_to_mos_lqo(raw) == pytest.approx(mos, abs=1e-9)
    # the mapping is increasing and pulls scores below ~3.1 down: for this noisy pair raw > MOS-LQO
    assert raw > mos
    assert perceptual.mos_lqo_to_raw(perceptual.raw_to_mos_lqo(2.5, True), True) == pytest.approx(2.5)


def test_pesq_error_is_one_line_input_error():
    x = vowel_like(16000, 3.0)
    with pytest.raises(AudioInputError, match="PESQ"):
        perceptual.pesq_wb(np.zeros_like(x), x, 16000)


def test_stoi_and_estoi_equal_pystoi(pair16):
    x, y = pair16
    # equal up to the last bit or two: pystoi's matrix products go through multithreaded BLAS
    assert perceptual.stoi(x, y, 16000) == pytest.approx(pystoi.stoi(x, y, 16000, extended=False), abs=1e-12)
    assert perceptual.estoi(x, y, 16000) == pytest.approx(pystoi.stoi(x, y, 16000, extended=True), abs=1e-12)
    assert perceptual.stoi(x, x, 16000) == pytest.approx(1.0, abs=1e-6)


def test_stoi_too_short_raises_instead_of_returning_1e5():
    x = vowel_like(16000, 0.3)  # pystoi needs 30 frames (384 ms) and returns 1e-5 with a warning
    with pytest.raises(AudioInputError, match="too short for STOI"):
        perceptual.stoi(x, x, 16000)
