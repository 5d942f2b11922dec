"""``dnp``: Deep Network Prior denoising as an :class:`~audiorestore.enhancer.Enhancer`.

Each call runs the per-file fitting loop of :mod:`audiorestore.train.prior` (Michelashvili & Wolf,
arXiv:1904.07612): no training data and no weights; the cost is ``iterations`` forward/backward passes
of the prior network per channel and block, so long files are processed in short blocks
(``block_s`` = 10 s), each fitted separately.

Example:
    >>> from audiorestore.enhancer import get_method
    >>> dnp = get_method("dnp", iterations=300)
    >>> clean = dnp(noisy, 16000)                                     # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..enhancer import Enhancer, register
from .dnp import CITATION, DNPConfig


def _doc(text: str) -> dict:
    return {"doc": text}


@register
@dataclass
class DNPEnhancer(Enhancer):
    """Fit a Wave-U-Net to the noisy block; mask the bins whose fitted spectrum keeps fluctuating."""

    name: ClassVar[str] = "dnp"
    summary: ClassVar[str] = "Deep Network Prior: per-file network fit, fluctuation-based spectral mask (unsupervised)"
    citation: ClassVar[str] = CITATION
    block_s: ClassVar[float] = 10.0
    overlap_s: ClassVar[float] = 0.5

    iterations: int = field(default=1000, metadata=_doc("fitting steps per block (the authors: 1000)"))
    lr: float = field(default=1e-3, metadata=_doc("Adam learning rate"))
    seed: int = field(default=0, metadata=_doc("seed of the network weights and of its random input"))
    device: str = field(default="cpu", metadata=_doc("torch device for the fit, e.g. cpu or cuda"))
    n_layers: int = field(default=12, metadata=_doc("Wave-U-Net levels (fewer is faster)"))
    base_channels: int = field(default=24, metadata=_doc("channels of the first level"))
    win_ms: float = field(default=64.0, metadata=_doc("STFT window length (n_fft = win_ms * rate)"))
    hop_ms: float = field(default=16.0, metadata=_doc("STFT hop"))
    start_iteration: int = field(default=50, metadata=_doc("first iteration whose output is accumulated"))
    statistic: str = field(default="difference",
                           metadata=_doc("difference (paper: summed relative change) or variation (std/mean)"))
    low_percentile: float = field(default=1.0, metadata=_doc("fluctuation clipped below this percentile"))
    high_percentile: float = field(default=50.0, metadata=_doc("fluctuation clipped above this percentile"))
    residual: float = field(default=0.05, metadata=_doc("mask floor"))

    def __post_init__(self) -> None:
        if self.iterations <= self.start_iteration + 1:
            raise ValueError(f"iterations ({self.iterations}) must exceed start_iteration + 1")
        if not 0 <= self.low_percentile < self.high_percentile <= 100:
            raise ValueError("need 0 <= low_percentile < high_percentile <= 100")
        if self.hop_ms <= 0 or self.win_ms < self.hop_ms:
            raise ValueError(f"need 0 < hop_ms <= win_ms, got {self.hop_ms} and {self.win_ms}")
        DNPConfig(n_layers=self.n_layers, base_channels=self.base_channels)  # validates

    def enhance_channel(self, x: np.ndarray, sample_rate: int, noise: np.ndarray | None) -> np.ndarray:
        from ..train.prior import dnp_denoise  # torch-heavy: imported on first use

        n_fft = max(16, int(round(self.win_ms * sample_rate / 1000)))
        hop = max(1, int(round(self.hop_ms * sample_rate / 1000)))
        if x.shape[0] < 2 * hop or not np.any(x):
            return x.copy()  # too short to frame, or a silent block: nothing to fit
        cfg = DNPConfig(n_layers=self.n_layers, base_channels=self.base_channels)
        return dnp_denoise(x, sample_rate, cfg, iterations=self.iterations, lr=self.lr, seed=self.seed,
                           n_fft=n_fft, hop_length=hop, device=self.device, start_iteration=self.start_iteration,
                           statistic=self.statistic, low_percentile=self.low_percentile,
                           high_percentile=self.high_percentile, residual=self.residual)
