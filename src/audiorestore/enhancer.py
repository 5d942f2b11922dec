"""One protocol for every restoration method, classical or neural, and the registry that names them.

An :class:`Enhancer` is a dataclass whose fields are its parameters. It is called with audio of shape
``(..., time)`` and its sample rate and returns audio of the same shape; channels (and any other
leading axes) are processed independently. The CLI, the benchmark and the Python API list and build
methods through :func:`get_method` / :func:`list_methods`, so Wiener filtering and SEGAN sit side by
side without special cases (STYLE.md point 4).

Example:
    >>> import numpy as np
    >>> from audiorestore.enhancer import get_method
    >>> wiener = get_method("wiener", n_fft=512)
    >>> clean = wiener(np.random.randn(16000).astype("float32"), 16000)   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, TypeVar
from collections.abc import Callable

import numpy as np

from . import catalog
from .config import coerce_value, field_doc
from .errors import AudioInputError, AudioRestoreError, ParameterError

log = logging.getLogger(__name__)


@dataclass
class Enhancer:
    """Base class of all denoisers. Subclasses are dataclasses whose fields are their parameters.

    Override :meth:`enhance_channel` (one channel, float64 ``(time,)``) or, to batch channels,
    :meth:`enhance` (float ``(channels, time)``).

    Shape:
        audio ``(..., time)`` in, same shape out. ``noise`` (optional) is a noise-only recording
        ``(..., time')`` at the same rate: spectral methods estimate the noise from it, adaptive noise
        cancellation uses it as the time-aligned reference input.
    """

    name: ClassVar[str] = ""
    task: ClassVar[str] = "denoise"
    summary: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    #: Rate the method runs at; None runs at the input's rate. Input is resampled to it and back.
    native_rate: ClassVar[int | None] = None
    #: Block length and overlap (seconds) used when a long file is processed piecewise.
    block_s: ClassVar[float] = 60.0
    overlap_s: ClassVar[float] = 1.0
    #: Whether ``noise`` must be a time-aligned reference (ANC) rather than any noise sample.
    needs_reference: ClassVar[bool] = False

    def __call__(self, audio: np.ndarray, sample_rate: int, noise: np.ndarray | None = None) -> np.ndarray:
        audio = np.asarray(audio)
        if audio.ndim == 0 or audio.shape[-1] == 0:
            raise AudioInputError(f"expected audio of shape (..., time), found shape {audio.shape}")
        if not np.all(np.isfinite(audio)):
            raise AudioInputError("audio contains NaN or infinite samples")
        if sample_rate <= 0:
            raise ParameterError(f"sample_rate must be positive, got {sample_rate}")
        lead, n = audio.shape[:-1], audio.shape[-1]
        if not np.any(audio):  # digital silence: restoring it gives silence (no method divides by zero)
            log.debug("%s: the input is digital silence; the output is silence", self.name)
            return np.zeros(audio.shape, dtype=audio.dtype if audio.dtype.kind == "f" else np.float32)
        x = audio.reshape(-1, n)
        ref = None
        if noise is not None:
            noise = np.asarray(noise)
            if not np.all(np.isfinite(noise)):
                raise AudioInputError("noise reference contains NaN or infinite samples")
            ref = noise.reshape(-1, noise.shape[-1])
            if ref.shape[0] not in (1, x.shape[0]):
                raise AudioInputError(
                    f"noise reference has {ref.shape[0]} channels but the audio has {x.shape[0]}")
            if ref.shape[0] == 1 and x.shape[0] > 1:
                ref = np.repeat(ref, x.shape[0], axis=0)
        rate = self.native_rate or sample_rate
        original = x
        if rate != sample_rate:
            from .dsp.resample import resample

            x = resample(x, sample_rate, rate)
            ref = None if ref is None else resample(ref, sample_rate, rate)
        y = self.enhance(x, rate, ref)
        if rate != sample_rate:
            from .dsp.resample import resample

            y = _fit_length(np.asarray(resample(y, rate, sample_rate)), n)
            if rate < sample_rate:
                y = self.above_native_band(original, x, y, sample_rate, rate)
        y = _fit_length(np.asarray(y), n)
        return y.reshape(*lead, n).astype(audio.dtype if audio.dtype.kind == "f" else np.float32, copy=False)

    def above_native_band(self, audio: np.ndarray, native: np.ndarray, enhanced: np.ndarray, sample_rate: int,
                          native_rate: int) -> np.ndarray:
        """The output when the input's rate is above :attr:`native_rate`: ``enhanced`` (the method's
        result, brought back to ``sample_rate``) holds nothing above ``native_rate / 2``. By default
        that band stays empty; a method may put back (a cleaned copy of) the input's own band there.

        Shape:
            ``audio`` and ``enhanced`` ``(channels, time)`` at ``sample_rate``, ``native`` the input
            as the method got it at ``native_rate`` -> ``(channels, time)``.
        """
        return enhanced

    def enhance(self, audio: np.ndarray, sample_rate: int, noise: np.ndarray | None) -> np.ndarray:
        """Enhance ``(channels, time)``; by default one channel at a time."""
        out = np.empty(audio.shape, dtype=np.float64)
        for c in range(audio.shape[0]):
            out[c] = self.enhance_channel(audio[c].astype(np.float64), sample_rate,
                                          None if noise is None else noise[c].astype(np.float64))
        return out

    def enhance_channel(self, x: np.ndarray, sample_rate: int, noise: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must override enhance or enhance_channel")

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Upsampler:
    """Base class of all super-resolution methods (bandwidth extension); fields are parameters.

    Called with audio ``(..., time)`` at ``sample_rate`` and a ``target_rate``; returns
    ``(..., round(time * target_rate / sample_rate))`` at ``target_rate``. Override :meth:`upsample`
    (``(channels, time)`` in, ``(channels, time')`` out).
    """

    name: ClassVar[str] = ""
    task: ClassVar[str] = "upsample"
    summary: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    block_s: ClassVar[float] = 30.0
    overlap_s: ClassVar[float] = 0.5

    def __call__(self, audio: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
        audio = np.asarray(audio)
        if audio.ndim == 0 or audio.shape[-1] == 0:
            raise AudioInputError(f"expected audio of shape (..., time), found shape {audio.shape}")
        if not np.all(np.isfinite(audio)):
            raise AudioInputError("audio contains NaN or infinite samples")
        if sample_rate <= 0 or target_rate <= 0:
            raise ParameterError(f"sample rates must be positive, got {sample_rate} -> {target_rate}")
        lead, n = audio.shape[:-1], audio.shape[-1]
        n_out = int(round(n * target_rate / sample_rate))
        if not np.any(audio):  # digital silence: silence at the new rate
            log.debug("%s: the input is digital silence; the output is silence", self.name)
            return np.zeros((*lead, n_out), dtype=audio.dtype if audio.dtype.kind == "f" else np.float32)
        y = self.upsample(audio.reshape(-1, n), sample_rate, target_rate)
        y = _fit_length(np.asarray(y), n_out)
        return y.reshape(*lead, n_out).astype(audio.dtype if audio.dtype.kind == "f" else np.float32, copy=False)

    def upsample(self, audio: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must override upsample")

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _fit_length(y: np.ndarray, n: int) -> np.ndarray:
    if y.shape[-1] == n:
        return y
    if y.shape[-1] > n:
        return y[..., :n]
    pad = [(0, 0)] * (y.ndim - 1) + [(0, n - y.shape[-1])]
    return np.pad(y, pad)


# --------------------------------------------------------------------------------------- registry
# Built-in methods are not imported to be registered: audiorestore/catalog.py says which module
# defines each name, and method_class() imports that module on first use. _METHODS holds the
# classes loaded so far and the users' own methods (added with @register).
_METHODS: dict[str, type] = {}
E = TypeVar("E", bound=type)


def register(cls: E) -> E:
    """Class decorator adding a method under its ``name`` (must be unique).

    The names of the built-in methods (:data:`audiorestore.catalog.METHODS`) are taken by the classes
    the catalog names, loaded or not.

    Example:
        >>> @register
        ... @dataclass
        ... class Halve(Enhancer):
        ...     name = "halve_doc_example"
        ...     def enhance_channel(self, x, sample_rate, noise):
        ...         return 0.5 * x
        >>> get_method("halve_doc_example")(np.ones(4), 8000).tolist()
        [0.5, 0.5, 0.5, 0.5]
    """
    name = getattr(cls, "name", "")
    if not name:
        raise ValueError(f"{cls.__name__} has no name")
    builtin = catalog.METHODS.get(name) or catalog.PEERS.get(name)
    if builtin is not None and not catalog.defines(builtin, cls):
        raise ValueError(f"method name '{name}' is taken by the built-in method in {builtin} "
                         f"(registering {cls.__module__}.{cls.__qualname__})")
    if name in _METHODS and _METHODS[name] is not cls:
        raise ValueError(f"method name '{name}' is registered twice ({_METHODS[name].__name__}, {cls.__name__})")
    _METHODS[name] = cls
    return cls


def _load(name: str) -> type | None:
    """Import the class of a built-in method or peer named in the catalog; None for an unknown name."""
    if name in catalog.PEERS:  # optional third-party packages: register() says what to install
        return catalog.import_target(catalog.PEERS[name]).register(name)
    where = catalog.METHODS.get(name)
    if where is None:
        return None
    target = catalog.import_target(where)
    cls = _METHODS.get(name) if isinstance(target, ModuleType) else target
    if not isinstance(cls, type) or getattr(cls, "name", None) != name:
        raise AudioRestoreError(f"the catalog places method '{name}' in {where}, which does not define it "
                                "(fix audiorestore/catalog.py)")
    return register(cls)


def list_methods(task: str | None = None) -> list[type]:
    """Method classes (optionally of one task: 'denoise' or 'upsample'), sorted by name: every built-in
    method (this imports them all, torch included) and the ones registered with :func:`register`."""
    for name in catalog.METHODS:
        method_class(name)
    return [c for n, c in sorted(_METHODS.items()) if task is None or c.task == task]


def method_class(name: str) -> type:
    """The class of method ``name``, its module imported on first use."""
    cls = _METHODS.get(name) or _load(name)
    if cls is None:
        known = ", ".join(sorted(set(_METHODS) | set(catalog.METHODS)))
        raise ParameterError(f"unknown method '{name}' (known: {known})")
    return cls


def get_method(name: str, **params: Any) -> Any:
    """Build a registered method with parameters; strings are coerced to the field types (CLI)."""
    cls = method_class(name)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in params.items():
        if key not in fields:
            valid = ", ".join(fields) or "none"
            raise ParameterError(f"method '{name}' has no parameter '{key}' (parameters: {valid})")
        kwargs[key] = coerce_value(value, fields[key].type, key) if isinstance(value, str) else value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"method '{name}': {exc}") from None


@dataclass(frozen=True)
class MethodInfo:
    """What ``audiorestore methods`` shows of a method: read from its class, or from the generated
    listing (:mod:`audiorestore._catalog_listing`) so that listing imports no method module.

    ``params`` rows are ``(parameter, repr of its default or "required", doc)``.
    """

    name: str
    task: str
    summary: str
    citation: str
    params: tuple[tuple[str, str, str], ...]
    #: denoisers: ``(streams, latency or the reason it cannot)`` at 16 kHz, from
    #: :func:`audiorestore.stream.streaming_support`; None for other tasks
    stream: tuple[bool, str] | None = None

    def line(self) -> str:
        """One line: name, summary, parameters with defaults."""
        return f"{self.name:<22} {self.summary}  [{', '.join(f'{p}={d}' for p, d, _ in self.params)}]"


def method_info(cls: type) -> MethodInfo:
    """The :class:`MethodInfo` of a method class."""
    rows = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = repr(f.default_factory())
        else:
            default = "required"
        rows.append((f.name, default, field_doc(f)))
    stream = None
    if cls.task == "denoise":
        from .stream import streaming_support

        stream = streaming_support(cls.name)
    return MethodInfo(cls.name, cls.task, cls.summary, cls.citation, tuple(rows), stream)


def list_method_info(task: str | None = None) -> list[MethodInfo]:
    """:class:`MethodInfo` of every method, sorted by name, without importing the built-in ones: the
    generated listing serves the catalog's methods not loaded yet (a name missing from it is imported)."""
    try:
        from ._catalog_listing import LISTING
    except ImportError:  # pragma: no cover - the generated module is part of the package
        LISTING = {}
    infos: dict[str, MethodInfo] = {}
    for name in catalog.METHODS:
        record = LISTING.get(name) if name not in _METHODS else None
        infos[name] = (MethodInfo(**{**record, "params": tuple(tuple(r) for r in record["params"]),
                                     "stream": None if record.get("stream") is None else tuple(record["stream"])})
                       if record is not None else method_info(method_class(name)))
    for name, cls in list(_METHODS.items()):  # method_info may import (and register) more
        infos.setdefault(name, method_info(cls))
    return [i for _, i in sorted(infos.items()) if task is None or i.task == task]


#: The generated listing module (see :func:`write_method_listing`).
LISTING_FILE = Path(__file__).with_name("_catalog_listing.py")


def build_method_listing() -> dict[str, dict[str, Any]]:
    """What ``audiorestore methods`` shows of every entry of :data:`audiorestore.catalog.METHODS`, read
    from the classes (this imports all of them, torch included)."""
    return {name: dataclasses.asdict(method_info(method_class(name))) for name in sorted(catalog.METHODS)}


def render_method_listing(listing: dict[str, dict[str, Any]]) -> str:
    """The source of :data:`LISTING_FILE` for ``listing``: one method a line, sorted by name."""
    lines = "".join(f"    {name!r}: {listing[name]!r},\n" for name in sorted(listing))
    return ('"""What ``audiorestore methods`` lists, generated from the classes named in catalog.py by\n'
            "``audiorestore methods --write-listing``: do not edit (tests/test_catalog.py checks it is current).\n"
            '"""\n\n'
            f"LISTING = {{\n{lines}}}\n")


def write_method_listing(path: str | os.PathLike | None = None) -> Path:
    """Regenerate the listing module (default :data:`LISTING_FILE`) from the classes, atomically."""
    from .io import write_text_atomic

    return write_text_atomic(LISTING_FILE if path is None else path, render_method_listing(build_method_listing()))


def describe_method(cls: type) -> str:
    """One line: name, summary, parameters with defaults."""
    return method_info(cls).line()


def method_help(cls: type) -> list[tuple[str, str, str]]:
    """(parameter, default, doc) rows for a method."""
    return list(method_info(cls).params)


Factory = Callable[..., Enhancer]
