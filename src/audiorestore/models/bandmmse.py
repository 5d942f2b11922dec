"""Band-GRU log-MMSE: a small causal, streaming denoiser that refines a frame-recursive log-MMSE gain.

Design (issue 16): the network is an RNNoise/PercepNet-style band-gain GRU (Valin, "A hybrid DSP/deep
learning approach to real-time full-band speech enhancement", MMSP 2018; Valin et al., PercepNet,
Interspeech 2020) that does not replace the classical estimator but corrects its gain, so an untrained
model *is* a causal log-MMSE and training on one CPU-hour only has to learn where that estimator
suppresses too much speech or too little noise.

* **Framing** (strictly causal): frames of ``n_fft`` samples every ``hop_length``, the input padded
  with ``n_fft - hop_length`` zeros on the left, so frame ``m`` ends at input sample ``(m + 1) * hop - 1``
  and is complete as soon as that hop has arrived. Periodic Hann analysis and synthesis windows,
  overlap-add normalised by the (constant) sum of squared windows. Algorithmic latency:
  ``n_fft - hop_length`` samples (24 ms at 16 kHz with the defaults) plus one hop of buffering.
* **Classical part**, frame by frame with an explicit state (:class:`ClassicalState`), float64 NumPy, no
  gradients: the noise PSD of Gerkmann & Hendriks' SPP-MMSE tracker (IEEE TASLP 20(4), 2012, eqs. 8,
  18, 22, as :func:`audiorestore.classical.noise_estimation.spp_mmse`, but started causally from the
  running mean of the first ``init_s`` seconds), the a priori SNR of selective temporal cepstrum
  smoothing (Breithaupt, Gerkmann & Martin, ICASSP 2008, as
  :func:`audiorestore.classical.spectral.tcs_a_priori_snr`, one frame at a time) floored at
  ``xi_min_db``, and the log-MMSE gain (Ephraim & Malah, IEEE TASSP 33(2), 1985, eq. 20): the
  classical default ``--method logmmse`` made causal.
* **Features** per frame, ``bands`` mel bands, all level invariant: a posteriori and a priori band SNR,
  the band mean of ``logit(G)``, and the band log spectrum relative to the frame's mean (spectral shape).
* **Network**: linear + ELU, a unidirectional GRU of ``rnn_layers`` layers (causal), a linear layer to
  one correction per band, interpolated to the bins (smooth across frequency as RNNoise's band gains,
  so it cannot add musical noise of its own). Output mask ``sigmoid(logit(G) + d)`` on the noisy STFT;
  the last layer starts at zero (an untrained model is the causal log-MMSE).

Streaming hook (for ``audiorestore.stream``): :meth:`BandMMSE.init_state` and :meth:`BandMMSE.step`.
``step`` takes a block of ``k * hop_length`` new samples ``(B, 1, k * hop)`` and returns the same
number of output samples, delayed by :attr:`BandMMSE.latency` samples; :meth:`BandMMSE.flush` returns
the last ``latency`` samples. Concatenating every ``step`` output and ``flush`` and dropping the first
``latency`` samples gives :meth:`BandMMSE.forward` of the whole input (tests/models/test_bandmmse.py).

Example:
    >>> import torch
    >>> model = BandMMSE(BandMMSEConfig(hidden_size=16, rnn_layers=1, bands=16))
    >>> model(torch.randn(2, 1, 4000)).shape
    torch.Size([2, 1, 4000])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import ndimage
from torch import Tensor, nn

from ..classical.noise_estimation import spp_update
from ..classical.spectral import TabulatedGain, tcs_bias
from ..errors import ParameterError
from .layers import check_waveform, mel_filterbank, mel_gain_to_linear
from .registry import register_family

_FLOOR = 1e-12  # absolute power floor (float audio in [-1, 1]); the causal tracker has no file scale


@dataclass
class BandMMSEConfig:
    """STFT, causal log-MMSE and band-GRU settings."""

    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 128
    #: a priori SNR floor of the classical part (the logmmse method's default).
    xi_min_db: float = -20.0
    #: SPP-MMSE tracker: fixed a priori SNR under speech presence, time constants, causal start.
    spp_xi_h1_db: float = 15.0
    spp_noise_s: float = 0.0717
    spp_presence_s: float = 0.152
    spp_init_s: float = 0.1
    bands: int = 32
    hidden_size: int = 128
    rnn_layers: int = 2
    #: the classical gain is clipped to [gain_floor, 1 - gain_floor] before its logit is taken.
    gain_floor: float = 1e-3


# ------------------------------------------------------------------------------ classical part
def _bias_table(size: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~audiorestore.classical.spectral.tcs_bias` tabulated on a log grid of the variance
    reduction, interpolated per frame (a Newton solve per frame would dominate the step's cost)."""
    red = np.exp(np.linspace(np.log(1e-4), 0.0, size))
    return np.log(red), tcs_bias(red)


@dataclass
class ClassicalState:
    """State of the causal log-MMSE between frames (one row per signal of the batch)."""

    frames: int
    lam: np.ndarray          # (B, F) noise PSD estimate
    init_sum: np.ndarray     # (B, F) sum of the first frames' power (causal start of the tracker)
    p_bar: np.ndarray        # (B, F) smoothed speech presence probability
    ceps: np.ndarray         # (B, F) smoothed cepstrum of the speech estimate
    alpha: np.ndarray        # (B, F) per-quefrency smoothing constants


class CausalLogMMSE:
    """Frame-recursive SPP-MMSE noise tracker + TCS a priori SNR + log-MMSE gain (module docstring).

    Shape:
        :meth:`step`: power ``(B, F)`` -> noise, xi, gain, each ``(B, F)`` float64.
    """

    def __init__(self, c: BandMMSEConfig) -> None:
        self.c = c
        self.n_bins = c.n_fft // 2 + 1
        fp = c.hop_length / c.sample_rate
        self.a_n, self.a_p = math.exp(-fp / c.spp_noise_s), math.exp(-fp / c.spp_presence_s)
        xi_h1 = 10.0 ** (c.spp_xi_h1_db / 10)
        self.ratio, self.prior = xi_h1 / (1 + xi_h1), 1 + xi_h1
        self.n_init = max(int(round(c.spp_init_s / fp)), 1)
        self.xi_min = 10.0 ** (c.xi_min_db / 10)
        sr, nb = c.sample_rate, self.n_bins
        taps = max(int(sr / 2000), 1)
        win = np.hamming(taps) if taps > 1 else np.ones(1)
        self.smooth_win = win / win.sum()
        self.width = max(int(2 * sr / 16000), 1)
        self.low, self.high = int(sr / 300) + 1, min(nb - self.width, int(sr / 70) + 1)
        self.pitch_threshold = 0.2 * 16000 / sr
        const = np.full(nb, 0.97)
        const[:int(round(sr / 8000)) + 1] = 0.5
        const[int(round(sr / 8000)) + 1:int(round(sr / 800))] = 0.7
        self.const = const
        nu = np.full(nb, 2.0)
        nu[0] = nu[-1] = 1.0
        self.nu = nu / c.n_fft
        self.bias_x, self.bias_y = _bias_table()
        self.rule = TabulatedGain("logmmse")

    def init_state(self, batch: int) -> ClassicalState:
        z = np.zeros((batch, self.n_bins))
        return ClassicalState(0, z.copy(), z.copy(), z.copy(), z.copy(), np.broadcast_to(self.const, z.shape).copy())

    def step(self, power: np.ndarray, s: ClassicalState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        y = np.asarray(power, dtype=np.float64)
        t = s.frames
        # SPP-MMSE noise tracker (Gerkmann & Hendriks 2012); the first init_s seconds: running mean
        if t < self.n_init:
            s.init_sum += y
            lam_prev = np.maximum(s.init_sum / (t + 1), _FLOOR)
        else:
            lam_prev = s.lam
        lam = spp_update(y, lam_prev, s.p_bar, self.a_n, self.a_p, self.ratio, self.prior)
        s.lam = lam = np.maximum(lam, _FLOOR)
        # selective temporal cepstrum smoothing (Breithaupt, Gerkmann & Martin 2008), one frame
        speech = np.maximum(y / lam - 1.0, 1e-3) * lam
        c = np.fft.irfft(np.log(speech), n=self.c.n_fft)[..., :self.n_bins]
        if t == 0:
            s.ceps = c
            a = np.zeros_like(c)
        else:
            s.alpha *= 0.96
            s.alpha += 0.04 * self.const
            if self.high > self.low:
                smooth = ndimage.convolve1d(c, self.smooth_win, axis=-1, mode="nearest")
                peak = self.low + np.argmax(smooth[:, self.low:self.high], axis=-1)
                voiced = (np.take_along_axis(smooth, peak[:, None], -1)[:, 0] > self.pitch_threshold) & (c[:, 1] > 0)
                if voiced.any():
                    rows = np.nonzero(voiced)[0]
                    idx = np.clip(peak[rows, None] + np.arange(-self.width, self.width + 1), 0, self.n_bins - 1)
                    s.alpha[rows[:, None], idx] = 0.2
            a = s.alpha
            s.ceps = a * s.ceps + (1 - a) * c
        reduction = ((1 - a) / (1 + a)) @ self.nu
        bias = np.interp(np.log(np.maximum(reduction, 1e-4)), self.bias_x, self.bias_y)
        full = np.concatenate([s.ceps, s.ceps[:, -2:0:-1]], axis=-1)
        log_speech = np.fft.rfft(full, axis=-1).real
        xi = np.maximum(np.exp(np.minimum(log_speech, 700.0)) * bias[:, None] / lam, self.xi_min)
        gamma = np.maximum(y / lam, _FLOOR)
        gain = self.rule(xi, gamma)
        s.frames = t + 1
        return lam, xi, gain


# ------------------------------------------------------------------------------------ network
class BandMMSE(nn.Module):
    """Causal band-GRU correction of a frame-recursive log-MMSE gain (module docstring).

    Shape:
        ``(B, 1, T)`` -> ``(B, 1, T)``.

    Example:
        >>> sum(p.numel() for p in BandMMSE(BandMMSEConfig()).parameters()) < 300_000
        True
    """

    window: Tensor
    band_to_bin: Tensor
    band_mean: Tensor

    def __init__(self, config: BandMMSEConfig) -> None:
        super().__init__()
        c = config
        if not 0 < c.hop_length <= c.n_fft // 2:
            raise ParameterError(f"need 0 < hop_length <= n_fft / 2, got {c.hop_length}, {c.n_fft}")
        if not 0 < c.gain_floor < 0.5:
            raise ParameterError(f"gain_floor must be in (0, 0.5), got {c.gain_floor}")
        self.config = c
        self.n_freq = c.n_fft // 2 + 1
        self.latency = c.n_fft - c.hop_length
        window = torch.hann_window(c.n_fft, periodic=True, dtype=torch.float64)
        # overlap-add of analysis x synthesis windows: constant for Hann at hop <= n_fft / 2
        shifts = torch.zeros(c.hop_length, dtype=torch.float64)
        for k in range(c.n_fft // c.hop_length):
            shifts += window[k * c.hop_length:(k + 1) * c.hop_length] ** 2
        self.ola_norm = float(shifts.mean())
        self.register_buffer("window", window.float(), persistent=False)
        fb = mel_filterbank(c.bands, c.n_fft, c.sample_rate)  # (bands, F)
        self.register_buffer("band_mean", fb / fb.sum(dim=1, keepdim=True), persistent=False)
        self.register_buffer("band_to_bin", mel_gain_to_linear(fb), persistent=False)  # (F, bands)
        self.inp = nn.Sequential(nn.Linear(4 * c.bands, c.hidden_size), nn.ELU())
        self.rnn = nn.GRU(c.hidden_size, c.hidden_size, num_layers=c.rnn_layers, batch_first=True)
        self.out = nn.Linear(c.hidden_size, c.bands)
        with torch.no_grad():  # start as the causal log-MMSE (module docstring)
            self.out.weight.zero_()
            self.out.bias.zero_()
        self.classical = CausalLogMMSE(c)

    def valid_length(self, n: int) -> int:
        """Any length works."""
        return n

    # -------------------------------------------------------------------------- building blocks
    def _frames(self, x: Tensor) -> Tensor:
        """Windowed frames ``(B, N, n_fft)`` of a padded signal ``(B, L)``."""
        return x.unfold(-1, self.config.n_fft, self.config.hop_length) * self.window

    def _classical(self, power: Tensor, state: ClassicalState) -> tuple[Tensor, Tensor, Tensor]:
        """Noise, a priori SNR and gain ``(B, N, F)`` of a power spectrogram ``(B, N, F)``, frame by frame."""
        p = power.detach().to("cpu", torch.float64).numpy()
        outs = [self.classical.step(p[:, i], state) for i in range(p.shape[1])]
        stack = [np.stack([o[k] for o in outs], axis=1) for k in range(3)]
        return tuple(torch.from_numpy(a).to(power.device, torch.float32) for a in stack)  # type: ignore[return-value]

    def _mask(self, spec: Tensor, cstate: ClassicalState, hidden: Tensor | None) -> tuple[Tensor, Tensor]:
        """Mask ``(B, N, F)`` of a noisy STFT ``(B, N, F)`` and the GRU's last hidden state."""
        power = spec.real.square() + spec.imag.square()
        noise, xi, gain = self._classical(power, cstate)
        floor = self.config.gain_floor
        logit = torch.logit(gain.clamp(floor, 1 - floor))
        bm = self.band_mean.t()  # (F, bands)
        pb = power @ bm + _FLOOR
        nb = noise @ bm + _FLOOR
        post = (10 * torch.log10(pb / nb)).clamp(-30, 50) / 20
        prio = (10 * torch.log10((xi * noise) @ bm / nb + _FLOOR)).clamp(-30, 50) / 20
        log_pb = 10 * torch.log10(pb)
        shape = (log_pb - log_pb.mean(dim=-1, keepdim=True)).clamp(-60, 60) / 20
        feats = torch.cat([post, prio, (logit @ bm) / 5, shape], dim=-1)
        h, hidden = self.rnn(self.inp(feats), hidden)
        correction = self.out(h) @ self.band_to_bin.t()  # (B, N, F)
        return torch.sigmoid(logit + correction), hidden

    def _synthesis(self, spec: Tensor, mask: Tensor) -> Tensor:
        """Windowed output frames ``(B, N, n_fft)`` (before overlap-add)."""
        frames = torch.fft.irfft(spec * mask, n=self.config.n_fft, dim=-1)
        return frames * (self.window / self.ola_norm)

    # ---------------------------------------------------------------------------- whole signal
    def mask(self, noisy: Tensor) -> Tensor:
        """The mask ``(B, N, F)`` of a waveform ``(B, 1, T)`` (frames as :meth:`forward` makes them)."""
        check_waveform(noisy)
        x = self._padded(noisy[:, 0])
        spec = torch.fft.rfft(self._frames(x), dim=-1)
        return self._mask(spec, self.classical.init_state(x.shape[0]), None)[0]

    def _padded(self, x: Tensor) -> Tensor:
        c = self.config
        t = x.shape[-1]
        n_frames = (t + self.latency - 1) // c.hop_length + 1
        right = (n_frames - 1) * c.hop_length + c.n_fft - self.latency - t
        return torch.nn.functional.pad(x, (self.latency, right))

    def forward(self, noisy: Tensor) -> Tensor:
        check_waveform(noisy)
        c = self.config
        b, _, t = noisy.shape
        x = self._padded(noisy[:, 0])
        spec = torch.fft.rfft(self._frames(x), dim=-1)
        mask, _ = self._mask(spec, self.classical.init_state(b), None)
        frames = self._synthesis(spec, mask)  # (B, N, n_fft)
        n = frames.shape[1]
        out = torch.nn.functional.fold(frames.transpose(1, 2), output_size=(1, (n - 1) * c.hop_length + c.n_fft),
                                       kernel_size=(1, c.n_fft), stride=(1, c.hop_length))
        return out.reshape(b, 1, -1)[..., self.latency:self.latency + t]

    # ------------------------------------------------------------------------------- streaming
    def init_state(self, batch: int = 1) -> dict[str, Any]:
        """Streaming state before the first sample: input history, classical state, GRU state, overlap-add."""
        c = self.config
        return {"inbuf": torch.zeros(batch, self.latency), "classical": self.classical.init_state(batch),
                "hidden": None, "ola": torch.zeros(batch, c.n_fft - c.hop_length)}

    @torch.no_grad()
    def step(self, block: Tensor, state: dict[str, Any]) -> Tensor:
        """Process ``k * hop_length`` new samples ``(B, 1, k * hop)``; returns as many output samples,
        delayed by :attr:`latency` (the state is updated in place and also returned inside it)."""
        check_waveform(block, "block")
        c = self.config
        if block.shape[-1] % c.hop_length:
            raise ParameterError(f"a streaming block must hold a multiple of {c.hop_length} samples, "
                                 f"got {block.shape[-1]}")
        if block.shape[-1] == 0:
            return block.clone()
        x = torch.cat([state["inbuf"].to(block.dtype), block[:, 0]], dim=-1)
        state["inbuf"] = x[:, -self.latency:]
        spec = torch.fft.rfft(self._frames(x), dim=-1)
        mask, state["hidden"] = self._mask(spec, state["classical"], state["hidden"])
        frames = self._synthesis(spec, mask)
        b, n, _ = frames.shape
        buf = torch.cat([state["ola"], torch.zeros(b, n * c.hop_length, dtype=frames.dtype)], dim=-1)
        for i in range(n):
            buf[:, i * c.hop_length:i * c.hop_length + c.n_fft] += frames[:, i]
        state["ola"] = buf[:, n * c.hop_length:]
        return buf[:, :n * c.hop_length].unsqueeze(1)

    @torch.no_grad()
    def flush(self, state: dict[str, Any]) -> Tensor:
        """The last :attr:`latency` output samples (feeds zeros), ``(B, 1, latency)``."""
        c = self.config
        b = state["inbuf"].shape[0]
        k = -(-self.latency // c.hop_length)
        return self.step(torch.zeros(b, 1, k * c.hop_length), state)[..., :self.latency]


register_family(
    "bandmmse", BandMMSEConfig, BandMMSE, "denoise",
    tiny=lambda: BandMMSEConfig(bands=16, hidden_size=16, rnn_layers=1),
    summary="Causal band-GRU correction of a frame-recursive log-MMSE gain (starts as causal logmmse); streams",
    citation=("Ephraim & Malah 1985, IEEE TASSP 33(2); Gerkmann & Hendriks 2012, IEEE TASLP 20(4); Breithaupt, "
              "Gerkmann & Martin, ICASSP 2008; Valin, RNNoise, MMSP 2018; Valin et al., PercepNet, Interspeech 2020"),
)
