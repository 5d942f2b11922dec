"""Neural super-resolution from a checkpoint: AudioUNet, TFiLM and MU-GAN as :class:`Upsampler` methods.

Pipeline (as in Kuleshov et al. 2017, Sec. 3, and the papers that follow it):

1. the input is interpolated from its rate to the model's ``sample_rate`` with the interpolation the
   model was trained with (``config.interpolation``: cubic spline as in the papers, or sinc), because
   the network's output is a correction added to exactly that interpolated signal;
2. the network runs on overlapping chunks of ``chunk_s`` seconds with ``context_s`` seconds of context
   on each side; chunk boundaries fall on multiples of the network's decimation so every chunk sees
   the same sample phase as whole-signal inference, and neighbouring chunks are cross-faded over the
   middle half of their shared context. For the convolutional models (AudioUNet, MU-GAN), whose
   receptive field is far below the default context, chunked output equals whole-signal output to
   float precision; TFiLM's LSTM spans the whole chunk, so there the two differ slightly. Memory is
   bounded by the chunk, not by the signal length;
3. with ``keep_input_band`` > 0 the band the input has is taken from the input itself (sinc), and
   where the checkpoint carries a spectral-envelope corrector (``pkg["envelope"]``,
   :mod:`audiorestore.superres.envelope`) the level of the added band is corrected by it
   (``envelope=False`` skips it);
4. with ``rolloff_guard`` (the default) the long-term level of the band above the input's measured
   cutoff is capped at the input's own top-octave slope, extrapolated (:mod:`audiorestore.superres.rolloff`):
   the network, trained on full-band material, cannot add more treble than a rolled-off recording's
   trend predicts, and adds none to an input band-limited far below its Nyquist frequency;
5. the result is resampled (sinc) from the model's rate to ``target_rate`` when they differ.

A model is trained for one target rate and one input bandwidth (``config.input_rate / 2``). Other
ratios run, with a warning, but outside what the model learnt: an input narrower than trained (8 kHz
into a 16 -> 48 kHz model) leaves a gap between its own Nyquist frequency and the band the model
learnt to start extending from; a wider input (22.05 kHz into the same model) reaches the model with
content above 8 kHz that it was trained to treat as missing and may alter. A different target rate
is reached by resampling the model's output, so the added band stops at the model's Nyquist frequency.

Example:
    >>> from audiorestore.enhancer import get_method
    >>> up = get_method("audiounet", checkpoint="audiounet_16k_48k.pt")   # doctest: +SKIP
    >>> y = up(x, 16000, 48000)                                           # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from scipy import signal

from ..config import coerce_value
from ..dsp.resample import resample
from ..enhancer import Upsampler, register
from ..errors import AudioRestoreError, ParameterError
from .baselines import INTERPOLATIONS, interpolate
from .envelope import apply_envelope, envelope_from_package
from . import rolloff

log = logging.getLogger(__name__)


def _doc(text: str) -> dict:
    return {"doc": text}


@dataclass
class NeuralUpsampler(Upsampler):
    """A super-resolution network loaded from a checkpoint (family checked against ``family``).

    Shape:
        ``(channels, time)`` at ``sample_rate`` -> ``(channels, round(time * target_rate / sample_rate))``;
        channels are processed independently (as a batch).
    """

    #: Model family this method accepts; "" accepts any family whose task is "upsample".
    family: ClassVar[str] = ""
    summary = "neural super-resolution from a checkpoint"

    checkpoint: str = field(default="", metadata=_doc(
        "model checkpoint (.pt) written by audiorestore train, or a shipped model name (audiorestore models)"))
    device: str = field(default="cpu", metadata=_doc("torch device: cpu, cuda, cuda:1, mps"))
    chunk_s: float = field(default=4.0, metadata=_doc("seconds of audio per network call (bounds memory)"))
    context_s: float = field(default=0.1, metadata=_doc("seconds of context on each side of a chunk"))
    interpolation: str = field(default="", metadata=_doc(
        "input interpolation: spline, sinc or linear; empty: the one the model was trained with"))
    keep_input_band: float | None = field(default=None, metadata=_doc(
        "below this fraction of the input's Nyquist frequency the output is the input itself, sinc "
        "interpolated (a zero-phase FIR crossover, -6 dB there); the band the input has is never altered "
        "by the network. 0: the network's whole output. Unset: a shipped model's own setting "
        "(models.json params), else 0"))
    envelope: bool = field(default=True, metadata=_doc(
        "apply the checkpoint's spectral-envelope corrector to the added band, where it has one "
        "(audiorestore.superres.envelope); false: the network's output as it is"))
    rolloff_guard: bool = field(default=True, metadata=_doc(
        "cap the added band's long-term level at the input's own top-octave slope, extrapolated above its "
        "measured cutoff (audiorestore.superres.rolloff); false: the added band as the network makes it"))
    rolloff_headroom_db: float = field(default=1.0, metadata=_doc(
        "dB the added band may exceed the extrapolated roll-off before the guard lowers it"))
    rolloff_cap: bool = field(default=True, metadata=_doc(
        "with rolloff_guard: cap the added band at the extrapolated roll-off; false: only the fallback to "
        "the interpolation for an input band-limited far below its Nyquist frequency"))
    rolloff_fit_octaves: float = field(default=1.0, metadata=_doc(
        "octaves below the input's cutoff over which the guard fits the input's spectral slope"))
    rolloff_min_slope_db: float = field(default=-24.0, metadata=_doc(
        "steepest slope (dB per octave) the guard extrapolates"))

    def __post_init__(self) -> None:
        if not self.checkpoint:
            what = f"method '{self.name}'" if self.name else "a neural upsampler"
            raise ParameterError(f"{what} needs a trained model: pass --checkpoint PATH "
                                 f"(or checkpoint=PATH in Python)")
        if self.chunk_s <= 0 or self.context_s < 0:
            raise ParameterError(f"chunk_s must be > 0 and context_s >= 0, got {self.chunk_s}, {self.context_s}")
        if self.keep_input_band is None:  # a shipped model called by name brings its own setting
            from ..registry import shipped_params

            self.keep_input_band = float(shipped_params(self.checkpoint).get("keep_input_band", 0.0))
        if not 0.0 <= self.keep_input_band < 1.0:
            raise ParameterError(f"keep_input_band must be in [0, 1), got {self.keep_input_band}")
        if self.interpolation and self.interpolation not in INTERPOLATIONS:
            raise ParameterError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, "
                                 f"got '{self.interpolation}'")
        from ..registry import resolve
        from ..train.checkpoint import load_package, model_from_package

        pkg = load_package(resolve(self.checkpoint))  # a file, or a shipped model's name
        fam = str(pkg["family"])
        self._check_family(fam)
        try:
            self._model = model_from_package(pkg, torch.device(self.device))
        except AudioRestoreError:
            raise
        except (RuntimeError, ValueError, TypeError, AssertionError) as exc:  # state_dict mismatch, bad device
            raise ParameterError(f"cannot load {fam} model ({' '.join(str(exc).split())[:200]})",
                                 self.checkpoint) from None
        self._family_name = fam
        self._envelope = None
        if self.envelope and "envelope" in pkg:
            try:
                self._envelope = envelope_from_package(pkg["envelope"])
            except AudioRestoreError:
                raise
            except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # a damaged or foreign entry
                raise ParameterError(f"cannot load the checkpoint's envelope corrector "
                                     f"({' '.join(str(exc).split())[:200]})", self.checkpoint) from None
            if self._envelope.config.sample_rate != int(self._model.config.sample_rate):
                raise ParameterError("the checkpoint's envelope corrector runs at "
                                     f"{self._envelope.config.sample_rate} Hz, its network at "
                                     f"{self._model.config.sample_rate} Hz", self.checkpoint)
        cfg = self._model.config
        self.model_rate: int = int(cfg.sample_rate)
        self.model_input_rate: int = int(cfg.input_rate)
        self._interp = self.interpolation or str(getattr(cfg, "interpolation", "spline"))
        self._warned_rates: set[int] = set()

    def _check_family(self, fam: str) -> None:
        from ..models.registry import get_family

        spec = get_family(fam)
        if spec.task != "upsample":
            raise ParameterError(f"checkpoint holds a '{fam}' model (task '{spec.task}'), not a super-resolution "
                                 "model", self.checkpoint)
        if self.family and fam != self.family:
            raise ParameterError(f"checkpoint holds a '{fam}' model, not '{self.family}' (use --method {fam})",
                                 self.checkpoint)

    @property
    def model(self) -> torch.nn.Module:
        """The network, in eval mode on ``device``."""
        return self._model

    @property
    def corrector(self) -> torch.nn.Module | None:
        """The spectral-envelope corrector applied after the network, or None (none in the checkpoint,
        or ``envelope=False``)."""
        return self._envelope

    def upsample(self, audio: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
        if sample_rate != self.model_input_rate and sample_rate not in self._warned_rates:
            self._warned_rates.add(sample_rate)
            log.warning("%s model was trained for %d -> %d Hz; input is at %d Hz, so its bandwidth differs "
                        "from what the model learnt (see audiorestore.superres.neural)",
                        self._family_name, self.model_input_rate, self.model_rate, sample_rate)
        kind = self._interp if sample_rate < self.model_rate else "sinc"  # never alias when going down
        x = interpolate(audio, sample_rate, self.model_rate, kind).astype(np.float32)
        y = self.run(x)
        if self.keep_input_band > 0 and sample_rate < self.model_rate:
            # the input band as sinc brings it (spline errs near its Nyquist): the network's input if sinc
            exact = x if kind == "sinc" else interpolate(audio, sample_rate, self.model_rate, "sinc")
            y = keep_input_band(y, exact, self.model_rate, self.keep_input_band * sample_rate / 2)
        if self._envelope is not None:
            y = apply_envelope(self._envelope, y)
        if self.rolloff_guard and sample_rate < self.model_rate:
            exact = x if kind == "sinc" else interpolate(audio, sample_rate, self.model_rate, "sinc")
            y = rolloff.rolloff_guard(y, exact, self.model_rate, sample_rate, headroom_db=self.rolloff_headroom_db,
                                      cap=self.rolloff_cap, fit_octaves=self.rolloff_fit_octaves,
                                      min_slope_db=self.rolloff_min_slope_db)
        if target_rate != self.model_rate:
            y = resample(y, self.model_rate, target_rate)
        return y

    def chunk_plan(self, length: int) -> tuple[int, int, int]:
        """``(core, context, hop)`` in samples at the model rate for a signal of ``length`` samples.

        ``core`` and ``context`` are multiples of the network's decimation ``hop`` so that chunk
        windows start on the same sample phase as whole-signal inference.
        """
        hop = int(self.model.valid_length(1))
        core = max(hop, math.ceil(self.chunk_s * self.model_rate / hop) * hop)
        context = math.ceil(self.context_s * self.model_rate / hop) * hop
        return core, context, hop

    @torch.inference_mode()
    def run(self, x: np.ndarray) -> np.ndarray:
        """Run the network on ``(channels, time)`` already at the model rate, chunk by chunk.

        Shape:
            ``(channels, time)`` -> ``(channels, time)`` float32.
        """
        if x.ndim != 2:
            raise ValueError(f"expected (channels, time) at the model rate, found shape {x.shape}")
        n = x.shape[-1]
        core, ctx, _ = self.chunk_plan(n)
        if n <= core + 2 * ctx:
            return self._forward(x)
        # Chunk k owns [s, s + core); it is computed from [s - ctx, s + core + ctx) and kept over
        # [s - f, s + core + f) with f = ctx / 2, linearly cross-faded with its neighbours over 2f.
        f = ctx // 2
        out = np.zeros(x.shape, dtype=np.float32)
        for s in range(0, n, core):
            a, b = max(0, s - ctx), min(n, s + core + ctx)
            y = self._forward(x[:, a:b])
            lo, hi = max(0, s - f), min(n, s + core + f)
            pos = np.arange(lo, hi, dtype=np.float64) + 0.5
            w = np.ones(hi - lo, dtype=np.float64)
            if s > 0 and f > 0:  # fade in over [s - f, s + f)
                w *= np.clip((pos - (s - f)) / (2 * f), 0.0, 1.0)
            if s + core < n and f > 0:  # fade out over [s + core - f, s + core + f)
                w *= np.clip((s + core + f - pos) / (2 * f), 0.0, 1.0)
            w = w.astype(np.float32)
            out[:, lo:hi] += w * y[:, lo - a:hi - a]
        return out

    def _forward(self, x: np.ndarray) -> np.ndarray:
        dev = next(self.model.parameters()).device
        t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[:, None, :].to(dev)
        return self.model(t)[:, 0].float().cpu().numpy()

    def params(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "device": self.device, "chunk_s": self.chunk_s,
                "context_s": self.context_s, "interpolation": self._interp, "keep_input_band": self.keep_input_band,
                "envelope": self._envelope is not None, "rolloff_guard": self.rolloff_guard,
                "rolloff_headroom_db": self.rolloff_headroom_db, "rolloff_cap": self.rolloff_cap,
                "rolloff_fit_octaves": self.rolloff_fit_octaves, "rolloff_min_slope_db": self.rolloff_min_slope_db}


def keep_input_band(output: np.ndarray, interpolated: np.ndarray, sample_rate: int, cutoff_hz: float,
                    transition_hz: float | None = None) -> np.ndarray:
    """``output`` above ``cutoff_hz`` and ``interpolated`` below it: ``output + LP(interpolated - output)``
    with a zero-phase (odd-length, symmetric) Hann-window FIR low-pass whose -6 dB point is ``cutoff_hz``
    and whose transition band is about ``transition_hz`` wide (default a sixth of the cutoff). As in the
    post-processing of NVSR (H. Liu et al., Interspeech 2022) and AudioSR (H. Liu et al., ICASSP 2024), a
    bandwidth-extension network then only adds the band the input lacks and cannot alter the one it has.

    Shape:
        ``(channels, time)`` twice -> ``(channels, time)`` float32.
    Example:
        >>> x = np.random.default_rng(0).standard_normal((1, 4800)).astype(np.float32)
        >>> bool(np.allclose(keep_input_band(x, x, 48000, 6000.0), x, atol=1e-6))
        True
    """
    width = cutoff_hz / 6 if transition_hz is None else float(transition_hz)
    taps = int(np.ceil(3.3 * sample_rate / width)) | 1  # Hann main lobe: about 3.1 fs / N of transition
    h = signal.firwin(taps, cutoff_hz, window="hann", fs=sample_rate).astype(np.float32)
    diff = np.asarray(interpolated, np.float32) - np.asarray(output, np.float32)
    low = signal.oaconvolve(diff, h[None, :], mode="same", axes=-1)
    return (output + low).astype(np.float32)


@register
@dataclass
class AudioUNetUpsampler(NeuralUpsampler):
    """AudioUNet (Kuleshov, Enam, Ermon 2017) from a checkpoint."""

    name = "audiounet"
    family = "audiounet"
    summary = "AudioUNet: U-Net with subpixel upsampling on the spline-interpolated input (needs --checkpoint)"
    citation = "Kuleshov, Enam, Ermon, Audio Super-Resolution Using Neural Networks, ICLR-W 2017"


@register
@dataclass
class TFiLMUpsampler(NeuralUpsampler):
    """TFiLM U-Net (Birnbaum et al. 2019) from a checkpoint."""

    name = "tfilm"
    family = "tfilm"
    summary = "TFiLM: AudioUNet with temporal feature-wise modulation by an LSTM (needs --checkpoint)"
    citation = "Birnbaum, Kuleshov, Enam, Koh, Ermon, Temporal FiLM, NeurIPS 2019"


@register
@dataclass
class MUGANUpsampler(NeuralUpsampler):
    """MU-GAN generator (Kim and Sathe 2019) from a checkpoint."""

    name = "mugan"
    family = "mugan"
    summary = "MU-GAN: multi-scale conv U-Net GAN with autoencoder feature loss (needs --checkpoint)"
    citation = "Kim, Sathe, Bandwidth Extension on Raw Audio via Generative Adversarial Networks, 2019"


@dataclass
class ChainUpsampler(Upsampler):
    """Neural upsamplers run one after another, each from the rate the one before it made, then
    resampled (sinc) to the target rate: 8 -> 16 -> 48 kHz, or 16 -> 48 -> 44.1 kHz.

    Shape:
        ``(channels, time)`` at ``sample_rate`` -> ``(channels, round(time * target_rate / sample_rate))``.
    """

    name = "chain"  # not registered: AutoUpsampler builds it
    summary = "shipped super-resolution models in sequence"

    stages: list = field(default_factory=list)

    def upsample(self, audio: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
        y, rate = audio, sample_rate
        for stage in self.stages[:-1]:
            y, rate = stage.upsample(y, rate, stage.model_rate), stage.model_rate
        return self.stages[-1].upsample(y, rate, target_rate)  # the last stage resamples to the target

    def params(self) -> dict[str, Any]:
        return {"stages": [s.params() for s in self.stages]}


@register
@dataclass
class AutoUpsampler(Upsampler):
    """The default: for each input, the shipped models that reach its target rate, else band-limited sinc.

    A model serves ``input rate -> target rate`` exactly as trained (8 -> 16 kHz speech, 16 -> 48 kHz
    speech, 22.05 -> 44.1 kHz piano; ``audiorestore models --task upsample``). Other targets are reached
    from a model trained for the input's rate, resampling its output (16 -> 44.1 kHz: the 16 -> 48 kHz
    model, then 48 -> 44.1 kHz) or feeding it to the model trained for its output rate (8 -> 48 kHz:
    8 -> 16, then 16 -> 48; :func:`audiorestore.registry.upsampler_chain`). An input rate no model was
    trained for gets :class:`~audiorestore.superres.baselines.SincUpsampler`, which adds no bandwidth but
    never invents content a model was not trained to make.
    """

    name = "auto"
    summary = "shipped models from the input's rate to the target (audiorestore models --task upsample), else sinc"
    citation = "see the shipped models' cards (audiorestore/pretrained/*.md)"

    device: str = field(default="cpu", metadata=_doc("torch device for the neural models"))
    envelope: bool = field(default=True, metadata=_doc(
        "apply a shipped model's spectral-envelope corrector where it has one; false: its network alone"))
    rolloff_guard: bool = field(default=True, metadata=_doc(
        "cap each model's added band at the input's own extrapolated roll-off (audiorestore.superres.rolloff)"))

    def __post_init__(self) -> None:
        self._cache: dict[tuple[int, int], Upsampler] = {}
        self._names: dict[tuple[int, int], str] = {}   # what choose() picked, for describe()
        self._models: dict[str, NeuralUpsampler] = {}

    def _model(self, name: str) -> NeuralUpsampler:
        if name not in self._models:
            self._models[name] = upsampler_from_checkpoint(name, device=self.device, envelope=self.envelope,
                                                           rolloff_guard=self.rolloff_guard)
        return self._models[name]

    def choose(self, sample_rate: int, target_rate: int) -> Upsampler:
        """The upsampler used for ``sample_rate -> target_rate`` (built once per ratio)."""
        key = (int(sample_rate), int(target_rate))
        if key not in self._cache:
            from .. import registry
            from .baselines import SincUpsampler

            chain = registry.upsampler_chain(*key)
            self._names[key] = " + ".join(m.name for m in chain) or "sinc"
            if not chain:
                log.info("no shipped model starts at %d Hz: using sinc for %d -> %d Hz (adds no bandwidth)",
                         key[0], *key)
                self._cache[key] = SincUpsampler()
            else:
                log.info("using the shipped model(s) %s for %d -> %d Hz", self._names[key], *key)
                stages = [self._model(m.name) for m in chain]
                self._cache[key] = stages[0] if len(stages) == 1 else ChainUpsampler(stages=stages)
        return self._cache[key]

    def upsample(self, audio: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
        return self.choose(sample_rate, target_rate).upsample(audio, sample_rate, target_rate)

    def describe(self, sample_rate: int, target_rate: int) -> str:
        """What runs for ``sample_rate -> target_rate``: the shipped models' names, or ``sinc``.

        Example:
            >>> get_method("auto").describe(8000, 48000)        # doctest: +SKIP
            'upsample_8to16 + upsample_16to48'
        """
        self.choose(sample_rate, target_rate)  # built (and named) once per ratio
        return self._names[(int(sample_rate), int(target_rate))]

    def params(self) -> dict[str, Any]:
        return {"device": self.device, "envelope": self.envelope, "rolloff_guard": self.rolloff_guard}


def upsampler_from_checkpoint(checkpoint: str | Path, **params: Any) -> NeuralUpsampler:
    """The registered upsampler for the family stored in ``checkpoint`` (any upsample family).

    Example:
        >>> up = upsampler_from_checkpoint("runs/tfilm/best.pt", chunk_s=2.0)   # doctest: +SKIP
    """
    from ..registry import resolve, shipped_params
    from ..train.checkpoint import load_package

    fam = str(load_package(resolve(checkpoint))["family"])
    params = {**shipped_params(checkpoint), **params}  # a shipped model's own settings, unless overridden
    cls = next((c for c in (AudioUNetUpsampler, TFiLMUpsampler, MUGANUpsampler) if c.family == fam),
               NeuralUpsampler)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs: dict[str, Any] = {}
    for key, value in params.items():  # strings (CLI --set) are coerced to the field types
        if key not in fields or key == "checkpoint":
            raise ParameterError(f"neural upsamplers have no parameter '{key}' "
                                 f"(parameters: {', '.join(k for k in fields if k != 'checkpoint')})")
        kwargs[key] = coerce_value(value, fields[key].type, key) if isinstance(value, str) else value
    return cls(checkpoint=str(checkpoint), **kwargs)
