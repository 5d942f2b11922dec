"""Train the loss network of the deep feature loss (Germain, Chen, Koltun, Interspeech 2019, Sec. 2.2).

The paper trains its VGG-like classifier (:class:`~audiorestore.models.dfl.LossNet`) jointly on two
DCASE 2016 tasks, acoustic scene classification and domestic audio tagging, so that its activations
describe general audio. Those corpora are not available here, so the loss network is trained on
classification tasks built from the bundled data (``/work/shared/data``, described by
``manifest.jsonl``), which cover the same ground (environmental noise types and properties of speech):

* ``noise``: the noise category of the noise collection (manifest ``category``: rain, wind, water,
  crowd, traffic, machinery, fire, birds; 38 files). Uncategorised noises (NOISEX-92, SpEAR room
  noise, ...) are left out. The held-out part is the last ``heldout_fraction`` of every file
  (time-disjoint), since several categories have only 3-4 files.
* ``speaker``: speaker identity in the speech corpora with many files per speaker (EmoDB, RAVDESS,
  Lombard GRID: 41 speakers). Held out: ``heldout_fraction`` of each speaker's files.
* ``emotion``: the emotion code in EmoDB and RAVDESS file names, merged into one label set (neutral,
  calm, happy, sad, angry, fearful, disgust, surprised, boredom). Same file split as ``speaker``.

Training (multi-task, as the paper's joint training): every batch holds ``batch_size / n_tasks``
random 1 s crops at 16 kHz from each task's pool; the loss is the sum over tasks of the cross-entropy
over the examples that carry that task's label (an EmoDB crop has a speaker and an emotion label, a
noise crop only a noise label). Adam, no augmentation.

The experiment is a directory: ``config.json`` (the resolved arguments), ``history.jsonl`` (losses and
held-out accuracies), ``train_state.pt`` (atomic, for resuming: re-running continues where it
stopped) and ``lossnet.pt`` (the ``dfl_lossnet`` checkpoint, with the class names and held-out
accuracies in ``extra``). Batches are drawn from ``numpy.random.default_rng([seed, step])``, so a
resumed run draws the same batches as an uninterrupted one. Nothing touches global random state.

Example:
    >>> path = train_loss_network("/work/shared/data", "/tmp/lossnet", steps=500, seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections.abc import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import AudioInputError, ParameterError
from ..models.dfl import LossNet, LossNetConfig
from .checkpoint import atomic_torch_save, save_model

log = logging.getLogger(__name__)

TASKS = ("noise", "speaker", "emotion")
SPEAKER_CORPORA = ("EmoDB", "RAVDESS", "Lombard-GRID")
EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised", "boredom")
# EmoDB file names: speaker (2), text (3), emotion letter (German initial), version: 03a01Fa
_EMODB = {"W": "angry", "L": "boredom", "E": "disgust", "A": "fearful", "F": "happy", "T": "sad", "N": "neutral"}
# RAVDESS file names: modality-channel-emotion-intensity-statement-repetition-actor, emotion 01..08
_RAVDESS = {1: "neutral", 2: "calm", 3: "happy", 4: "sad", 5: "angry", 6: "fearful", 7: "disgust", 8: "surprised"}


def emotion_from_name(corpus: str, path: str) -> str | None:
    """The emotion coded in an EmoDB or RAVDESS file name, or None."""
    stem = Path(path).stem
    if corpus == "EmoDB":
        m = re.fullmatch(r"\d\d[a-z]\d\d([A-Z])[a-z]?", stem)
        return _EMODB.get(m.group(1)) if m else None
    if corpus == "RAVDESS":
        parts = stem.split("-")
        return _RAVDESS.get(int(parts[2])) if len(parts) == 7 and parts[2].isdigit() else None
    return None


@dataclass
class Clip:
    """Audio at the training rate with its labels: ``{task: class index}``."""

    audio: np.ndarray  # float32 (time,)
    labels: dict[str, int]
    source: str = ""


@dataclass
class Corpus:
    """Train and held-out clips and, per task, the class names (index = label)."""

    classes: dict[str, list[str]]
    train: list[Clip]
    heldout: list[Clip]
    sample_rate: int = 16000

    def summary(self) -> dict[str, dict[str, int]]:
        out = {}
        for task in self.classes:
            out[task] = {"classes": len(self.classes[task]),
                         "train_clips": sum(task in c.labels for c in self.train),
                         "heldout_clips": sum(task in c.labels for c in self.heldout)}
        return out


def build_corpus(data_root: str | os.PathLike, tasks: Sequence[str] = TASKS, sample_rate: int = 16000,
                 heldout_fraction: float = 0.2, seed: int = 0,
                 max_files_per_speaker: int | None = None) -> Corpus:
    """Labelled clips for the loss-network tasks from a data folder with ``manifest.jsonl``.

    ``max_files_per_speaker`` caps the speech files read per speaker (a quicker, smaller run).
    """
    from ..io import read

    root = Path(data_root)
    manifest = root / "manifest.jsonl"
    if not manifest.exists():
        raise ParameterError("no manifest.jsonl in the data folder", str(root))
    unknown = set(tasks) - set(TASKS)
    if unknown or not tasks:
        raise ParameterError(f"unknown tasks {sorted(unknown)} (known: {', '.join(TASKS)})")
    if not 0.0 < heldout_fraction < 1.0:
        raise ParameterError(f"heldout_fraction must be in (0, 1), got {heldout_fraction}")
    rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    rng = np.random.default_rng(seed)
    train: list[Clip] = []
    heldout: list[Clip] = []

    def load(row: dict) -> np.ndarray | None:
        try:
            audio, _ = read(root / row["path"], sample_rate=sample_rate, mono=True)
        except AudioInputError as exc:
            log.warning("skipping %s", exc)
            return None
        return audio[0]

    classes: dict[str, list[str]] = {}
    if "noise" in tasks:
        noise_rows = [r for r in rows if r["kind"] == "noise" and r.get("category")]
        classes["noise"] = sorted({r["category"] for r in noise_rows})
        for r in noise_rows:
            audio = load(r)
            if audio is None:
                continue
            cut = int(round(len(audio) * (1.0 - heldout_fraction)))  # time-disjoint split
            label = {"noise": classes["noise"].index(r["category"])}
            train.append(Clip(audio[:cut], label, r["path"]))
            heldout.append(Clip(audio[cut:], dict(label), r["path"] + "#tail"))
    speech_tasks = [t for t in ("speaker", "emotion") if t in tasks]
    if speech_tasks:
        speech = [r for r in rows if r["kind"] == "speech" and r["corpus"] in SPEAKER_CORPORA and r.get("speaker")]
        if "emotion" in tasks:
            classes["emotion"] = list(EMOTIONS)
        by_speaker: dict[str, list[dict]] = {}
        for r in speech:
            emotion = emotion_from_name(r["corpus"], r["path"])
            if "speaker" not in tasks and emotion is None:
                continue
            by_speaker.setdefault(r["speaker"], []).append(r)
        if "speaker" in tasks:
            classes["speaker"] = sorted(by_speaker)
        for spk in sorted(by_speaker):
            files = sorted(by_speaker[spk], key=lambda r: r["path"])
            order = rng.permutation(len(files))
            if max_files_per_speaker is not None:
                order = order[:max_files_per_speaker]
            n_held = max(1, int(round(heldout_fraction * len(order))))
            for rank, i in enumerate(order):
                r = files[i]
                labels = {}
                if "speaker" in tasks:
                    labels["speaker"] = classes["speaker"].index(spk)
                emotion = emotion_from_name(r["corpus"], r["path"])
                if "emotion" in tasks and emotion is not None:
                    labels["emotion"] = EMOTIONS.index(emotion)
                if not labels:
                    continue
                audio = load(r)
                if audio is None:
                    continue
                (heldout if rank < n_held else train).append(Clip(audio, labels, r["path"]))
    return Corpus(classes=classes, train=train, heldout=heldout, sample_rate=sample_rate)


# ------------------------------------------------------------------------------------- batches
def _crop(audio: np.ndarray, length: int, start: int) -> np.ndarray:
    if len(audio) >= length:
        return audio[start:start + length]
    out = np.zeros(length, dtype=np.float32)
    out[start:start + len(audio)] = audio
    return out


def sample_batch(clips: Sequence[Clip], tasks: Sequence[str], per_task: int, length: int,
                 rng: np.random.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``per_task`` random crops from each task's pool -> audio ``(B, 1, length)`` and per-task labels
    ``(B,)`` with -100 (ignored by cross-entropy) where a clip has no label for the task."""
    audio, picked = [], []
    for task in tasks:
        pool = [c for c in clips if task in c.labels]
        if not pool:
            raise ParameterError(f"no training clips for task '{task}'")
        for i in rng.integers(0, len(pool), per_task):
            clip = pool[int(i)]
            slack = abs(len(clip.audio) - length)
            audio.append(_crop(clip.audio, length, int(rng.integers(0, slack + 1))))
            picked.append(clip)
    x = torch.from_numpy(np.stack(audio).astype(np.float32)).unsqueeze(1)
    labels = {t: torch.tensor([c.labels.get(t, -100) for c in picked]) for t in tasks}
    return x, labels


def heldout_crops(clips: Sequence[Clip], length: int, max_crops: int = 4) -> tuple[torch.Tensor, list[Clip]]:
    """Deterministic evaluation crops: up to ``max_crops`` evenly spaced windows per clip."""
    audio, owners = [], []
    for clip in clips:
        n = len(clip.audio)
        k = max(1, min(max_crops, n // length))
        for start in np.linspace(0, max(0, n - length), k).astype(int):
            audio.append(_crop(clip.audio, length, int(start) if n >= length else (length - n) // 2))
            owners.append(clip)
    if not audio:
        return torch.zeros(0, 1, length), []
    return torch.from_numpy(np.stack(audio).astype(np.float32)).unsqueeze(1), owners


@torch.no_grad()
def evaluate(model: LossNet, clips: Sequence[Clip], length: int, batch_size: int = 64,
             device: str | torch.device = "cpu") -> dict[str, float]:
    """Accuracy per task on held-out clips (crop-level), in eval mode."""
    was_training = model.training
    model.eval()
    x, owners = heldout_crops(clips, length)
    correct: dict[str, int] = {}
    total: dict[str, int] = {}
    for i in range(0, x.shape[0], batch_size):
        logits = model(x[i:i + batch_size].to(device))
        for task, out in logits.items():
            pred = out.argmax(dim=-1).cpu()
            for j, clip in enumerate(owners[i:i + batch_size]):
                if task in clip.labels:
                    total[task] = total.get(task, 0) + 1
                    correct[task] = correct.get(task, 0) + int(pred[j] == clip.labels[task])
    model.train(was_training)
    return {t: correct[t] / total[t] for t in sorted(total)}


# ------------------------------------------------------------------------------------ training
@dataclass
class LossNetTrainConfig:
    """Arguments of a loss-network run (saved as ``config.json`` in the experiment folder)."""

    steps: int = 1000
    seed: int = 0
    batch_size: int = 24
    lr: float = 1e-3
    crop_s: float = 1.0
    eval_every: int = 200
    save_every: int = 100
    model: dict = field(default_factory=dict)


def train_classifier(corpus: Corpus, out_dir: str | os.PathLike, steps: int, seed: int = 0,
                     config: LossNetConfig | None = None, batch_size: int = 24, lr: float = 1e-3,
                     crop_s: float = 1.0, eval_every: int = 200, save_every: int = 100,
                     device: str | torch.device = "cpu") -> Path:
    """Multi-task training of a :class:`LossNet` on ``corpus``; resumable. Returns ``lossnet.pt``.

    The model's heads are the corpus' tasks (``config.tasks`` / ``n_classes`` are overwritten).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tasks = tuple(corpus.classes)
    base = config or LossNetConfig()
    cfg = LossNetConfig(**{**asdict(base), "tasks": tasks,
                           "n_classes": tuple(len(corpus.classes[t]) for t in tasks),
                           "sample_rate": corpus.sample_rate})
    length = int(round(crop_s * corpus.sample_rate))
    per_task = max(1, batch_size // len(tasks))
    if steps <= 0:
        raise ParameterError(f"steps must be positive, got {steps}")
    run = LossNetTrainConfig(steps, seed, batch_size, lr, crop_s, eval_every, save_every, asdict(cfg))
    (out / "config.json").write_text(json.dumps(asdict(run), indent=2, default=list))

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LossNet(cfg)
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    state_path = out / "train_state.pt"
    step = 0
    if state_path.exists():
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        if state["config"] != asdict(cfg):
            raise ParameterError("train_state.pt was written with another model config; use a new out_dir",
                                 str(state_path))
        model.load_state_dict(state["state_dict"], strict=True)
        opt.load_state_dict(state["optimizer"])
        step = int(state["step"])
        log.info("resuming loss-network training at step %d", step)

    def save_state() -> None:
        # plain data only (loaded with weights_only=True): config, weights, optimizer, step
        weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        atomic_torch_save({"config": asdict(cfg), "state_dict": weights, "optimizer": opt.state_dict(),
                           "step": step}, state_path)

    def log_line(record: dict) -> None:
        with open(out / "history.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")

    accuracy: dict[str, float] = {}
    t0 = time.time()
    while step < steps:
        rng = np.random.default_rng([seed, step])
        x, labels = sample_batch(corpus.train, tasks, per_task, length, rng)
        logits = model(x.to(device))
        losses = {t: F.cross_entropy(logits[t], labels[t].to(device), ignore_index=-100) for t in tasks
                  if bool((labels[t] >= 0).any())}
        total = torch.stack(list(losses.values())).sum()
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        step += 1
        record: dict = {"step": step, "loss": float(total.detach()),
                        **{f"loss_{t}": float(v.detach()) for t, v in losses.items()},
                        "elapsed_s": round(time.time() - t0, 2)}
        if step % eval_every == 0 or step == steps:
            accuracy = evaluate(model, corpus.heldout, length, device=device)
            record.update({f"acc_{t}": a for t, a in accuracy.items()})
            log.info("step %d: loss %.3f, held-out accuracy %s", step, record["loss"], accuracy)
        log_line(record)
        if step % save_every == 0 or step == steps:
            save_state()
    if not accuracy:  # resumed an already finished run
        accuracy = evaluate(model, corpus.heldout, length, device=device)
    return save_model(out / "lossnet.pt", model.eval(), "dfl_lossnet", cfg, corpus.sample_rate,
                      extra={"classes": corpus.classes, "heldout_accuracy": accuracy, "steps": step,
                             "corpus": corpus.summary()})


def train_loss_network(data_root: str | os.PathLike, out_dir: str | os.PathLike, steps: int, seed: int = 0,
                       tasks: Iterable[str] = TASKS, config: LossNetConfig | None = None, batch_size: int = 24,
                       lr: float = 1e-3, crop_s: float = 1.0, heldout_fraction: float = 0.2,
                       max_files_per_speaker: int | None = None, eval_every: int = 200,
                       save_every: int = 100, device: str | torch.device = "cpu") -> Path:
    """Build the tasks from ``data_root`` (see the module docstring) and train; returns ``lossnet.pt``.

    Re-running with the same ``out_dir`` resumes from ``train_state.pt``.
    """
    corpus = build_corpus(data_root, tuple(tasks), heldout_fraction=heldout_fraction, seed=seed,
                          max_files_per_speaker=max_files_per_speaker)
    log.info("loss-network corpus: %s", corpus.summary())
    return train_classifier(corpus, out_dir, steps, seed, config, batch_size, lr, crop_s, eval_every,
                            save_every, device)
