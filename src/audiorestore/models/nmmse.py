"""Neural-corrected log-MMSE: a recurrent network that refines the gains of the classical estimator.

Classical part: Ephraim and Malah, "Speech Enhancement Using a Minimum Mean-Square Error
Log-Spectral Amplitude Estimator", IEEE TASSP 33(2), 1985, with the decision-directed a priori SNR
(eq. 51 of their 1984 paper) and Martin's minimum-statistics noise tracker (IEEE TSAP 9(5), 2001).
Neural part: the idea of letting a network estimate what the MMSE gain rule is fed, after Nicolson and
Paliwal, "Deep learning for minimum mean-square error approaches to speech enhancement" (Deep Xi,
Speech Communication 111, 2019), here as a correction of the classical gain rather than a replacement,
in the spirit of hybrid DSP/deep-learning enhancers (Valin et al., PercepNet, Interspeech 2020).

* The noisy STFT (32 ms Hann windows, 8 ms hop at 16 kHz, the log-MMSE method's defaults) gives the
  power ``P``. Without gradients, the classical chain estimates the noise PSD ``N`` (minimum
  statistics) and the log-MMSE gain ``G`` (decision-directed a priori SNR): the same computation as
  ``audiorestore denoise --method logmmse``.
* Features per frame and bin, all level invariant (a louder file gives the same features): the a
  posteriori SNR ``10 log10(P / N)``, the classical gain ``logit(G)``, and the frame's log spectrum
  relative to its mean over bins (the spectral shape, which tells speech from noise).
* Network: a linear layer over all bins of a frame, a unidirectional GRU over frames (causal: no
  future frame is used) and a linear layer to one correction ``d`` per bin, or per mel band
  (``bands``), interpolated to the bins: smooth across frequency, as the band gains of RNNoise and
  PercepNet, which keeps the network from adding musical noise of its own.
* Output (``output = "correction"``): the real mask ``sigmoid(logit(G) + d)`` on the noisy STFT. The
  last layer starts at zero, so an untrained model *is* the classical log-MMSE estimator and training
  only has to learn where it suppresses too much speech or too little noise; this is why it reaches
  classical quality from the first step and trains in CPU hours rather than days.
* Output (``output = "xi"``, Deep Xi's training target): ``d`` corrects the decision-directed a priori
  SNR instead of the gain. Deep Xi maps the a priori SNR in dB through a normal CDF,
  ``xi_bar = Phi((xi_dB - mu) / sigma)``, to a target in [0, 1]; here the network's logits are
  ``logit(Phi((xi_dd_dB - mu) / sigma)) + d``, trained with binary cross-entropy against the mapped
  *true* a priori SNR ``|S|^2 / |D|^2`` of each training mixture (the ``xi`` loss,
  :class:`~audiorestore.losses.xi.XiTargetLoss`), and the gain is the log-MMSE rule of the estimated
  ``xi`` and the measured a posteriori SNR. The loss is a per-bin classification target, not a
  waveform error, so it does not reward suppressing speech; the untrained model is again log-MMSE.

Example:
    >>> import torch
    >>> model = NMMSE(NMMSEConfig(hidden_size=16, rnn_layers=1))
    >>> model(torch.randn(2, 1, 4000)).shape
    torch.Size([2, 1, 4000])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..classical.noise_estimation import TRACKERS, estimate_noise_psd
from ..classical.spectral import PRIORS, TabulatedGain, decision_directed_gain, tcs_gain
from ..errors import ParameterError
from .layers import StftFrontEnd, check_waveform, hop_aligned_length, mel_filterbank, mel_gain_to_linear
from .registry import register_family

_EPS = 1e-10


@dataclass
class NMMSEConfig:
    """STFT, classical estimator and network settings of the neural-corrected log-MMSE."""

    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 128
    #: noise PSD tracker of the classical part: 'minstat' (Martin 2001), 'mcra' (Cohen & Berdugo 2002)
    #: or 'spp' (Gerkmann & Hendriks 2012).
    noise_estimator: str = "minstat"
    #: decision-directed smoothing and a priori SNR floor, as the logmmse method's defaults.
    alpha: float = 0.98
    xi_min_db: float = -25.0
    #: a priori SNR of the classical part: 'dd' (decision-directed, with alpha) or 'tcs' (selective
    #: temporal cepstrum smoothing, Breithaupt, Gerkmann & Martin 2008: the logmmse method's default).
    prior: str = "dd"
    hidden_size: int = 256
    rnn_layers: int = 2
    #: corrections are estimated for this many mel bands and interpolated to the bins (0: one per bin).
    #: Band-wise corrections are smooth across frequency, so they cannot add musical noise of their own.
    bands: int = 0
    #: the correction is averaged over this many past frames with exponentially decaying weights
    #: (``smooth_decay``), so it cannot make the residual noise fluctuate frame by frame (0 or 1: off).
    smooth_frames: int = 0
    smooth_decay: float = 0.7
    #: the classical gain is clipped to [gain_floor, 1 - gain_floor] before its logit is taken.
    gain_floor: float = 1e-3
    #: what the network corrects: 'correction' (the gain's logit) or 'xi' (the a priori SNR, Deep Xi).
    output: str = "correction"
    #: 'xi' output: mean and spread (dB) of the normal CDF that maps the a priori SNR to [0, 1]. Deep Xi
    #: uses the training set's statistics; these are the default recipe's (200 mixtures: -19.2, 33.0 dB).
    xi_mu_db: float = -19.0
    xi_sigma_db: float = 33.0
    #: 'xi' output: dB added to the estimated a priori SNR before the gain (not in the loss). The
    #: cross-entropy's optimum is the mean of the mapped SNR, about the mean of xi in dB: when the
    #: estimate is uncertain that is below the mean of xi itself, which the gain rule expects.
    xi_bias_db: float = 0.0


class NMMSE(nn.Module):
    """GRU correction of the classical log-MMSE gain, applied as a real mask to the noisy STFT.

    Shape:
        ``(B, 1, T)`` -> ``(B, 1, T)``; :meth:`classical`: ``(B, F, N)`` power -> two ``(B, F, N)``.

    Example:
        >>> model = NMMSE(NMMSEConfig())
        >>> sum(p.numel() for p in model.parameters()) < 2_000_000
        True
    """

    def __init__(self, config: NMMSEConfig) -> None:
        super().__init__()
        if config.noise_estimator not in TRACKERS:
            raise ParameterError(f"noise_estimator must be one of {', '.join(TRACKERS)}, got '{config.noise_estimator}'")
        if not 0 < config.gain_floor < 0.5:
            raise ParameterError(f"gain_floor must be in (0, 0.5), got {config.gain_floor}")
        if config.output not in ("correction", "xi"):
            raise ParameterError(f"output must be 'correction' or 'xi', got '{config.output}'")
        if config.prior not in PRIORS:
            raise ParameterError(f"prior must be one of {', '.join(PRIORS)}, got '{config.prior}'")
        if config.xi_sigma_db <= 0:
            raise ParameterError(f"xi_sigma_db must be > 0, got {config.xi_sigma_db}")
        self.config = config
        self.frontend = StftFrontEnd(config.n_fft, config.hop_length)
        n_freq = self.frontend.n_freq
        self.inp = nn.Sequential(nn.Linear(3 * n_freq, config.hidden_size), nn.ELU())
        self.rnn = nn.GRU(config.hidden_size, config.hidden_size, num_layers=config.rnn_layers, batch_first=True)
        if config.bands:
            interp = mel_gain_to_linear(mel_filterbank(config.bands, config.n_fft, config.sample_rate))
            self.register_buffer("band_to_bin", interp, persistent=False)  # (F, bands), rows sum to 1
        else:
            self.band_to_bin = None
        self.out = nn.Linear(config.hidden_size, config.bands or n_freq)
        with torch.no_grad():  # start as the classical estimator (module docstring)
            self.out.weight.zero_()
            self.out.bias.zero_()
        self._rule = TabulatedGain("logmmse")
        # exp(E1(v) / 2) on the classical rule's log-v grid, for a differentiable log-MMSE gain of 'xi'
        self.register_buffer("lsa_table", torch.tensor(self._rule.table, dtype=torch.float32), persistent=False)
        if config.smooth_frames > 1:
            w = config.smooth_decay ** torch.arange(config.smooth_frames - 1, -1, -1, dtype=torch.float32)
            self.register_buffer("smooth_kernel", (w / w.sum()).view(1, 1, -1), persistent=False)
        else:
            self.smooth_kernel = None

    def valid_length(self, n: int) -> int:
        """Length ``>= n`` that fills whole hops (any length works)."""
        return hop_aligned_length(n, self.config.hop_length)

    @torch.no_grad()
    def classical(self, power: Tensor, state: dict | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Noise PSD, log-MMSE gain and decision-directed a priori SNR of a power spectrogram
        ``(B, F, N)``, computed in float64 NumPy. ``state`` (a dict): the causal, resumable variant of
        the classical chain (as ``logmmse --set causal=true``), carried from call to call."""
        c = self.config
        p = power.detach().to("cpu", torch.float64).numpy()
        frame_period = c.hop_length / c.sample_rate
        sub = (lambda key: None) if state is None else (lambda key: state.setdefault(key, {}))  # noqa: E731
        noise = np.maximum(estimate_noise_psd(p, frame_period, c.noise_estimator, sub("noise")), _EPS)
        if c.prior == "tcs":
            gain, xi = tcs_gain(p, noise, self._rule, c.sample_rate, c.xi_min_db, return_xi=True, state=sub("gain"))
        else:
            gain, xi = decision_directed_gain(p, noise, self._rule, c.alpha, c.xi_min_db, return_xi=True,
                                              state=sub("gain"))
        as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(power.device, torch.float32)  # noqa: E731
        return as_tensor(noise), as_tensor(gain), as_tensor(xi)

    def xi_probability(self, xi: Tensor) -> Tensor:
        """Deep Xi's mapped a priori SNR ``Phi((10 log10 xi - mu) / sigma)`` in [0, 1]."""
        c = self.config
        xi_db = 10 * torch.log10(xi.clamp_min(1e-12))
        return torch.special.ndtr((xi_db - c.xi_mu_db) / c.xi_sigma_db)

    def xi_from_logit(self, z: Tensor) -> Tensor:
        """The a priori SNR of mapped-SNR logits ``z`` (the inverse of ``logit(xi_probability)``)."""
        c = self.config
        p = torch.sigmoid(z).clamp(1e-6, 1 - 1e-6)
        return 10 ** ((c.xi_mu_db + c.xi_sigma_db * torch.special.ndtri(p)) / 10)

    def lsa_gain(self, xi: Tensor, gamma: Tensor) -> Tensor:
        """The log-MMSE gain ``xi / (1 + xi) exp(E1(v) / 2)``, ``v = xi gamma / (1 + xi)``, with
        ``exp(E1 / 2)`` interpolated from the classical rule's table (differentiable in ``xi``)."""
        w = xi / (1 + xi)
        v = (w * gamma).clamp(self._rule.v_min, self._rule.v_max)
        n = self.lsa_table.numel()
        u = (torch.log(v) * self._rule.index_scale - self._rule.index_offset).clamp(0, n - 1)
        i = u.floor().long().clamp(max=n - 2)
        frac = u - i
        f = self.lsa_table[i] + frac * (self.lsa_table[i + 1] - self.lsa_table[i])
        return w * f

    def _analyse(self, spec: Tensor, state: dict | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Power, noise PSD, the classical base (the gain's logit, or the mapped a priori SNR's logit
        for 'xi') and the base plus the network's correction, each ``(B, F, N)``. ``state`` (a dict,
        empty for the first call) resumes from the previous call's frames (streaming): the causal
        classical chain, the GRU's hidden state and the smoothing's past corrections."""
        power = spec.real.square() + spec.imag.square()
        noise, gain, xi = self.classical(power, state)
        floor = self.config.gain_floor
        logit = torch.logit(gain.clamp(floor, 1 - floor))
        log_p = torch.log10(power + _EPS)
        snr_post = (10 * (log_p - torch.log10(noise))).clamp(-30, 50) / 20
        shape = (10 * (log_p - log_p.mean(dim=1, keepdim=True))).clamp(-60, 60) / 20
        feats = torch.cat([snr_post, logit / 5, shape], dim=1).transpose(1, 2)  # (B, N, 3F)
        h, h_n = self.rnn(self.inp(feats), None if state is None else state.get("rnn"))
        if state is not None:
            state["rnn"] = h_n
        correction = self.out(h)  # (B, N, F or bands)
        if self.band_to_bin is not None:
            correction = correction @ self.band_to_bin.t()
        correction = correction.transpose(1, 2)  # (B, F, N)
        if self.smooth_kernel is not None:  # causal exponential average over the last frames
            b, f, n = correction.shape
            k = self.smooth_kernel.shape[-1]
            flat = correction.reshape(b * f, 1, n)
            if state is None:
                padded = F.pad(flat, (k - 1, 0), mode="replicate")
            else:  # the previous call's last corrections (the first frame repeated at the start)
                padded = torch.cat([state.get("smooth", flat[..., :1].expand(-1, -1, k - 1)), flat], dim=-1)
                state["smooth"] = padded[..., padded.shape[-1] - (k - 1):]
            correction = F.conv1d(padded, self.smooth_kernel).reshape(b, f, n)
        if self.config.output == "xi":
            base = torch.logit(self.xi_probability(xi).clamp(1e-6, 1 - 1e-6))
        else:
            base = logit
        return power, noise, base, base + correction

    def xi_logits(self, spec: Tensor) -> Tensor:
        """'xi' output: the mapped a priori SNR logits ``(B, F, N)`` of a noisy STFT (the ``xi`` loss's input)."""
        if self.config.output != "xi":
            raise ParameterError("xi_logits needs a model with output = 'xi'")
        return self._analyse(spec)[3]

    def mask_from_spec(self, spec: Tensor, state: dict | None = None) -> Tensor:
        """Real mask ``(B, F, N)`` for a noisy STFT ``(B, F, N)`` (in [0, 1] for 'correction');
        ``state``: resume from the previous call (see :meth:`_analyse`)."""
        power, noise, _, z = self._analyse(spec, state)
        if self.config.output == "xi":  # floored as the classical a priori SNR
            c = self.config
            xi = (self.xi_from_logit(z) * 10 ** (c.xi_bias_db / 10)).clamp_min(10 ** (c.xi_min_db / 10))
            return self.lsa_gain(xi, power / noise)
        return torch.sigmoid(z)

    def mask(self, noisy: Tensor) -> Tensor:
        """The mask of a waveform ``(B, 1, T)``: ``(B, F, N)`` real."""
        return self.mask_from_spec(self.frontend.stft(check_waveform(noisy)))

    def forward(self, noisy: Tensor) -> Tensor:
        spec = self.frontend.stft(check_waveform(noisy))
        return self.frontend.istft(spec * self.mask_from_spec(spec), noisy.shape[-1])


register_family(
    "nmmse", NMMSEConfig, NMMSE, "denoise",
    tiny=lambda: NMMSEConfig(n_fft=256, hop_length=64, hidden_size=32, rnn_layers=1),
    summary="Neural-corrected log-MMSE: a causal GRU refines the classical gain (starts as logmmse), real time on a CPU",
    citation=("Ephraim & Malah 1985, IEEE TASSP 33(2); Nicolson & Paliwal, Deep Xi, Speech Communication 111, "
              "2019; Valin et al., PercepNet, Interspeech 2020"),
)
