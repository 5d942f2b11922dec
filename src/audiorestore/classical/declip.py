"""De-clipping: detect hard-clipped samples and re-estimate them with the A-SPADE algorithm.

Hard clipping (an overdriven converter) replaces every sample beyond a level ``theta`` by ``theta``.
The samples below it are *reliable*; the clipped ones are only known to lie at or beyond ``theta``.
Declipping fills them in with a signal that is sparse in a time-frequency representation and
*consistent* with the clipping: equal to the input where it was reliable, beyond the threshold where
it was clipped (A. Adler et al., "Audio inpainting", IEEE TASLP 20(3), 2012, sec. V).

The estimator here is A-SPADE, the analysis (cosparse) version of the SParse Audio DEclipper of
S. Kitić, N. Bertin and R. Gribonval, "Sparsity and cosparsity for audio declipping: a flexible
non-convex approach", LVA/ICA 2015, Algorithm 2, with the implementation choices of P. Záviška,
P. Rajmic, O. Mokrý and Z. Průša, "A proper version of synthesis-based sparse audio declipper",
ICASSP 2019 and of the SPADE toolbox that accompanies the survey P. Záviška et al., "A survey and an
extensive evaluation of popular audio declipping methods", IEEE JSTSP 15(1), 2021: the signal is cut
into Hann-windowed frames (75 % overlap), each frame is solved in an oversampled DFT (redundancy 2,
a Parseval tight frame), the sparsity ``k`` grows by ``s`` every ``r`` iterations, and the frames
are overlap-added. Per frame, with ``A`` the analysis operator, ``Gamma`` the consistent set and
``H_k`` hard thresholding to the ``k`` largest coefficients (conjugate pairs counted once)::

    z = H_k(A x + u)                      # sparsest approximation of the current estimate
    x = proj_Gamma(A^H (z - u))           # closest consistent signal (exact because A^H A = I)
    stop when ||A x - z||_2 <= epsilon
    u = u + A x - z                       # ADMM dual update

Only frames that contain clipped samples are solved (in batches, vectorised over frames); the
reliable samples of the output are the input's, bit for bit.

Example:
    >>> import numpy as np
    >>> t = np.arange(8000) / 8000
    >>> x = np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 530 * t)
    >>> y = np.clip(x, -0.9, 0.9)
    >>> det = detect_clipping(y)
    >>> round(det.fraction, 3), det.high, det.low
    (0.305, 0.9, -0.9)
    >>> restored = get_method("declip")(y, 8000)
    >>> bool(np.all(restored[~det.mask] == y[~det.mask]))
    True
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy import fft as sfft
from scipy.signal import get_window

from ..enhancer import Enhancer, get_method, register  # noqa: F401  (get_method: the doctest)

log = logging.getLogger(__name__)


def _doc(text: str) -> dict:
    return {"doc": text}


# ------------------------------------------------------------------------------------ detection
@dataclass(frozen=True)
class ClipDetection:
    """Where a signal is clipped: the levels and the masks of the samples at them.

    ``high`` / ``low`` are the positive and negative clipping levels (None where that side is not
    clipped; they differ when the clipped signal carried a DC offset). ``mask`` marks every clipped
    sample, ``positive`` those at ``high``, ``negative`` those at ``low``.

    Shape:
        masks ``(time,)`` bool.
    """

    high: float | None
    low: float | None
    positive: np.ndarray
    negative: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        return self.positive | self.negative

    @property
    def fraction(self) -> float:
        """Fraction of samples that are clipped."""
        return float(np.mean(self.mask)) if self.mask.size else 0.0

    @property
    def clipped(self) -> bool:
        return bool(self.mask.any())


def _runs(mask: np.ndarray) -> np.ndarray:
    """Lengths of the runs of True in a 1-D bool mask."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(d == -1) - np.flatnonzero(d == 1)


def _level_mask(x: np.ndarray, level: float, side: int, rel_tol: float, min_runs: int, min_run: int) -> np.ndarray:
    tol = rel_tol * abs(level)
    mask = x >= level - tol if side > 0 else x <= level + tol
    runs = _runs(mask)
    # A natural peak reaches its maximum once; a converter at full scale holds it, over and over:
    # at least ``min_runs`` runs of ``min_run`` or more (nearly) equal samples at the extreme level.
    if np.count_nonzero(runs >= min_run) < min_runs:
        return np.zeros_like(mask)
    return mask


def clipping_at(x: np.ndarray, high: float | None, low: float | None, rel_tol: float = 1e-4) -> ClipDetection:
    """The samples of ``x`` at or beyond known clipping levels (within ``rel_tol``; None: that side
    is not clipped), e.g. levels :func:`detect_clipping` found on a whole file, applied to one block.

    Shape:
        ``(time,)`` -> :class:`ClipDetection`.
    """
    x = np.asarray(x, dtype=np.float64)
    none = np.zeros(x.shape, dtype=bool)
    pos = x >= high - rel_tol * abs(high) if high is not None else none
    neg = x <= low + rel_tol * abs(low) if low is not None else none
    return ClipDetection(high if pos.any() else None, low if neg.any() else None, pos, neg)


def detect_clipping(x: np.ndarray, rel_tol: float = 1e-4, min_runs: int = 3, min_run: int = 2) -> ClipDetection:
    """Find the hard-clipped samples of one channel from its extreme levels and runs of equal samples.

    The candidate levels are the signal's maximum and minimum; a level counts as a clipping level
    when the samples within ``rel_tol`` of it form at least ``min_runs`` runs of ``min_run`` or more
    consecutive samples (histogram-spike detectors look for the same thing: mass piled up at the
    extremes, Záviška et al. 2021, sec. II). Soft clipping and clipping followed by a lossy codec
    leave no flat runs and are not detected.

    Shape:
        ``(time,)`` -> :class:`ClipDetection` with ``(time,)`` masks.
    Example:
        >>> detect_clipping(np.array([0.0, 0.5, 0.5, 0.1, 0.5, 0.5, -0.2, 0.5, 0.5, 0.0])).high
        0.5
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected one channel of shape (time,), found shape {x.shape}")
    empty = np.zeros(x.shape, dtype=bool)
    if x.size == 0 or not np.any(x):
        return ClipDetection(None, None, empty, empty)
    hi, lo = float(x.max()), float(x.min())
    pos = _level_mask(x, hi, +1, rel_tol, min_runs, min_run) if hi > 0 else empty
    neg = _level_mask(x, lo, -1, rel_tol, min_runs, min_run) if lo < 0 else empty
    return ClipDetection(hi if pos.any() else None, lo if neg.any() else None, pos, neg)


# ------------------------------------------------------------------------------------- A-SPADE
def _hard_threshold(c: np.ndarray, k: int) -> np.ndarray:
    """Keep the ``k`` largest-magnitude coefficients of each row (``H_k``), zero the rest."""
    mag = np.abs(c)
    if k >= mag.shape[-1]:
        return c
    kth = np.partition(mag, mag.shape[-1] - k, axis=-1)[:, mag.shape[-1] - k]
    return np.where(mag >= kth[:, None], c, 0)


def aspade_frames(y: np.ndarray, low: np.ndarray, high: np.ndarray, *, redundancy: int = 2, s: int = 1,
                  r: int = 1, epsilon: float = 0.1, max_iter: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """A-SPADE (Kitić et al. 2015, Algorithm 2) on a batch of frames, vectorised over frames.

    ``y`` holds the (windowed) observed frames; the consistent set is ``low <= x <= high`` sample by
    sample (``low == high == y`` on reliable samples, ``high = +inf`` on samples clipped at the top,
    ``low = -inf`` at the bottom). The analysis operator is the DFT of the frame zero-padded to
    ``redundancy * w`` samples (rounded up to a fast FFT length) with orthonormal scaling (so
    ``A^H A = I``); coefficients are kept as the half spectrum and the thresholding counts a conjugate
    pair once, as the SPADE toolbox does. Frames that converge leave the batch.

    Shape:
        ``(frames, w)`` each -> (estimate ``(frames, w)``, iterations used per frame ``(frames,)``).
    """
    f, w = np.shape(y)
    m = sfft.next_fast_len(redundancy * w, real=True)  # a tight frame for any m >= w; fast FFT sizes
    weight = np.full(m // 2 + 1, 2.0, dtype=np.float32)
    weight[0] = 1.0
    if m % 2 == 0:
        weight[-1] = 1.0  # the Parseval norm of a half spectrum: pairs count twice, DC and Nyquist once

    def analysis(x: np.ndarray) -> np.ndarray:
        return sfft.rfft(x, n=m, axis=-1, norm="ortho")

    def synthesis(c: np.ndarray) -> np.ndarray:
        return sfft.irfft(c, n=m, axis=-1, norm="ortho")[:, :w]

    # single precision: the iterations stop at epsilon = 0.1 on a peak-1 scale, far above its rounding
    lo, hi = np.asarray(low, np.float32), np.asarray(high, np.float32)
    out = np.clip(np.asarray(y, np.float32), lo, hi)
    iters = np.zeros(f, dtype=int)
    # the working set: frames still iterating (compacted whenever some converge)
    rows = np.arange(f)
    x, lo_a, hi_a = out.copy(), lo, hi
    ax = analysis(x)
    u = np.zeros_like(ax)
    k = s
    for i in range(1, max_iter + 1):
        z = _hard_threshold(ax + u, k)
        x = np.clip(synthesis(z - u), lo_a, hi_a)
        ax = analysis(x)   # reused by the next iteration's thresholding
        resid = ax - z
        u += resid
        err = np.sqrt(np.sum(weight * (resid.real ** 2 + resid.imag ** 2), axis=-1))
        done = err <= epsilon
        if done.any() or i == max_iter:
            fin = done if i < max_iter else np.ones_like(done)
            out[rows[fin]] = x[fin]
            iters[rows[fin]] = i
            keep = ~fin
            if not keep.any():
                break
            rows, x, ax, u, lo_a, hi_a = rows[keep], x[keep], ax[keep], u[keep], lo_a[keep], hi_a[keep]
        if i % r == 0:
            k += s
    return out.astype(np.float64), iters


def aspade_declip(y: np.ndarray, detection: ClipDetection, sample_rate: int, *, win_ms: float = 64.0,
                  overlap: float = 0.75, redundancy: int = 2, s: int | None = None, r: int = 1,
                  epsilon: float = 0.1, max_iter: int = 1000, batch_frames: int = 256) -> np.ndarray:
    """Declip one channel ``y`` at the samples of ``detection`` with frame-wise A-SPADE.

    The signal is normalised to peak 1 (the scale at which the papers' ``epsilon = 0.1`` holds), cut
    into Hann frames of ``win_ms`` with ``overlap``; every frame holding a clipped sample is solved
    with its windowed bounds (``g * theta``), in batches of ``batch_frames`` so memory is bounded for
    long signals. ``s`` None grows the sparsity by one coefficient per 1024 frame samples and iteration
    (the papers' ``s = 1`` for their 1024-sample frames at 16 kHz), so that a frame needs about as many
    iterations at 48 kHz as at 16 kHz. The frames are overlap-added (divided by the window sum), and the result keeps the
    input's reliable samples exactly and every clipped sample beyond its level.

    Shape:
        ``(time,)`` -> ``(time,)`` float64.
    """
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    mask = detection.mask
    if not mask.any():
        return y.copy()
    scale = float(np.max(np.abs(y)))
    yn = y / scale
    w = max(16, int(round(win_ms * 1e-3 * sample_rate)))
    w += w % 2
    hop = max(1, int(round(w * (1 - overlap))))
    s = max(1, round(w / 1024)) if s is None else int(s)
    g = get_window("hann", w, fftbins=True)
    # pad so that every sample is covered by the same number of frames
    pad_l = w - hop
    total = pad_l + n + w
    n_frames = int(np.ceil((total - w) / hop)) + 1
    length = (n_frames - 1) * hop + w
    yp = np.zeros(length)
    yp[pad_l:pad_l + n] = yn
    pos = np.zeros(length, dtype=bool)
    neg = np.zeros(length, dtype=bool)
    pos[pad_l:pad_l + n] = detection.positive
    neg[pad_l:pad_l + n] = detection.negative
    starts = np.arange(n_frames) * hop
    idx = starts[:, None] + np.arange(w)[None, :]
    clipped_frames = np.flatnonzero((pos | neg)[idx].any(axis=1))
    out = np.zeros(length)
    wsum = np.zeros(length)
    np.add.at(wsum, idx.ravel(), np.tile(g, n_frames))
    frames = yp[idx] * g  # the reliable frames are the windowed input as it is
    for b in range(0, clipped_frames.size, batch_frames):
        sel = clipped_frames[b:b + batch_frames]
        fy, fp, fn = frames[sel], pos[idx[sel]], neg[idx[sel]]
        low = np.where(fp, fy, np.where(fn, -np.inf, fy))
        high = np.where(fn, fy, np.where(fp, np.inf, fy))
        est, iters = aspade_frames(fy, low, high, redundancy=redundancy, s=s, r=r, epsilon=epsilon,
                                   max_iter=max_iter)
        frames[sel] = est
        log.debug("A-SPADE: frames %d-%d of %d clipped ones, iterations median %d, max %d", b,
                  b + sel.size, clipped_frames.size, int(np.median(iters)), int(iters.max()))
    np.add.at(out, idx.ravel(), frames.ravel())
    est = (out / np.where(wsum > 1e-12, wsum, 1.0))[pad_l:pad_l + n] * scale
    result = y.copy()
    # consistency (Kitić et al. 2015, eq. 2): reliable samples untouched, clipped ones beyond their level
    if detection.high is not None:
        result[detection.positive] = np.maximum(est[detection.positive], detection.high)
    if detection.low is not None:
        result[detection.negative] = np.minimum(est[detection.negative], detection.low)
    return result


@register
@dataclass
class Declip(Enhancer):
    """Detect hard clipping and restore the clipped samples with A-SPADE; other samples are unchanged."""

    name = "declip"
    task = "declip"
    summary = "de-clipping: clipping detection + A-SPADE sparse consistent reconstruction of clipped samples"
    citation = ("Kitić, Bertin & Gribonval, Sparsity and cosparsity for audio declipping: a flexible "
                "non-convex approach, LVA/ICA 2015 (A-SPADE)")
    block_s = 30.0
    overlap_s = 0.5

    win_ms: float = field(default=64.0, metadata=_doc("frame length (Hann window, 75 % overlap)"))
    redundancy: int = field(default=2, metadata=_doc("oversampling of the frame's DFT"))
    s: int | None = field(default=None, metadata=_doc(
        "sparsity increment: k grows by s ... (None: one per 1024 frame samples, the papers' 1 at 16 kHz)"))
    r: int = field(default=1, metadata=_doc("... every r iterations"))
    epsilon: float = field(default=0.1, metadata=_doc("stop when the frame's ||A x - z|| (peak-1 scale) falls below"))
    max_iter: int = field(default=1000, metadata=_doc("iterations per frame at most"))
    rel_tol: float = field(default=1e-4, metadata=_doc("samples within this fraction of the extreme level count"))
    min_runs: int = field(default=3, metadata=_doc("runs of equal samples at a level needed to call it clipping"))
    levels: list | None = field(default=None, metadata=_doc(
        "known clipping levels per channel [[high, low], ...] (null: detect them in each block)"))

    def __post_init__(self) -> None:
        if self.win_ms <= 0 or self.redundancy < 1 or (self.s or 1) < 1 or self.r < 1 or self.max_iter < 1:
            raise ValueError("win_ms must be positive and redundancy, s, r, max_iter at least 1")
        if self.epsilon <= 0:
            raise ValueError(f"epsilon must be positive, got {self.epsilon}")

    def enhance(self, audio: np.ndarray, sample_rate: int, noise: np.ndarray | None) -> np.ndarray:
        if self.levels is not None and len(self.levels) != audio.shape[0]:
            raise ValueError(f"got clipping levels for {len(self.levels)} channel(s), audio has {audio.shape[0]}")
        out = np.empty(audio.shape, dtype=np.float64)
        for c in range(audio.shape[0]):
            x = audio[c].astype(np.float64)
            det = (detect_clipping(x, self.rel_tol, self.min_runs) if self.levels is None
                   else clipping_at(x, *self.levels[c], rel_tol=self.rel_tol))
            out[c] = self._declip(x, det, sample_rate)
        return out

    def _declip(self, x: np.ndarray, det: ClipDetection, sample_rate: int) -> np.ndarray:
        if not det.clipped:
            log.debug("declip: no clipping detected")
            return x
        log.info("declip: %.2f%% of samples clipped (levels %s / %s)", 100 * det.fraction, det.high, det.low)
        return aspade_declip(x, det, sample_rate, win_ms=self.win_ms, redundancy=self.redundancy, s=self.s,
                             r=self.r, epsilon=self.epsilon, max_iter=self.max_iter)
