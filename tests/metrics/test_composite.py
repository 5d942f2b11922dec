"""CSIG/CBAK/COVL: the regression arithmetic, the [1, 5] range, monotonicity in noise, and speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from audiorestore.metrics.composite import composite_from_components

from .conftest import add_noise


def test_regressions_known_answer_and_clipping():
    # Hu & Loizou (2008) regressions at LLR 0.5, WSS 30, segSNR 5, PESQ 2.5
    csig, cbak, covl = composite_from_components(0.5, 30.0, 5.0, 2.5)
    assert csig == pytest.approx(3.093 - 1.029 * 0.5 + 0.603 * 2.5 - 0.009 * 30)
    assert cbak == pytest.approx(1.634 + 0.478 * 2.5 - 0.007 * 30 + 0.063 * 5)
    assert covl == pytest.approx(1.594 + 0.805 * 2.5 - 0.512 * 0.5 - 0.007 * 30)
    assert composite_from_components(2.0, 150.0, -10.0, -0.5) == (1.0, 1.0, 1.0)
    assert composite_from_components(0.0, 0.0, 35.0, 4.64) == (5.0, 5.0, 5.0)


def test_published_voicebank_rows_imply_wideband_pesq():
    # Solving the three regressions for (PESQ, WSS, LLR) from the published noisy-input row (CSIG 3.35, CBAK 2.44,
    # COVL 2.63, segSNR 1.68) recovers the published PESQ-wb 1.97: the composite used P.862.2 MOS-LQO.
    a = np.array([[0.603, -0.009, -1.029], [0.478, -0.007, 0.0], [0.805, -0.007, -0.512]])
    b = np.array([3.35 - 3.093, 2.44 - 1.634 - 0.063 * 1.68, 2.63 - 1.594])
    pesq, wss, llr = np.linalg.solve(a, b)
    assert pesq == pytest.approx(1.97, abs=0.01)
    assert 0 < llr < 2 and 0 < wss < 100


pytest.importorskip("pesq")

from audiorestore.metrics.composite import composite  # noqa: E402
from audiorestore.metrics.perceptual import pesq_nb_raw, pesq_wb  # noqa: E402


def test_composite_in_range_and_monotone_in_noise(speech):
    scores = [composite(speech, add_noise(speech, s), 16000) for s in (20.0, 10.0, 5.0, 0.0, -5.0)]
    for name in ("csig", "cbak", "covl"):
        values = [getattr(s, name) for s in scores]
        assert all(1.0 <= v <= 5.0 for v in values)
        assert all(a > b for a, b in zip(values, values[1:])), (name, values)


def test_composite_uses_wideband_pesq_at_16k_and_raw_nb_at_8k(speech):
    from audiorestore.dsp.resample import resample

    y = add_noise(speech, 5.0)
    s16 = composite(speech, y, 16000)
    assert s16.pesq_mode == "wb" and s16.pesq == pytest.approx(pesq_wb(speech, y, 16000), abs=1e-6)
    x8, y8 = resample(speech, 16000, 8000), resample(y, 16000, 8000)
    s8 = composite(x8, y8, 8000)
    assert s8.pesq_mode == "nb_raw" and s8.pesq == pytest.approx(pesq_nb_raw(x8, y8, 8000), abs=1e-6)
    # other rates are scored at 16 kHz: 48 kHz input gives the 16 kHz composite of the resampled pair
    x48, y48 = resample(speech, 16000, 48000), resample(y, 16000, 48000)
    s48 = composite(x48, y48, 48000)
    ref = composite(resample(x48, 48000, 16000), resample(y48, 48000, 16000), 16000)
    assert s48.sample_rate == 16000 and s48.csig == pytest.approx(ref.csig, abs=1e-9)


def test_clip_llr_only_lowers_llr(speech):
    y = add_noise(speech, -5.0)
    free, clipped = composite(speech, y, 16000), composite(speech, y, 16000, clip_llr=True)
    assert clipped.llr <= free.llr and clipped.csig >= free.csig
    assert clipped.wss == free.wss and clipped.pesq == free.pesq


def test_composite_identical_signals_is_top_rating(speech):
    s = composite(speech, speech, 16000)
    assert (s.csig, s.cbak, s.covl) == (5.0, 5.0, 5.0)


def test_composite_speed_3s(speech):
    y = add_noise(speech, 5.0)
    composite(speech, y, 16000)  # warm up (imports, FFT plans)
    t = time.perf_counter()
    composite(speech, y, 16000)
    assert time.perf_counter() - t < 1.0


def test_digital_silence_in_reference_warns_and_clip_llr_bounds_it(speech, caplog):
    x = speech.copy()
    x[:8000] = 0.0  # 0.5 s of exact zeros: 16 % of the frames
    y = add_noise(x, 5.0)
    with caplog.at_level("WARNING", logger="audiorestore.metrics.composite"):
        free = composite(x, y, 16000)
    assert "digital silence" in caplog.text
    clipped = composite(x, y, 16000, clip_llr=True)
    assert free.llr > 2.0 >= clipped.llr  # composite.m's LLR explodes on silent frames; the limit holds it
