"""One-call restoration: analyse a recording, plan the stages it needs, run them.

People who bring an old or bad recording rarely know whether it needs denoising, bandwidth
extension, de-clipping or de-humming, nor at which rates. :func:`analyse` measures, from the audio
itself (never from the header alone):

* the **effective bandwidth**: the highest frequency band whose level carries the signal (a 44.1 kHz
  file that stops at 4 kHz is narrow-band), :func:`effective_bandwidth`;
* the **noise level** as an estimated SNR, from Martin's minimum-statistics noise tracker
  (:func:`audiorestore.classical.noise_estimation.minimum_statistics`), :func:`estimate_snr`;
* **clipping**: the fraction of samples held at the extreme levels
  (:func:`audiorestore.classical.declip.detect_clipping`);
* **mains hum**: 50 or 60 Hz and its harmonics, as narrow spectral lines, :func:`detect_hum`;
* the **DC offset**.

:func:`plan_stages` turns that into stages, skipping those not needed, in the order the damage was
done in (reverse): de-clip first (the converter clipped the sum of everything before it, so the
clipping constraints hold only on the raw samples), then remove DC and hum, then denoise with the
default denoiser (:func:`audiorestore.api.default_denoise_method`), then bring the audio to the
target rate: the shipped speech super-resolution models from the rate the *measured* bandwidth calls
for (a 44.1 kHz file band-limited at 4 kHz is resampled to 8 kHz, then 8 -> 16 -> 48 kHz), or plain
band-limited resampling when the band is already full or no model fits it.
:class:`RestoreChain` runs the plan; it is an :class:`~audiorestore.enhancer.Upsampler`, so a file of
any length is processed in blocks by :func:`audiorestore.api.upsample_file`.

Example:
    >>> import audiorestore as ar
    >>> restored, report = ar.restore(audio, 44100, target_rate=48000)     # doctest: +SKIP
    >>> print(report.text())                                                # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Sequence

import numpy as np

from . import io
from .enhancer import Enhancer, Upsampler
from .errors import AudioInputError, ParameterError

log = logging.getLogger(__name__)

#: The stages, in the order they run.
STAGES: tuple[str, ...] = ("declip", "dc", "hum", "denoise", "bandwidth")
#: Default output rate of ``audiorestore restore``.
DEFAULT_RATE = 48000


# ------------------------------------------------------------------------------------ measurements
def _mono(audio: np.ndarray) -> np.ndarray:
    a = np.asarray(audio, dtype=np.float64)
    return a if a.ndim == 1 else a.reshape(-1, a.shape[-1]).mean(axis=0)


def effective_bandwidth(audio: np.ndarray, sample_rate: int, *, band_hz: float = 250.0, cliff_db: float = 25.0,
                        window_hz: float = 1000.0, transition_hz: float = 500.0, oversubtract: float = 2.0,
                        exclude: np.ndarray | None = None) -> float:
    """Where the band of a recording ends, in Hz: the edge of a low-pass filter, or the Nyquist
    frequency for a recording that fills its band.

    The long-term spectrum of the *signal* is estimated in bands of ``band_hz``: per frame, the noise
    PSD tracked by minimum statistics (Martin 2001), times ``oversubtract``, is subtracted from the
    power (power spectral subtraction, Berouti et al. 1979) and what is left is averaged over time,
    so that a stationary floor (a resampler's residue; white hiss added after a narrow-band channel
    30 dB or more below the speech: louder broadband hiss reads as full band) leaves next to nothing. A band edge is a *cliff*: every band above it, past a ``transition_hz`` filter
    transition, lies ``cliff_db`` or more below the loudest band in the ``window_hz`` under it. The
    lowest such edge is the bandwidth; speech and music roll off gradually and show none, so their
    bandwidth is the Nyquist frequency. Frames overlapping samples flagged in ``exclude`` (e.g.
    clipped ones, whose distortion spreads over the whole spectrum) are left out when enough others
    remain.

    Shape:
        ``(..., time)`` (channels are averaged) -> float.
    Example:
        >>> from audiorestore.simulate.lowpass import lowpass
        >>> x = np.random.default_rng(0).standard_normal(48000) * np.repeat([1.0, 0.05], 24000)
        >>> effective_bandwidth(lowpass(x, 48000, 4000.0), 48000), effective_bandwidth(x, 48000)
        (4000.0, 24000.0)
    """
    from .classical.noise_estimation import minimum_statistics
    from .dsp.stft import stft

    x = _mono(audio)
    nyq = sample_rate / 2
    n_fft = 1 << max(8, int(math.ceil(math.log2(sample_rate / 25.0))))  # bins of about 25 Hz or finer
    hop = n_fft // 2
    power = np.abs(stft(x, n_fft, hop)) ** 2  # (F, T)
    signal = np.maximum(power - oversubtract * minimum_statistics(power, hop / sample_rate), 0.0)
    if exclude is not None and np.any(exclude):
        starts = np.arange(power.shape[1]) * hop - n_fft // 2
        bad = np.array([np.any(exclude[max(0, s):max(0, s + n_fft)]) for s in starts])
        if np.count_nonzero(~bad) >= max(8, power.shape[1] // 5):
            signal = signal[:, ~bad]
    freqs = np.arange(power.shape[0]) * sample_rate / n_fft
    n_bands = max(1, int(math.ceil(nyq / band_hz)))
    band = np.minimum((freqs / band_hz).astype(int), n_bands - 1)
    level = np.zeros(n_bands)
    np.add.at(level, band, signal.mean(axis=1))
    if not np.any(level > 0):
        return float(nyq)
    db = 10 * np.log10(level + 1e-10 * level.max())  # floor 100 dB down
    win, skip = max(1, round(window_hz / band_hz)), max(1, round(transition_hz / band_hz))
    # the highest level above each band from there up: above[e] = max(db[e:])
    above = np.maximum.accumulate(db[::-1])[::-1]
    for e in range(1, n_bands - skip):
        if db[max(0, e - win):e].max() - above[e + skip] >= cliff_db:
            return float(e * band_hz)
    return float(nyq)


def estimate_snr(audio: np.ndarray, sample_rate: int) -> float:
    """Estimated SNR in dB: signal power over noise power, the noise tracked by minimum statistics.

    The noise PSD comes from Martin's minimum-statistics tracker (Martin 2001;
    :func:`~audiorestore.classical.noise_estimation.minimum_statistics`) on the signal at up to
    16 kHz (its median over frames); the signal power is the mean total minus the noise. Stationary hum counts as noise, so
    :func:`analyse` measures it after the hum is notched out.

    Shape:
        ``(..., time)`` (channels are averaged) -> float (``inf`` for silence).
    """
    from .classical.noise_estimation import minimum_statistics
    from .dsp.resample import resample
    from .dsp.stft import stft

    x = _mono(audio)
    rate = min(int(sample_rate), 16000)
    x = resample(x, sample_rate, rate)
    n_fft, hop = 512 * rate // 16000 or 64, 256 * rate // 16000 or 32
    power = np.abs(stft(x, n_fft, hop)) ** 2
    noise = minimum_statistics(power, hop / rate)
    # the median over frames: the tracker starts from the first frames' power (speech or not) and
    # needs about one window to find the floor, a transient the mean would carry
    total, noise_power = float(power.sum(axis=0).mean()), float(np.median(noise.sum(axis=0)))
    if total <= 0:
        return math.inf
    if noise_power <= 0:
        return math.inf
    return float(10 * np.log10(max(total - noise_power, 1e-3 * noise_power) / noise_power))


@dataclass(frozen=True)
class Hum:
    """Mains hum found by :func:`detect_hum`: the line frequency (as measured), the harmonics seen
    (1 = the fundamental) and the signal-to-hum ratio."""

    freq_hz: float
    harmonics: tuple[int, ...]
    snr_db: float


def detect_hum(audio: np.ndarray, sample_rate: int, *, mains_hz: Sequence[float] = (50.0, 60.0),
               max_harmonics: int = 16, prominence_db: float = 8.0, max_s: float = 60.0) -> Hum | None:
    """Find mains hum: spectral lines at ``k * f0`` for ``f0`` in ``mains_hz``, or None.

    The periodogram of up to ``max_s`` seconds (resampled to 4 kHz; resolution ``1 / duration``) is
    searched within 0.5 % of each harmonic; a harmonic is present when its peak stands
    ``prominence_db`` above the median of the spectrum within 15 Hz around it (a line; speech
    harmonics glide with the pitch and smear over a recording). Hum needs at least two of the first
    ``max_harmonics`` harmonics present, the fundamental or the second among them by 4 dB more
    (speech harmonics alone are not hum), or a single line there 12 dB more (a nearly pure tone); of
    50 and 60 Hz the one with more wins. Its level is the
    power of its lines against the whole signal's. In noise, a bin or two of higher harmonics may pass
    the 8 dB test by chance (about 1 % of the bins searched); the 2 Hz notches :func:`restore` puts
    there cost the signal next to nothing.

    Shape:
        ``(..., time)`` (channels are averaged) -> :class:`Hum` or None.
    Example:
        >>> from audiorestore.simulate.hum import hum
        >>> x = np.random.default_rng(0).standard_normal(32000) * 0.1 + hum(32000, 16000, 60.0, 4, -30.0)
        >>> h = detect_hum(x, 16000)
        >>> round(h.freq_hz), h.harmonics[:4]   # (then 6 and 14: noise bins 8 dB up, cut by 2 Hz notches)
        (60, (1, 2, 3, 4))
    """
    from scipy.signal import get_window

    from .dsp.resample import resample

    rate = 4000
    x = _mono(audio)[: int(max_s * sample_rate)]
    x = resample(x, sample_rate, rate) if sample_rate != rate else x
    n = x.size
    if n < rate // 2:  # under half a second: no line resolution
        return None
    spec = np.abs(np.fft.rfft((x - x.mean()) * get_window("hann", n), n=n)) ** 2
    df = rate / n
    total = float(np.sum(spec))
    if total <= 0:
        return None
    best: tuple[int, float, float, list[int]] | None = None
    for f0 in mains_hz:
        found, line_power, freqs, strong, lone = [], 0.0, [], False, False
        for k in range(1, max_harmonics + 1):
            fk = k * f0
            if fk + 15 >= rate / 2:
                break
            lo, hi = int((fk * 0.995 - df) / df), int(math.ceil((fk * 1.005 + df) / df)) + 1
            peak = lo + int(np.argmax(spec[lo:hi]))
            ctx = spec[max(0, int((fk - 15) / df)):int((fk + 15) / df) + 1]
            floor = float(np.median(ctx))
            prominence = math.inf if floor <= 0 else 10 * np.log10(spec[peak] / floor)
            if prominence >= prominence_db:
                found.append(k)
                strong = strong or (k <= 2 and prominence >= prominence_db + 4)
                lone = lone or (k <= 2 and prominence >= prominence_db + 12)
                line = spec[max(0, peak - 2):peak + 3]
                line_power += float(np.sum(np.maximum(line - floor, 0)))
                freqs.append(peak * df / k)
        # the buzz of mains hum is strongest at f0 or 2 f0 (rectifiers): one of them must stand out
        # clearly (a periodogram bin of noise exceeds its median by 12 dB once in ~50000)
        # or one line at f0 or 2 f0 so far above its neighbourhood (20 dB) that no glide of speech makes it:
        # a ground loop's nearly pure tone
        if ((len(found) >= 2 and strong) or lone) and (best is None or len(found) > len(best[3])):
            best = (len(found), float(np.median(freqs)), line_power, found)
    if best is None:
        return None
    _, f, line_power, found = best
    snr = 10 * np.log10(max(total - line_power, 1e-12 * total) / max(line_power, 1e-30))
    return Hum(freq_hz=round(f, 2), harmonics=tuple(found), snr_db=float(snr))


# ---------------------------------------------------------------------------------------- analysis
@dataclass
class Analysis:
    """What :func:`analyse` measured. Levels are of the channel mix; clipping is the largest fraction
    over channels; DC the largest absolute channel mean."""

    sample_rate: int
    channels: int
    duration_s: float
    silent: bool = False
    bandwidth_hz: float = 0.0
    snr_db: float = math.inf
    clipped_fraction: float = 0.0
    hum_hz: float | None = None
    hum_harmonics: tuple[int, ...] = ()
    hum_snr_db: float | None = None
    clip_levels: list[tuple[float | None, float | None]] = field(default_factory=list)
    dc_offset: float = 0.0
    rms_dbfs: float = -math.inf

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hum_harmonics"] = list(self.hum_harmonics)
        d["clip_levels"] = [list(lv) for lv in self.clip_levels]
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def analyse(audio: np.ndarray, sample_rate: int) -> Analysis:
    """Measure what is wrong with a recording: bandwidth, noise (SNR), clipping, mains hum, DC.

    Shape:
        ``(..., time)`` -> :class:`Analysis`.
    Example:
        >>> a = analyse(x, 44100)                    # doctest: +SKIP
        >>> a.bandwidth_hz, a.snr_db, a.clipped_fraction, a.hum_hz, a.dc_offset   # doctest: +SKIP
        (4000.0, 11.2, 0.021, 50.0, 0.0)
    """
    from .classical.declip import detect_clipping
    from .classical.filtering import HumNotch

    a = np.asarray(audio)
    if a.ndim == 0 or a.shape[-1] == 0:
        raise AudioInputError(f"expected audio of shape (..., time), found shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise AudioInputError("audio contains NaN or infinite samples")
    x = a.reshape(-1, a.shape[-1]).astype(np.float64)
    result = Analysis(sample_rate=int(sample_rate), channels=x.shape[0], duration_s=x.shape[-1] / sample_rate)
    if not np.any(x):
        result.silent = True
        return result
    dets = [detect_clipping(ch) for ch in x]
    clipped = np.any([d.mask for d in dets], axis=0)
    result.clipped_fraction = max(d.fraction for d in dets)
    result.clip_levels = [(d.high, d.low) for d in dets]
    dc = x.mean(axis=-1)
    result.dc_offset = float(dc[np.argmax(np.abs(dc))])
    centred = x - dc[:, None]
    result.rms_dbfs = float(10 * np.log10(max(np.mean(centred ** 2), 1e-30)))
    result.bandwidth_hz = effective_bandwidth(centred, sample_rate, exclude=clipped)
    hum = detect_hum(centred, sample_rate)
    if hum is not None:
        result.hum_hz, result.hum_harmonics, result.hum_snr_db = hum.freq_hz, hum.harmonics, hum.snr_db
        centred = HumNotch(freq_hz=hum.freq_hz, harmonics=max(hum.harmonics))(centred, sample_rate)
    result.snr_db = estimate_snr(centred, sample_rate)
    return result


# -------------------------------------------------------------------------------------------- plan
@dataclass
class Stage:
    """One step of a restoration: its name (one of :data:`STAGES`), what runs, why, and its settings."""

    name: str
    method: str
    reason: str
    params: dict[str, Any] = field(default_factory=dict)


def speech_upsampler_rates() -> list[int]:
    """Input rates of the shipped speech super-resolution models (those whose description says
    speech), ascending: the rates a narrow-band recording can be brought to for bandwidth extension."""
    from .registry import list_models

    return sorted({m.input_rate for m in list_models("upsample", include_unittest=False)
                   if m.input_rate and "speech" in m.description.lower()})


def working_rate(bandwidth_hz: float, rates: Sequence[int], tolerance: float = 0.8) -> int | None:
    """The lowest rate in ``rates`` whose Nyquist frequency holds the measured band (to within
    ``tolerance``: a low-pass edge measured a little above the nominal cutoff still counts), or None.

    Example:
        >>> working_rate(4100.0, [8000, 16000]), working_rate(7800.0, [8000, 16000]), working_rate(12000.0, [8000, 16000])
        (8000, 16000, None)
    """
    for r in sorted(rates):
        if r / 2 >= tolerance * bandwidth_hz:
            return int(r)
    return None


def plan_stages(analysis: Analysis, target_rate: int | None = DEFAULT_RATE, *, denoise_method: str | None = None,
                upsample_method: str | None = None, stages: Sequence[str] | None = None,
                snr_threshold_db: float = 20.0, dc_threshold: float = 1e-3, headroom: float = 0.5,
                full_band: float = 0.9) -> list[Stage]:
    """The stages a recording needs, in the order they run, given its :class:`Analysis`.

    ``stages`` limits the plan to those named (the others are skipped even when needed).
    Denoising runs below ``snr_threshold_db``; DC removal above ``dc_threshold`` (absolute, -60 dBFS).
    De-clipping a recording clipped above ``headroom`` (-6 dBFS) lowers the output by one constant gain
    that brings the clipping level to ``headroom``, so restored peaks up to twice it fit in full scale.
    Bandwidth extension runs when the measured band is below ``full_band`` of the target's Nyquist
    frequency and a shipped speech model starts at a rate that holds it (:func:`working_rate`); the
    audio is then resampled to that rate and extended to the target. Otherwise the audio is only
    resampled to the target (when the rates differ).
    """
    allowed = set(STAGES if stages is None else stages)
    unknown = allowed - set(STAGES)
    if unknown:
        raise ParameterError(f"unknown stage(s) {', '.join(sorted(unknown))} (stages: {', '.join(STAGES)})")
    sr = analysis.sample_rate
    target = int(target_rate or sr)
    if target <= 0:
        raise ParameterError(f"target rate must be positive, got {target_rate}")
    plan: list[Stage] = []
    if analysis.silent:
        if target != sr:
            plan.append(Stage("bandwidth", "silence", f"digital silence: silence at {target} Hz"))
        return plan
    if "declip" in allowed and analysis.clipped_fraction > 0:
        # restored peaks rise above the clipping level (to about twice it for heavy clipping): when the
        # level is near full scale, one constant gain (the same for every block) makes room for them
        top = max(abs(v) for lv in analysis.clip_levels for v in lv if v is not None)
        gain = min(1.0, headroom / top)
        why = f"{100 * analysis.clipped_fraction:.2f}% of samples clipped"
        if gain < 1.0:
            why += f"; output lowered by {-20 * math.log10(gain):.1f} dB to make room for the restored peaks"
        plan.append(Stage("declip", "declip", why, {"levels": analysis.clip_levels, "gain": gain}))
    if "dc" in allowed and abs(analysis.dc_offset) > dc_threshold:
        plan.append(Stage("dc", "dc", f"DC offset {analysis.dc_offset:+.4f}", {"offset": analysis.dc_offset}))
    if "hum" in allowed and analysis.hum_hz is not None:
        plan.append(Stage("hum", "notch", f"{analysis.hum_hz:g} Hz hum, harmonics "
                          f"{','.join(map(str, analysis.hum_harmonics))}, {analysis.hum_snr_db:.1f} dB below the signal",
                          {"freq_hz": analysis.hum_hz, "harmonics": max(analysis.hum_harmonics), "bandwidth_hz": 2.0}))
    if "denoise" in allowed and analysis.snr_db < snr_threshold_db:
        from .api import default_denoise_method

        plan.append(Stage("denoise", denoise_method or default_denoise_method(),
                          f"estimated SNR {analysis.snr_db:.1f} dB"))
    band, nyq = analysis.bandwidth_hz, target / 2
    work = working_rate(band, speech_upsampler_rates())
    if "bandwidth" in allowed and band < full_band * nyq and work is not None and work < target:
        plan.append(Stage("bandwidth", upsample_method or "auto",
                          f"band ends at {band / 1000:g} kHz: {work} Hz -> {target} Hz",
                          {"working_rate": work, "target_rate": target, "keep_hz": 0.9 * min(band, work / 2)}))
    elif target != sr:
        why = ("the band is full" if band >= full_band * nyq else
               f"no shipped speech model extends a {band / 1000:g} kHz band" if work is None else
               "bandwidth extension skipped")
        plan.append(Stage("bandwidth", "sinc", f"{why}: resampled {sr} Hz -> {target} Hz",
                          {"working_rate": sr, "target_rate": target}))
    return plan


# --------------------------------------------------------------------------------------------- run
@dataclass
class RestoreChain(Upsampler):
    """Runs a plan (:func:`plan_stages`) on audio at ``sample_rate``, returning it at the target rate.

    An :class:`~audiorestore.enhancer.Upsampler`, so :func:`audiorestore.api.upsample_file` runs it
    over a file of any length in blocks of :attr:`block_s` seconds.

    Shape:
        ``(channels, time)`` at ``sample_rate`` -> ``(channels, round(time * target_rate / sample_rate))``.
    """

    name = "restore"  # not registered: built per file from its analysis
    summary = "analysed restoration chain"
    block_s = 30.0
    overlap_s = 0.5

    plan: list[Stage] = field(default_factory=list)
    denoiser: Enhancer | None = None
    upsampler: Upsampler | None = None

    def __post_init__(self) -> None:
        from .api import get_upsampler
        from .enhancer import get_method

        for st in self.plan:
            if st.name == "denoise" and self.denoiser is None:
                self.denoiser = get_method(st.method)
            if st.name == "bandwidth" and st.method not in ("sinc", "silence") and self.upsampler is None:
                self.upsampler = get_upsampler(st.method, {})

    def upsample(self, audio: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
        from .classical.declip import Declip
        from .classical.filtering import HumNotch
        from .dsp.resample import resample

        y, rate = np.asarray(audio, dtype=np.float32), int(sample_rate)
        for st in self.plan:
            t = time.perf_counter()
            if st.name == "declip":  # at the levels measured on the whole file, not per block
                y = Declip(levels=st.params.get("levels"))(y, rate) * np.float32(st.params.get("gain", 1.0))
            elif st.name == "dc":
                y = y - np.float32(st.params["offset"])
            elif st.name == "hum":
                y = HumNotch(freq_hz=st.params["freq_hz"], harmonics=st.params["harmonics"],
                             bandwidth_hz=st.params.get("bandwidth_hz", 2.0))(y, rate)
            elif st.name == "denoise":
                work = next((s.params["working_rate"] for s in self.plan
                             if s.name == "bandwidth" and s.method != "sinc"), rate)
                if work != rate:  # denoise the band that is there, at the rate extension starts from
                    y, rate = resample(y, rate, work), work
                assert self.denoiser is not None
                y = self.denoiser(y, rate)
            elif st.name == "bandwidth":
                work = st.params.get("working_rate", rate)
                if st.method != "sinc" and work != rate:
                    y, rate = resample(y, rate, work), work
                if st.method in ("sinc", "silence"):
                    y = resample(y, rate, target_rate)
                else:
                    from .superres.neural import keep_input_band

                    assert self.upsampler is not None
                    # the band the recording has is kept as it is (sinc): the models only add above it
                    y = keep_input_band(self.upsampler(y, rate, target_rate), resample(y, rate, target_rate),
                                        target_rate, st.params.get("keep_hz") or 0.9 * rate / 2)
                rate = target_rate
            log.debug("restore: %s (%s) took %.2f s", st.name, st.method, time.perf_counter() - t)
        if rate != target_rate:
            y = resample(y, rate, target_rate)
        return np.asarray(y, dtype=np.float32)


@dataclass
class RestoreReport:
    """What :func:`restore` found and did: the analysis, the stages planned (and run, unless a dry
    run), the output rate and the time taken."""

    analysis: Analysis
    stages: list[Stage]
    output_rate: int
    dry_run: bool = False
    seconds: float = 0.0
    source: str | None = None
    output: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"input": self.source, "output": self.output, "analysis": self.analysis.as_dict(),
                "stages": [asdict(s) for s in self.stages], "output_rate": self.output_rate,
                "dry_run": self.dry_run, "seconds": round(self.seconds, 3)}

    def text(self) -> str:
        """A few human-readable lines: the analysis, then each stage and why (or 'nothing to do')."""
        a = self.analysis
        head = f"{self.source}: " if self.source else ""
        if a.silent:
            lines = [f"{head}digital silence ({a.channels} ch, {a.sample_rate} Hz, {a.duration_s:.2f} s)"]
        else:
            hum = (f"{a.hum_hz:g} Hz hum ({a.hum_snr_db:.1f} dB below the signal)" if a.hum_hz is not None
                   else "no hum")
            snr = "inf" if not math.isfinite(a.snr_db) else f"{a.snr_db:.1f}"
            lines = [f"{head}{a.channels} ch, {a.sample_rate} Hz, {a.duration_s:.2f} s; "
                     f"bandwidth {a.bandwidth_hz / 1000:g} kHz, SNR ~{snr} dB, clipped {100 * a.clipped_fraction:.2f}%, "
                     f"{hum}, DC {a.dc_offset:+.4f}"]
        verb = "plan" if self.dry_run else "did"
        if not self.stages:
            lines.append(f"  {verb}: nothing to do")
        for st in self.stages:
            lines.append(f"  {verb}: {st.name} ({st.method}): {st.reason}")
        return "\n".join(lines)


def restore(audio: np.ndarray, sample_rate: int, target_rate: int | None = DEFAULT_RATE, *,
            denoise_method: str | Enhancer | None = None, upsample_method: str | Upsampler | None = None,
            stages: Sequence[str] | None = None, dry_run: bool = False,
            **plan_params: Any) -> tuple[np.ndarray, RestoreReport]:
    """Analyse ``audio`` and run the restoration it needs; returns ``(restored, report)``.

    ``target_rate`` is the output rate (None: the input's). ``denoise_method`` / ``upsample_method``
    replace the defaults (the shipped default denoiser, ``auto`` super-resolution); ``stages``
    limits the chain to some of :data:`STAGES`; ``plan_params`` go to :func:`plan_stages`. A dry run
    returns the input unchanged with the plan in the report.

    Shape:
        ``(..., time)`` at ``sample_rate`` -> ``(..., round(time * target_rate / sample_rate))``.
    Example:
        >>> import audiorestore as ar
        >>> y, report = ar.restore(x, 44100)                          # doctest: +SKIP
        >>> [s.name for s in report.stages]                           # doctest: +SKIP
        ['declip', 'hum', 'denoise', 'bandwidth']
    """
    t0 = time.perf_counter()
    a = np.asarray(audio)
    analysis = analyse(a, sample_rate)
    target = int(target_rate or sample_rate)
    plan = plan_stages(analysis, target, stages=stages, **plan_params,  # instances are named in the report
                       denoise_method=getattr(denoise_method, "name", denoise_method) or None,
                       upsample_method=getattr(upsample_method, "name", upsample_method) or None)
    report = RestoreReport(analysis, plan, target, dry_run=dry_run)
    if dry_run:
        report.seconds = time.perf_counter() - t0
        return a, report
    chain = RestoreChain(plan=plan, denoiser=denoise_method if isinstance(denoise_method, Enhancer) else None,
                         upsampler=upsample_method if isinstance(upsample_method, Upsampler) else None)
    y = chain(a, sample_rate, target)
    report.seconds = time.perf_counter() - t0
    return y, report


def analyse_file(path: str | os.PathLike, *, excerpt_s: float = 30.0, max_excerpts: int = 20) -> Analysis:
    """:func:`analyse` a file; a long one through up to ``max_excerpts`` evenly spaced excerpts of
    ``excerpt_s`` seconds (memory stays bounded), its duration the file's."""
    from .api import _check_file

    info, silent = _check_file(Path(path), 1 << 18)
    if silent:
        return Analysis(info.sample_rate, info.channels, info.duration_s, silent=True)
    n = int(excerpt_s * info.sample_rate)
    if info.frames <= n * max_excerpts:
        audio, _ = io.read(path, allow_silence=True)
    else:
        starts = np.linspace(0, info.frames - n, max_excerpts).astype(int)
        audio = np.concatenate([io.read(path, start=int(s), frames=n, allow_silence=True)[0] for s in starts], axis=-1)
    result = analyse(audio, info.sample_rate)
    result.duration_s = info.duration_s
    return result


def restore_file(input: str | os.PathLike, output: str | os.PathLike, target_rate: int | None = DEFAULT_RATE, *,
                 denoise_method: str | None = None, upsample_method: str | None = None,
                 stages: Sequence[str] | None = None, dry_run: bool = False, overwrite: bool = False,
                 **plan_params: Any) -> RestoreReport:
    """Analyse a file and write its restoration to ``output`` at ``target_rate`` (None: the input's
    rate), atomically and block by block; a dry run writes nothing. Returns the report.

    Example:
        >>> report = restore_file("old_tape.flac", "restored.flac")     # doctest: +SKIP
    """
    from .api import upsample_file

    t0 = time.perf_counter()
    analysis = analyse_file(input)
    target = int(target_rate or analysis.sample_rate)
    plan = plan_stages(analysis, target, denoise_method=denoise_method, upsample_method=upsample_method,
                       stages=stages, **plan_params)
    report = RestoreReport(analysis, plan, target, dry_run=dry_run, source=str(input),
                           output=None if dry_run else str(output))
    if not dry_run:
        upsample_file(input, output, target, RestoreChain(plan=plan), overwrite=overwrite)
    report.seconds = time.perf_counter() - t0
    return report
