"""Short-time Fourier transform with perfect reconstruction (weighted overlap-add).

Parameter names follow librosa/torchaudio: ``n_fft``, ``hop_length``, ``win_length``, ``window``.
``stft`` pads ``n_fft // 2`` samples on both sides (``center=True``) so that ``istft(stft(x))``
returns ``x`` exactly (to float precision) for any hop that satisfies the window's overlap-add
condition, and approximately otherwise via the usual window-square normalisation.
"""

from __future__ import annotations

import numpy as np

#: Cosine-sum windows (coefficients of ``cos(k x)``) computed here with numpy, value for value as
#: ``scipy.signal.get_window`` computes them: importing scipy.signal takes about half a second, more
#: than a classical denoiser spends on a short file, and the spectral methods use only these.
_COSINE_WINDOWS: dict[str, tuple[float, ...]] = {"hann": (0.5, 1.0 - 0.5), "hamming": (0.54, 1.0 - 0.54)}


def get_window(window: str | tuple, win_length: int) -> np.ndarray:
    """Periodic (DFT-even) analysis window, as ``scipy.signal.get_window(window, win_length, fftbins=True)``.

    ``"hann"`` and ``"hamming"`` are computed with numpy (same values, bit for bit); any other scipy
    window name or ``(name, parameter)`` tuple is handed to scipy.signal, imported then.

    Shape:
        ``(win_length,)`` float64.
    Example:
        >>> get_window("hann", 4).tolist()
        [0.0, 0.5, 1.0, 0.5]
    """
    coeffs = _COSINE_WINDOWS.get(window) if isinstance(window, str) else None
    if coeffs is None:
        from scipy.signal import get_window as scipy_get_window

        return scipy_get_window(window, win_length, fftbins=True)
    if int(win_length) != win_length or win_length < 1:
        raise ValueError(f"window length must be a positive integer, got {win_length}")
    if win_length == 1:
        return np.ones(1)
    fac = np.linspace(-np.pi, np.pi, int(win_length) + 1)  # one sample more, dropped: the periodic window
    w = np.zeros(int(win_length) + 1)
    for k, a in enumerate(coeffs):
        w += a * np.cos(k * fac)
    return w[:-1]


def _window(window: str | np.ndarray, win_length: int, n_fft: int) -> np.ndarray:
    w = get_window(window, win_length) if isinstance(window, str) else np.asarray(window, float)
    if w.shape != (win_length,):
        raise ValueError(f"window must have length win_length={win_length}, found shape {w.shape}")
    if win_length < n_fft:  # centre the window in the frame, as librosa does
        left = (n_fft - win_length) // 2
        w = np.pad(w, (left, n_fft - win_length - left))
    return w


def stft(x: np.ndarray, n_fft: int = 512, hop_length: int | None = None, win_length: int | None = None,
         window: str | np.ndarray = "hann", center: bool = True) -> np.ndarray:
    """Complex spectrogram of ``x``.

    Shape:
        x ``(..., time)`` -> ``(..., n_fft // 2 + 1, frames)`` complex.
    """
    x = np.asarray(x)
    win_length = win_length or n_fft
    hop_length = hop_length or win_length // 4
    w = _window(window, win_length, n_fft)
    if center:
        pad = [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)]
        x = np.pad(x, pad, mode="constant")
    n = x.shape[-1]
    if n < n_fft:
        pad = [(0, 0)] * (x.ndim - 1) + [(0, n_fft - n)]
        x = np.pad(x, pad)
        n = n_fft
    n_frames = 1 + (n - n_fft) // hop_length
    # frames as a strided view: (..., frames, n_fft)
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft, axis=-1)[..., ::hop_length, :][..., :n_frames, :]
    spec = np.fft.rfft(frames * w, n=n_fft, axis=-1)
    return np.swapaxes(spec, -1, -2)


def istft(spec: np.ndarray, hop_length: int | None = None, win_length: int | None = None,
          window: str | np.ndarray = "hann", center: bool = True, length: int | None = None,
          n_fft: int | None = None) -> np.ndarray:
    """Inverse of :func:`stft` by weighted overlap-add.

    Shape:
        spec ``(..., n_fft // 2 + 1, frames)`` -> ``(..., time)`` real (``length`` samples if given).
    """
    spec = np.asarray(spec)
    n_fft = n_fft or 2 * (spec.shape[-2] - 1)
    win_length = win_length or n_fft
    hop_length = hop_length or win_length // 4
    w = _window(window, win_length, n_fft)
    frames = np.fft.irfft(np.swapaxes(spec, -1, -2), n=n_fft, axis=-1) * w  # (..., frames, n_fft)
    n_frames = frames.shape[-2]
    total = n_fft + hop_length * (n_frames - 1)
    out = np.zeros(spec.shape[:-2] + (total,))
    norm = np.zeros(total)
    wsq = w ** 2
    # overlap-add in n_fft // hop_length strided groups (vectorised per group, no Python loop per frame)
    group = int(np.ceil(n_fft / hop_length))
    for k in range(group):
        idx = np.arange(k, n_frames, group)
        if idx.size == 0:
            continue
        starts = idx * hop_length
        # frames in this group do not overlap each other: place them with one reshape
        seg = frames[..., idx, :]
        pos = (starts[:, None] + np.arange(n_fft)[None, :]).ravel()
        out[..., pos] += seg.reshape(seg.shape[:-2] + (-1,))
        norm[pos] += np.tile(wsq, idx.size)
    nz = norm > 1e-11
    out[..., nz] /= norm[nz]
    if center:
        out = out[..., n_fft // 2:]
        if length is None:
            out = out[..., : max(0, out.shape[-1] - n_fft // 2)]
    if length is not None:
        if out.shape[-1] >= length:
            out = out[..., :length]
        else:
            out = np.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, length - out.shape[-1])])
    return out


def frame(x: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """Non-padded frames of ``x``: ``(..., time) -> (..., frames, frame_length)`` (a copy)."""
    x = np.asarray(x)
    if x.shape[-1] < frame_length:
        return np.zeros(x.shape[:-1] + (0, frame_length), dtype=x.dtype)
    v = np.lib.stride_tricks.sliding_window_view(x, frame_length, axis=-1)[..., ::hop_length, :]
    return np.array(v)
