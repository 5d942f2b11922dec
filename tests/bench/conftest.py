"""Tiny synthetic benchmark datasets generated in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import speechlike

SR = 16000


def make_pairs(root: Path, n_items: int = 4, seconds: float = 1.0, ext: str = ".wav", with_noise: bool = False,
               clean_ext: str | None = None) -> Path:
    """``root/noisy`` + ``root/clean`` (+ ``root/noise``): speech-like tones in white noise at 5 dB SNR."""
    rng = np.random.default_rng(1)
    n = int(seconds * SR)
    for k in range(n_items):
        clean = speechlike(n, SR, seed=k)
        noise = rng.standard_normal(n).astype(np.float32)
        noise *= np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2) / 10 ** 0.5)
        rel = Path(f"g{k % 2}") / f"utt{k}"
        for sub, x, e in (("clean", clean, clean_ext or ext), ("noisy", clean + noise, ext), ("noise", noise, ext)):
            if sub == "noise" and not with_noise:
                continue
            p = root / sub / rel.with_suffix(e)
            p.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(p), x, SR)
    return root


def make_manifest(root: Path, n_items: int = 3) -> Path:
    """A pair manifest (the ``audiorestore degrade`` format) over a paired folder, paths relative."""
    make_pairs(root, n_items, with_noise=True)
    lines = []
    for p in sorted((root / "noisy").rglob("*.wav")):
        rel = p.relative_to(root / "noisy")
        lines.append({"id": rel.with_suffix("").as_posix(), "clean": f"clean/{rel.as_posix()}",
                      "noisy": f"noisy/{rel.as_posix()}", "noise": f"noise/{rel.as_posix()}", "sample_rate": SR})
    mf = root / "manifest.jsonl"
    mf.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return mf


@pytest.fixture
def pairs(tmp_path: Path) -> Path:
    return make_pairs(tmp_path / "pairs")
