"""Roll-off guard: keep a bandwidth-extension network's added band under the input's own spectral trend.

A network trained on full-band material (rendered piano, studio speech) adds the band above the
input's cutoff at the level that material has there. Real recordings often have less: microphones,
rooms, tape and lossy codecs roll the top octaves off, so on such a recording the added band is too
loud, and a plain interpolation, which adds nothing, scores better on log-spectral distance. The
input tells how its spectrum falls towards its cutoff; classical bandwidth extension extrapolates
exactly that trend to predict the missing band's envelope (P. Jax and P. Vary, "On artificial
bandwidth extension of telephone speech", Signal Processing 83(8), 2003, Sec. 4; the spectral-slope
features of E. Larsen and R. M. Aarts, *Audio Bandwidth Extension*, Wiley 2004, Ch. 5). The guard:

1. measures the input's long-term spectrum (the mean over active STFT frames of the log power in
   sixth-octave bands, 1/24 octave apart) and its effective cutoff (where the level falls off a cliff,
   not the file's Nyquist frequency: :func:`measure_input_band`);
2. fits a straight line in dB against octaves over the ``fit_octaves`` below that cutoff with a
   robust (Theil-Sen) estimator, the input's spectral slope, and extrapolates it above the cutoff
   (clipped to ``[min_slope_db, 0]`` dB per octave: never rising); the same fit over each band's quiet
   frames (a low percentile, minimum statistics) gives a noise-floor line, and the cap is the higher
   of the two, so hiss that shows in the quiet frames and runs on past the cutoff is not cut away;
3. where the input's cutoff lies below ``narrow_ratio`` of its Nyquist frequency, further down than
   any band-limiting a shipped model was trained on (0.75-1.0), the input was band-limited before it
   was sampled at this rate (telephone band, an old recording resampled): the network is outside what
   it learnt, and the guard falls back to the plain (sinc) interpolation of the input above the
   cutoff (no added band);
4. measures the network's output in the same bands and frames, and where its long-term level above
   the cutoff exceeds the cap by more than ``headroom_db``, lowers it to the cap by a static,
   zero-phase FIR filter (one gain curve per channel, smooth in frequency). It only lowers: an added
   band at or under the cap, and everything below the cutoff, pass unchanged, bit for bit when no
   band is over the cap.

The frame-by-frame shape of the added band (what the envelope corrector of
:mod:`audiorestore.superres.envelope` sets) is kept; only its long-term level is capped.

Example:
    >>> import numpy as np
    >>> from audiorestore.superres import interpolate
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((1, 48000)).astype(np.float32)   # a flat spectrum up to 24 kHz: a flat input...
    >>> x = interpolate(interpolate(y, 48000, 16000, "sinc"), 16000, 48000, "sinc")
    >>> bool(np.array_equal(rolloff_guard(y, x, 48000, 16000), y))   # ...and a flat added band: no change
    True
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import signal

from ..dsp.stft import stft
from ..errors import ParameterError

log = logging.getLogger(__name__)

#: Band width and spacing (octaves) of the long-term spectrum.
BAND_OCT = 1 / 6
STEP_OCT = 1 / 24
#: Frames more than this far below the loudest frame are not "active" (pauses, fades).
ACTIVE_DB = 50.0
#: Beyond the cutoff every band lies at least this far below the loudest band just beneath it.
CLIFF_DB = 30.0
#: A fall steeper than this (dB per 1/24-octave step, 36 dB per octave) is a filter's skirt.
STEEP_DB = 1.5


@dataclass(frozen=True)
class InputBand:
    """What :func:`measure_input_band` found in an input: its effective cutoff, the slope of its top
    octave below it, the fitted level at the cutoff, and the same line for its quiet frames."""

    cutoff_hz: float
    slope_db_per_oct: float   # as fitted (before clipping)
    level_db: float           # the fitted line at cutoff_hz
    narrow: bool              # cutoff below narrow_ratio of the input's Nyquist frequency
    noise_db: float = -np.inf  # the quiet frames' fitted line at cutoff_hz (-inf: not measured)
    noise_slope_db_per_oct: float = 0.0   # and its slope


def _stft_params(sample_rate: int) -> tuple[int, int]:
    """About 46 ms frames (2048 points at 44.1/48 kHz, 1024 at 16 kHz), hop a quarter."""
    n_fft = int(2 ** round(np.log2(0.0464 * sample_rate)))
    return n_fft, n_fft // 4


def band_centres(sample_rate: int, low_hz: float = 100.0) -> np.ndarray:
    """Centres (Hz, ascending) of the guard's sixth-octave bands, 1/24 octave apart, from the
    Nyquist frequency down to ``low_hz``.

    Example:
        >>> float(band_centres(16000)[-1])
        8000.0
    """
    nyq = sample_rate / 2
    k = np.arange(int(np.log2(nyq / low_hz) / STEP_OCT) + 1)
    return (nyq * 2.0 ** (-k * STEP_OCT))[::-1]


def _band_matrix(centres: np.ndarray, n_fft: int, sample_rate: int) -> np.ndarray:
    """``(bands, bins)`` weights that average power over each band's bins (the nearest bin where a band
    is narrower than one)."""
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    lo, hi = centres * 2.0 ** (-BAND_OCT / 2), centres * 2.0 ** (BAND_OCT / 2)
    w = ((freqs[None, :] >= lo[:, None]) & (freqs[None, :] <= hi[:, None])).astype(np.float64)
    empty = w.sum(axis=1) == 0
    w[empty, np.abs(freqs[None, :] - centres[empty, None]).argmin(axis=1)] = 1.0
    return w / w.sum(axis=1, keepdims=True)


def band_log_power(x: np.ndarray, sample_rate: int, centres: np.ndarray,
                   block_frames: int = 512) -> np.ndarray:
    """Log power (dB) of ``x`` in each band, frame by frame (STFT of :func:`_stft_params`).

    Computed in blocks of ``block_frames`` frames, so memory is bounded by the block.

    Shape:
        ``(time,)`` -> ``(bands, frames)`` float64.
    """
    n_fft, hop = _stft_params(sample_rate)
    w = _band_matrix(centres, n_fft, sample_rate)
    x = np.asarray(x, np.float64)
    padded = np.pad(x, (n_fft // 2, n_fft // 2))
    n_frames = 1 + max(0, padded.size - n_fft) // hop
    out = np.empty((centres.size, n_frames))
    for f0 in range(0, n_frames, block_frames):
        f1 = min(n_frames, f0 + block_frames)
        seg = padded[f0 * hop:(f1 - 1) * hop + n_fft]
        power = np.abs(stft(seg, n_fft=n_fft, hop_length=hop, center=False)) ** 2
        out[:, f0:f1] = 10 * np.log10(w @ power[:, : f1 - f0] + 1e-30)
    return out


def _active_frames(levels: np.ndarray) -> np.ndarray:
    """Frames whose total level is within :data:`ACTIVE_DB` of the loudest (a boolean mask)."""
    total = 10 * np.log10(np.sum(10.0 ** (levels / 10), axis=0) + 1e-30)
    return total >= total.max() - ACTIVE_DB


def measure_input_band(levels: np.ndarray, centres: np.ndarray, input_rate: int,
                       narrow_ratio: float = 0.6, fit_octaves: float = 1.0,
                       quiet_levels: np.ndarray | None = None) -> InputBand:
    """The effective cutoff and top-octave slope of an input from its long-term band levels.

    ``levels`` are the long-term band levels (dB, one per centre) of the input brought to a higher
    rate with a band-limited (sinc) interpolation, so nothing lies above ``input_rate / 2``. The cutoff
    is where the input's content ends: the lowest band above which, beyond a third of an octave, every
    band is at least :data:`CLIFF_DB` below the loudest band of the third of an octave beneath it (a
    natural roll-off never falls that fast; a low-pass filter, a codec's or a telephone channel's band
    edge does), then up along the spectrum while it does not fall faster than a filter's skirt (36 dB
    per octave) to where the skirt begins. The slope is a Theil-Sen fit of level against octaves over
    the bands of the ``fit_octaves`` below the cutoff. ``quiet_levels`` (each band's level in its quiet
    frames, a low percentile) are fitted over the same bands: ``noise_db`` and ``noise_slope_db_per_oct``.

    Shape:
        ``levels``, ``centres``, ``quiet_levels``: ``(bands,)``.
    Example:
        >>> c = band_centres(48000)
        >>> lv = np.where(c < 6000, -12 * np.log2(c / 1000), -200.0)   # -12 dB/octave, cut at 6 kHz
        >>> band = measure_input_band(lv, c, 16000)
        >>> round(band.slope_db_per_oct), round(band.cutoff_hz / 100) * 100, band.narrow
        (-12, 5800, False)
    """
    nyq = input_rate / 2
    fc = centres[centres * 2.0 ** (BAND_OCT / 2) <= nyq * 1.0001]
    if fc.size < 2 / STEP_OCT:
        raise ParameterError(f"an input at {input_rate} Hz is too narrow for the roll-off guard's bands")
    lv = levels[: fc.size]
    third = int(round(1 / 3 / STEP_OCT))
    # beyond[k]: the loudest band more than a third of an octave above band k (-inf past the top)
    beyond = np.append(np.maximum.accumulate(lv[::-1])[::-1], -np.inf)[np.minimum(np.arange(lv.size) + third + 1,
                                                                                    lv.size)]
    top = np.array([lv[max(0, k - third):k + 1].max() for k in range(lv.size)])
    k = int(np.flatnonzero(beyond <= top - CLIFF_DB)[0])  # the last band always qualifies
    while k + 1 < lv.size and lv[k] - lv[k + 1] <= STEEP_DB:
        k += 1
    cutoff = float(fc[k])
    fit = (fc * 2.0 ** (BAND_OCT / 2) <= cutoff * 1.0001) & (fc >= cutoff * 2.0 ** -fit_octaves)
    slope, intercept = _fit_line(lv, fc, fit, cutoff)
    noise, noise_slope = -np.inf, 0.0
    if quiet_levels is not None:
        noise_slope, noise = _fit_line(quiet_levels[: fc.size], fc, fit, cutoff)
    return InputBand(cutoff, slope, intercept, cutoff < narrow_ratio * nyq, noise, noise_slope)


def _fit_line(levels: np.ndarray, centres: np.ndarray, fit: np.ndarray, cutoff: float) -> tuple[float, float]:
    """Theil-Sen ``(slope dB/octave, level at cutoff)`` of ``levels[fit]`` against octaves from ``cutoff``."""
    from scipy.stats import theilslopes  # scipy.stats is slow to import; only the guard needs it

    if fit.sum() < 3:  # a cutoff at the bottom of the bands: nothing to fit
        k = int(np.argmin(np.abs(centres - cutoff)))
        return 0.0, float(levels[k])
    slope, intercept, _, _ = theilslopes(levels[fit], np.log2(centres[fit] / cutoff))
    return float(slope), float(intercept)


def rolloff_cap(band: InputBand, centres: np.ndarray, min_slope_db: float = -24.0) -> np.ndarray:
    """The cap (dB) on the long-term level of the band above ``band.cutoff_hz``: the input's top-octave
    slope (clipped to ``[min_slope_db, 0]``) extrapolated from its fitted level at the cutoff, or where
    higher the same extrapolation of its quiet frames, where a noise floor shows (tape hiss,
    microphone and room noise are flat and do not stop at the cutoff; quiet music falls like loud
    music); ``-inf`` above the cutoff of a narrow input (no added band: :func:`rolloff_guard` takes the
    interpolated input there). ``+inf`` at and below the cutoff.

    Shape:
        ``centres`` ``(bands,)`` -> ``(bands,)``.
    """
    slope = float(np.clip(band.slope_db_per_oct, min_slope_db, 0.0))
    octaves = np.log2(np.maximum(centres, 1e-9) / band.cutoff_hz)
    cap = band.level_db + slope * octaves
    if np.isfinite(band.noise_db):
        noise = band.noise_db + float(np.clip(band.noise_slope_db_per_oct, min_slope_db, 0.0)) * octaves
        cap = np.maximum(cap, noise)
    if band.narrow:  # outside what the models learnt: no added band (the interpolation's own)
        cap = np.full_like(cap, -np.inf)
    return np.where(centres > band.cutoff_hz, cap, np.inf)


def rolloff_guard(output: np.ndarray, interpolated: np.ndarray, sample_rate: int, input_rate: int,
                  headroom_db: float = 1.0, narrow_ratio: float = 0.6, min_slope_db: float = -24.0,
                  fit_octaves: float = 1.0, floor_percentile: float = 10.0, cap: bool = True,
                  taps: int | None = None) -> np.ndarray:
    """Cap the long-term level of ``output``'s band above the input's cutoff at the input's
    extrapolated roll-off (see the module docstring).

    Args:
        output: the network's output at ``sample_rate``.
        interpolated: the input brought to ``sample_rate`` by band-limited (sinc) interpolation, the
            same length as ``output``; the input's spectrum is measured on it.
        sample_rate: rate of ``output`` and ``interpolated`` (the model's rate).
        input_rate: the input's own rate (its Nyquist frequency bounds the measured band).
        headroom_db: how far the added band may exceed the extrapolated trend before it is lowered
            (at least the long-term levels' measurement noise: about 0.3 dB on 1 s of white noise).
        narrow_ratio: a cutoff below this fraction of the input's Nyquist frequency marks an input
            band-limited before it was sampled (cap: its own floor above the cutoff).
        min_slope_db: the steepest slope (dB per octave) extrapolated.
        fit_octaves: the slope is fitted over this many octaves below the cutoff.
        floor_percentile: each band's level in its quiet frames (this percentile of its active frames'
            levels; R. Martin's minimum statistics, IEEE TSAP 9(5), 2001) gives the noise floor's
            extrapolation; 0 turns that term off.
        cap: False: only the narrow-input fallback, no cap on the added band of other inputs.
        taps: length of the zero-phase FIR that applies the gain (odd; default about 93 ms).

    Shape:
        ``(channels, time)`` twice -> ``(channels, time)`` float32.
    Example:
        >>> x = np.random.default_rng(1).standard_normal((1, 16000))
        >>> rolloff_guard(x, x, 16000, 8000).shape
        (1, 16000)
    """
    y = np.asarray(output)
    x = np.asarray(interpolated)
    if y.ndim != 2 or x.shape != y.shape:
        raise ValueError(f"expected output and interpolated of the same (channels, time) shape, "
                         f"found {y.shape} and {x.shape}")
    if not 0 < input_rate < sample_rate:
        raise ParameterError(f"the roll-off guard needs input_rate < sample_rate, got {input_rate}, {sample_rate}")
    centres = band_centres(sample_rate)
    if np.sum(centres * 2.0 ** (BAND_OCT / 2) <= input_rate / 2) < 2 / STEP_OCT:
        log.debug("roll-off guard skipped: an input at %d Hz has under two octaves above 100 Hz", input_rate)
        return y.astype(np.float32)
    taps = taps or (int(2 ** round(np.log2(0.093 * sample_rate))) + 1)
    out = y.astype(np.float32, copy=True)
    for ch in range(y.shape[0]):
        lx = band_log_power(x[ch], sample_rate, centres)
        if not np.any(lx > -290):  # digital silence: nothing to measure or cap
            continue
        active = _active_frames(lx)
        ly = band_log_power(y[ch], sample_rate, centres)[:, : lx.shape[1]]
        mean = lx[:, active].mean(axis=1)
        band = measure_input_band(mean, centres, input_rate, narrow_ratio, fit_octaves)
        if floor_percentile > 0:  # the same fit over each band's quiet frames (minimum statistics)
            quiet = np.percentile(lx[:, active], floor_percentile, axis=1)
            band = measure_input_band(mean, centres, input_rate, narrow_ratio, fit_octaves, quiet)
        if not (cap or band.narrow):
            continue
        limit = rolloff_cap(band, centres, min_slope_db) + headroom_db
        gain_db = np.minimum(0.0, limit - ly[:, active].mean(axis=1))
        log.debug("roll-off guard: cutoff %.0f Hz, slope %.1f dB/oct%s, largest cut %.1f dB", band.cutoff_hz,
                  band.slope_db_per_oct, " (narrow input)" if band.narrow else "", -gain_db.min())
        if band.narrow:  # the interpolated input above the cutoff, the network's output below it
            out[ch] = x[ch] + _apply_gain(y[ch] - x[ch], gain_db, centres, band.cutoff_hz, sample_rate, taps)
        elif np.any(gain_db < -0.01):
            out[ch] = _apply_gain(y[ch], gain_db, centres, band.cutoff_hz, sample_rate, taps)
    return out


def _apply_gain(y: np.ndarray, gain_db: np.ndarray, centres: np.ndarray, cutoff_hz: float,
                sample_rate: int, taps: int) -> np.ndarray:
    """``y`` through a zero-phase FIR whose gain is ``gain_db`` (per band, interpolated over log
    frequency) above ``cutoff_hz`` and exactly 0 dB below it: ``y + h * y`` with ``h`` designed for
    ``10 ** (g / 20) - 1`` (frequency sampling, :func:`scipy.signal.firwin2`)."""
    nyq = sample_rate / 2
    freqs = np.linspace(0.0, nyq, 1025)
    g = np.interp(np.log2(np.maximum(freqs, 1.0)), np.log2(centres), gain_db)
    g[freqs <= cutoff_hz] = 0.0
    h = signal.firwin2(taps | 1, freqs, 10.0 ** (g / 20) - 1.0, fs=sample_rate, window="hann")
    y = np.asarray(y, np.float64)
    return (y + signal.oaconvolve(y, h, mode="same")).astype(np.float32)


__all__ = ["InputBand", "band_centres", "band_log_power", "measure_input_band", "rolloff_cap", "rolloff_guard"]
