"""Sliding windows with overlap, and the cross-fade weights that put overlapping windows back together.

Used by the evaluation datasets (fixed windows over whole files) and by chunked neural inference
(overlap-add with bounded memory).

Example:
    >>> window_starts(10, 4, 3)
    [0, 3, 6]
    >>> crossfade_window(6, fade_in=2, fade_out=0).round(2).tolist()
    [0.15, 0.85, 1.0, 1.0, 1.0, 1.0]
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError


def window_starts(length: int, window: int, hop: int) -> list[int]:
    """Start indices of windows of ``window`` samples every ``hop`` samples that cover ``[0, length)``.

    The last window may run past ``length`` (callers zero-pad it); a signal shorter than one window
    gets a single window at 0.

    Example:
        >>> window_starts(3, 4, 2)
        [0]
        >>> window_starts(8, 4, 4)
        [0, 4]
    """
    if window <= 0 or hop <= 0 or hop > window:
        raise ParameterError(f"need 0 < hop <= window, got window={window}, hop={hop}")
    if length <= window:
        return [0]
    n = int(np.ceil((length - window) / hop)) + 1
    return [i * hop for i in range(n)]


def crossfade_window(length: int, fade_in: int, fade_out: int, guard: int = 0) -> np.ndarray:
    """Ones with a sin^2 fade-in over ``fade_in`` samples and a cos^2 fade-out over ``fade_out``,
    each preceded (fade-in) or followed (fade-out) by ``guard`` zeros.

    A fade-out and the next window's fade-in of the same length and guard sum to exactly one (a Hann
    cross-fade over the middle of an overlap of ``fade + 2 * guard`` samples). The guard drops the
    samples nearest a chunk's edge, where a model lacks context; the first fade-in sample is not
    zero, so overlap-add weights never vanish.

    Shape:
        -> ``(length,)`` float64.
    Example:
        >>> w = crossfade_window(8, 4, 4)
        >>> bool(np.allclose(w[4:] + w[:4], 1.0))
        True
        >>> crossfade_window(6, 2, 0, guard=1).round(2).tolist()
        [0.0, 0.15, 0.85, 1.0, 1.0, 1.0]
    """
    g_in = guard if fade_in else 0
    g_out = guard if fade_out else 0
    if fade_in + fade_out + g_in + g_out > length or min(fade_in, fade_out, guard) < 0:
        raise ParameterError(f"fades ({fade_in} + {fade_out}) and guards do not fit in a window of {length}")
    w = np.ones(length)
    if fade_in:
        w[:g_in] = 0.0
        w[g_in:g_in + fade_in] = np.sin(0.5 * np.pi * (np.arange(fade_in) + 0.5) / fade_in) ** 2
    if fade_out:
        end = length - g_out
        w[end:] = 0.0
        w[end - fade_out:end] = np.cos(0.5 * np.pi * (np.arange(fade_out) + 0.5) / fade_out) ** 2
    return w
