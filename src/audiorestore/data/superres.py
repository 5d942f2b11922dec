"""Super-resolution training data: random patches of full-band audio, band-limited on the fly.

An example is a patch of a full-band recording at the model's rate (the target) and the same patch
low-pass filtered, decimated to the model's input rate and interpolated back to the model's rate
(the input), so input and target are sample-aligned at the target rate:

* low-pass + decimation is :func:`audiorestore.simulate.lowpass.lowpass_decimate`. A share
  ``fixed_fraction`` of the examples uses the protocol of Kuleshov, Enam and Ermon ("Audio
  super-resolution using neural networks", ICLR workshop 2017, Sec. 4; ``scipy.signal.decimate``):
  Chebyshev type I, order 8, 0.05 dB ripple, edge at 0.8 of the new Nyquist frequency. The others
  draw filter family, order, ripple and cutoff from a :class:`audiorestore.simulate.lowpass.LowpassDecimate`
  stage, because a model trained on one filter learns its exact roll-off and fails on others
  (H. Liu et al., NVSR, Interspeech 2022, Sec. 3.1; VoiceFixer, 2021);
* interpolation back to the target rate is :func:`audiorestore.superres.baselines.interpolate` with
  the model config's ``interpolation`` (cubic spline in the papers), the same function the
  inference path (:class:`audiorestore.superres.neural.NeuralUpsampler`) uses;
* the patch is cut from a longer read (``margin`` samples each side) after filtering, so its edges
  look like the middle of a file, not like a filter's start-up transient.

Every random choice of example ``i`` (file by a per-epoch permutation, crop, filter, gain) comes from
the generator ``(seed, i)`` (:func:`audiorestore.data.datasets.example_rng`); nothing touches global
random state, so examples are identical across runs, workers and resumes. :meth:`SuperResDataset.describe`
returns every drawn parameter (for a manifest).

:class:`FullBandDataset` gives ``(patch, patch)`` pairs of the same patches for autoencoders trained
on high-resolution audio only (MU-GAN's feature network).

Example:
    >>> files = scan_files("data", ["speech/ravdess_48k"])                           # doctest: +SKIP
    >>> ds = SuperResDataset(files, 48000, 16000, segment=8192, seed=0)               # doctest: +SKIP
    >>> low, high = ds[0]           # both (1, 8192) at 48 kHz                        # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
from typing import Any
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import AudioInputError, ParameterError
from ..simulate.lowpass import LowpassDecimate, lowpass_decimate
from ..simulate.noise import colored_noise
from .datasets import AudioFile, _epoch_item, _frames_at, _pair_tensors, _protect_peak, example_rng, read_segment

log = logging.getLogger(__name__)

#: The band-limiting filter of Kuleshov et al. 2017 (Sec. 4): scipy.signal.decimate's defaults.
PROTOCOL_FILTER: dict[str, Any] = {"kind": "cheby1", "order": 8, "ripple_db": 0.05, "stopband_db": 60.0,
                                   "cutoff_ratio": 0.8, "zero_phase": True}

#: Default spread of the randomised filters: family, order, pass-band ripple and edge (fraction of
#: the new Nyquist frequency; for Chebyshev II it is where the stop band starts).
DEFAULT_RANDOM_FILTERS: dict[str, Any] = {"kinds": ("cheby1", "cheby2", "butter", "ellip", "bessel"),
                                          "order": (4, 12), "ripple_db": (0.01, 1.0), "stopband_db": (40.0, 80.0),
                                          "cutoff_ratio": (0.75, 1.0)}


def random_filter_stage(input_rate: int, spec: dict[str, Any] | None = None) -> LowpassDecimate:
    """The :class:`LowpassDecimate` stage that draws the randomised filters for ``input_rate``.

    ``spec`` holds the stage's parameters (``kinds``, ``order``, ``ripple_db``, ``stopband_db``,
    ``cutoff_ratio``, ``zero_phase``; a ``[low, high]`` list is a range); missing ones come from
    :data:`DEFAULT_RANDOM_FILTERS`. The decimation rate is always ``input_rate``.

    Example:
        >>> random_filter_stage(16000, {"kinds": ["butter"], "order": [2, 4]}).order
        (2, 4)
    """
    params = {**DEFAULT_RANDOM_FILTERS, **(spec or {})}
    rates = params.pop("target_rates", None)
    if rates is not None and [int(r) for r in np.atleast_1d(rates)] != [int(input_rate)]:
        raise ParameterError(f"the low-pass stage decimates to the model's input_rate ({input_rate} Hz); "
                             f"remove target_rates={rates} or change model.config.input_rate")
    for key in ("restore", "upsample_method"):
        if key in params:
            raise ParameterError(f"lowpass_decimate.{key} is fixed for super-resolution data (the input is "
                                 "interpolated with the model's config.interpolation)")
    try:
        return LowpassDecimate(target_rates=(int(input_rate),), restore=False,
                               **{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})
    except TypeError as exc:
        raise ParameterError(f"lowpass_decimate: {exc}") from None


def decimate_with(x: np.ndarray, sample_rate: int, input_rate: int, params: dict[str, Any]) -> np.ndarray:
    """Low-pass + decimate ``x`` to ``input_rate`` with the filter ``params`` (keys of
    :data:`PROTOCOL_FILTER`; missing ones from it): the low-rate signal an upsampler is given.

    Shape:
        ``(..., time)`` -> ``(..., round(time * input_rate / sample_rate))``.
    """
    p = {**PROTOCOL_FILTER, **params}
    return lowpass_decimate(x, sample_rate, input_rate, p["kind"], int(p["order"]), float(p["ripple_db"]),
                            float(p["stopband_db"]), bool(p["zero_phase"]), p["cutoff_ratio"])


def band_limit(x: np.ndarray, sample_rate: int, input_rate: int, params: dict[str, Any],
               interpolation: str = "spline") -> np.ndarray:
    """Low-pass + decimate ``x`` to ``input_rate`` with the filter ``params`` (keys of
    :data:`PROTOCOL_FILTER`), then interpolate back to ``sample_rate``: the network input.

    Shape:
        ``(..., time)`` -> ``(..., time)`` float32 at ``sample_rate``.
    Example:
        >>> y = band_limit(np.random.default_rng(0).standard_normal(4800), 48000, 16000, PROTOCOL_FILTER)
        >>> y.shape
        (4800,)
    """
    from ..superres.baselines import interpolate  # the inference path's interpolation

    y = interpolate(decimate_with(x, sample_rate, input_rate, params), input_rate, sample_rate, interpolation)
    n = np.shape(x)[-1]
    y = y[..., :n] if y.shape[-1] >= n else np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, n - y.shape[-1])])
    return np.asarray(y, dtype=np.float32)


def _check_full_band(files: Sequence[AudioFile], sample_rate: int) -> None:
    low = [f for f in files if f.sample_rate < sample_rate]
    if low:
        raise AudioInputError(f"{len(low)} file(s) are recorded below the target rate {sample_rate} Hz and "
                              f"cannot serve as full-band targets (first: {low[0].rel} at {low[0].sample_rate} Hz); "
                              "exclude them or lower the rate", low[0].path)


class FullBandDataset(Dataset):
    """Random patches of full-band recordings at ``sample_rate``: ``(patch, patch)`` pairs.

    A patch of RMS level below ``min_level_db`` (dBFS) is redrawn up to ``tries`` times, so few
    examples are silence (recordings often start and end with it). ``gain_db`` is a random level
    change per example (both sides alike; scaled down if it would clip).

    Shape:
        ``ds[i]`` -> ``(x, x)``, each ``(1, segment)`` float32.
    """

    def __init__(self, files: Sequence[AudioFile], sample_rate: int, segment: int, seed: int = 0,
                 gain_db: tuple[float, float] = (0.0, 0.0), min_level_db: float = -60.0, tries: int = 4,
                 margin: int = 0) -> None:
        if not files:
            raise ParameterError(f"{type(self).__name__} needs at least one audio file")
        if segment <= 0 or sample_rate <= 0 or margin < 0 or tries < 1:
            raise ParameterError(f"segment, sample_rate and tries must be positive and margin >= 0, got "
                                 f"{segment}, {sample_rate}, {tries}, {margin}")
        if gain_db[0] > gain_db[1]:
            raise ParameterError(f"gain_db must be (low, high), got {gain_db}")
        _check_full_band(files, sample_rate)
        self.files, self.sample_rate, self.segment, self.seed = list(files), int(sample_rate), int(segment), int(seed)
        self.gain_db = (float(gain_db[0]), float(gain_db[1]))
        self.min_level_db, self.tries, self.margin = float(min_level_db), int(tries), int(margin)

    def __len__(self) -> int:
        return len(self.files)

    def _crop(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        """The patch with ``margin`` extra samples each side (zeros before the file's start)."""
        f = self.files[_epoch_item(self.seed, index, len(self.files), 4)]
        n = _frames_at(f, self.sample_rate)
        m, seg = self.margin, self.segment
        floor = 10 ** (self.min_level_db / 20)
        for _ in range(self.tries):
            start = int(rng.integers(0, max(n - seg, 0) + 1))
            lo = start - m
            x = read_segment(f, max(lo, 0), seg + 2 * m - max(-lo, 0), self.sample_rate)
            if lo < 0:
                x = np.concatenate([np.zeros(-lo, np.float32), x])
            core = x[m:m + seg]
            if math.sqrt(float(np.mean(core.astype(np.float64) ** 2))) >= floor:
                break
        return x, {"index": int(index), "file": f.rel, "start": start}

    def _gain(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(*self.gain_db))

    def describe(self, index: int) -> dict[str, Any]:
        """Every parameter of example ``index`` (file, start sample, gain...)."""
        return self._make(index)[2]

    def _make(self, index: int) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        rng = example_rng(self.seed, index)
        x, info = self._crop(index, rng)
        g = self._gain(rng)
        core = x[self.margin:self.margin + self.segment] * 10 ** (g / 20)
        a, b = _protect_peak(core, core)
        return a, b, {**info, "gain_db": g}

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        a, b, _ = self._make(index)
        return _pair_tensors(a, b)


class SuperResDataset(FullBandDataset):
    """``(band-limited input, full-band target)`` patches, both at ``sample_rate`` (module docstring).

    Args:
        files: full-band recordings (at ``sample_rate`` or above; read and resampled to it).
        sample_rate: the model's (target) rate; ``input_rate``: the rate it learns to extend from.
        segment: patch length in samples at ``sample_rate``.
        interpolation: ``spline``, ``sinc`` or ``linear``: how the input returns to ``sample_rate``.
        random_filters: the :class:`LowpassDecimate` stage of the randomised share (see
            :func:`random_filter_stage`); None: every example uses :data:`PROTOCOL_FILTER`.
        fixed_fraction: share of examples with :data:`PROTOCOL_FILTER` (1.0 for validation sets).
        margin: samples read on each side of the patch and cut off after filtering.

    Shape:
        ``ds[i]`` -> ``(input, target)``, each ``(1, segment)`` float32.
    Example:
        >>> ds = SuperResDataset(files, 16000, 8000, 8192, random_filters=random_filter_stage(8000))  # doctest: +SKIP
    """

    def __init__(self, files: Sequence[AudioFile], sample_rate: int, input_rate: int, segment: int, seed: int = 0,
                 interpolation: str = "spline", random_filters: LowpassDecimate | None = None,
                 fixed_fraction: float = 0.5, gain_db: tuple[float, float] = (0.0, 0.0),
                 min_level_db: float = -60.0, tries: int = 4, margin: int | None = None,
                 noise_floor_db: Sequence[float] = (), noise_floor_fraction: float = 0.0) -> None:
        if not 0 < input_rate < sample_rate:
            raise ParameterError(f"need 0 < input_rate < sample_rate, got {input_rate} and {sample_rate}")
        if not 0.0 <= fixed_fraction <= 1.0:
            raise ParameterError(f"fixed_fraction must lie in [0, 1], got {fixed_fraction}")
        if random_filters is not None and tuple(random_filters.target_rates) != (int(input_rate),):
            raise ParameterError(f"random_filters decimate to {random_filters.target_rates}, not {input_rate} Hz")
        if interpolation not in ("spline", "sinc", "linear"):
            raise ParameterError(f"interpolation must be spline, sinc or linear, got '{interpolation}'")
        # the margin is a whole number of decimation periods so the patch starts on the same
        # input-sample phase as its read
        period = sample_rate // math.gcd(int(sample_rate), int(input_rate))
        margin = int(0.02 * sample_rate) if margin is None else int(margin)
        margin = math.ceil(margin / period) * period
        if noise_floor_fraction and (len(noise_floor_db) != 2 or noise_floor_db[0] > noise_floor_db[1]):
            raise ParameterError(f"noise_floor_db must be [low, high] dB, got {list(noise_floor_db)}")
        if not 0.0 <= noise_floor_fraction <= 1.0:
            raise ParameterError(f"noise_floor_fraction must lie in [0, 1], got {noise_floor_fraction}")
        super().__init__(files, sample_rate, segment, seed, gain_db, min_level_db, tries, margin)
        self.input_rate, self.interpolation = int(input_rate), interpolation
        self.noise_floor_db = tuple(float(v) for v in noise_floor_db)
        self.noise_floor_fraction = float(noise_floor_fraction)
        self.random_filters = random_filters
        self.fixed_fraction = 1.0 if random_filters is None else float(fixed_fraction)

    def _filter(self, rng: np.random.Generator) -> dict[str, Any]:
        if rng.random() < self.fixed_fraction:
            return dict(PROTOCOL_FILTER)
        assert self.random_filters is not None
        p = self.random_filters.sample(rng, self.segment, self.sample_rate)
        p.pop("restore", None), p.pop("upsample_method", None), p.pop("target_rate", None)
        if p["kind"] == "subsample":
            raise ParameterError("plain subsampling is not a low-pass filter; remove it from the kinds")
        return p

    def _noise_floor(self, x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        """Add a broadband (white or pink) noise floor at a level drawn from ``noise_floor_db`` relative
        to the patch's RMS, for a ``noise_floor_fraction`` share of the examples. Real recordings carry
        one (microphone, preamplifier, room) up to their Nyquist frequency; rendered or studio-clean
        training audio has none above the music, so a model trained only on it leaves the added band of
        a real recording emptier than the recording's own."""
        if not self.noise_floor_fraction or rng.random() >= self.noise_floor_fraction:
            return x, {}
        color = "white" if rng.random() < 0.5 else "pink"
        level = float(rng.uniform(*self.noise_floor_db))
        core = x[self.margin:self.margin + self.segment].astype(np.float64)
        rms = math.sqrt(float(np.mean(core ** 2))) or 1e-4
        noise = colored_noise(color, len(x), rng) * rms * 10 ** (level / 20)
        return (x + noise).astype(np.float32), {"noise_floor": color, "noise_floor_db": level}

    def _make(self, index: int) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        rng = example_rng(self.seed, index)
        x, info = self._crop(index, rng)
        filt = self._filter(rng)
        g = 10 ** (self._gain(rng) / 20)
        x, floor = self._noise_floor(x, rng)
        low = band_limit(x, self.sample_rate, self.input_rate, filt, self.interpolation)
        m, seg = self.margin, self.segment
        a, b = _protect_peak(low[m:m + seg] * g, x[m:m + seg] * g)
        return a, b, {**info, "filter": filt, "gain_db": 20 * math.log10(g), "input_rate": self.input_rate, **floor}


__all__ = ["PROTOCOL_FILTER", "DEFAULT_RANDOM_FILTERS", "random_filter_stage", "decimate_with", "band_limit", "FullBandDataset",
           "SuperResDataset"]
