"""Compute cost of a model: multiply-accumulates (MACs) per second of audio and CPU real-time factor.

MACs are counted with forward hooks on ``Conv1d``/``Conv2d`` (and their transposes), ``Linear``,
``GRU``, ``LSTM`` and ``RNN``: the layers that hold the cost of every family here. Element-wise
operations, activations, normalisation and the FFTs of ``torch.stft`` are not counted (an FFT frame
costs about ``2.5 n_fft log2 n_fft`` real multiplies, small next to the layers).

Example:
    >>> import torch
    >>> from torch import nn
    >>> count_macs(nn.Conv1d(1, 4, 3, padding=1), torch.zeros(1, 1, 100))
    1200
"""

from __future__ import annotations

import copy
import math
import time

import torch
from torch import Tensor, nn

from ..errors import ParameterError

_RNN_GATES = {nn.GRU: 3, nn.LSTM: 4, nn.RNN: 1}


def _module_macs(module: nn.Module, inputs: tuple, output: object) -> int:
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        k = math.prod(module.kernel_size) * module.in_channels // module.groups
        return int(output.numel()) * k  # type: ignore[union-attr]
    if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d)):
        k = math.prod(module.kernel_size) * module.out_channels // module.groups
        return int(inputs[0].numel()) * k
    if isinstance(module, nn.Linear):
        return int(output.numel()) * module.in_features  # type: ignore[union-attr]
    for cls, gates in _RNN_GATES.items():
        if isinstance(module, cls):
            x = inputs[0]
            if not isinstance(x, Tensor):
                raise ParameterError("count_macs does not support PackedSequence inputs")
            steps = x.shape[0] * x.shape[1] if x.dim() == 3 else x.shape[0]
            h = module.hidden_size
            dirs = 2 if module.bidirectional else 1
            total, in_size = 0, module.input_size
            for _ in range(module.num_layers):
                total += dirs * gates * (in_size * h + h * h)
                in_size = h * dirs
            return int(steps) * total
    return 0


def count_macs(model: nn.Module, *inputs: Tensor) -> int:
    """MACs of one forward pass of ``model`` on ``inputs`` (all batch items together).

    Shape:
        inputs as ``model`` takes them, e.g. ``(B, 1, T)``.

    Example:
        >>> count_macs(nn.Linear(10, 5), torch.zeros(3, 10))
        150
    """
    total = 0

    def hook(module: nn.Module, args: tuple, output: object) -> None:
        nonlocal total
        total += _module_macs(module, args, output)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
                                 nn.Linear, nn.GRU, nn.LSTM, nn.RNN))]
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
    return total


def macs_per_second(model: nn.Module, sample_rate: int, seconds: float = 1.0, meta: bool = True) -> float:
    """MACs per second of audio for a ``(1, 1, T)`` waveform model, measured on ``seconds`` of audio.

    With ``meta=True`` a copy runs on the ``meta`` device (shapes only, no arithmetic: fast for big
    models, though the first call imports part of torch's compiler stack); models with an operation
    that has no meta kernel (``torch.stft``) then run on CPU, as they do with ``meta=False``.

    Example:
        >>> macs_per_second(nn.Conv1d(1, 1, 5, padding=2), 16000, meta=False)
        80000.0
    """
    n = int(round(seconds * sample_rate))
    if meta:
        try:
            return count_macs(copy.deepcopy(model).to("meta"), torch.zeros(1, 1, n, device="meta")) / seconds
        except (NotImplementedError, RuntimeError):
            pass
    macs = count_macs(model, torch.zeros(1, 1, n))
    return macs / seconds


def real_time_factor(model: nn.Module, sample_rate: int, seconds: float = 10.0, threads: int = 1,
                     repeats: int = 3, seed: int = 0) -> float:
    """Processing time over audio duration (best of ``repeats``) on CPU with ``threads`` threads.

    The model runs in eval mode under ``torch.inference_mode`` on white noise; one untimed warm-up
    call comes first. The global thread count is restored afterwards.

    Example:
        >>> rtf = real_time_factor(nn.Conv1d(1, 1, 3, padding=1), 16000, seconds=1.0)   # doctest: +SKIP
    """
    n = int(round(seconds * sample_rate))
    x = torch.randn(1, 1, n, generator=torch.Generator().manual_seed(seed))
    previous = torch.get_num_threads()
    was_training = model.training
    torch.set_num_threads(threads)
    model.eval()
    try:
        with torch.inference_mode():
            model(x)
            best = math.inf
            for _ in range(repeats):
                start = time.perf_counter()
                model(x)
                best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(previous)
        model.train(was_training)
    return best / seconds
