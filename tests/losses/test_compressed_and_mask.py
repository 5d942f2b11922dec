"""Compressed spectral (Braun & Tashev 2021), mask-target (Wang et al. 2014) and log-spectral amplitude losses: known answers."""

from __future__ import annotations

import pytest
import torch

from audiorestore.errors import ParameterError
from audiorestore.losses import get_loss


def _noise(n: int = 4000, seed: int = 0) -> torch.Tensor:
    return torch.randn(2, 1, n, generator=torch.Generator().manual_seed(seed))


def test_zero_on_identical_signals_positive_otherwise() -> None:
    loss = get_loss("compressed")
    x = _noise()
    assert float(loss(x, x)) == 0.0
    assert float(loss(x + 0.1 * _noise(seed=1), x)) > 0.0


def test_phase_only_error_is_seen_by_the_complex_term_alone() -> None:
    x = _noise()
    mag_only = get_loss("compressed", complex_weight=0.0)
    cplx_only = get_loss("compressed", complex_weight=1.0)
    # a sign flip keeps every magnitude and turns every phase by pi
    assert float(mag_only(-x, x)) < 1e-10
    # |a - (-a)|^2 = 4 |a|^2: four times the mean compressed power of the (normalised) target
    _, comp = cplx_only._compressed(x / x.square().mean(dim=-1, keepdim=True).sqrt())
    expected = 4 * comp.abs().square().mean()
    assert float(cplx_only(-x, x)) == pytest.approx(float(expected), rel=1e-4)


def test_normalised_loss_is_level_invariant() -> None:
    loss = get_loss("compressed")
    x, e = _noise(), 0.3 * _noise(seed=1)
    assert float(loss(100 * (x + e), 100 * x)) == pytest.approx(float(loss(x + e, x)), rel=1e-4)
    raw = get_loss("compressed", normalize=False)
    assert float(raw(100 * (x + e), 100 * x)) > 10 * float(raw(x + e, x))


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ParameterError):
        get_loss("compressed", compress=0.0)
    with pytest.raises(ParameterError):
        get_loss("compressed", n_fft=256, hop_length=512)


def test_mask_loss_known_answers() -> None:
    from audiorestore.losses import needs_noisy

    loss = get_loss("mask", n_fft=256, hop_length=64)
    assert needs_noisy(loss)
    y = _noise()
    clean = 0.5 * y
    assert float(loss(clean, clean, y)) < 1e-10          # the estimate's mask is the ideal one
    assert float(loss(y, clean, y)) == pytest.approx(0.25, rel=1e-4)  # pass-through: mask 1 against 0.5
    assert float(loss(2 * y, clean, y)) == pytest.approx(0.25, rel=1e-4)  # implied masks are clipped at 1
    # digital silence in the noisy input has no mask: those bins are left out
    y_gap = torch.cat([y, torch.zeros(2, 1, 4000)], dim=-1)
    assert float(loss(y_gap, 0.5 * y_gap, y_gap)) == pytest.approx(0.25, rel=0.05)


def test_log_spectral_amplitude_loss_known_answers() -> None:
    loss = get_loss("lsa", n_fft=256, hop_length=64, floor_db=200.0)  # floor far below: plain log ratio
    x = _noise()
    assert float(loss(x, x)) == 0.0
    # a gain g on every bin is a constant log error: (log g)^2
    assert float(loss(0.5 * x, x)) == pytest.approx(float(torch.log(torch.tensor(0.5))) ** 2, rel=1e-3)


def test_weighted_speech_distortion_known_answers() -> None:
    """Xia et al. 2020: alpha weighs speech kept against noise removed; a constant gain g gives
    SD = (g^c - 1)^2 mean |S|^2c and NR = g^2c mean |N|^2c (compressed, target-RMS normalised)."""
    s, n = _noise(), 0.5 * _noise(seed=3)
    y = s + n
    loss = get_loss("wsd", n_fft=256, hop_length=64, alpha=0.5, compress=0.3)
    rms = s.square().mean(dim=-1, keepdim=True).sqrt()
    s_c = loss.magnitude(s / rms, 1e-8).pow(0.3)
    n_c = loss.magnitude(n / rms, 1e-8).pow(0.3)
    g = 0.25
    sd, nr = loss.parts(g * y, s, y)
    assert float(sd) == pytest.approx(float(((g ** 0.3 - 1) * s_c).square().mean()), rel=1e-3)
    assert float(nr) == pytest.approx(float((g ** 0.3 * n_c).square().mean()), rel=1e-3)
    assert float(loss(g * y, s, y)) == pytest.approx(0.5 * float(sd) + 0.5 * float(nr), rel=1e-6)
    # passing everything costs only noise, removing everything only speech: alpha picks the winner
    keep_speech = get_loss("wsd", alpha=0.9)
    remove_noise = get_loss("wsd", alpha=0.1)
    assert float(keep_speech(y, s, y)) < float(keep_speech(0 * y, s, y))
    assert float(remove_noise(0 * y, s, y)) < float(remove_noise(y, s, y))
    assert float(get_loss("wsd", alpha=1.0)(y, s, y)) == 0.0
    with pytest.raises(ParameterError):
        get_loss("wsd", alpha=1.5)
