"""Losses that need the noisy input (energy-conserving) and losses with parameters (deep feature loss),
through the step functions, the config and the Trainer; and layer-wise pretraining in the Trainer."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from audiorestore.errors import ParameterError
from audiorestore.losses import get_loss, l1_loss, needs_noisy
from audiorestore.losses.energy import energy_conserving_loss
from audiorestore.models.dfl import LossNet, LossNetConfig
from audiorestore.models.registry import build_model, get_family
from audiorestore.train.checkpoint import save_model
from audiorestore.train.experiment import apply_overrides, load_experiment, resolve
from audiorestore.train.steps import StepContext, reconstruction_terms, supervised_step
from audiorestore.train.trainer import Trainer
from audiorestore import config as cfgio

from .conftest import tiny_config

torch.set_num_threads(1)


class _Recorder(nn.Module):
    """A loss that needs the noisy input and records what it received."""

    needs_noisy = True

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def forward(self, estimate, target, noisy):
        self.seen.append(noisy.detach().clone())
        return energy_conserving_loss(estimate, target, noisy)


def _ctx(model, losses, weights):
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)

    def update(name, loss):
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return StepContext(model=model, losses=losses, weights=weights, update=update)


def test_energy_loss_is_registered_and_needs_noisy():
    fn = get_loss("energy")
    assert needs_noisy(fn) and not needs_noisy(get_loss("l1"))
    s, n = torch.zeros(1, 1, 8), torch.full((1, 1, 8), 0.5)
    est = torch.full((1, 1, 8), 0.1)
    # |s - est| + |(m - s) - (m - est)| = 0.1 + 0.1 for any m
    assert float(fn(est, s, n)) == pytest.approx(0.2)


def test_supervised_step_passes_the_noisy_input_to_losses_that_need_it():
    torch.manual_seed(0)
    model = build_model("fcn", get_family("fcn").tiny())
    clean = 0.3 * torch.sin(torch.arange(512) / 5.0).repeat(2, 1, 1)
    noisy = clean + 0.05 * torch.randn(2, 1, 512, generator=torch.Generator().manual_seed(1))
    rec = _Recorder()
    ctx = _ctx(model, {"energy": rec, "l1": l1_loss}, {"energy": 1.0, "l1": 0.5})
    out = supervised_step(ctx, (noisy, clean))
    assert len(rec.seen) == 1 and torch.equal(rec.seen[0], noisy)
    torch.testing.assert_close(out["loss"], out["energy"] + 0.5 * out["l1"])
    with pytest.raises(ValueError, match="needs the noisy input"):
        reconstruction_terms(clean, clean, {"energy": rec})


def test_trainer_trains_with_energy_loss_and_validates_with_it(corpus, tmp_path):
    cfg = tiny_config(corpus, tmp_path / "exp", "loss.weights.l1=0", "loss.weights.energy=1", "trainer.steps=3")
    trainer = Trainer(cfg)
    assert needs_noisy(trainer.losses["energy"]) and "l1" not in trainer.losses
    record = trainer.fit()
    assert record["step"] == 3 and record["valid/energy"] > 0
    hist = [r for r in trainer.exp.history() if "train/energy" in r]
    assert hist and all(r["train/energy"] > 0 for r in hist)


@pytest.fixture
def lossnet_ckpt(tmp_path):
    torch.manual_seed(0)
    net = LossNet(LossNetConfig.tiny())
    return save_model(tmp_path / "lossnet.pt", net, "dfl_lossnet", net.config, 16000)


def test_loss_params_from_config_and_overrides(lossnet_ckpt, tmp_path):
    text = f"""
[model]
family = "dfl"
tiny = true
[loss.weights]
deep_feature = 1.0
[loss.params.deep_feature]
checkpoint = "{lossnet_ckpt}"
n_layers = 3
"""
    path = tmp_path / "exp.toml"
    path.write_text(text)
    cfg = load_experiment(path, ["loss.params.deep_feature.weights=[1.0, 2.0, 0.5]"])
    assert cfg.loss.params == {"deep_feature": {"checkpoint": str(lossnet_ckpt), "n_layers": 3,
                                                "weights": [1.0, 2.0, 0.5]}}
    # the saved config round-trips
    saved = cfgio.save(cfg, tmp_path / "saved.toml")
    assert load_experiment(saved).loss.params == cfg.loss.params
    with pytest.raises(ParameterError, match="unknown parameter"):
        load_experiment(path, ["loss.params.deep_feature.depth=3"])
    with pytest.raises(ParameterError, match="has no weight"):
        resolve(apply_overrides(cfg, ["loss.params.l1.x=1"]))


def test_deep_feature_loss_trains_a_tiny_model_one_step(corpus, tmp_path, lossnet_ckpt):
    cfg = tiny_config(corpus, tmp_path / "exp", "loss.weights.l1=0", "loss.weights.deep_feature=1",
                      f"loss.params.deep_feature.checkpoint={lossnet_ckpt}", "loss.params.deep_feature.n_layers=4",
                      "trainer.steps=1", family="dfl")
    trainer = Trainer(cfg)
    loss = trainer.losses["deep_feature"]
    assert loss.n_layers == 4 and not any(p.requires_grad for p in loss.parameters())
    net_before = {k: v.clone() for k, v in loss.net.state_dict().items()}
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.fit()
    assert trainer.step == 1
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.model.parameters()))
    assert all(torch.equal(v, loss.net.state_dict()[k]) for k, v in net_before.items())  # the loss net is frozen
    assert "train/deep_feature" in trainer.exp.history()[0]


def test_deep_feature_loss_without_checkpoint_is_a_clear_error(corpus, tmp_path):
    cfg = tiny_config(corpus, tmp_path / "exp", "loss.weights.deep_feature=1", family="dfl")
    with pytest.raises(ParameterError, match="loss-network checkpoint"):
        Trainer(cfg)


def test_trainer_pretrains_layerwise_before_training(corpus, tmp_path):
    cfg = tiny_config(corpus, tmp_path / "exp", "trainer.pretrain_steps=4", "trainer.steps=2", family="ddae_mel")
    trainer = Trainer(cfg)
    first = trainer.model.hidden[0].weight.detach().clone()
    trainer.fit()
    pre = [r for r in trainer.exp.history() if any(k.startswith("pretrain/") for k in r)]
    assert pre and all(r["step"] == 0 for r in pre)
    assert not torch.equal(first, trainer.model.hidden[0].weight)
    # resuming does not pretrain again
    again = Trainer(apply_overrides(cfg, ["trainer.steps=3"]))
    again.fit()
    assert len([r for r in again.exp.history() if any(k.startswith("pretrain/") for k in r)]) == len(pre)


def test_supervised_step_gives_model_losses_the_model_and_skips_the_waveform():
    from audiorestore.models.nmmse import NMMSE, NMMSEConfig
    torch.manual_seed(0)
    model = NMMSE(NMMSEConfig(n_fft=128, hop_length=32, hidden_size=8, rnn_layers=1, output="xi"))
    calls = []
    model.register_forward_hook(lambda *a: calls.append(1))  # the waveform path, not needed by xi
    clean = 0.3 * torch.sin(torch.arange(2048) / 5.0).repeat(2, 1, 1)
    noisy = clean + 0.05 * torch.randn(2, 1, 2048, generator=torch.Generator().manual_seed(1))
    ctx = _ctx(model, {"xi": get_loss("xi")}, {"xi": 1.0})
    out = supervised_step(ctx, (noisy, clean))
    assert not calls and float(out["xi"]) > 0
    out = supervised_step(_ctx(model, {"xi": get_loss("xi"), "l1": l1_loss}, {"xi": 1.0, "l1": 1.0}), (noisy, clean))
    assert calls and set(out) == {"xi", "l1", "loss"}
    with pytest.raises(ValueError, match="needs the model"):
        reconstruction_terms(clean, clean, {"xi": get_loss("xi")}, noisy=noisy)


def test_trainer_trains_nmmse_on_deep_xi_target_and_validates_with_it(corpus, tmp_path):
    cfg = tiny_config(corpus, tmp_path / "exp", "loss.weights.l1=0", "loss.weights.xi=1", "trainer.steps=3",
                      "model.config.output=xi", "data.segment_s=0.256", family="nmmse")
    record = Trainer(cfg).fit()
    assert record["step"] == 3 and 0 < record["valid/xi"] < 2
