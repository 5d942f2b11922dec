"""Neural inference: trained denoisers as :class:`~audiorestore.enhancer.Enhancer` methods.

:class:`NeuralDenoiser` loads a checkpoint (a file written by training, or a pretrained model name
from :mod:`audiorestore.registry`), resamples the input to the model's rate and back (the Enhancer
protocol does that through :attr:`NeuralDenoiser.native_rate`), processes every channel, and splits
long signals into overlapping chunks whose outputs are cross-faded (overlap-add), so memory is
bounded by the chunk size whatever the input length.

Every registered denoising model family also gets a method named after it (``segan``, ``fcn``...),
so ``audiorestore denoise IN -o OUT --method segan --checkpoint PATH`` works for every family and
``audiorestore methods`` lists them.

Example:
    >>> from audiorestore.enhancer import get_method
    >>> enh = get_method("neural", checkpoint="experiments/fcn/checkpoints/best.pt")   # doctest: +SKIP
    >>> clean = enh(noisy, 44100)        # any rate, any shape (..., time)               # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.windows import crossfade_window, window_starts
from ..enhancer import Enhancer, register
from ..errors import AudioInputError, AudioRestoreError, ParameterError
from .registry import get_family, list_families

log = logging.getLogger(__name__)


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


def _inner(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def _accepts(model: nn.Module, name: str) -> bool:
    try:
        return name in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False


def forward_any_length(model: nn.Module, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Run a waveform model on any length: zero-pad to ``model.valid_length(T)``, crop the output to ``T``.

    ``generator`` is passed on to models whose ``forward`` takes one (latent codes drawn during
    training, e.g. SEGAN's z); a DistributedDataParallel wrapper is looked through.

    Shape:
        x ``(batch, channels, time)`` -> ``(batch, channels, time)``.
    Example:
        >>> conv = nn.Conv1d(1, 1, 3, padding=1)
        >>> forward_any_length(conv, torch.zeros(2, 1, 37)).shape
        torch.Size([2, 1, 37])
    """
    if x.dim() != 3:
        raise AudioInputError(f"expected a waveform batch (batch, channels, time), found shape {tuple(x.shape)}")
    inner = _inner(model)
    n = x.shape[-1]
    valid = getattr(inner, "valid_length", None)
    m = int(valid(n)) if callable(valid) else n
    if m < n:
        raise AudioRestoreError(f"{type(inner).__name__}.valid_length({n}) returned {m} < {n}")
    if m > n:
        x = F.pad(x, (0, m - n))
    kwargs = {"generator": generator} if generator is not None and _accepts(inner, "generator") else {}
    y = model(x, **kwargs)
    if not isinstance(y, torch.Tensor) or y.dim() != 3 or y.shape[0] != x.shape[0] or y.shape[-1] < n:
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise AudioRestoreError(f"{type(inner).__name__} returned {shape} for input {tuple(x.shape)}; "
                                "denoisers must map (B, 1, T) to (B, 1, T)")
    return y[..., :n]


@torch.inference_mode()
def chunked_inference(model: nn.Module, audio: np.ndarray, chunk: int, overlap: int,
                      device: torch.device | str = "cpu", batch_size: int = 8) -> np.ndarray:
    """Apply a waveform model to ``(channels, time)`` in overlapping chunks, cross-faded.

    Chunks of ``chunk`` samples start every ``chunk - overlap`` samples (the last one is shorter and
    not padded, so the end of the signal is treated as in one whole pass). In each overlap the
    ``overlap // 4`` samples nearest each chunk's edge are dropped and the middle half is a Hann
    (sin^2 / cos^2) cross-fade. The result therefore equals one pass over the whole signal for any
    shift-invariant model whose receptive field reaches at most ``overlap // 4`` samples to either
    side, and memory is bounded by the chunk size. Channels and chunks go through the model
    ``batch_size`` at a time.

    Shape:
        audio ``(channels, time)`` -> ``(channels, time)`` float32.
    Example:
        >>> conv = nn.Conv1d(1, 1, 5, padding=2)
        >>> chunked_inference(conv, np.zeros((2, 1000), np.float32), chunk=256, overlap=32).shape
        (2, 1000)
    """
    if audio.ndim != 2:
        raise AudioInputError(f"expected audio of shape (channels, time), found {audio.shape}")
    if not 0 <= overlap < chunk:
        raise ParameterError(f"need 0 <= overlap < chunk, got overlap={overlap}, chunk={chunk}")
    channels, n = audio.shape
    starts = window_starts(n, chunk, chunk - overlap) if n > chunk else [0]
    guard = overlap // 4
    fade = overlap - 2 * guard
    out = np.zeros((channels, n), dtype=np.float64)
    weight = np.zeros(n, dtype=np.float64)
    # jobs of equal length batch together: every full chunk, then the (shorter) last one
    jobs = [(s, c) for s in starts for c in range(channels)]
    groups: dict[int, list[tuple[int, int]]] = {}
    for s, c in jobs:
        groups.setdefault(min(chunk, n - s), []).append((s, c))
    for length, todo in groups.items():
        for b in range(0, len(todo), max(1, batch_size)):
            group = todo[b:b + batch_size]
            x = np.stack([audio[c, s:s + length] for s, c in group])[:, None].astype(np.float32)
            y = forward_any_length(model, torch.from_numpy(x).to(device)).float().cpu().numpy()
            for i, (s, c) in enumerate(group):
                w = crossfade_window(length, fade if s > 0 else 0, fade if s != starts[-1] else 0, guard)
                out[c, s:s + length] += y[i, 0] * w
                if c == 0:
                    weight[s:s + length] += w
    return (out / weight).astype(np.float32)


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is checked and returned."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ParameterError(f"unknown device '{device}' (use cpu, cuda, cuda:N or auto)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device '{device}' requested but CUDA is not available")
    return dev


def load_checkpoint_or_pretrained(checkpoint: str, device: torch.device | str = "cpu"
                                  ) -> tuple[nn.Module, dict[str, Any]]:
    """A model from a checkpoint path or a pretrained model name; returns ``(model, metadata)``."""
    from .. import registry
    from ..train.checkpoint import load_model

    if Path(checkpoint).exists():
        return load_model(checkpoint, device)
    if checkpoint in registry.names():
        return registry.load(checkpoint, device)
    raise ParameterError(f"checkpoint '{checkpoint}' is neither a file nor a pretrained model name "
                         "(see 'audiorestore models')")


@dataclass
class NeuralDenoiser(Enhancer):
    """A trained waveform denoiser of any family, from ``checkpoint`` (a path or a pretrained name)."""

    name: ClassVar[str] = "neural"
    summary: ClassVar[str] = "trained neural denoiser of any family (--checkpoint PATH or pretrained name)"
    #: The family a per-family method accepts (None: any denoising family).
    family: ClassVar[str | None] = None
    block_s: ClassVar[float] = 60.0
    overlap_s: ClassVar[float] = 1.0

    checkpoint: str = field(default="", metadata=_doc("checkpoint file or pretrained model name"))
    device: str = field(default="cpu", metadata=_doc("torch device: cpu, cuda, cuda:N, auto"))
    chunk_s: float = field(default=4.0, metadata=_doc("model input length; longer audio is chunked"))
    chunk_overlap_s: float = field(default=0.5,
                                   metadata=_doc("overlap between chunks (edges dropped, middle cross-faded)"))
    batch_size: int = field(default=8, metadata=_doc("chunks x channels per forward pass"))
    high_band: str = field(default="logmmse", metadata=_doc(
        "input above the model's band (a 48 kHz file into a 16 kHz model): 'drop' it, 'keep' it as it "
        "is, or clean it with a classical method (e.g. logmmse, wiener)"))

    def __post_init__(self) -> None:
        if self.high_band not in ("drop", "keep"):
            from ..enhancer import method_class

            cls = method_class(self.high_band)
            if cls.task != "denoise" or issubclass(cls, NeuralDenoiser) or cls.needs_reference:
                raise ParameterError(f"high_band must be 'drop', 'keep' or a classical denoiser, "
                                     f"got '{self.high_band}'")
        if self.chunk_s <= 0 or not 0 <= self.chunk_overlap_s < self.chunk_s:
            raise ParameterError(f"need chunk_s > 0 and 0 <= chunk_overlap_s < chunk_s, "
                                 f"got {self.chunk_s}, {self.chunk_overlap_s}")
        if self.batch_size < 1:
            raise ParameterError(f"batch_size must be at least 1, got {self.batch_size}")
        if not self.checkpoint:
            from .. import registry

            default = registry.default_for(self.family) if self.family else None
            if default is None:
                what = f"'{self.name}'" if self.family else "neural methods"
                raise ParameterError(f"{what} need a trained model: pass --checkpoint PATH or "
                                     "--set checkpoint=NAME (see 'audiorestore models')")
            self.checkpoint = default.name
        self._model: nn.Module | None = None
        self._meta: dict[str, Any] = {}
        self._device = resolve_device(self.device)

    def load(self) -> nn.Module:
        """Load the model once (on first use); check that it is a denoiser of this method's family."""
        if self._model is None:
            model, meta = load_checkpoint_or_pretrained(self.checkpoint, self._device)
            family = meta.get("family")
            if self.family is not None and family != self.family:
                raise ParameterError(f"checkpoint '{self.checkpoint}' holds a '{family}' model, not "
                                     f"'{self.family}' (use --method {family})")
            task = get_family(family).task
            if task != "denoise":
                raise ParameterError(f"checkpoint '{self.checkpoint}' holds a '{task}' model, not a denoiser")
            self._model, self._meta = model.eval(), meta
            log.info("loaded %s model from %s (%d Hz)", family, self.checkpoint, meta["sample_rate"])
        return self._model

    @property
    def native_rate(self) -> int:  # type: ignore[override]
        """The rate the model was trained at (input is resampled to it and back)."""
        self.load()
        return int(self._meta["sample_rate"])

    def above_native_band(self, audio: np.ndarray, native: np.ndarray, enhanced: np.ndarray, sample_rate: int,
                          native_rate: int) -> np.ndarray:
        """Band split for inputs above the model's rate: the model's output below ``native_rate / 2``
        plus the input's own upper band (the input minus its band-limited copy, the same resampler
        both ways, so with an identity model the sum is the input), dropped, kept or cleaned by
        :attr:`high_band`."""
        if self.high_band == "drop":
            return enhanced
        from ..dsp.resample import resample
        from ..enhancer import _fit_length, get_method

        low = resample(np.asarray(native, dtype=np.float64), native_rate, sample_rate)
        high = np.asarray(audio, dtype=np.float64) - _fit_length(low, audio.shape[-1])
        if self.high_band != "keep":
            high = get_method(self.high_band)(high, sample_rate)
        return enhanced + high

    def enhance(self, audio: np.ndarray, sample_rate: int, noise: np.ndarray | None) -> np.ndarray:
        model = self.load()
        chunk = max(int(round(self.chunk_s * sample_rate)), 16)
        overlap = min(int(round(self.chunk_overlap_s * sample_rate)), chunk // 2)
        x = np.asarray(audio, dtype=np.float32)
        level = trained_level_db(self._meta)
        # a model trained at a fixed input level gets the whole signal scaled there once (not per chunk,
        # which would make chunks disagree), and its output scaled back
        gain = level_gain(x, level) if level is not None else np.ones((x.shape[0], 1), np.float32)
        y = chunked_inference(model, x * gain, chunk, overlap, self._device, self.batch_size)
        return y / gain


def trained_level_db(meta: dict[str, Any]) -> float | None:
    """The input level (dBFS RMS) a checkpoint was trained at: the middle of its ``data.level_db``
    range, or None when it was trained on the files' own levels."""
    level = (((meta.get("extra") or {}).get("experiment") or {}).get("data") or {}).get("level_db") or []
    return float(np.mean(level)) if len(level) == 2 else None


def level_gain(x: np.ndarray | torch.Tensor, level_db: float):
    """Per-row gain that brings the RMS of ``x`` ``(..., time)`` to ``level_db`` dBFS (1 for silence)."""
    target = 10 ** (level_db / 20)
    if isinstance(x, torch.Tensor):
        rms = x.double().pow(2).mean(dim=-1, keepdim=True).sqrt()
        return torch.where(rms > 0, target / rms.clamp_min(1e-12), torch.ones_like(rms)).to(x.dtype)
    rms = np.sqrt(np.mean(np.square(x, dtype=np.float64), axis=-1, keepdims=True))
    return np.where(rms > 0, target / np.maximum(rms, 1e-12), 1.0).astype(np.float32)


_FAMILY_METHODS: dict[str, type] = {}
#: Families whose module registered its own method under the family name.
_OWN_METHODS: set[str] = set()


def family_method(family: str) -> type:
    """The Enhancer class of a denoising family (``--method <family>``), created on first request."""
    if family in _FAMILY_METHODS:
        return _FAMILY_METHODS[family]
    spec = get_family(family)
    cls = type(f"{family.title().replace('_', '')}Denoiser", (NeuralDenoiser,), {
        "__module__": __name__,
        "__doc__": f"Trained '{family}' model ({spec.summary or spec.model_cls.__name__}) from a checkpoint.",
        "name": family, "family": family,
        "summary": f"{spec.summary or spec.model_cls.__name__} (neural; --checkpoint PATH)",
        "citation": spec.citation,
    })
    _FAMILY_METHODS[family] = cls
    return cls


def register_family_methods() -> list[str]:
    """Register a method for every denoising family not registered yet; returns the new names."""
    added = []
    from .. import catalog

    for spec in list_families("denoise"):
        if spec.name in _FAMILY_METHODS or spec.name in _OWN_METHODS:
            continue
        if catalog.METHODS.get(spec.name, __name__) != __name__:  # the family has an Enhancer of its own
            _OWN_METHODS.add(spec.name)
            continue
        try:
            register(family_method(spec.name))
            added.append(spec.name)
        except ValueError:  # the family module registered its own Enhancer (e.g. a fitting loop)
            _FAMILY_METHODS.pop(spec.name, None)
            _OWN_METHODS.add(spec.name)
            log.debug("method '%s' already registered; not adding the checkpoint wrapper", spec.name)
    return added


register(NeuralDenoiser)
register_family_methods()
