"""The Trainer: experiment layout, exact resume after a kill, GAN resume, the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from audiorestore import config as cfgio
from audiorestore.cli.main import main
from audiorestore.train.checkpoint import load_model
from audiorestore.train.trainer import EMA, Trainer, lr_lambda

from .conftest import tiny_config

FCN_EXTRAS = ("trainer.ema=0.9", "trainer.grad_clip=1.0", "schedule.kind=cosine", "schedule.warmup_steps=2",
              "loss.weights.mrstft=0.5", "trainer.best_metric=valid/si_sdr", "trainer.best_mode=max")
SEGAN_EXTRAS = ("loss.weights.adv=1", "loss.weights.feature_matching=1", "loss.weights.l1=10",
                "data.segment_s=0.016", "data.valid_segment_s=0.032", "trainer.eval_every=2")


def _weights(path: Path) -> dict[str, torch.Tensor]:
    pkg = torch.load(path, map_location="cpu", weights_only=True)
    out = {f"model.{k}": v for k, v in pkg["state_dict"].items()}
    st = pkg["train_state"]
    out.update({f"train.{k}": v for k, v in st["model"].items()})
    for name, opt in st["optimizers"].items():
        for pid, s in opt["state"].items():
            out.update({f"{name}.{pid}.{k}": v for k, v in s.items() if isinstance(v, torch.Tensor)})
    if st["disc"]:
        out.update({f"disc.{k}": v for k, v in st["disc"].items()})
    return out


def _assert_same_run(a: Path, b: Path) -> None:
    assert (a / "history.jsonl").read_text() == (b / "history.jsonl").read_text()
    wa, wb = _weights(a / "checkpoints" / "last.pt"), _weights(b / "checkpoints" / "last.pt")
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa), [k for k in wa if not torch.equal(wa[k], wb[k])]


def test_experiment_directory_layout(corpus, tmp_path):
    out = tmp_path / "exp"
    last = Trainer(tiny_config(corpus, out, *FCN_EXTRAS)).fit()
    assert last["step"] == 6 and "valid/si_sdr" in last and "valid/snr" in last
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [r["step"] for r in history if "train/loss" in r] == [1, 2, 3, 4, 5, 6]
    assert [r["step"] for r in history if "valid/loss" in r] == [3, 6]
    lrs = [r["lr"] for r in history if "lr" in r]
    assert lrs[0] == pytest.approx(0.5 * lrs[1]) and lrs[1] > lrs[-1]  # two warm-up steps, then cosine decay
    assert cfgio.load_dict(out / "config.toml")["model"]["config"]["channels"] == 8
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["step"] == 6 and "valid/si_sdr" in metrics["best"]
    model, meta = load_model(out / "checkpoints" / "best.pt")  # an inference checkpoint, strict load
    assert meta["family"] == "fcn" and meta["sample_rate"] == 16000
    assert sorted(p.name for p in (out / "samples").glob("*.flac")) == ["00_clean.flac", "00_noisy.flac"]
    assert (out / "samples" / "step_0000006" / "00_estimate.flac").exists()


def test_killed_run_resumes_exactly(corpus, tmp_path, monkeypatch):
    straight = tmp_path / "straight"
    Trainer(tiny_config(corpus, straight, *FCN_EXTRAS)).fit()

    killed = tmp_path / "killed"
    original = Trainer._log_train

    def log_then_die(self):  # killed after step 5 was logged; the last checkpoint is step 4
        original(self)
        if self.step == 5:
            raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "_log_train", log_then_die)
    with pytest.raises(KeyboardInterrupt):
        Trainer(tiny_config(corpus, killed, *FCN_EXTRAS)).fit()
    assert torch.load(killed / "checkpoints" / "last.pt", weights_only=True)["train_state"]["step"] == 4
    assert json.loads((killed / "history.jsonl").read_text().splitlines()[-1])["step"] == 5
    monkeypatch.setattr(Trainer, "_log_train", original)

    torch.manual_seed(1234)  # the resumed process starts with another global random state
    Trainer(tiny_config(corpus, killed, *FCN_EXTRAS)).fit()
    _assert_same_run(straight, killed)


def test_gan_run_stopped_and_resumed_matches(corpus, tmp_path):
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    Trainer(tiny_config(corpus, straight, *SEGAN_EXTRAS, family="segan")).fit()
    Trainer(tiny_config(corpus, stopped, *SEGAN_EXTRAS, family="segan")).fit(stop_at=3)
    Trainer(tiny_config(corpus, stopped, *SEGAN_EXTRAS, family="segan")).fit()
    _assert_same_run(straight, stopped)
    rec = json.loads((straight / "history.jsonl").read_text().splitlines()[0])
    assert {"train/disc", "train/adv", "train/feature_matching", "train/l1", "train/loss"} <= set(rec)


def test_cli_trains_then_resumes_with_more_steps(corpus, tmp_path, capsys):
    cfg_path = cfgio.save(tiny_config(corpus, tmp_path / "exp"), tmp_path / "recipe.toml")
    assert main(["train", str(cfg_path), "trainer.steps=2", "trainer.eval_every=2"]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 2
    assert main(["train", str(cfg_path), "trainer.steps=4", "trainer.eval_every=2"]) == 0
    steps = [json.loads(line)["step"] for line in (tmp_path / "exp" / "history.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 2, 3, 4, 4]
    assert main(["train", str(cfg_path), "model.config.channels=3"]) == 2  # refuses: a different model
    assert "different config" in capsys.readouterr().err
    assert main(["train", "--print-config", str(cfg_path), "trainer.steps=9"]) == 0
    assert "steps = 9" in capsys.readouterr().out


def test_ema_and_schedule_helpers():
    net = torch.nn.Linear(2, 1)
    ema = EMA(net, 0.5)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with torch.no_grad():
        net.weight.add_(2.0)
    ema.update(net)  # warm-up: the first update uses decay min(0.5, 2 / 11)
    moved = before["weight"] + 2.0 * (1 - 2 / 11)
    torch.testing.assert_close(ema.shadow["weight"], moved)
    with ema.applied(net):
        torch.testing.assert_close(net.weight, moved)
    torch.testing.assert_close(net.weight, before["weight"] + 2.0)
    for _ in range(20):
        ema.update(net)
    assert ema.current_decay() == 0.5 and ema.updates == 21
    state = ema.state_dict()
    again = EMA(net, 0.5)
    again.load_state_dict(state)
    assert again.updates == 21 and torch.equal(again.shadow["weight"], ema.shadow["weight"])
    # a short run with decay 0.999 keeps almost nothing of the initial weights (0.999 ** 500 = 61 % without warm-up)
    slow = EMA(net, 0.999)
    with torch.no_grad():
        net.weight.add_(10.0)
    for _ in range(500):
        slow.update(net)
    init_share = (net.weight - slow.shadow["weight"]).abs().max().item() / 10.0
    assert init_share < 0.02
    f = lr_lambda("step", 100, step_size=10, gamma=0.5)
    assert (f(9), f(10), f(25)) == (1.0, 0.5, 0.25)


def test_a_loss_named_like_a_metric_is_reported_apart(corpus, tmp_path):
    # the si_sdr loss is the negative SI-SDR: it must not be averaged into the si_sdr metric
    cfg = tiny_config(corpus, tmp_path / "exp", "loss.weights.si_sdr=1.0", "trainer.steps=3")
    last = Trainer(cfg).fit()
    assert last["valid/si_sdr"] == pytest.approx(-last["valid/loss_si_sdr"], abs=1.0)
    # and when si_sdr is not a configured metric, its loss is still not logged under the metric's name
    cfg = tiny_config(corpus, tmp_path / "exp2", "loss.weights.si_sdr=1.0", "trainer.steps=3", "trainer.metrics=[snr]",
                      "trainer.best_metric=valid/snr")
    last = Trainer(cfg).fit()
    assert "valid/si_sdr" not in last and "valid/loss_si_sdr" in last


def test_init_from_starts_a_new_run_from_another_checkpoint(corpus, tmp_path):
    first = tmp_path / "first"
    Trainer(tiny_config(corpus, first)).fit()
    best = first / "checkpoints" / "best.pt"
    start = Trainer(tiny_config(corpus, tmp_path / "second", f"trainer.init_from={best}", "trainer.seed=7"))
    reference, _ = load_model(best)
    for (k, a), b in zip(start.model.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(a, b), k
    from audiorestore.errors import ParameterError
    with pytest.raises(ParameterError, match="holds a 'fcn' model"):
        Trainer(tiny_config(corpus, tmp_path / "third", f"trainer.init_from={best}", family="dae"))


def test_speech_mix_run_keeps_snapshots_for_later_selection(corpus, tmp_path):
    # data.mix switches to SpeechMixDataset; trainer.keep_every leaves model-only step_N.pt files
    import dataclasses

    cfg = tiny_config(corpus, tmp_path / "exp", "trainer.keep_every=2", "data.segment_s=0.128", family="bandmmse")
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, mix={"kinds": [1, 0, 1, 0], "reverb_prob": 0.5}))
    Trainer(cfg).fit()
    snaps = sorted(p.name for p in (tmp_path / "exp" / "checkpoints").glob("step_*.pt"))
    assert snaps == ["step_0000002.pt", "step_0000004.pt", "step_0000006.pt"]
    model, meta = load_model(tmp_path / "exp" / "checkpoints" / "step_0000004.pt")
    assert meta["family"] == "bandmmse" and meta["extra"]["step"] == 4
    history = (tmp_path / "exp" / "history.jsonl").read_text()
    assert "valid/si_sdr" in history
