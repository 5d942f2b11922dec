"""Lossy compression: an in-memory MP3, Opus or Vorbis round trip through soundfile (libsndfile).

libsndfile (>= 1.1 for MP3, soundfile >= 0.12 for the ``compression_level`` and ``bitrate_mode``
arguments) sets each encoder's rate from one number, ``compression_level`` in [0, 1]. Its mapping to
bitrate, from libsndfile 1.2's sources, is inverted here so the caller asks for kbps:

* **MP3** (LAME, constant bitrate, ``src/mpeg_l3_encode.c``): ``kbps = top - c (top - bottom)``, with
  ``[bottom, top]`` = [32, 320] for MPEG-1 rates (32, 44.1, 48 kHz), [8, 160] for MPEG-2 (16-24 kHz)
  and [8, 64] for MPEG-2.5 (8-12 kHz); LAME only accepts the bitrates of the MPEG tables below. So
  ``c = (top - kbps - 0.5) / (top - bottom)`` (the 0.5 survives libsndfile's truncation to int). The
  coding rate is the file's rate if it has the bitrate, else the nearest MP3 rate that has it (16
  kbps at 44.1 kHz is coded at 22.05 kHz, as LAME itself would resample), then converted back.
* **Opus** (``src/ogg_opus.c``): ``bps = ((1 - c) 250000 + 6000) * channels``, i.e. 6-256 kbps per
  channel, so ``c = 1 - (1000 kbps - 6000) / 250000``. Opus only runs at 8, 12, 16, 24 and 48 kHz:
  other rates are resampled to the next one up (48 kHz at most) and back.
* **Vorbis** (``src/ogg_vorbis.c``): ``c`` sets the VBR quality ``q = 1 - c`` (libvorbis -q 0..10);
  there is no bitrate formula, so ``c`` is found by bisection on the signal itself until the measured
  bitrate (audio packets, Ogg headers excluded) is closest to the request. Vorbis's range depends on
  rate and content (about 25-70 kbps for 16 kHz speech-like audio, 65-270 kbps for 44.1 kHz noise);
  requests outside it get the floor or the ceiling.

The decoded signal is trimmed or padded to the input's length. MP3 at low bitrates has no LAME info
tag (it does not fit the frame), so the decoder cannot remove the codec delay of 576 (encoder) +
529 (decoder) samples; it is removed here.
"""

from __future__ import annotations

import inspect
import io as _io
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import soundfile as sf

from ..dsp.resample import resample
from ..errors import ParameterError
from .base import Degradation, as_signal, check_choices, draw_choice, like_input

log = logging.getLogger(__name__)

CODECS = ("mp3", "opus", "vorbis")
_MPEG1 = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MPEG2 = (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_MPEG25 = (8, 16, 24, 32, 40, 48, 56, 64)  # libsndfile caps MPEG-2.5 at 64 kbps
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
#: LAME encoder delay (576) plus the mpg123 decoder delay (529), in samples at the coding rate.
MP3_DELAY = 1105


def mp3_bitrates(sample_rate: int) -> tuple[int, ...]:
    """The constant bitrates (kbps) libsndfile/LAME accept for MP3 at ``sample_rate``."""
    if sample_rate >= 32000:
        return _MPEG1
    if sample_rate >= 16000:
        return _MPEG2
    return _MPEG25


def _check_soundfile(codec: str) -> None:
    params = inspect.signature(sf.SoundFile.__init__).parameters
    if "compression_level" not in params or "bitrate_mode" not in params:
        raise ParameterError(f"lossy {codec} coding needs soundfile >= 0.12 (found {sf.__version__})")
    fmt, sub = {"mp3": ("MP3", "MPEG_LAYER_III"), "opus": ("OGG", "OPUS"), "vorbis": ("OGG", "VORBIS")}[codec]
    if not sf.check_format(fmt, sub):
        raise ParameterError(f"this libsndfile ({sf.__libsndfile_version__}) cannot write {codec}; "
                             "MP3 needs libsndfile >= 1.1, Opus >= 1.0.29")


def _encode(x: np.ndarray, sample_rate: int, fmt: str, subtype: str, level: float,
            mode: str | None = None) -> bytes:
    buf = _io.BytesIO()
    kwargs: dict[str, Any] = {"compression_level": float(level)}
    if mode:
        kwargs["bitrate_mode"] = mode
    try:
        with sf.SoundFile(buf, "w", samplerate=sample_rate, channels=1, format=fmt, subtype=subtype, **kwargs) as f:
            f.write(x.astype(np.float32))
    except Exception as exc:  # libsndfile errors are terse; say what was asked
        raise ParameterError(f"{subtype} encoder refused level {level:.3f} at {sample_rate} Hz "
                             f"({' '.join(str(exc).split())[:120]})") from None
    return buf.getvalue()


def _decode(data: bytes) -> np.ndarray:
    y, _ = sf.read(_io.BytesIO(data), dtype="float64", always_2d=True)
    return y[:, 0]


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    return y[:n] if y.size >= n else np.pad(y, (0, n - y.size))


def _mp3_plan(sample_rate: int, kbps: float) -> tuple[int, float]:
    k = int(round(kbps))
    if abs(k - kbps) > 1e-9:
        raise ParameterError(f"mp3 bitrates are whole kbps, got {kbps}")
    ok = [r for r in MP3_RATES if k in mp3_bitrates(r)]
    if not ok:
        raise ParameterError(f"mp3 has no {k} kbps mode (valid: {', '.join(map(str, sorted(set(_MPEG1 + _MPEG2))))})")
    if sample_rate in ok:
        rate = sample_rate
    else:
        # the highest rate below that has this bitrate (as LAME resamples for low bitrates),
        # else the lowest rate above
        below = [r for r in ok if r < sample_rate]
        rate = max(below) if below else min(r for r in ok if r > sample_rate)
    table = mp3_bitrates(rate)
    top, bottom = (320, 32) if rate >= 32000 else (160, 8) if rate >= 16000 else (64, 8)
    level = min(max((top - k - 0.5) / (top - bottom), 0.0), 1.0)
    assert k in table
    return rate, level


def _vorbis_kbps(x: np.ndarray, rate: int, level: float, header_bits: dict[float, int]) -> float:
    if level not in header_bits:
        header_bits[level] = 8 * len(_encode(np.zeros(0), rate, "OGG", "VORBIS", level))
    bits = 8 * len(_encode(x, rate, "OGG", "VORBIS", level)) - header_bits[level]
    return bits / (x.size / rate) / 1000.0


def _vorbis_level(x: np.ndarray, rate: int, kbps: float, iterations: int = 7) -> float:
    """Compression level whose measured bitrate on (up to 10 s of) ``x`` is closest to ``kbps``."""
    probe = x[: 10 * rate]
    headers: dict[float, int] = {}
    lo, hi = 0.0, 1.0  # bitrate decreases as the level rises
    floor = _vorbis_kbps(probe, rate, 1.0, headers)
    if floor >= kbps:
        log.debug("vorbis: %.1f kbps is below the floor (%.1f kbps) at %d Hz", kbps, floor, rate)
        return 1.0
    ceiling = _vorbis_kbps(probe, rate, 0.0, headers)
    if ceiling <= kbps:
        log.debug("vorbis: %.1f kbps is above the ceiling (%.1f kbps) at %d Hz", kbps, ceiling, rate)
        return 0.0
    best = (abs(floor - kbps), 1.0)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        got = _vorbis_kbps(probe, rate, mid, headers)
        best = min(best, (abs(got - kbps), mid))
        if got > kbps:
            lo = mid
        else:
            hi = mid
    return best[1]


def codec(x: np.ndarray, sample_rate: int, codec: str = "mp3", bitrate_kbps: float = 32.0) -> np.ndarray:
    """Encode and decode ``x`` with a lossy codec at ``bitrate_kbps`` (per channel); same length out.

    Each row is coded as a mono stream. Signals beyond full scale are scaled into [-1, 1] for the
    encoder and back afterwards (encoders clip). See the module docstring for the bitrate mapping.

    Shape:
        ``(..., time)`` -> ``(..., time)``.
    Example:
        >>> import numpy as np
        >>> x = 0.1 * np.random.default_rng(0).standard_normal(16000)
        >>> codec(x, 16000, "opus", 16).shape
        (16000,)
    """
    if codec not in CODECS:
        raise ParameterError(f"unknown codec '{codec}' (use one of {', '.join(CODECS)})")
    if not bitrate_kbps > 0:
        raise ParameterError(f"bitrate must be positive, got {bitrate_kbps}")
    _check_soundfile(codec)
    s = as_signal(x)
    lead, n = s.shape[:-1], s.shape[-1]
    rows = s.reshape(-1, n)
    out = np.empty_like(rows)
    for i, row in enumerate(rows):
        peak = float(np.max(np.abs(row)))
        scale = peak / 0.999 if peak > 0.999 else 1.0
        out[i] = _code_row(row / scale, sample_rate, codec, float(bitrate_kbps)) * scale
    return like_input(out.reshape(*lead, n), x)


def _code_row(row: np.ndarray, sample_rate: int, name: str, kbps: float) -> np.ndarray:
    n = row.size
    if name == "mp3":
        rate, level = _mp3_plan(sample_rate, kbps)
    elif name == "opus":
        if not 6 <= kbps <= 256:
            raise ParameterError(f"opus bitrate must lie in 6..256 kbps per channel, got {kbps}")
        rate = next((r for r in OPUS_RATES if r >= sample_rate), OPUS_RATES[-1])
        level = min(max(1.0 - (1000.0 * kbps - 6000.0) / 250000.0, 0.0), 1.0)
    else:
        rate = sample_rate
    z = resample(row, sample_rate, rate) if rate != sample_rate else row
    if name == "vorbis":
        level = _vorbis_level(z, rate, kbps)
        log.debug("vorbis %.1f kbps at %d Hz -> compression level %.4f", kbps, rate, level)
        data = _encode(z, rate, "OGG", "VORBIS", level)
    elif name == "mp3":
        data = _encode(z, rate, "MP3", "MPEG_LAYER_III", level, "CONSTANT")
    else:
        data = _encode(z, rate, "OGG", "OPUS", level)
    y = _decode(data)
    if name == "mp3" and y.size >= z.size + MP3_DELAY:
        y = y[MP3_DELAY:]  # no info tag was written: the decoder kept the codec delay
    y = _fit(y, z.size)
    if rate != sample_rate:
        y = _fit(resample(y, rate, sample_rate), n)
    return y


def parse_codec(spec: str) -> tuple[str, float]:
    """``"mp3:32"`` -> ``("mp3", 32.0)``."""
    name, sep, rate = str(spec).partition(":")
    name = name.strip().lower()
    if name not in CODECS or not sep:
        raise ParameterError(f"codec must look like NAME:KBPS with NAME one of {', '.join(CODECS)}, got '{spec}'")
    try:
        kbps = float(rate)
    except ValueError:
        raise ParameterError(f"codec bitrate must be a number of kbps, got '{rate}' in '{spec}'") from None
    if not kbps > 0:
        raise ParameterError(f"codec bitrate must be positive, got '{spec}'")
    return name, kbps


@dataclass(frozen=True)
class Codec(Degradation):
    """Lossy coding with one of ``formats``, each ``"codec:kbps"`` (``"mp3:32"``, ``"opus:12"``, ...)."""

    name = "codec"

    formats: tuple[str, ...] = ("mp3:32",)

    def __post_init__(self) -> None:
        formats = check_choices("formats", self.formats)
        for f in formats:
            parse_codec(f)
        object.__setattr__(self, "formats", formats)

    def sample(self, rng: np.random.Generator, num_samples: int, sample_rate: int) -> dict[str, Any]:
        name, kbps = parse_codec(draw_choice(rng, self.formats))
        return {"codec": name, "bitrate_kbps": kbps}

    def apply(self, x: np.ndarray, sample_rate: int, params: dict[str, Any],
              rng: np.random.Generator | None = None) -> np.ndarray:
        return codec(x, sample_rate, params["codec"], params["bitrate_kbps"])
