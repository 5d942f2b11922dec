"""Training and validation datasets: on-the-fly mixing, paired folders, sliding windows, fixed sets.

Every random choice of an example is drawn from a generator seeded by ``(seed, index)``, so example
``i`` is the same in every run, in every worker process and after a resume; the data position of a
training run is just its step number (:class:`StepBatchSampler`). Nothing touches global random state.

Items are ``(noisy, clean)`` float32 tensors of shape ``(1, time)``; a DataLoader batches them to
``(batch, 1, time)``.

Example:
    >>> files = scan_files("data", ["speech/misc"])                        # doctest: +SKIP
    >>> noises = scan_files("data", ["noise/minetest"])                    # doctest: +SKIP
    >>> ds = MixingDataset(files, noises, 16000, segment=16000, snr_db=(0, 20), seed=1)  # doctest: +SKIP
    >>> noisy, clean = ds[0]                                               # doctest: +SKIP
"""

from __future__ import annotations

import fnmatch
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Iterator, Sequence

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .. import io
from ..dsp.resample import resample
from ..errors import AudioInputError, ParameterError
from .windows import window_starts

log = logging.getLogger(__name__)

#: Extra native-rate samples read on each side of a crop so the resampler's edge transient is cut off.
_RESAMPLE_MARGIN = 64


@dataclass(frozen=True)
class AudioFile:
    """A file of a corpus: where it is (``rel`` is its path relative to the corpus root) and how long."""

    path: str
    rel: str
    sample_rate: int
    frames: int
    format: str | None = None  # a headerless format named by a manifest ("raw_be16"); None: read the header

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def matches(rel: str, patterns: Sequence[str]) -> bool:
    """fnmatch on the root-relative path; a pattern without wildcards also matches a folder prefix."""
    for p in patterns:
        p = p.strip("/")
        if fnmatch.fnmatchcase(rel, p) or rel.startswith(p + "/"):
            return True
    return False


def scan_files(root: str | os.PathLike, dirs: Sequence[str], exclude: Sequence[str] = ()) -> list[AudioFile]:
    """Audio files under each of ``dirs`` (relative to ``root``, or absolute), sorted, minus ``exclude``.

    ``exclude`` holds fnmatch patterns on root-relative paths (``"noise/spear_room"``,
    ``"speech/emodb_16k/03*"``). Raises AudioInputError naming a missing or empty folder.

    Example:
        >>> scan_files("data", ["noise/minetest"], exclude=["*lava*"])      # doctest: +SKIP
    """
    base = Path(root) if str(root) else Path(".")
    out: list[AudioFile] = []
    for d in dirs:
        source = _manifest_source(d)
        if source is not None:
            out.extend(f for f, _ in _manifest_items(base, *source, exclude))
            continue
        folder = Path(d) if Path(d).is_absolute() else base / d
        if not folder.is_dir():
            raise AudioInputError("data folder not found (set data.root?)", folder)
        files = io.find_audio(folder)
        if not files:
            raise AudioInputError("no audio files in data folder", folder)
        for f in files:
            try:
                rel = f.resolve().relative_to(base.resolve()).as_posix()
            except ValueError:
                rel = f.as_posix()
            if matches(rel, exclude):
                continue
            i = sf.info(str(f))
            out.append(AudioFile(str(f), rel, int(i.samplerate), int(i.frames)))
    return sorted(set(out), key=lambda a: a.rel)


def split_files(files: Sequence[AudioFile], patterns: Sequence[str]) -> tuple[list[AudioFile], list[AudioFile]]:
    """``(matching, rest)``: hold out files (speakers, noise recordings) named by fnmatch patterns.

    Example:
        >>> valid, train = split_files(files, ["speech/grid_16k/lombard_grid/s30"])  # doctest: +SKIP
    """
    held = [f for f in files if matches(f.rel, patterns)]
    rest = [f for f in files if not matches(f.rel, patterns)]
    return held, rest


def paired_files(root: str | os.PathLike, dirs: Sequence[str], exclude: Sequence[str] = ()
                 ) -> list[tuple[AudioFile, AudioFile]]:
    """``(noisy, clean)`` pairs from folders that each hold ``noisy/`` and ``clean/`` with the same names
    (or from manifest sources, see :func:`manifest_source`)."""
    pairs = []
    base = Path(root) if str(root) else Path(".")
    for d in dirs:
        source = _manifest_source(d)
        if source is not None:
            pairs.extend(p for _, p in _manifest_items(base, *source, exclude))  # type: ignore[misc]
            continue
        folder = Path(d) if Path(d).is_absolute() else base / d
        sides = {}
        for side in ("noisy", "clean"):
            # scan_files joins ``root`` itself: give it the root-relative folder (absolute stays absolute)
            sides[side] = {Path(f.path).relative_to(folder / side).with_suffix("").as_posix(): f
                           for f in scan_files(root, [str(Path(d) / side)], exclude)}
        noisy, clean = sides["noisy"], sides["clean"]
        missing = sorted(set(noisy) ^ set(clean))
        if missing:
            raise AudioInputError(f"noisy/ and clean/ do not pair up: {missing[0]} has no partner", folder)
        for k in sorted(noisy):
            n, c = noisy[k], clean[k]
            if n.sample_rate != c.sample_rate:
                raise AudioInputError(f"pair {k}: noisy at {n.sample_rate} Hz, clean at {c.sample_rate} Hz", folder)
            pairs.append((n, c))
    return pairs


# -------------------------------------------------------------------------------------- manifests
#: A data "folder" written ``manifest:<role>:<split>:<path>`` stands for the entries of a corpus
#: manifest (``audiorestore data prepare``): role ``clean`` (entries with clean audio and no noisy),
#: ``noise`` (noise-only entries) or ``pair`` (noisy with clean). Experiment configs write these from
#: ``data.manifests`` (:func:`audiorestore.train.experiment.apply_manifests`).
MANIFEST_PREFIX = "manifest:"
_ROLES = ("clean", "noise", "pair")


def manifest_source(role: str, split: str, path: str) -> str:
    """The data-folder string naming the ``role`` entries of ``split`` in manifest ``path``.

    Example:
        >>> manifest_source("pair", "train", "vb.jsonl")
        'manifest:pair:train:vb.jsonl'
    """
    if role not in _ROLES:
        raise ParameterError(f"manifest role must be one of {', '.join(_ROLES)}, got '{role}'")
    return f"{MANIFEST_PREFIX}{role}:{split}:{path}"


def manifest_valid_pattern(path: str, split: str) -> str:
    """The ``valid_*`` pattern that holds out the entries of ``split`` of manifest ``path``: their
    ``rel`` is ``<manifest stem>/<split>/<id>``."""
    return f"{Path(path).stem}/{split}"


def _manifest_source(d: str) -> tuple[str, str, str] | None:
    if not str(d).startswith(MANIFEST_PREFIX):
        return None
    parts = str(d)[len(MANIFEST_PREFIX):].split(":", 2)
    if len(parts) != 3 or parts[0] not in _ROLES:
        raise ParameterError(f"bad manifest source '{d}' (expected manifest:clean|noise|pair:<split>:<path>)")
    return parts[0], parts[1], parts[2]


def _entry_role(e: dict[str, Any]) -> str | None:
    if e.get("noisy") and e.get("clean"):
        return "pair"
    if e.get("clean") and not e.get("noisy"):
        return "clean"
    if e.get("noise") and not e.get("clean") and not e.get("noisy"):
        return "noise"
    return None  # noisy without a reference: nothing to train on


def _manifest_entries(base: Path, path: str) -> tuple[Path, list[dict[str, Any]]]:
    from .corpora import read_manifest

    p = Path(path)
    if not p.is_absolute() and str(base) not in ("", ".") and (base / p).exists():
        p = base / p  # relative to data.root when it is there, else to the working directory
    return p, read_manifest(p)


def manifest_roles(root: str | os.PathLike, path: str) -> dict[str, set[str]]:
    """``{split: {roles}}`` of the usable entries of a manifest (see :data:`MANIFEST_PREFIX`)."""
    _, entries = _manifest_entries(Path(root) if str(root) else Path("."), path)
    out: dict[str, set[str]] = {}
    for e in entries:
        role = _entry_role(e)
        if role is not None:
            out.setdefault(str(e["split"]), set()).add(role)
    return out


def _manifest_items(base: Path, role: str, split: str, path: str, exclude: Sequence[str]
                    ) -> list[tuple[AudioFile | None, tuple[AudioFile, AudioFile] | None]]:
    """``(file, None)`` for role clean/noise, ``(None, (noisy, clean))`` for role pair."""
    p, entries = _manifest_entries(base, path)
    out: list[tuple[AudioFile | None, tuple[AudioFile, AudioFile] | None]] = []

    def side(e: dict[str, Any], key: str, rel: str) -> AudioFile:
        frames = (e.get("frames") or {}).get(key)
        if frames is None:  # a manifest without exact lengths: the header length in seconds
            frames = int(round(float(e["seconds"]) * int(e["sample_rate"])))
        return AudioFile(str(e[key]), rel, int(e["sample_rate"]), int(frames), e.get("format"))

    for e in entries:
        if str(e["split"]) != split or _entry_role(e) != role:
            continue
        rel = f"{p.stem}/{split}/{e.get('id', '')}"
        main = str(e["noisy"] if role == "pair" else e[role])
        try:
            own = Path(main).resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            own = Path(main).as_posix()
        if matches(rel, exclude) or matches(own, exclude):
            continue
        if role == "pair":
            out.append((None, (side(e, "noisy", rel), side(e, "clean", rel))))
        else:
            out.append((side(e, role, rel), None))
    if not out:
        raise AudioInputError(f"no {role} entries in split '{split}' of the manifest", str(p))
    return out


# ---------------------------------------------------------------------------------------- reading
def _read_frames(f: AudioFile, start: int, frames: int) -> np.ndarray:
    """Samples of ``f`` as ``(frames, channels)`` float32: soundfile on the header, or the headerless
    reader of :mod:`audiorestore.data.corpora.raw` for a manifest entry's ``format``."""
    if f.format:
        from .corpora.raw import read_frames

        return read_frames(f.path, f.format, start, frames)
    data, _ = sf.read(f.path, start=start, frames=frames, dtype="float32", always_2d=True)
    return data


def read_segment(f: AudioFile, start: int, length: int, sample_rate: int) -> np.ndarray:
    """``length`` samples at ``sample_rate`` starting at ``start`` (in ``sample_rate`` samples), mono,
    zero-padded past the end of the file.

    Shape:
        -> ``(length,)`` float32.
    Example:
        >>> x = read_segment(AudioFile("a.flac", "a.flac", 44100, 88200), 0, 16000, 16000)  # doctest: +SKIP
    """
    if f.sample_rate == sample_rate:
        data = _read_frames(f, start, length)
        x = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    else:
        # Start reading at a target sample m0 whose native time m0 * p / q is an integer, so the
        # crop lies on the same sample grid as resampling the whole file would give.
        g = math.gcd(f.sample_rate, sample_rate)
        p, q = f.sample_rate // g, sample_rate // g
        m0 = max((start - _RESAMPLE_MARGIN) // q, 0) * q
        skip = start - m0
        lo = m0 // q * p
        n_native = int(math.ceil((skip + length) * p / q)) + _RESAMPLE_MARGIN * p // q + 1
        data = _read_frames(f, lo, n_native)
        x = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
        x = resample(x, f.sample_rate, sample_rate)[skip:] if x.size else x
    out = np.zeros(length, dtype=np.float32)
    m = min(length, x.shape[-1])
    out[:m] = x[:m]
    return out


def _frames_at(f: AudioFile, sample_rate: int) -> int:
    return int(f.frames * sample_rate // f.sample_rate)


def random_crop(f: AudioFile, length: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``length``-sample crop; a shorter file is placed at a random offset in zeros.

    Shape:
        -> ``(length,)`` float32.
    """
    n = _frames_at(f, sample_rate)
    if n >= length:
        return read_segment(f, int(rng.integers(0, n - length + 1)), length, sample_rate)
    out = np.zeros(length, dtype=np.float32)
    off = int(rng.integers(0, length - n + 1))
    out[off:off + n] = read_segment(f, 0, n, sample_rate)
    return out


def speed_crop(f: AudioFile, length: int, sample_rate: int, speed: Sequence[float],
               rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A random crop played at a random speed ``factor`` (log-uniform in ``speed``): ``length * factor``
    samples read and resampled (soxr) to ``length``, so pitch and formants scale by ``factor``.

    Shape:
        -> ``(length,)`` float32, and the factor.
    """
    from ..dsp.resample import resample

    factor = float(np.exp(rng.uniform(np.log(speed[0]), np.log(speed[1]))))
    n_read = max(int(round(length * factor)), 1)
    x = random_crop(f, n_read, sample_rate, rng)
    y = resample(x, n_read, length) if n_read != length else x   # round(n_read * length / n_read) samples
    return np.asarray(y, dtype=np.float32), factor


def looped_crop(f: AudioFile, length: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A random crop of a noise recording; a shorter one is looped with a cross-faded seam
    (:func:`audiorestore.simulate.noise.fit_noise`).

    Shape:
        -> ``(length,)`` float32.
    """
    from ..simulate.noise import fit_noise

    n = _frames_at(f, sample_rate)
    if n >= length:
        return read_segment(f, int(rng.integers(0, n - length + 1)), length, sample_rate)
    return np.asarray(fit_noise(read_segment(f, 0, n, sample_rate), length, rng), dtype=np.float32)


def random_equalizer(x: np.ndarray, rng: np.random.Generator, max_db: float = 12.0, points: int = 6) -> np.ndarray:
    """``x`` through a random smooth equaliser: gains drawn uniformly in +-``max_db`` at ``points``
    log-spaced frequencies, interpolated over log frequency, applied by FFT (zero phase).

    Shape:
        ``(time,)`` -> ``(time,)`` float32.
    Example:
        >>> y = random_equalizer(np.ones(64, np.float32), np.random.default_rng(0))
        >>> y.shape
        (64,)
    """
    n = x.shape[-1]
    spec = np.fft.rfft(x.astype(np.float64))
    pos = np.log2(np.maximum(np.arange(spec.shape[-1]), 1.0))
    knots = np.linspace(pos[1] if pos.size > 1 else 0.0, pos[-1], points)
    gain_db = np.interp(pos, knots, rng.uniform(-max_db, max_db, points))
    return np.fft.irfft(spec * 10 ** (gain_db / 20), n).astype(np.float32)


def augmented_noise(noise: Sequence[AudioFile], first: AudioFile, length: int, sample_rate: int,
                    rng: np.random.Generator, speed: tuple[float, float] = (0.6, 1.6),
                    second_prob: float = 0.3) -> np.ndarray:
    """A noise crop made more varied than the recordings: played at a random speed (its spectrum and
    rhythm shift together, like a resampled recording), through a random equaliser
    (:func:`random_equalizer`), and with probability ``second_prob`` summed with a second noise at
    -10..0 dB relative level. Widens a small noise collection (a few dozen files) so that a network
    learns noise in general rather than those files.

    Shape:
        -> ``(length,)`` float32.
    """
    def one(f: AudioFile) -> np.ndarray:
        factor = float(np.exp(rng.uniform(np.log(speed[0]), np.log(speed[1]))))
        n_read = max(int(np.ceil(length * factor)) + 1, 2)
        x = looped_crop(f, n_read, sample_rate, rng)
        y = np.interp(np.arange(length) * factor, np.arange(n_read), x).astype(np.float32)
        return random_equalizer(y, rng)

    out = one(first)
    if len(noise) > 1 and rng.uniform() < second_prob:
        other = one(noise[int(rng.integers(len(noise)))])
        out = mix_at_snr(out, other, -float(rng.uniform(-10.0, 0.0)))  # the second 0..10 dB below the first
    return out.astype(np.float32)


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``speech + g * noise`` with ``g`` such that speech against noise has ``snr_db`` over the segment
    (:func:`audiorestore.simulate.noise.mix_at_snr`). A silent noise crop leaves the speech as it is;
    a silent speech crop (a pause) gets the noise at its recorded level.

    Shape:
        speech, noise ``(time,)`` -> ``(time,)`` float32.
    Example:
        >>> s, v = np.ones(100, np.float32), np.ones(100, np.float32)
        >>> round(float(mix_at_snr(s, v, 20.0)[0]), 6)
        1.1
    """
    from ..simulate.noise import mix_at_snr as _mix

    if not np.any(noise):
        return speech.astype(np.float32)
    if not np.any(speech):
        return (speech + noise).astype(np.float32)
    return np.asarray(_mix(speech, noise, snr_db)[0], dtype=np.float32)


def build_chain(spec: dict[str, dict[str, Any]] | None) -> Any:
    """A :class:`audiorestore.simulate.chain.Chain` from ``{stage name: {param: value or [low, high]}}``
    (in order), or None for an empty spec.

    Each stage samples its parameters from the example's own generator, so a chain is as
    reproducible as the rest of the example.

    Example:
        >>> chain = build_chain({"clip": {"threshold": [0.3, 0.6]}})        # doctest: +SKIP
    """
    if not spec:
        return None
    from .. import simulate  # noqa: F401  importing the package registers every stage
    from ..simulate.base import degradation_class
    from ..simulate.chain import Chain

    stages = []
    for name, params in spec.items():
        cls = degradation_class(name)
        try:
            stages.append(cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in (params or {}).items()}))
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"data.degrade.{name}: {exc}") from None
    return Chain(tuple(stages))


def apply_chain(chain: Any, clean: np.ndarray, sample_rate: int, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """Degrade ``clean`` with a chain whose parameters are drawn from ``rng``; returns
    ``(degraded, target)``: the target is what the chain's stages make of the clean signal (e.g. the
    early part of a room response), the degraded signal is brought back to ``sample_rate``.

    Shape:
        clean ``(time,)`` -> both ``(time,)`` at ``sample_rate``.
    """
    params = chain.sample(rng, clean.shape[-1], sample_rate)
    y, t = chain.apply(clean, sample_rate, params)
    rate = chain.output_rate(sample_rate, params)
    if rate != sample_rate:  # a band-limiting stage changed the rate: the model sees its input rate
        y = resample(np.asarray(y), rate, sample_rate)
    n = clean.shape[-1]
    return _fit(np.asarray(y, np.float32), n), _fit(np.asarray(t, np.float32), n)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    return x[:n] if x.shape[-1] >= n else np.pad(x, (0, n - x.shape[-1]))


def _protect_peak(noisy: np.ndarray, clean: np.ndarray, peak: float = 0.99) -> tuple[np.ndarray, np.ndarray]:
    m = float(max(np.abs(noisy).max(initial=0.0), np.abs(clean).max(initial=0.0)))
    if m > peak:  # scale both, never clip: the pair must stay consistent
        noisy, clean = noisy * (peak / m), clean * (peak / m)
    return noisy, clean


def _pair_tensors(noisy: np.ndarray, clean: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return (torch.from_numpy(np.ascontiguousarray(noisy, dtype=np.float32))[None],
            torch.from_numpy(np.ascontiguousarray(clean, dtype=np.float32))[None])


def example_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of example ``index``: independent streams per (seed, index) (numpy SeedSequence)."""
    return np.random.default_rng([int(seed), int(index)])


def _epoch_item(seed: int, index: int, n: int, salt: int) -> int:
    """File of example ``index``: every file once per epoch, in an order reshuffled each epoch."""
    epoch, pos = divmod(int(index), n)
    return int(np.random.default_rng([int(seed), epoch, salt]).permutation(n)[pos])


# --------------------------------------------------------------------------------------- datasets
class MixingDataset(Dataset):
    """Clean speech crops, optionally degraded by a simulate chain, mixed with noise crops at a random SNR.

    Example ``i``: clean file by a per-epoch permutation, everything else (crop offsets, noise file,
    SNR, gain, chain parameters) from :func:`example_rng` ``(seed, i)``.

    Shape:
        ``ds[i]`` -> ``(noisy, clean)``, each ``(1, segment)`` float32.
    Example:
        >>> ds = MixingDataset(clean, noise, 16000, segment=8000, snr_db=(0, 10), seed=0)   # doctest: +SKIP
        >>> noisy, clean = ds[3]                                                               # doctest: +SKIP
    """

    def __init__(self, clean: Sequence[AudioFile], noise: Sequence[AudioFile], sample_rate: int, segment: int,
                 snr_db: tuple[float, float] = (0.0, 20.0), gain_db: tuple[float, float] = (0.0, 0.0),
                 seed: int = 0, chain: Any = None, level_db: Sequence[float] = (),
                 colors: Sequence[str] = (), color_fraction: float = 0.0, noise_augment: float = 0.0,
                 speech_augment: float = 0.0, speech_eq_db: float = 10.0,
                 speech_speed: Sequence[float] = ()) -> None:
        from ..simulate.noise import NOISE_COLORS

        if not clean:
            raise ParameterError("MixingDataset needs at least one clean file")
        if not noise and not colors and chain is None:
            raise ParameterError("MixingDataset needs noise files, noise colours or a degradation chain")
        unknown = [c for c in colors if c not in NOISE_COLORS]
        if unknown:
            raise ParameterError(f"unknown noise colour(s) {unknown} (use {', '.join(NOISE_COLORS)})")
        if not 0.0 <= color_fraction <= 1.0:
            raise ParameterError(f"color_fraction must be in [0, 1], got {color_fraction}")
        if not 0.0 <= noise_augment <= 1.0:
            raise ParameterError(f"noise_augment must be in [0, 1], got {noise_augment}")
        if not 0.0 <= speech_augment <= 1.0:
            raise ParameterError(f"speech_augment must be in [0, 1], got {speech_augment}")
        if speech_eq_db < 0:
            raise ParameterError(f"speech_eq_db must be >= 0, got {speech_eq_db}")
        if speech_speed and (len(speech_speed) != 2 or not 0 < speech_speed[0] <= speech_speed[1]):
            raise ParameterError(f"speech_speed must be [low, high] with 0 < low <= high, got {list(speech_speed)}")
        if segment <= 0 or sample_rate <= 0:
            raise ParameterError(f"segment and sample_rate must be positive, got {segment}, {sample_rate}")
        if snr_db[0] > snr_db[1] or gain_db[0] > gain_db[1]:
            raise ParameterError(f"ranges must be (low, high), got snr_db={snr_db}, gain_db={gain_db}")
        self.clean, self.noise = list(clean), list(noise)
        self.sample_rate, self.segment, self.seed = int(sample_rate), int(segment), int(seed)
        self.snr_db, self.gain_db = (float(snr_db[0]), float(snr_db[1])), (float(gain_db[0]), float(gain_db[1]))
        self.chain = chain
        self.level_db = _level_range(level_db)
        self.colors = list(colors)
        # with no noise files, every example that gets noise gets a synthetic colour
        self.color_fraction = float(color_fraction) if self.noise else 1.0
        self.noise_augment = float(noise_augment)
        self.speech_augment, self.speech_eq_db = float(speech_augment), float(speech_eq_db)
        self.speech_speed = tuple(float(v) for v in speech_speed)

    def __len__(self) -> int:
        return len(self.clean)

    def describe(self, index: int) -> dict[str, Any]:
        """The parameters of example ``index`` (files, SNR, gain), for manifests and debugging."""
        return self._make(index)[2]

    def _make(self, index: int) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        rng = example_rng(self.seed, index)
        cf = self.clean[_epoch_item(self.seed, index, len(self.clean), 1)]
        clean = random_crop(cf, self.segment, self.sample_rate, rng)
        info: dict[str, Any] = {"index": int(index), "clean": cf.rel}
        if self.speech_augment and rng.uniform() < self.speech_augment:
            if self.speech_speed:  # another voice: a crop played faster or slower (draws after the others')
                clean, info["speech_speed"] = speed_crop(cf, self.segment, self.sample_rate, self.speech_speed, rng)
            # another microphone, room or voice: the target is the equalised speech (RNNoise, Valin 2018)
            clean = random_equalizer(clean, rng, self.speech_eq_db)
            info["speech_augment"] = True
        noisy = clean
        if self.chain is not None:  # room, band limit, ... act on the speech before the noise joins it
            noisy, clean = apply_chain(self.chain, clean, self.sample_rate, rng)
        if self.colors and rng.uniform() < self.color_fraction:
            from ..simulate.noise import colored_noise

            color = self.colors[int(rng.integers(len(self.colors)))]
            snr = float(rng.uniform(*self.snr_db))
            noisy = mix_at_snr(noisy, colored_noise(color, self.segment, rng).astype(np.float32), snr)
            info.update(noise=f"color:{color}", snr_db=snr)
        elif self.noise:
            nf = self.noise[int(rng.integers(len(self.noise)))]
            snr = float(rng.uniform(*self.snr_db))
            if self.noise_augment and rng.uniform() < self.noise_augment:
                noise = augmented_noise(self.noise, nf, self.segment, self.sample_rate, rng)
                info["noise_augment"] = True
            else:
                noise = looped_crop(nf, self.segment, self.sample_rate, rng)
            noisy = mix_at_snr(noisy, noise, snr)
            info.update(noise=nf.rel, snr_db=snr)
        gain = float(rng.uniform(*self.gain_db))
        noisy, clean = noisy * 10 ** (gain / 20), clean * 10 ** (gain / 20)
        noisy, clean = _protect_peak(*_set_level(noisy, clean, self.level_db, rng))
        info["gain_db"] = gain
        return noisy, clean, info

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        noisy, clean, _ = self._make(index)
        return _pair_tensors(noisy, clean)


def _level_range(level_db: Sequence[float]) -> tuple[float, float] | None:
    if not level_db:
        return None
    if len(level_db) != 2 or level_db[0] > level_db[1]:
        raise ParameterError(f"level_db must be [low, high] in dBFS, got {list(level_db)}")
    return float(level_db[0]), float(level_db[1])


def _set_level(noisy: np.ndarray, clean: np.ndarray, level_db: tuple[float, float] | None,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Scale a pair by one factor so the noisy RMS is at a level drawn from ``level_db`` (dBFS)."""
    if not level_db:
        return noisy, clean
    rms = float(np.sqrt(np.mean(np.square(noisy, dtype=np.float64))))
    if rms <= 0:
        return noisy, clean
    g = 10 ** (float(rng.uniform(*level_db)) / 20) / rms
    return noisy * g, clean * g


class PairedDataset(Dataset):
    """Random crops taken at the same place from recorded ``(noisy, clean)`` pairs.

    Shape:
        ``ds[i]`` -> ``(noisy, clean)``, each ``(1, segment)`` float32.
    Example:
        >>> ds = PairedDataset(paired_files("data", ["pairs/vbdemand_p287_16k"]), 16000, 16000)  # doctest: +SKIP
    """

    def __init__(self, pairs: Sequence[tuple[AudioFile, AudioFile]], sample_rate: int, segment: int,
                 seed: int = 0, gain_db: tuple[float, float] = (0.0, 0.0),
                 level_db: Sequence[float] = ()) -> None:
        if not pairs:
            raise ParameterError("PairedDataset needs at least one (noisy, clean) pair")
        self.pairs, self.sample_rate, self.segment, self.seed = list(pairs), int(sample_rate), int(segment), int(seed)
        self.gain_db = (float(gain_db[0]), float(gain_db[1]))
        self.level_db = _level_range(level_db)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = example_rng(self.seed, index)
        nf, cf = self.pairs[_epoch_item(self.seed, index, len(self.pairs), 2)]
        n = min(_frames_at(nf, self.sample_rate), _frames_at(cf, self.sample_rate))  # compare over the common length
        start = int(rng.integers(0, n - self.segment + 1)) if n > self.segment else 0
        length = min(self.segment, n)
        noisy = np.zeros(self.segment, np.float32)
        clean = np.zeros(self.segment, np.float32)
        noisy[:length] = read_segment(nf, start, length, self.sample_rate)
        clean[:length] = read_segment(cf, start, length, self.sample_rate)
        g = 10 ** (float(rng.uniform(*self.gain_db)) / 20)
        return _pair_tensors(*_protect_peak(*_set_level(noisy * g, clean * g, self.level_db, rng)))


class SlidingWindowDataset(Dataset):
    """Every window of ``window`` samples, ``hop`` apart, of every pair (whole-file evaluation).

    The last window of a file is zero-padded. Deterministic: no randomness at all.

    Shape:
        ``ds[i]`` -> ``(noisy, clean)``, each ``(1, window)`` float32.
    """

    def __init__(self, pairs: Sequence[tuple[AudioFile, AudioFile]], sample_rate: int, window: int,
                 hop: int | None = None) -> None:
        self.pairs, self.sample_rate, self.window = list(pairs), int(sample_rate), int(window)
        self.hop = int(hop or window)
        self.index: list[tuple[int, int, int]] = []  # (pair, start, valid length)
        for j, (nf, cf) in enumerate(self.pairs):
            n = min(_frames_at(nf, self.sample_rate), _frames_at(cf, self.sample_rate))
            for s in window_starts(n, self.window, self.hop):
                self.index.append((j, s, min(self.window, n - s)))

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        j, start, length = self.index[index]
        nf, cf = self.pairs[j]
        noisy = np.zeros(self.window, np.float32)
        clean = np.zeros(self.window, np.float32)
        noisy[:length] = read_segment(nf, start, length, self.sample_rate)
        clean[:length] = read_segment(cf, start, length, self.sample_rate)
        return _pair_tensors(noisy, clean)


class SourceMixture(Dataset):
    """Draw each example from one of several datasets with given probabilities (seeded by index).

    Shape:
        ``ds[i]`` -> whatever the chosen source returns for ``i``.
    """

    def __init__(self, sources: Sequence[Dataset], weights: Sequence[float], seed: int = 0) -> None:
        if not sources or len(sources) != len(weights) or min(weights) < 0 or sum(weights) <= 0:
            raise ParameterError(f"SourceMixture needs sources with non-negative weights, got {list(weights)}")
        self.sources = list(sources)
        w = np.asarray(weights, dtype=np.float64)
        self.cdf = np.cumsum(w / w.sum())
        self.seed = int(seed)

    def __len__(self) -> int:
        return sum(len(s) for s in self.sources)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> Any:
        u = np.random.default_rng([self.seed, int(index), 3]).random()
        k = min(int(np.searchsorted(self.cdf, u, side="right")), len(self.sources) - 1)
        return self.sources[k][index]


class FixedSet(Dataset):
    """A validation set held in memory: the same tensors at every evaluation and after every resume.

    Shape:
        ``ds[i]`` -> ``(noisy, clean)``, each ``(1, time)``.
    Example:
        >>> valid = FixedSet.from_dataset(MixingDataset(vc, vn, 16000, 64000, seed=1), 32)   # doctest: +SKIP
    """

    def __init__(self, items: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> None:
        self.items = [(n.float(), c.float()) for n, c in items]

    @classmethod
    def from_dataset(cls, dataset: Dataset, count: int | None = None) -> FixedSet:
        """Materialise examples ``0 .. count - 1`` (default: all of a finite dataset)."""
        n = len(dataset) if count is None else int(count)  # type: ignore[arg-type]
        return cls([dataset[i] for i in range(n)])

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.items[index]


class ConcatSet(Dataset):
    """Several finite datasets one after the other (e.g. mixed and recorded validation items)."""

    def __init__(self, parts: Sequence[Dataset]) -> None:
        self.parts = [p for p in parts if len(p) > 0]  # type: ignore[arg-type]
        self.offsets = np.cumsum([0] + [len(p) for p in self.parts])  # type: ignore[arg-type]

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, index: int) -> Any:
        k = int(np.searchsorted(self.offsets, index, side="right")) - 1
        return self.parts[k][index - int(self.offsets[k])]


# -------------------------------------------------------------------------------------- sampling
class StepBatchSampler(Sampler[list[int]]):
    """Batches of example indices addressed by training step: step ``s`` on rank ``r`` of ``world``
    gets indices ``[(s * world + r) * batch, ... + batch)``. Resuming at step ``s`` is exact.

    Example:
        >>> list(StepBatchSampler(2, start_step=3, stop_step=5))
        [[6, 7], [8, 9]]
        >>> list(StepBatchSampler(2, start_step=0, stop_step=1, rank=1, world_size=2))
        [[2, 3]]
    """

    def __init__(self, batch_size: int, start_step: int = 0, stop_step: int | None = None,
                 rank: int = 0, world_size: int = 1) -> None:
        if batch_size <= 0 or not 0 <= rank < world_size:
            raise ParameterError(f"bad sampler settings: batch_size={batch_size}, rank={rank}/{world_size}")
        self.batch_size, self.start, self.stop = int(batch_size), int(start_step), stop_step
        self.rank, self.world = int(rank), int(world_size)

    def __iter__(self) -> Iterator[list[int]]:
        s = self.start
        while self.stop is None or s < self.stop:
            base = (s * self.world + self.rank) * self.batch_size
            yield list(range(base, base + self.batch_size))
            s += 1

    def __len__(self) -> int:
        if self.stop is None:
            raise TypeError("an endless StepBatchSampler has no length")
        return max(self.stop - self.start, 0)


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)  # workers only read and mix audio; leave the cores to the model


def step_loader(dataset: Dataset, batch_size: int, start_step: int, stop_step: int | None = None, *,
                rank: int = 0, world_size: int = 1, num_workers: int = 0, pin_memory: bool = False,
                seed: int = 0) -> DataLoader:
    """A DataLoader that yields the batches of steps ``start_step .. stop_step - 1`` in order, loading
    in ``num_workers`` processes.

    The loader gets its own generator (seeded by ``seed``) so that creating it does not draw from
    torch's global generator: a resumed run's global random stream stays the uninterrupted one's.

    Shape:
        yields ``(noisy, clean)``, each ``(batch_size, 1, time)``.
    """
    sampler = StepBatchSampler(batch_size, start_step, stop_step, rank, world_size)
    return DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers, pin_memory=pin_memory,
                      worker_init_fn=_worker_init if num_workers else None,
                      generator=torch.Generator().manual_seed(int(seed)), persistent_workers=False)
