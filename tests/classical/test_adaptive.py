"""Adaptive filters: exactness against the sample-by-sample recursions, system identification,
noise cancelling with a reference, the adaptive line enhancer, edge cases, and the `anc`/`ale` methods."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from audiorestore import api
from audiorestore.classical.adaptive import ale, fdaf, lms, nlms, rls
from audiorestore.enhancer import get_method, method_class
from audiorestore.errors import ParameterError


# ------------------------------------------------------------------ reference sample-by-sample loops
def loop_lms(d, x, n_taps, mu, normalized=False, eps=1e-6):
    """Textbook LMS/NLMS, one sample at a time (Haykin ch. 5, 6)."""
    w = np.zeros(n_taps)
    xp = np.concatenate([np.zeros(n_taps - 1), x])
    e = np.empty(len(d))
    for n in range(len(d)):
        u = xp[n:n + n_taps][::-1]  # x(n), x(n-1), ...
        e[n] = d[n] - w @ u
        w = w + (mu / (eps + u @ u) if normalized else mu) * e[n] * u
    return e, w


def loop_rls(d, x, n_taps, lam, delta):
    """Textbook exponentially weighted RLS, one sample at a time (Haykin ch. 9), symmetrised P."""
    w = np.zeros(n_taps)
    P = np.eye(n_taps) / delta
    xp = np.concatenate([np.zeros(n_taps - 1), x])
    e = np.empty(len(d))
    for n in range(len(d)):
        u = xp[n:n + n_taps][::-1]
        pu = P @ u
        k = pu / (lam + u @ pu)
        e[n] = d[n] - w @ u
        w = w + k * e[n]
        P = (P - np.outer(k, pu)) / lam
        P = (P + P.T) / 2
    return e, w


def snr_db(estimate: np.ndarray, clean: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(clean ** 2) / np.sum((estimate - clean) ** 2)))


def sine_amplitude(y: np.ndarray, freq_hz: float, sample_rate: int) -> float:
    """Least-squares amplitude of the sinusoid at ``freq_hz`` in ``y``."""
    t = np.arange(y.size) / sample_rate
    basis = np.column_stack([np.cos(2 * np.pi * freq_hz * t), np.sin(2 * np.pi * freq_hz * t)])
    c = np.linalg.lstsq(basis, y, rcond=None)[0]
    return float(np.hypot(*c))


@pytest.fixture
def fir_problem():
    rng = np.random.default_rng(1)
    h = 0.5 * rng.standard_normal(16)
    x = rng.standard_normal(6000)
    d = np.convolve(x, h)[: x.size]
    return h, x, d


# ------------------------------------------------------------------------------------ exactness
@pytest.mark.parametrize("block_length", [1, 7, 64, 1000])
def test_block_lms_and_nlms_equal_the_sample_loop(block_length):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(700)
    d = np.convolve(x, [0.3, -0.2, 0.1])[:700] + 0.3 * rng.standard_normal(700)
    e_ref, w_ref = loop_lms(d, x, 8, 0.02)
    y, e, w = lms(d, x, 8, 0.02, block_length=block_length)
    np.testing.assert_allclose(e, e_ref, atol=1e-10)
    np.testing.assert_allclose(w, w_ref, atol=1e-12)
    np.testing.assert_allclose(y + e, d, atol=1e-12)
    e_ref, w_ref = loop_lms(d, x, 8, 0.7, normalized=True)
    _, e, w = nlms(d, x, 8, 0.7, block_length=block_length)
    np.testing.assert_allclose(e, e_ref, atol=1e-10)
    np.testing.assert_allclose(w, w_ref, atol=1e-12)


@pytest.mark.parametrize("block_length", [1, 13, 64])
def test_block_rls_equals_the_sample_loop(block_length):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(3000)
    d = np.convolve(x, [1.0, 0.5, -0.25, 0.1])[:3000] + 0.1 * rng.standard_normal(3000)
    e_ref, w_ref = loop_rls(d, x, 6, 0.99, 0.01)
    _, e, w = rls(d, x, 6, 0.99, 0.01, block_length=block_length)
    np.testing.assert_allclose(e, e_ref, atol=1e-8)
    np.testing.assert_allclose(w, w_ref, atol=1e-10)


# -------------------------------------------------------------------------- system identification
@pytest.mark.parametrize("run", [
    lambda d, x: lms(d, x, 16, 0.01),
    lambda d, x: nlms(d, x, 16, 0.5),
    lambda d, x: rls(d, x, 16, 1.0, 0.01),
    lambda d, x: fdaf(d, x, 16, 0.5),
], ids=["lms", "nlms", "rls", "fdaf"])
def test_identifies_an_unknown_fir(fir_problem, run):
    h, x, d = fir_problem
    y, e, w = run(d, x)
    assert w.shape == (16,)
    assert np.max(np.abs(w - h)) < 1e-2
    drop_db = 10 * np.log10(np.mean(d[:200] ** 2) / np.mean(e[-1000:] ** 2))
    assert drop_db > 30


def test_rls_converges_in_fewer_samples_than_lms(fir_problem):
    h, x, d = fir_problem

    def samples_to_converge(e: np.ndarray) -> int:
        learning_curve = np.convolve(e ** 2, np.ones(32) / 32, mode="valid")
        below = learning_curve < 1e-3 * np.mean(d ** 2)  # error 30 dB below the primary
        assert below.any()
        return int(np.argmax(below))

    n_lms = samples_to_converge(lms(d, x, 16, 0.01).e)
    n_rls = samples_to_converge(rls(d, x, 16, 1.0, 0.01).e)
    assert n_rls < 100 < n_lms  # RLS needs ~2 n_taps samples; LMS hundreds at this step size
    assert n_rls * 4 < n_lms


# ------------------------------------------------------------------------- noise cancelling (ANC)
@pytest.mark.parametrize("run", [
    lambda d, x: lms(d, x, 32, 0.01),
    lambda d, x: nlms(d, x, 32, 0.02),
    lambda d, x: rls(d, x, 32, 0.9995, 0.01),
    lambda d, x: fdaf(d, x, 32, 0.02),
], ids=["lms", "nlms", "rls", "fdaf"])
def test_anc_removes_reference_correlated_noise(run):
    fs, n = 8000, 16000
    rng = np.random.default_rng(3)
    clean = 0.3 * np.sin(2 * np.pi * 300 * np.arange(n) / fs)
    reference = 0.3 * rng.standard_normal(n)
    path = np.array([0.0, 0.6, -0.3, 0.2, 0.1, -0.05])  # unknown acoustic path reference -> primary
    primary = clean + np.convolve(reference, path)[:n]
    _, e, _ = run(primary, reference)
    half = slice(n // 2, None)  # after convergence
    before, after = snr_db(primary[half], clean[half]), snr_db(e[half], clean[half])
    assert after - before > 15


# ---------------------------------------------------------------------- adaptive line enhancer
def test_ale_recovers_a_weak_sine_in_white_noise():
    fs, n = 8000, 32000
    rng = np.random.default_rng(4)
    tone = 0.1 * np.sin(2 * np.pi * 1000 * np.arange(n) / fs)
    x = tone + 0.3 * rng.standard_normal(n)  # SNR about -12.6 dB
    periodic, residual = ale(x, delay=1, n_taps=128, mu=0.005)
    np.testing.assert_allclose(periodic + residual, x, atol=1e-12)
    half = slice(n // 2, None)
    assert snr_db(periodic[half], tone[half]) - snr_db(x[half], tone[half]) > 10


def test_ale_residual_removes_50hz_hum_and_harmonics():
    fs, n = 8000, 24000
    rng = np.random.default_rng(5)
    t = np.arange(n) / fs
    hum = sum(0.2 / np.sqrt(k) * np.sin(2 * np.pi * 50 * k * t + k) for k in range(1, 5))
    signal = 0.1 * rng.standard_normal(n)
    periodic, residual = ale(signal + hum, delay=40, n_taps=256, mu=0.02)
    half = slice(n // 2, None)
    for k in range(1, 5):  # each harmonic at least 25 dB down in the residual
        ratio = sine_amplitude(hum[half], 50 * k, fs) / sine_amplitude(residual[half], 50 * k, fs)
        assert 20 * np.log10(ratio) > 25, k
    assert snr_db(residual[half], signal[half]) - snr_db((signal + hum)[half], signal[half]) > 15
    # the periodic output is the hum
    assert snr_db(periodic[half], hum[half]) > 10


def test_ale_plain_lms_option_also_tracks_a_tone():
    fs, n = 8000, 16000
    rng = np.random.default_rng(6)
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(n) / fs)
    x = tone + 0.05 * rng.standard_normal(n)
    periodic, _ = ale(x, delay=2, n_taps=32, mu=0.01, normalized=False)
    half = slice(n // 2, None)
    assert snr_db(periodic[half], tone[half]) > snr_db(x[half], tone[half]) + 3


# ------------------------------------------------------------------------------------ edge cases
@pytest.mark.parametrize("run", [
    lambda d, x: lms(d, x, 16, 0.5),
    lambda d, x: nlms(d, x, 16, 1.0),
    lambda d, x: rls(d, x, 16, 0.98, 0.01),  # lam < 1 with no excitation: P must stay bounded
    lambda d, x: fdaf(d, x, 16, 0.5),
    lambda d, x: ale(d, 3, 16, 0.5),
], ids=["lms", "nlms", "rls", "fdaf", "ale"])
def test_all_zero_input_gives_finite_zeros(run):
    z = np.zeros(40000)
    for out in run(z, z.copy()):
        assert np.all(np.isfinite(out))
        assert not np.any(out)


def test_rls_recovers_after_a_long_silent_reference():
    # 2 s of silence at lam=0.98 would grow P by 0.98^-16000 (overflow) without the trace cap.
    rng = np.random.default_rng(7)
    h = np.array([0.4, -0.2, 0.1])
    x = np.concatenate([np.zeros(16000), rng.standard_normal(2000)])
    d = np.convolve(x, h)[: x.size]
    _, e, w = rls(d, x, 3, 0.98, 0.01)
    assert np.all(np.isfinite(e))
    np.testing.assert_allclose(w, h, atol=1e-6)


@pytest.mark.parametrize("n", [1, 2, 5, 15])
@pytest.mark.parametrize("fn", [lms, nlms, rls, fdaf], ids=["lms", "nlms", "rls", "fdaf"])
def test_inputs_shorter_than_the_filter(fn, n):
    d = np.linspace(0.1, 1.0, n)
    x = d[::-1].copy()
    y, e, w = fn(d, x, 16)
    assert y.shape == e.shape == (n,) and w.shape == (16,)
    np.testing.assert_allclose(y + e, d, atol=1e-12)
    # the first output uses zero initial weights: e(0) = d(0)
    assert e[0] == pytest.approx(d[0])
    periodic, residual = ale(d, 3, 16, 0.5)
    assert periodic.shape == (n,) and np.all(np.isfinite(residual))


def test_empty_input_gives_empty_output():
    y, e, w = nlms(np.zeros(0), np.zeros(0), 4)
    assert y.shape == e.shape == (0,) and np.array_equal(w, np.zeros(4))


def test_channels_are_processed_independently():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 500))
    d = rng.standard_normal((2, 3, 500))
    for fn in (nlms, rls, fdaf):
        y, e, w = fn(d, x, 8)
        assert e.shape == (2, 3, 500) and w.shape == (2, 3, 8)
        single = fn(d[1, 2], x[1, 2], 8)
        np.testing.assert_allclose(e[1, 2], single.e, atol=1e-12)
        np.testing.assert_allclose(w[1, 2], single.w, atol=1e-12)


def test_initial_weights_are_used():
    rng = np.random.default_rng(9)
    h = np.array([0.5, 0.25])
    x = rng.standard_normal(300)
    d = np.convolve(x, h)[:300]
    _, e, w = lms(d, x, 2, 0.01, w0=h)  # already the solution: nothing left to cancel
    assert np.max(np.abs(e)) < 1e-12
    np.testing.assert_allclose(w, h)


def test_shape_and_parameter_errors():
    a = np.zeros(100)
    with pytest.raises(ValueError, match=r"\(100,\) and \(99,\)"):
        nlms(a, np.zeros(99), 4)
    with pytest.raises(ValueError, match="0 < mu < 2"):
        nlms(a, a, 4, mu=2.5)
    with pytest.raises(ValueError, match="n_taps"):
        lms(a, a, 0)
    with pytest.raises(ValueError, match="lam"):
        rls(a, a, 4, lam=1.5)
    with pytest.raises(ValueError, match="delay"):
        ale(a, 0, 4, 0.1)
    with pytest.raises(ValueError, match="NaN"):
        nlms(np.full(10, np.nan), np.zeros(10), 4)


def test_diverging_lms_raises_a_parameter_error():
    rng = np.random.default_rng(10)
    x = rng.standard_normal(5000)
    with pytest.raises(ParameterError, match="diverged"):
        lms(x, x, 32, mu=1.0)  # far above 2 / (n_taps * power) = 0.06


# ------------------------------------------------------------------------------------- methods
def test_methods_are_registered_with_their_reference_flag():
    assert method_class("anc").needs_reference is True
    assert method_class("ale").needs_reference is False
    with pytest.raises(ParameterError, match="algorithm"):
        get_method("anc", algorithm="kalman")
    with pytest.raises(ParameterError, match="output"):
        get_method("ale", output="both")


def test_anc_method_without_reference_raises():
    with pytest.raises(ParameterError, match="anc needs a reference noise recording: --noise FILE"):
        get_method("anc")(np.ones(1000, dtype=np.float32), 8000)


@pytest.mark.parametrize("algorithm", ["lms", "nlms", "rls", "fdaf"])
def test_anc_method_on_arrays(algorithm):
    fs, n = 8000, 8000
    rng = np.random.default_rng(11)
    clean = 0.2 * np.sin(2 * np.pi * 200 * np.arange(n) / fs)
    ref = 0.2 * rng.standard_normal((2, n))
    noisy = clean + np.stack([np.convolve(ref[c], [0.5, 0.3, -0.2])[:n] for c in range(2)])
    params = {"n_taps": 16, "mu": 0.02 if algorithm != "lms" else 0.05}
    out = get_method("anc", algorithm=algorithm, **params)(noisy.astype(np.float32), fs,
                                                           noise=ref.astype(np.float32))
    assert out.shape == (2, n) and out.dtype == np.float32
    half = slice(n // 2, None)
    for c in range(2):
        assert snr_db(out[c, half], clean[half]) - snr_db(noisy[c, half], clean[half]) > 15


def test_ale_method_outputs_split_the_input():
    fs, n = 8000, 8000
    rng = np.random.default_rng(12)
    x = (0.3 * np.sin(2 * np.pi * 100 * np.arange(n) / fs) + 0.05 * rng.standard_normal(n)).astype(np.float32)
    residual = get_method("ale")(x, fs)  # defaults: 5 ms delay, 256 taps, NLMS mu=0.02
    periodic = get_method("ale", output="periodic")(x, fs)
    np.testing.assert_allclose(residual + periodic, x, atol=1e-5)
    # after convergence the 100 Hz tone (std 0.21) has gone to `periodic`; the noise (std 0.05) stays
    assert np.std(residual[n // 2:]) < 0.06


def test_anc_method_through_process_file(tmp_path):
    fs, n = 8000, 16000
    rng = np.random.default_rng(13)
    clean = 0.3 * np.sin(2 * np.pi * 250 * np.arange(n) / fs)
    ref = 0.3 * rng.standard_normal(n)
    noisy = clean + np.convolve(ref, [0.0, 0.7, -0.35, 0.1])[:n]
    sf.write(tmp_path / "noisy.wav", noisy, fs, subtype="FLOAT")
    sf.write(tmp_path / "ref.wav", ref, fs, subtype="FLOAT")
    out = api.process_file(get_method("anc", n_taps=16, mu=0.02), tmp_path / "noisy.wav", tmp_path / "clean.wav",
                           noise=tmp_path / "ref.wav")
    y, sr = sf.read(out)
    assert sr == fs and y.shape == (n,)
    half = slice(n // 2, None)
    assert snr_db(y[half], clean[half]) - snr_db(noisy[half], clean[half]) > 15
    # without the reference the method refuses, and no output (or temp file) is left behind
    with pytest.raises(ParameterError, match="--noise FILE"):
        api.process_file(get_method("anc"), tmp_path / "noisy.wav", tmp_path / "none.wav")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.wav", "noisy.wav", "ref.wav"]
