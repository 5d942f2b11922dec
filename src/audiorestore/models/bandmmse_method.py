"""``bandmmse``: the causal band-GRU log-MMSE (:mod:`.bandmmse`) as an Enhancer that streams.

Unlike the other neural methods, which cut a file into overlapping chunks and run each one separately,
this one runs the model's streaming path (:meth:`~audiorestore.models.bandmmse.BandMMSE.step`) over
the whole signal in blocks of ``stream_block_s``: the noise tracker and the GRU carry their state from
block to block, the result equals one pass over the whole file (to float rounding), and memory stays
bounded by the block length.

Example:
    >>> from audiorestore.enhancer import get_method
    >>> enh = get_method("bandmmse", checkpoint="experiments/denoise_bandmmse/checkpoints/best.pt")  # doctest: +SKIP
    >>> clean = enh(noisy, 16000)                                                                      # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch

from ..enhancer import register
from ..errors import ParameterError
from .neural import NeuralDenoiser, _doc
from .registry import get_family


@register
@dataclass
class BandMMSEDenoiser(NeuralDenoiser):
    """Trained band-GRU log-MMSE, run frame-recursively over the whole signal (module docstring)."""

    name: ClassVar[str] = "bandmmse"
    family: ClassVar[str | None] = "bandmmse"
    summary: ClassVar[str] = ("causal band-GRU correction of a frame-recursive log-MMSE (neural, streams; "
                              "--checkpoint PATH or the shipped model)")
    citation: ClassVar[str] = get_family("bandmmse").citation

    stream_block_s: float = field(default=4.0, metadata=_doc("samples per streaming step (seconds)"))

    def __post_init__(self) -> None:
        if self.stream_block_s <= 0:
            raise ParameterError(f"stream_block_s must be positive, got {self.stream_block_s}")
        super().__post_init__()

    def enhance(self, audio: np.ndarray, sample_rate: int, noise: np.ndarray | None) -> np.ndarray:
        model = self.load()
        hop = model.config.hop_length
        block = max(int(round(self.stream_block_s * sample_rate / hop)), 1) * hop
        x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[:, None]  # (C, 1, T)
        n = x.shape[-1]
        x = torch.nn.functional.pad(x, (0, -n % hop))
        state = model.init_state(x.shape[0])
        with torch.no_grad():
            parts = [model.step(x[..., s:s + block].to(self._device), state) for s in range(0, x.shape[-1], block)]
            parts.append(model.flush(state))
        y = torch.cat(parts, dim=-1)[..., model.latency:model.latency + n]
        return y[:, 0].cpu().numpy().astype(np.float32)
