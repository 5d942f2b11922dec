"""dsp.stft's numpy windows equal scipy.signal.get_window's, value for value (scipy.signal itself is
kept out of the classical methods' start-up)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import get_window as scipy_get_window

from audiorestore.dsp import design_filter
from audiorestore.dsp.stft import get_window, istft, stft


@pytest.mark.parametrize("window", ["hann", "hamming"])
@pytest.mark.parametrize("n", [1, 2, 3, 255, 256, 400, 512, 1023])
def test_numpy_windows_equal_scipy_bit_for_bit(window: str, n: int) -> None:
    assert np.array_equal(get_window(window, n), scipy_get_window(window, n, fftbins=True))


def test_other_windows_come_from_scipy_and_bad_lengths_fail() -> None:
    assert np.array_equal(get_window("blackman", 64), scipy_get_window("blackman", 64, fftbins=True))
    assert np.array_equal(get_window(("kaiser", 8.0), 64), scipy_get_window(("kaiser", 8.0), 64, fftbins=True))
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="positive integer"):
            get_window("hann", bad)
    assert get_window("hann", 4).tolist() == [0.0, 0.5, 1.0, 0.5]  # periodic: sin^2(pi n / N)


def test_stft_round_trip_with_the_numpy_window_and_the_lazy_filter_export() -> None:
    x = np.random.default_rng(0).standard_normal((2, 4000))
    y = istft(stft(x, 512, 128, 400, "hann"), 128, 400, "hann", length=4000, n_fft=512)
    np.testing.assert_allclose(y, x, atol=1e-10)
    sos = design_filter("butter", "lowpass", 1000.0, 16000, order=4)  # audiorestore.dsp's lazy name
    assert sos.shape == (2, 6)
