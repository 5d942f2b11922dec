"""Deep feature loss (Germain et al. 2019): CAN shapes, loss network, feature loss, loss-net training."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from audiorestore.losses.deep_feature import DeepFeatureLoss
from audiorestore.models.dfl import DFLConfig, DFLNet, LossNet, LossNetConfig
from audiorestore.models.registry import get_family
from audiorestore.train.checkpoint import load_model, load_package, save_model
from audiorestore.train.lossnet import Clip, Corpus, build_corpus, emotion_from_name, train_classifier

torch.set_num_threads(1)


def _seeded(cls, cfg, seed: int = 0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(cfg)


@pytest.mark.parametrize("length", [1, 77, 1000])
def test_can_keeps_length(length: int) -> None:
    model = _seeded(DFLNet, DFLConfig.tiny()).eval()
    assert model(torch.randn(2, 1, length)).shape == (2, 1, length)


def test_can_default_matches_the_paper() -> None:
    cfg = DFLConfig()
    model = DFLNet(cfg)
    assert len(model.convs) == 15  # input layer + 13 dilated (2**0..2**12) + 1, then a linear output
    assert [c.dilation[0] for c in model.convs[1:14]] == [2 ** i for i in range(13)]
    assert cfg.receptive_field > 16000  # about 1 s of context at 16 kHz


def test_lossnet_shapes_and_layer_count() -> None:
    cfg = LossNetConfig()
    net = _seeded(LossNet, cfg).eval()
    assert len(net.convs) == 15 and cfg.layer_channels()[::5] == [32, 64, 128]
    x = torch.randn(2, 1, 4000)
    feats = net.features(x)
    assert [f.shape[-1] for f in feats[:3]] == [2000, 1000, 500]
    logits = net(x)
    assert {k: tuple(v.shape) for k, v in logits.items()} == {"noise": (2, 8), "speaker": (2, 48), "emotion": (2, 7)}
    with pytest.raises(ValueError, match=r"\(2, 4000\)"):
        net(torch.randn(2, 4000))


def test_can_overfits_one_batch_with_deep_feature_loss(tmp_path) -> None:
    lcfg = LossNetConfig.tiny()
    path = save_model(tmp_path / "lossnet.pt", _seeded(LossNet, lcfg, 1), "dfl_lossnet", lcfg, 16000)
    loss_fn = DeepFeatureLoss(path, n_layers=4)
    assert not any(p.requires_grad for p in loss_fn.net.parameters())
    g = torch.Generator().manual_seed(0)
    t = torch.arange(1024) / 16000
    clean = (0.5 * torch.sin(2 * torch.pi * 440 * t)).expand(4, 1, 1024).clone()
    noisy = clean + 0.2 * torch.randn(4, 1, 1024, generator=g)
    weights = loss_fn.calibrate([(noisy, clean)])
    assert torch.allclose(loss_fn(noisy, clean), torch.tensor(4.0), rtol=1e-4)  # each layer weighs 1
    assert torch.all(weights > 0)
    model = _seeded(DFLNet, DFLConfig.tiny(), 2).train()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = loss_fn(model(noisy), clean).item()
    for _ in range(60):
        loss = loss_fn(model(noisy), clean)
        opt.zero_grad()
        loss.backward()
        opt.step()
    last = loss_fn(model(noisy), clean).item()
    assert last < 0.5 * first, (first, last)  # stated drop: at least 50 % in 60 steps
    assert loss_fn(clean, clean).item() == 0.0


def test_deep_feature_loss_rejects_other_families(tmp_path) -> None:
    cfg = DFLConfig.tiny()
    path = save_model(tmp_path / "can.pt", DFLNet(cfg), "dfl", cfg, 16000)
    with pytest.raises(Exception, match="dfl_lossnet"):
        DeepFeatureLoss(path)


def _tones(n: int, rng: np.random.Generator, sr: int = 8000) -> list[Clip]:
    clips = []
    t = np.arange(sr // 2) / sr
    for i in range(n):
        label = i % 2
        f = rng.uniform(150, 300) if label == 0 else rng.uniform(1500, 3000)
        x = 0.5 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) + 0.05 * rng.standard_normal(t.size)
        clips.append(Clip(x.astype(np.float32), {"tone": label}))
    return clips


def test_lossnet_learns_low_vs_high_tone(tmp_path) -> None:
    rng = np.random.default_rng(0)
    corpus = Corpus(classes={"tone": ["low", "high"]}, train=_tones(40, rng), heldout=_tones(20, rng),
                    sample_rate=8000)
    cfg = LossNetConfig(n_layers=6, base_channels=8, double_every=3)
    path = train_classifier(corpus, tmp_path / "run", steps=30, seed=0, config=cfg, batch_size=16,
                            lr=3e-3, crop_s=0.25, eval_every=10, save_every=10)
    pkg = load_package(path)
    assert pkg["family"] == "dfl_lossnet" and pkg["extra"]["classes"] == {"tone": ["low", "high"]}
    assert pkg["extra"]["heldout_accuracy"]["tone"] > 0.9
    history = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    assert len(history) == 30 and "acc_tone" in history[-1]
    model, _ = load_model(path)
    x = torch.from_numpy(np.stack([c.audio[:2000] for c in corpus.heldout])).unsqueeze(1)
    acc = (model(x)["tone"].argmax(-1).numpy() == np.array([c.labels["tone"] for c in corpus.heldout])).mean()
    assert acc > 0.9


def test_training_resumes_to_the_same_weights(tmp_path) -> None:
    rng = np.random.default_rng(1)
    corpus = Corpus(classes={"tone": ["low", "high"]}, train=_tones(10, rng), heldout=_tones(4, rng),
                    sample_rate=8000)
    cfg = LossNetConfig.tiny()
    kw = dict(seed=3, config=cfg, batch_size=4, crop_s=0.1, eval_every=100, save_every=2)
    full = train_classifier(corpus, tmp_path / "full", steps=6, **kw)
    train_classifier(corpus, tmp_path / "split", steps=4, **kw)
    resumed = train_classifier(corpus, tmp_path / "split", steps=6, **kw)
    a, b = load_package(full)["state_dict"], load_package(resumed)["state_dict"]
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)


def test_corpus_from_a_manifest(tmp_path) -> None:
    sr = 16000
    rows = []
    rng = np.random.default_rng(0)
    for _i, (path, extra) in enumerate([
        ("noise/a.flac", {"kind": "noise", "category": "rain", "corpus": "x", "speaker": None}),
        ("noise/b.flac", {"kind": "noise", "category": "wind", "corpus": "x", "speaker": None}),
        ("speech/emodb_16k/03a01Wa.flac", {"kind": "speech", "corpus": "EmoDB", "speaker": "emodb_03"}),
        ("speech/emodb_16k/03a02Nc.flac", {"kind": "speech", "corpus": "EmoDB", "speaker": "emodb_03"}),
        ("speech/r/03-01-05-01-01-01-02.flac", {"kind": "speech", "corpus": "RAVDESS", "speaker": "ravdess_actor02"}),
        ("speech/r/03-01-03-01-01-01-02.flac", {"kind": "speech", "corpus": "RAVDESS", "speaker": "ravdess_actor02"}),
    ]):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        sf.write(tmp_path / path, 0.1 * rng.standard_normal(sr), sr)
        rows.append({"path": path, "sample_rate": sr, **extra})
    (tmp_path / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    corpus = build_corpus(tmp_path, heldout_fraction=0.5)
    assert corpus.classes["noise"] == ["rain", "wind"]
    assert corpus.classes["speaker"] == ["emodb_03", "ravdess_actor02"]
    labels = [c.labels for c in corpus.train + corpus.heldout if "emotion" in c.labels]
    assert sorted(corpus.classes["emotion"][lab["emotion"]] for lab in labels) == ["angry", "angry", "happy", "neutral"]
    assert corpus.summary()["noise"] == {"classes": 2, "train_clips": 2, "heldout_clips": 2}
    assert emotion_from_name("EmoDB", "16b10Td.flac") == "sad"
    assert emotion_from_name("RAVDESS", "03-01-08-02-02-02-20.flac") == "surprised"


def test_families_are_registered() -> None:
    assert get_family("dfl").task == "denoise" and get_family("dfl_lossnet").task == "classify"
    assert isinstance(_seeded(get_family("dfl_lossnet").model_cls, LossNetConfig.tiny()), LossNet)
