"""One small, explicit training loop: device, mixed precision, clipping, EMA, validation, checkpoints.

The :class:`Trainer` owns the model(s), optimizers, schedulers, gradient scaler, EMA and the
experiment directory; a step function (:mod:`.steps`) owns the maths of one step. Every
``ckpt_every`` steps ``checkpoints/last.pt`` is written atomically with everything needed to go on
exactly where the run stopped: weights, optimizer, scheduler, scaler and EMA states, the torch,
numpy and Python RNG states, the latent-code generator and the step (which is also the data
position: example ``i`` depends only on ``(seed, i)``). Re-running resumes; the history written
after the checkpoint is dropped and replayed identically.

Example:
    >>> cfg = load_experiment("recipes/denoise_fcn.toml", ["data.root=../shared/data"])  # doctest: +SKIP
    >>> summary = Trainer(cfg).fit()                                                     # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import time
import warnings
from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from .. import config as cfgio
from .. import io
from ..data.datasets import (ConcatSet, FixedSet, MixingDataset, PairedDataset, SlidingWindowDataset,
                             SourceMixture, build_chain, paired_files, scan_files, split_files, step_loader)
from ..data.superres import FullBandDataset, SuperResDataset, random_filter_stage
from ..errors import AudioRestoreError, ParameterError
from ..losses import ADVERSARIAL_TERMS, get_loss
from ..models.neural import forward_any_length, level_gain, resolve_device
from ..models.registry import build_model, get_family
from . import distributed
from .checkpoint import atomic_torch_save, load_package, model_package
from .experiment import Experiment, ExperimentConfig, data_kind, family_config, resolve, step_kind
from .steps import STEPS, StepContext, StepFn, loss_view, reconstruction_terms, weighted_total

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------- EMA
class EMA:
    """Exponential moving average of a model's weights (Polyak averaging; B. T. Polyak and
    A. B. Juditsky, SIAM J. Control Optim. 1992), used for validation and the saved inference weights.

    The decay warms up as in TensorFlow's ``ExponentialMovingAverage(num_updates=...)``: update ``n``
    uses ``min(decay, (1 + n) / (10 + n))``, so the average follows the model closely at first. A
    fixed 0.999 keeps 0.999**n of the random initial weights: 61 % after 500 steps and 17 % after
    1800, enough to wreck a short run's averaged model (a 16 -> 48 kHz AudioUNet validated at -3 dB SNR
    at step 500 while its raw weights were at +13 dB).

    Example:
        >>> net = nn.Linear(2, 2)
        >>> ema = EMA(net, decay=0.9)
        >>> ema.update(net)
        >>> ema.updates, round(ema.current_decay(), 4)
        (1, 0.1818)
    """

    #: key of the update count in :meth:`state_dict` (beside the averaged tensors)
    COUNT_KEY = "__ema_updates__"

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ParameterError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = float(decay)
        self.updates = 0
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def current_decay(self) -> float:
        """The decay the last update used (the warm-up value early on)."""
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = self.current_decay()
        for k, v in model.state_dict().items():
            s = self.shadow[k]
            if v.dtype.is_floating_point:
                s.mul_(decay).add_(v.detach(), alpha=1.0 - decay)
            else:
                s.copy_(v)

    def state_dict(self) -> dict[str, Tensor]:
        state = {k: v.detach().cpu() for k, v in self.shadow.items()}
        state[self.COUNT_KEY] = torch.tensor(self.updates, dtype=torch.int64)
        return state

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Restore the average and its update count; a state saved before the count existed starts
        the warm-up again (the average then forgets its initial-weight share within a few hundred steps)."""
        for k, v in state.items():
            if k != self.COUNT_KEY:
                self.shadow[k].copy_(v)
        self.updates = int(state[self.COUNT_KEY]) if self.COUNT_KEY in state else 0

    @contextlib.contextmanager
    def applied(self, model: nn.Module) -> Iterator[None]:
        """Temporarily load the averaged weights into ``model`` (restored exactly afterwards)."""
        saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(self.shadow)
        try:
            yield
        finally:
            model.load_state_dict(saved)


# ------------------------------------------------------------------------------------ schedules
def lr_lambda(kind: str, total_steps: int, warmup_steps: int = 0, min_lr_ratio: float = 0.0,
              step_size: int = 10000, gamma: float = 0.5) -> Callable[[int], float]:
    """Learning-rate multiplier per step: linear warm-up, then constant, cosine (SGDR, Loshchilov
    and Hutter, ICLR 2017, Eq. 5, one cycle) or step decay.

    Example:
        >>> f = lr_lambda("cosine", 100, warmup_steps=10)
        >>> round(f(0), 2), round(f(10), 2), round(f(100), 2)
        (0.1, 1.0, 0.0)
    """
    def f(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        if kind == "cosine":
            t = min(max(step - warmup_steps, 0) / max(total_steps - warmup_steps, 1), 1.0)
            return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))
        if kind == "step":
            return gamma ** ((step - warmup_steps) // step_size)
        return 1.0
    return f


# --------------------------------------------------------------------------------------- trainer
def build_datasets(cfg: ExperimentConfig, segment: int, valid_segment: int) -> tuple[Dataset, Dataset]:
    """Training and validation sets from ``cfg.data``.

    Held-out files (``valid_clean``, ``valid_noise``, ``valid_paired`` patterns) go to validation
    only; ``exclude`` patterns are never read. The validation set is fixed: its examples come from
    seed ``trainer.seed + 1`` and are built once.
    """
    kind = data_kind(cfg)
    if kind in ("superres", "autoencode"):
        return build_band_datasets(cfg, segment, valid_segment)
    d, seed = cfg.data, cfg.trainer.seed
    train_parts: list[Dataset] = []
    weights: list[float] = []
    valid_parts: list[Dataset] = []
    chain = build_chain(d.degrade)
    if d.clean_dirs:
        clean = scan_files(d.root, d.clean_dirs, d.exclude)
        noise = scan_files(d.root, d.noise_dirs, d.exclude) if d.noise_dirs else []
        v_clean, t_clean = split_files(clean, d.valid_clean)
        v_noise, t_noise = split_files(noise, d.valid_noise)
        if not t_clean:
            raise ParameterError("data.valid_clean holds out every clean file; nothing is left to train on")
        if noise and not t_noise:
            raise ParameterError("data.valid_noise holds out every noise file; nothing is left to train on")
        if d.mix:
            t_mix, v_mix = speech_mix_sets(d, t_clean, t_noise, v_clean, v_noise, segment, valid_segment, seed)
            train_parts.append(t_mix)
        else:
            train_parts.append(MixingDataset(t_clean, t_noise, d.sample_rate, segment, d.snr_db, d.gain_db, seed,
                                             chain, d.level_db, d.noise_colors, d.color_fraction, d.noise_augment,
                                             d.speech_augment, d.speech_eq_db, d.speech_speed))
        weights.append(1.0 - d.paired_fraction)
        if d.mix:
            if v_mix is not None:
                valid_parts.append(FixedSet.from_dataset(v_mix, d.valid_count))
        elif v_clean and (v_noise or chain is not None or not noise):
            vset = MixingDataset(v_clean, v_noise, d.sample_rate, valid_segment, d.snr_db, (0.0, 0.0), seed + 1, chain)
            valid_parts.append(FixedSet.from_dataset(vset, d.valid_count))
        elif d.valid_clean or d.valid_noise:
            raise ParameterError("validation needs both held-out clean files and held-out noise files")
        log.info("mixing: %d clean / %d noise files for training, %d / %d held out",
                 len(t_clean), len(t_noise), len(v_clean), len(v_noise))
    if d.paired_dirs:
        pairs = paired_files(d.root, d.paired_dirs, d.exclude)
        held = [p for p in pairs if split_files([p[0]], d.valid_paired)[0]]
        rest = [p for p in pairs if p not in held]
        if rest:  # every pair held out: the recorded pairs are a validation set only
            train_parts.append(PairedDataset(rest, d.sample_rate, segment, seed, d.gain_db, d.level_db))
            weights.append(d.paired_fraction if d.clean_dirs else 1.0)
        if held:
            valid_parts.append(FixedSet.from_dataset(SlidingWindowDataset(held, d.sample_rate, valid_segment)))
    if not train_parts:
        raise ParameterError("no training data: set data.clean_dirs (+ noise_dirs) or data.paired_dirs")
    if not valid_parts:
        log.warning("no held-out data (data.valid_clean/valid_noise/valid_paired): validation is skipped")
    train = train_parts[0] if len(train_parts) == 1 else SourceMixture(train_parts, weights, seed)
    log.info("validation: %d fixed examples", sum(len(v) for v in valid_parts))  # type: ignore[arg-type]
    return train, ConcatSet(valid_parts)


def speech_mix_sets(d: Any, t_clean: list, t_noise: list, v_clean: list, v_noise: list, segment: int,
                    valid_segment: int, seed: int) -> tuple[Dataset, Dataset | None]:
    """Training and held-out :class:`~audiorestore.data.speech_mix.SpeechMixDataset` of ``data.mix``.

    ``mix.babble`` patterns name speakers held apart for babble: they are removed from the training
    speech and read (from ``mix.babble_dirs``) only as babble; ``mix.rir_files`` are relative to the root.
    """
    from ..data.datasets import matches
    from ..data.speech_mix import SpeechMixDataset, speaker_groups

    opts = dict(d.mix)
    babble_pat = list(opts.pop("babble", []))
    babble_dirs = list(opts.pop("babble_dirs", []))
    root = Path(d.root) if d.root else Path(".")
    rirs = [str(Path(r) if Path(r).is_absolute() else root / r) for r in opts.pop("rir_files", [])]
    babble = [f for f in scan_files(d.root, babble_dirs, d.exclude) if matches(f.rel, babble_pat)] if babble_dirs else []
    t_clean = [f for f in t_clean if not matches(f.rel, babble_pat)]
    if not t_clean:
        raise ParameterError("data.mix.babble holds out every clean file; nothing is left to train on")
    try:
        train = SpeechMixDataset(t_clean, t_noise, d.sample_rate, segment, seed, groups=speaker_groups(root, t_clean),
                                 babble=babble, rir_files=rirs, **opts)
        valid = None
        if v_clean and v_noise:
            vopts = {k: v for k, v in opts.items() if k != "epoch_size"}
            valid = SpeechMixDataset(v_clean, v_noise, d.sample_rate, valid_segment, seed + 1,
                                     groups=speaker_groups(root, v_clean), babble=babble, rir_files=rirs, **vopts)
    except TypeError as exc:
        raise ParameterError(f"data.mix: {exc}") from None
    log.info("speech mix: %d clean / %d noise / %d babble files for training, %d / %d held out",
             len(t_clean), len(t_noise), len(babble), len(v_clean), len(v_noise))
    return train, valid


def build_band_datasets(cfg: ExperimentConfig, segment: int, valid_segment: int) -> tuple[Dataset, Dataset]:
    """Super-resolution (``data.kind = superres``) or autoencoder (``autoencode``) training and
    validation sets from the full-band files of ``data.clean_dirs`` (:mod:`audiorestore.data.superres`).

    Held-out files (``valid_clean``) form the fixed validation set, band-limited by Kuleshov et
    al.'s filter only (the benchmark's protocol); training examples use it for a share
    ``data.fixed_filter_fraction`` and randomised filters (``data.degrade.lowpass_decimate``) otherwise.
    """
    d, seed, kind = cfg.data, cfg.trainer.seed, data_kind(cfg)
    if not d.clean_dirs:
        raise ParameterError(f"data.kind '{kind}' needs full-band audio in data.clean_dirs")
    unknown = set(d.degrade) - {"lowpass_decimate"}
    if (kind == "autoencode" and d.degrade) or unknown:
        raise ParameterError(f"data.degrade: only 'lowpass_decimate' (superres) applies to data.kind '{kind}', "
                             f"got {sorted(d.degrade)}")
    files = scan_files(d.root, d.clean_dirs, d.exclude)
    v_files, t_files = split_files(files, d.valid_clean)
    if not t_files:
        raise ParameterError("data.valid_clean holds out every file; nothing is left to train on")
    if kind == "autoencode":
        train: Dataset = FullBandDataset(t_files, d.sample_rate, segment, seed, d.gain_db)
        valid = FullBandDataset(v_files, d.sample_rate, valid_segment, seed + 1) if v_files else None
    else:
        fam = family_config(cfg.model)
        rate, interp = int(fam.input_rate), str(fam.interpolation)
        stage = random_filter_stage(rate, d.degrade.get("lowpass_decimate"))
        train = SuperResDataset(t_files, d.sample_rate, rate, segment, seed, interp, stage,
                                d.fixed_filter_fraction, d.gain_db, noise_floor_db=d.noise_floor_db,
                                noise_floor_fraction=d.noise_floor_fraction)
        # validation patches get the same noise floor share as training (fixed by their seed), so the
        # checkpoint is chosen for the kind of input the run is trained for
        valid = SuperResDataset(v_files, d.sample_rate, rate, valid_segment, seed + 1, interp,
                                noise_floor_db=d.noise_floor_db,
                                noise_floor_fraction=d.noise_floor_fraction) if v_files else None
    log.info("%s: %d files for training, %d held out", kind, len(t_files), len(v_files))
    if valid is None:
        log.warning("no held-out data (data.valid_clean): validation is skipped")
        return train, ConcatSet([])
    return train, FixedSet.from_dataset(valid, d.valid_count)


class Trainer:
    """Train a model family on an :class:`ExperimentConfig`; re-running in the same ``out_dir`` resumes.

    ``train_set`` / ``valid_set`` replace the datasets described by ``cfg.data`` (tests, custom
    data); items are ``(noisy, clean)`` tensors ``(1, time)``. ``step_fn`` replaces the step function
    chosen by ``trainer.step``.

    Example:
        >>> trainer = Trainer(cfg)                 # doctest: +SKIP
        >>> trainer.fit()                          # doctest: +SKIP
        {'step': 1000, 'valid/loss': 0.031, ...}
    """

    def __init__(self, cfg: ExperimentConfig, *, train_set: Dataset | None = None,
                 valid_set: Dataset | None = None, step_fn: StepFn | None = None) -> None:
        self.cfg = resolve(cfg)
        t = self.cfg.trainer
        self.device = resolve_device(t.device)
        self.dist = distributed.init_from_env(self.device)
        if self.dist.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
        self.exp = Experiment(self.cfg.out_dir)
        self.spec = get_family(self.cfg.model.family)
        self.kind = step_kind(self.cfg)
        self.step_fn = step_fn or STEPS[self.kind]
        self.sample_rate = self.cfg.data.sample_rate
        self._train_set, self._valid_set = train_set, valid_set

        torch.manual_seed(t.seed)  # identical initial weights in every process
        self.family_cfg = family_config(self.cfg.model)
        self.model = build_model(self.spec.name, self.family_cfg).to(self.device)
        if t.init_from:
            self._init_weights(t.init_from)
        self.disc: nn.Module | None = None
        if self.kind == "gan":
            assert self.spec.discriminator is not None
            self.disc = self.spec.discriminator(self.family_cfg).to(self.device)
        self.losses = {name: self._loss_on_device(name) for name, w in self.cfg.loss.weights.items()
                       if w and name not in ADVERSARIAL_TERMS}
        for name, fn in self.losses.items():  # a feature network trained at another rate sees other bands
            rate = getattr(fn, "sample_rate", None)
            if isinstance(rate, int) and rate != self.sample_rate:
                raise ParameterError(f"loss '{name}' was trained on {rate} Hz audio; the data is at "
                                     f"{self.sample_rate} Hz")
        # lsd_hf of a super-resolution model: the band above the input's Nyquist frequency
        in_rate = getattr(self.family_cfg, "input_rate", None)
        self.cutoff_hz = in_rate / 2 if isinstance(in_rate, int) and in_rate < self.sample_rate else None

        o, s = self.cfg.optim, self.cfg.schedule
        self.optimizers: dict[str, torch.optim.Optimizer] = {"generator": self._optimizer(self.model, o.lr)}
        if self.disc is not None:
            self.optimizers["discriminator"] = self._optimizer(self.disc, o.disc_lr or o.lr)
        fn = lr_lambda(s.kind, t.steps, s.warmup_steps, s.min_lr_ratio, s.step_size, s.gamma)
        self.schedulers = {k: torch.optim.lr_scheduler.LambdaLR(opt, fn) for k, opt in self.optimizers.items()}
        self.use_amp = bool(t.amp) and self.device.type == "cuda"
        self.amp_dtype = torch.bfloat16 if self.use_amp and torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp and self.amp_dtype == torch.float16)
        self.ema = EMA(self.model, t.ema) if t.ema else None
        # latent codes (e.g. SEGAN's z) come from their own generator, saved with the checkpoint
        self.latent = torch.Generator(self.device).manual_seed(t.seed * 1009 + self.dist.rank)
        self.step = 0
        self.best: float | None = None
        self.best_step = 0
        self._acc: dict[str, float] = {}
        self._acc_n = 0
        self.grad_norms: dict[str, float] = {}
        self.lr = float(o.lr)
        self.train_model = distributed.wrap(self.model, self.device)
        self.train_disc = distributed.wrap(self.disc, self.device) if self.disc is not None else None

    # ----------------------------------------------------------------------------- building
    def _loss_on_device(self, name: str) -> Callable[..., Tensor]:
        fn = get_loss(name, **self.cfg.loss.params.get(name, {}))
        return fn.to(self.device) if isinstance(fn, nn.Module) else fn

    def _optimizer(self, module: nn.Module, lr: float) -> torch.optim.Optimizer:
        o = self.cfg.optim
        cls = torch.optim.AdamW if o.name == "adamw" else torch.optim.Adam
        return cls(module.parameters(), lr=lr, betas=tuple(o.betas), weight_decay=o.weight_decay)

    def segment_length(self, seconds: float) -> int:
        """Samples per example: ``seconds`` at the data rate, rounded up to a length the model accepts."""
        n = max(int(round(seconds * self.sample_rate)), 1)
        valid = getattr(self.model, "valid_length", None)
        return int(valid(n)) if callable(valid) else n

    def datasets(self) -> tuple[Dataset, Dataset]:
        if self._train_set is None or self._valid_set is None:
            train, valid = build_datasets(self.cfg, self.segment_length(self.cfg.data.segment_s),
                                          self.segment_length(self.cfg.data.valid_segment_s))
            self._train_set = self._train_set if self._train_set is not None else train
            self._valid_set = self._valid_set if self._valid_set is not None else valid
        return self._train_set, self._valid_set

    # ------------------------------------------------------------------------------ stepping
    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if not self.use_amp:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.amp_dtype)

    def update(self, name: str, loss: Tensor) -> None:
        """Backward pass, unscale + clip, optimizer step for the optimizer ``name``."""
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        if not torch.isfinite(loss):
            raise AudioRestoreError(f"step {self.step + 1}: the {name} loss is {float(loss)}; lower optim.lr, "
                                    "set trainer.grad_clip or check the data")
        self.scaler.scale(loss).backward()
        if self.cfg.trainer.grad_clip > 0:
            self.scaler.unscale_(opt)
            params = [p for g in opt.param_groups for p in g["params"]]
            norm = torch.nn.utils.clip_grad_norm_(params, self.cfg.trainer.grad_clip)
            self.grad_norms[name] = float(norm)
        self.scaler.step(opt)

    def context(self) -> StepContext:
        lc = self.cfg.loss
        return StepContext(model=self.train_model, losses=self.losses, weights=dict(lc.weights), update=self.update,
                           step=self.step, disc=self.train_disc, gan_kind=lc.gan, conditional=lc.conditional,
                           disc_start=lc.disc_start, generator=self.latent, autocast=self.autocast)

    def train_step(self, batch: tuple[Tensor, Tensor]) -> dict[str, float]:
        """One optimisation step on a batch ``(noisy, clean)``, each ``(batch, 1, time)``."""
        self.model.train()
        if self.disc is not None:
            self.disc.train()
        noisy, clean = (b.to(self.device, non_blocking=True) for b in batch)
        self.lr = float(self.optimizers["generator"].param_groups[0]["lr"])  # the rate this step uses
        losses = self.step_fn(self.context(), (noisy, clean))
        self.scaler.update()
        with warnings.catch_warnings():
            # Every schedule follows the global step, including the discriminator's before disc_start
            # (its optimizer has not stepped yet, which torch would warn about once).
            warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step", category=UserWarning)
            for sched in self.schedulers.values():
                sched.step()
        if self.ema is not None:
            self.ema.update(self.model)
        self.step += 1
        return {k: float(v) for k, v in losses.items()}

    # ---------------------------------------------------------------------------- validation
    def inference_weights(self) -> contextlib.AbstractContextManager[Any]:
        return self.ema.applied(self.model) if self.ema is not None else contextlib.nullcontext()

    @torch.no_grad()
    def _valid_forward(self, noisy: torch.Tensor) -> torch.Tensor:
        """The model as inference runs it: at the trained input level when ``data.level_db`` is set."""
        level = self.cfg.data.level_db
        if len(level) != 2:
            return forward_any_length(self.model, noisy).float()
        gain = level_gain(noisy, float(sum(level)) / 2)
        return (forward_any_length(self.model, noisy * gain).float() / gain).float()

    def validate(self, valid: Dataset) -> dict[str, float]:
        """Weighted reconstruction loss and ``trainer.metrics`` (audiorestore.metrics) on the fixed
        validation set, with the EMA weights when enabled; writes sample audio. Main process only."""
        from .. import metrics as M

        if len(valid) == 0:  # type: ignore[arg-type]
            return {}
        self.model.eval()
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        weights = {k: w for k, w in self.cfg.loss.weights.items() if k in self.losses}
        metric_names = set(M.list_metrics()) | set(self.cfg.trainer.metrics)
        bs = self.cfg.data.batch_size
        with self.inference_weights():
            for b in range(0, len(valid), bs):  # type: ignore[arg-type]
                items = [valid[i] for i in range(b, min(b + bs, len(valid)))]  # type: ignore[arg-type]
                by_len: dict[int, list[int]] = {}
                for i, (n, _) in enumerate(items):
                    by_len.setdefault(n.shape[-1], []).append(i)
                for idx in by_len.values():
                    noisy = torch.stack([items[i][0] for i in idx]).to(self.device)
                    clean = torch.stack([items[i][1] for i in idx]).to(self.device)
                    with self.autocast():
                        est = self._valid_forward(noisy)
                    v_est, v_clean, v_noisy = loss_view(self.model, est, clean, noisy)
                    with torch.no_grad():
                        terms = reconstruction_terms(v_est, v_clean, self.losses, noisy=v_noisy, model=self.model)
                    terms["loss"] = weighted_total(terms, weights) if weights else torch.zeros(())
                    for k, v in terms.items():
                        # a loss named like a metric (si_sdr: the loss is its negative) is kept apart,
                        # whether or not that metric is computed, so that no loss reads as a metric
                        k = f"loss_{k}" if k in metric_names else k
                        sums[k] = sums.get(k, 0.0) + float(v) * len(idx)
                        counts[k] = counts.get(k, 0) + len(idx)
                    for j, i in enumerate(idx):
                        ref, e = clean[j, 0].cpu().double().numpy(), est[j, 0].cpu().double().numpy()
                        if not np.any(ref):
                            continue
                        try:
                            scores = M.compute(ref, e, self.sample_rate, list(self.cfg.trainer.metrics),
                                               cutoff_hz=self.cutoff_hz)
                        except AudioRestoreError as exc:
                            log.debug("validation item %d: %s", b + i, exc)
                            continue
                        for k, v in scores.items():
                            if math.isfinite(v):
                                sums[k] = sums.get(k, 0.0) + v
                                counts[k] = counts.get(k, 0) + 1
                        if b + i < self.cfg.trainer.samples:
                            self._write_sample(b + i, items[i][0][0].numpy(), items[i][1][0].numpy(), est[j, 0])
        return {f"valid/{k}": sums[k] / counts[k] for k in sums}

    def _write_sample(self, i: int, noisy: np.ndarray, clean: np.ndarray, est: Tensor) -> None:
        d = self.exp.samples
        for name, x in (("noisy", noisy), ("clean", clean)):
            p = d / f"{i:02d}_{name}.flac"
            if not p.exists():
                io.write(p, x[None], self.sample_rate)
        io.write(d / f"step_{self.step:07d}" / f"{i:02d}_estimate.flac", est.cpu().numpy()[None], self.sample_rate)

    # ---------------------------------------------------------------------------- checkpoints
    def _rng_state(self) -> dict[str, Any]:
        np_state = np.random.get_state()
        state: dict[str, Any] = {
            "torch": torch.get_rng_state(),
            "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
            "python": random.getstate(),
            "latent": self.latent.get_state(),
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def _set_rng_state(self, state: dict[str, Any]) -> None:
        torch.set_rng_state(state["torch"])
        s = state["numpy"]
        np.random.set_state((s[0], s[1].numpy().astype(np.uint32), *s[2:]))
        random.setstate(_tuplify(state["python"]))
        self.latent.set_state(state["latent"])
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])

    def save(self, path: Path, training_state: bool = True) -> None:
        """Write the model package (inference weights: the EMA when enabled) and, for ``last.pt``, the
        full training state, atomically."""
        with self.inference_weights():
            pkg = model_package(self.model, self.spec.name, self.family_cfg, self.sample_rate,
                                extra={"step": self.step, "experiment": cfgio.to_dict(self.cfg)})
        if training_state:
            pkg["train_state"] = {
                "step": self.step,
                "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
                "disc": None if self.disc is None else {k: v.detach().cpu() for k, v in self.disc.state_dict().items()},
                "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
                "scaler": self.scaler.state_dict(),
                "ema": None if self.ema is None else self.ema.state_dict(),
                "rng": self._rng_state(),
                "best": self.best, "best_step": self.best_step,
                "acc": dict(self._acc), "acc_n": self._acc_n,
            }
        atomic_torch_save(pkg, path)

    def load(self, path: Path) -> None:
        """Restore the training state of ``last.pt``."""
        pkg = torch.load(path, map_location="cpu", weights_only=True)
        st = pkg.get("train_state")
        if st is None:
            raise AudioRestoreError("checkpoint holds no training state; cannot resume from it", str(path))
        self.model.load_state_dict(st["model"], strict=True)
        if self.disc is not None:
            self.disc.load_state_dict(st["disc"], strict=True)
        for k, o in self.optimizers.items():
            o.load_state_dict(st["optimizers"][k])
        for k, s in self.schedulers.items():
            s.load_state_dict(st["schedulers"][k])
        self.scaler.load_state_dict(st["scaler"])
        if self.ema is not None and st["ema"] is not None:
            self.ema.load_state_dict(st["ema"])
        self._set_rng_state(st["rng"])
        self.step, self.best, self.best_step = int(st["step"]), st["best"], int(st["best_step"])
        self._acc, self._acc_n = dict(st["acc"]), int(st["acc_n"])

    # ----------------------------------------------------------------------------------- loop
    def _is_better(self, value: float) -> bool:
        if self.best is None:
            return True
        return value < self.best if self.cfg.trainer.best_mode == "min" else value > self.best

    def _log_train(self) -> None:
        means = {f"train/{k}": v / max(self._acc_n, 1) for k, v in sorted(self._acc.items())}
        means = distributed.all_reduce_mean(means, self.device if self.device.type == "cuda" else "cpu")
        record = {"step": self.step, **means, "lr": self.lr}
        record.update({f"grad_norm/{k}": v for k, v in sorted(self.grad_norms.items())})
        self._acc, self._acc_n = {}, 0
        if self.dist.is_main:
            self.exp.append(record)
            log.info("step %d: %s", self.step, ", ".join(f"{k}={v:.4g}" for k, v in means.items()))

    def _evaluate(self, valid: Dataset) -> dict[str, Any]:
        record: dict[str, Any] = {"step": self.step}
        if self.dist.is_main:
            scores = self.validate(valid)
            if scores:
                record.update(scores)
                self.exp.append(record)
                key = self.cfg.trainer.best_metric
                if key not in scores:
                    raise ParameterError(f"trainer.best_metric '{key}' is not among the validation scores "
                                         f"({', '.join(sorted(scores))})")
                if self._is_better(scores[key]):
                    self.best, self.best_step = scores[key], self.step
                    self.save(self.exp.best, training_state=False)
                self.exp.write_metrics({"step": self.step, "latest": scores,
                                        "best": {"step": self.best_step, key: self.best}})
                log.info("step %d validation: %s", self.step, ", ".join(f"{k}={v:.4g}" for k, v in scores.items()))
        distributed.barrier()
        return record

    def _checkpoint(self) -> None:
        if self.dist.enabled:
            for m in (self.model, self.disc):
                if m is not None:
                    distributed.broadcast_buffers(m)
                    distributed.assert_in_sync(m)
        if self.dist.is_main:
            self.save(self.exp.last)
        distributed.barrier()

    def _init_weights(self, path: str) -> None:
        """Start from the model weights of another checkpoint (fine-tuning); a resumed run's own
        checkpoint replaces them later. The family and every tensor's shape must match."""
        pkg = load_package(path)
        if pkg["family"] != self.spec.name:
            raise ParameterError(f"trainer.init_from: {path} holds a '{pkg['family']}' model, this run trains "
                                 f"'{self.spec.name}'")
        try:
            self.model.load_state_dict(pkg["state_dict"], strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[-1].strip()
            raise ParameterError(f"trainer.init_from: {path} does not fit model.config ({first})") from None
        log.info("initial weights from %s", path)

    def _set_disc_reference(self, train: Dataset) -> None:
        """Discriminators with virtual batch norm (SEGAN, Salimans et al. 2016, Sec. 3.4) get a fixed
        reference batch: the first examples of the training set, the same in a resumed run."""
        if self.disc is None or not hasattr(self.disc, "set_reference"):
            return
        items = [train[i] for i in range(self.cfg.data.batch_size)]
        noisy = torch.stack([n for n, _ in items]).to(self.device)
        clean = torch.stack([c for _, c in items]).to(self.device)
        clean, noisy = loss_view(self.model, clean, noisy)  # the domain the discriminator sees
        self.disc.set_reference(clean, noisy)

    def pretrain(self, train: Dataset) -> None:
        """Greedy layer-wise pretraining of the hidden layers (:func:`~.pretrain.pretrain_layerwise`;
        Lu et al. 2013, Sec. 2) on the noisy inputs of the training set, ``trainer.pretrain_steps``
        steps per layer, before the supervised fine-tuning. Runs only at step 0 (a resumed run has its
        pretrained weights in ``last.pt``); the batches are the training set's first examples, so
        every process pretrains identically."""
        from .pretrain import pretrain_layerwise

        t, bs = self.cfg.trainer, self.cfg.data.batch_size
        n = len(train)  # type: ignore[arg-type]
        # a fixed pool of (at most 16) batches, cycled for every layer: the mixing is paid once
        batches = [torch.stack([train[(b * bs + i) % n][0] for i in range(bs)]).to(self.device)
                   for b in range(min(t.pretrain_steps, 16))]
        history = pretrain_layerwise(self.model, batches, steps_per_layer=t.pretrain_steps, lr=self.cfg.optim.lr,
                                     seed=t.seed)
        if self.dist.is_main:
            for h in history:
                self.exp.append({"step": 0, f"pretrain/layer{h.layer}_first": h.first,
                                 f"pretrain/layer{h.layer}_last": h.last})
        log.info("layer-wise pretraining: %s", ", ".join(f"layer {h.layer}: {h.first:.4g} -> {h.last:.4g}"
                                                        for h in history))

    def fit(self, stop_at: int | None = None) -> dict[str, Any]:
        """Train until ``trainer.steps`` (or ``stop_at``, to interrupt on purpose); resume when
        ``out_dir`` holds a checkpoint. Returns the last validation record (or ``{"step": ...}``)."""
        t = self.cfg.trainer
        if self.exp.can_resume():
            self.exp.check_config(self.cfg)
            self.load(self.exp.last)
            if self.dist.is_main:
                self.exp.truncate_history(self.step)
            log.info("resuming %s at step %d", self.exp.root, self.step)
        elif self.dist.is_main:
            if self.exp.history_path.exists():
                self.exp.history_path.unlink()  # a run killed before its first checkpoint starts over
        if self.dist.is_main:
            self.exp.save_config(self.cfg)
        distributed.barrier()
        train, valid = self.datasets()
        if self.step == 0 and t.pretrain_steps > 0:
            self.pretrain(train)
        self._set_disc_reference(train)
        end = t.steps if stop_at is None else min(stop_at, t.steps)
        if self.step >= end:
            return {"step": self.step}
        loader = step_loader(train, self.cfg.data.batch_size, self.step, end, rank=self.dist.rank,
                             world_size=self.dist.world_size, num_workers=self.cfg.data.num_workers,
                             pin_memory=self.device.type == "cuda", seed=t.seed)
        t0 = time.perf_counter()
        last: dict[str, Any] = {"step": self.step}
        for batch in loader:
            losses = self.train_step(batch)
            for k, v in losses.items():
                self._acc[k] = self._acc.get(k, 0.0) + v
            self._acc_n += 1
            final = self.step == t.steps
            if self.step % t.log_every == 0 or final:
                self._log_train()
                log.debug("%.3f s/step", (time.perf_counter() - t0) / max(self._acc_n or t.log_every, 1))
                t0 = time.perf_counter()
            if self.step % t.eval_every == 0 or final:
                last = self._evaluate(valid)
            if self.step % t.ckpt_every == 0 or final or self.step == end:
                self._checkpoint()
            if t.keep_every and self.step % t.keep_every == 0 and self.dist.is_main:
                self.save(self.exp.last.parent / f"step_{self.step:07d}.pt", training_state=False)
        return last


def _tuplify(x: Any) -> Any:
    return tuple(_tuplify(v) for v in x) if isinstance(x, (list, tuple)) else x


def run_experiment(config: str | Path | ExperimentConfig, overrides: list[str] | None = None) -> dict[str, Any]:
    """Load (or take) a config, train (resuming when possible) and return the last validation record.

    Under ``torchrun`` every process runs this; rank 0 writes the experiment directory.

    Example:
        >>> run_experiment("recipes/denoise_fcn.toml", ["data.root=../shared/data"])   # doctest: +SKIP
    """
    from .experiment import apply_overrides, load_experiment

    if isinstance(config, ExperimentConfig):
        cfg = resolve(apply_overrides(config, overrides or []))
    else:
        cfg = load_experiment(config, overrides)
    try:
        return Trainer(cfg).fit()
    finally:
        distributed.cleanup()


__all__ = ["Trainer", "EMA", "lr_lambda", "build_datasets", "build_band_datasets", "run_experiment"]
