"""LSD, LLR, IS, cepstral distance and WSS: known answers and a loop transcription of composite.m."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import solve_toeplitz, toeplitz

from audiorestore.dsp.filters import apply_filter, design_filter
from audiorestore.errors import ParameterError
from audiorestore.metrics.spectral import (autocorrelation, cepstral_distance, itakura_saito, levinson,
                                           llr, llr_frames, lowest_mean, lpc_to_cepstrum, lsd, lsd_hf, wss,
                                           wss_frames)

from .conftest import add_noise

SR = 16000


def test_lsd_zero_for_identical_and_positive_otherwise(speech):
    assert lsd(speech, speech, SR) == 0.0
    assert lsd(speech, add_noise(speech, 10.0), SR) > 0.1


def test_lsd_known_answer_for_gain():
    # a gain g changes every log10 power by 2 log10 g, so LSD = |2 log10 g| exactly (no floor reached)
    x = np.random.default_rng(0).standard_normal(SR)
    assert lsd(x, 10.0 * x, SR) == pytest.approx(2.0, abs=1e-9)
    assert lsd_hf(x, 10.0 * x, SR, cutoff_hz=4000) == pytest.approx(2.0, abs=1e-9)


def test_lsd_hf_only_sees_the_high_band():
    x = np.random.default_rng(1).standard_normal(2 * SR)
    low_only = apply_filter(x, design_filter("butter", "lowpass", 2000, SR, order=12), zero_phase=True)
    high_only = x - low_only
    # doubling the band below 2 kHz leaves bins above 6 kHz untouched (the filter is 180+ dB down there)
    changed_low = x + low_only
    assert lsd(x, changed_low, SR) > 0.05
    assert lsd_hf(x, changed_low, SR, cutoff_hz=6000) < 1e-3
    # a change above the cutoff is seen, and more strongly than over the whole band
    changed_high = x + high_only
    assert lsd_hf(x, changed_high, SR, cutoff_hz=6000) > lsd(x, changed_high, SR) > 0.05


def test_lsd_hf_cutoff_checked():
    x = np.ones(4096)
    with pytest.raises(ParameterError):
        lsd_hf(x, x, SR, cutoff_hz=8000)


def test_levinson_matches_scipy_toeplitz_solve():
    frames = np.random.default_rng(2).standard_normal((4, 480))
    r = autocorrelation(frames, 16)
    a, err = levinson(r)
    for f in range(4):
        coef = solve_toeplitz(r[f, :16], r[f, 1:17])
        np.testing.assert_allclose(a[f, 1:], -coef, atol=1e-10)
        assert err[f] == pytest.approx(r[f, 0] - coef @ r[f, 1:17], rel=1e-9)


def test_lpc_to_cepstrum_single_pole_known_answer():
    # 1 / (1 - p z^-1) has cepstrum c_k = p^k / k
    p = 0.7
    c = lpc_to_cepstrum(np.array([[1.0, -p, 0.0, 0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(c[0], [p ** k / k for k in range(1, 6)], rtol=1e-12)


def test_lpc_measures_zero_for_equal_signals(speech):
    assert llr(speech, speech, SR) == 0.0
    assert itakura_saito(speech, speech, SR) == pytest.approx(0.0, abs=1e-9)
    assert cepstral_distance(speech, speech, SR) == 0.0
    assert wss(speech, speech, SR) == 0.0


def test_is_zero_for_equal_spectra_and_grows_with_gain_mismatch(speech):
    # same LPC model, gain g: IS = 1/g^2 + log g^2 - 1 in every frame (comp_is.m)
    g = 2.0
    expected = 1 / g ** 2 + np.log(g ** 2) - 1
    assert itakura_saito(speech, g * speech, SR) == pytest.approx(expected, rel=1e-6)
    assert llr(speech, g * speech, SR) == pytest.approx(0.0, abs=1e-9)  # LLR ignores the gain


def test_lpc_measures_grow_with_noise(speech):
    values = [(llr(speech, y, SR), itakura_saito(speech, y, SR), cepstral_distance(speech, y, SR), wss(speech, y, SR))
              for y in (add_noise(speech, s) for s in (30.0, 10.0, 0.0))]
    for col in zip(*values):
        assert col[0] < col[1] < col[2]
    assert 0 <= max(v[0] for v in values) <= 2 and max(v[2] for v in values) <= 10


def test_lowest_mean_uses_matlab_rounding():
    # 0.95 * 30 = 28.5: MATLAB's round gives 29 (Python's round() would give 28)
    v = np.arange(30.0)
    assert lowest_mean(v) == pytest.approx(np.mean(np.arange(29.0)))


# ---- a direct, loop-by-loop transcription of Loizou's composite.m, the reference for the vectorised code
def _matlab_frames(x, sr):
    win = round(30 * sr / 1000)
    hop = win // 4
    n = int(np.floor(len(x) / hop - win / hop))
    w = 0.5 * (1 - np.cos(2 * np.pi * np.arange(1, win + 1) / (win + 1)))
    return [x[i * hop:i * hop + win] * w for i in range(n)], win


def _wss_loop(clean, proc, sr):
    cent = [50, 120, 190, 260, 330, 400, 470, 540, 617.372, 703.378, 798.717, 904.128, 1020.38, 1148.30, 1288.72,
            1442.54, 1610.70, 1794.16, 1993.93, 2211.08, 2446.71, 2701.97, 2978.04, 3276.17, 3597.63]
    bwid = [70, 70, 70, 70, 70, 70, 70, 77.3724, 86.0056, 95.3398, 105.411, 116.256, 127.914, 140.423, 153.823,
            168.154, 183.457, 199.776, 217.153, 235.631, 255.255, 276.072, 298.126, 321.465, 346.136]
    fc, win = _matlab_frames(clean, sr)
    fp, _ = _matlab_frames(proc, sr)
    nfft = int(2 ** np.ceil(np.log2(2 * win)))
    half = nfft // 2
    filt = np.zeros((25, half))
    for i in range(25):
        f0 = np.floor(cent[i] / (sr / 2) * half)
        bw = bwid[i] / (sr / 2) * half
        row = np.exp(-11 * ((np.arange(half) - f0) / bw) ** 2 + np.log(70) - np.log(bwid[i]))
        filt[i] = row * (row > np.exp(-30 / (2 * 2.303)))
    out = []
    for c, p in zip(fc, fp):
        ec = 10 * np.log10(np.maximum(filt @ (np.abs(np.fft.fft(c, nfft)) ** 2)[:half], 1e-10))
        ep = 10 * np.log10(np.maximum(filt @ (np.abs(np.fft.fft(p, nfft)) ** 2)[:half], 1e-10))
        sc, sp = np.diff(ec), np.diff(ep)

        def peaks(e, s):
            res = np.zeros(24)
            for i in range(24):  # 1-based MATLAB indices in n
                n = i + 1
                if s[i] > 0:
                    while n < 25 and s[n - 1] > 0:
                        n += 1
                    res[i] = e[n - 2]
                else:
                    while n > 0 and s[n - 1] <= 0:
                        n -= 1
                    res[i] = e[n]
            return res

        wc = 20 / (20 + ec.max() - ec[:24]) * 1 / (1 + peaks(ec, sc) - ec[:24])
        wp = 20 / (20 + ep.max() - ep[:24]) * 1 / (1 + peaks(ep, sp) - ep[:24])
        w = (wc + wp) / 2
        out.append(np.sum(w * (sc - sp) ** 2) / np.sum(w))
    return np.array(out)


def _llr_loop(clean, proc, sr):
    fc, _ = _matlab_frames(clean, sr)
    fp, _ = _matlab_frames(proc, sr)
    order = 10 if sr < 10000 else 16

    def lpc(frame):
        r = np.array([np.sum(frame[:len(frame) - k] * frame[k:]) for k in range(order + 1)])
        a = solve_toeplitz(r[:order], r[1:])
        return r, np.r_[1.0, -a]

    out = []
    for c, p in zip(fc, fp):
        rc, ac = lpc(c)
        _, ap = lpc(p)
        out.append(np.log((ap @ toeplitz(rc) @ ap) / (ac @ toeplitz(rc) @ ac)))
    return np.array(out)


@pytest.mark.parametrize("sr", [8000, 16000])
def test_vectorised_wss_and_llr_equal_the_matlab_loops(sr):
    from .conftest import vowel_like

    x = vowel_like(sr, 0.6, seed=4)
    y = add_noise(x, 5.0, seed=5)
    np.testing.assert_allclose(wss_frames(x, y, sr), _wss_loop(x, y, sr), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(llr_frames(x, y, sr, limit=None), np.maximum(_llr_loop(x, y, sr), 0), rtol=1e-6,
                               atol=1e-9)
    np.testing.assert_allclose(llr_frames(x, y, sr), np.clip(_llr_loop(x, y, sr), 0, 2), rtol=1e-6, atol=1e-9)
