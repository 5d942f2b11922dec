"""Corpus loaders and manifests: one tiny fake tree per corpus, laid out and named like the real one."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiorestore.cli.main import main
from audiorestore.data.corpora import (get_corpus, list_corpora, load_corpus, prepare, read_manifest, read_raw,
                                       write_manifest)
from audiorestore.data.corpora.beethoven import py2_shuffle
from audiorestore.data.corpora.vctk import MULTISPEAKER_TEST, MULTISPEAKER_TRAIN
from audiorestore.data.datasets import (AudioFile, PairedDataset, manifest_source, paired_files, read_segment,
                                        scan_files)
from audiorestore.errors import AudioInputError, ParameterError

torch.set_num_threads(1)


def _wav(path: Path, sr: int = 16000, seconds: float = 0.05, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    x = 0.1 * np.random.default_rng(seed).standard_normal(int(sr * seconds)).astype(np.float32)
    sf.write(str(path), x, sr)
    return path


def _by_id(entries):
    return {e.id: e for e in entries}


# ------------------------------------------------------------------------------- VoiceBank-DEMAND
@pytest.fixture
def vbd(tmp_path: Path) -> Path:
    root = tmp_path / "vbd"
    for rate, suffix in ((48000, ""), (16000, "_16k")):
        for n, u in enumerate(["p226_001", "p226_002", "p287_001"]):
            _wav(root / f"clean_trainset_28spk_wav{suffix}" / f"{u}.wav", rate, seed=n)
            _wav(root / f"noisy_trainset_28spk_wav{suffix}" / f"{u}.wav", rate, seed=10 + n)
        _wav(root / f"clean_testset_wav{suffix}" / "p232_001.wav", rate)
        _wav(root / f"noisy_testset_wav{suffix}" / "p232_001.wav", rate, seed=3)
    (root / "logfiles").mkdir()
    (root / "logfiles" / "log_trainset_28spk.txt").write_text("p226_001 babble 15\np226_002 cafeteria 0\n"
                                                              "p287_001 ssn 5\n")
    (root / "logfiles" / "log_testset.txt").write_text("p232_001 living 2.5\n")
    (root / "testset_txt").mkdir()
    (root / "testset_txt" / "p232_001.txt").write_text("Please call Stella.\n")
    return root


def test_voicebank_pairs_splits_and_log_snr(vbd):
    entries = load_corpus("voicebank-demand", vbd, {"valid_speakers": "p287"})
    e = _by_id(entries)
    assert len(entries) == 4 and {x.sample_rate for x in entries} == {48000}
    assert Path(e["p226_001"].noisy).parent.name == "noisy_trainset_28spk_wav"
    assert Path(e["p226_001"].clean).name == Path(e["p226_001"].noisy).name == "p226_001.wav"
    assert e["p226_001"].meta["snr_db"] == 15.0 and e["p226_001"].meta["noise_type"] == "babble"
    assert e["p232_001"].meta == {"set": "test", "noise_type": "living", "snr_db": 2.5, "text": "Please call Stella."}
    assert [e[k].split for k in ("p226_002", "p287_001", "p232_001")] == ["train", "valid", "test"]
    assert e["p226_002"].speaker == "p226" and e["p226_002"].seconds == pytest.approx(0.05)
    low = load_corpus("voicebank-demand", vbd, {"rate": "16k", "sets": "test"})
    assert len(low) == 1 and low[0].sample_rate == 16000 and "clean_testset_wav_16k" in low[0].clean


def test_voicebank_wrong_root_names_expected_folders(tmp_path):
    _wav(tmp_path / "elsewhere" / "a.wav")
    with pytest.raises(ParameterError, match="does not look like VoiceBank-DEMAND.*clean_trainset_28spk_wav"):
        load_corpus("voicebank-demand", tmp_path / "elsewhere")
    with pytest.raises(ParameterError, match="has no option 'speed'.*sets, rate, valid_speakers"):
        load_corpus("voicebank-demand", tmp_path, {"speed": "1"})
    with pytest.raises(ParameterError, match="unknown corpus 'timit'"):
        get_corpus("timit")


def test_voicebank_unpaired_file_is_named(vbd):
    (vbd / "clean_testset_wav" / "p232_001.wav").unlink()
    with pytest.raises(AudioInputError, match="noisy file 'p232_001' has no partner"):
        load_corpus("voicebank-demand", vbd, {"sets": "test"})


# ------------------------------------------------------------------------------------------ VCTK
def _vctk080(root: Path, speakers: dict[str, int]) -> Path:
    lines = ["ID  AGE  GENDER  ACCENTS  REGION"]
    for spk, n in speakers.items():
        lines.append(f"{spk[1:]}  23  F    English    Southern  England")
        for u in range(1, n + 1):
            _wav(root / "wav48" / spk / f"{spk}_{u:03d}.wav", 48000, seconds=0.02)
            (root / "txt" / spk).mkdir(parents=True, exist_ok=True)
            (root / "txt" / spk / f"{spk}_{u:03d}.txt").write_text(f"Sentence {u}.\n")
    (root / "speaker-info.txt").write_text("\n".join(lines) + "\n")
    return root


def test_vctk_multispeaker_split_boundaries(tmp_path):
    root = _vctk080(tmp_path / "VCTK-Corpus", {"p225": 1, "p345": 1, "p347": 1, "p376": 1})
    (tmp_path / "VCTK-Corpus" / "wav48" / "s5").mkdir()  # a speaker of neither list
    e = _by_id(load_corpus("vctk", tmp_path))  # the folder holding VCTK-Corpus/ works too
    assert {k: v.split for k, v in e.items()} == {"p225_001": "train", "p345_001": "train",
                                                 "p347_001": "test", "p376_001": "test"}
    assert e["p225_001"].meta["text"] == "Sentence 1." and e["p225_001"].meta["gender"] == "F"
    assert e["p225_001"].clean.endswith("wav48/p225/p225_001.wav") and e["p225_001"].noisy is None
    assert len(MULTISPEAKER_TRAIN) == 100 and len(MULTISPEAKER_TEST) == 9
    assert MULTISPEAKER_TRAIN[-1] == "p345" and MULTISPEAKER_TEST[0] == "p347"
    assert root.exists()


def test_vctk_speaker1_last_8_test_and_092_mics(tmp_path):
    root = tmp_path / "vctk092"
    for u in range(1, 11):
        for mic in ("mic1", "mic2"):
            _wav(root / "wav48_silence_trimmed" / "p225" / f"p225_{u:03d}_{mic}.flac", 48000, seconds=0.02)
    _wav(root / "wav48_silence_trimmed" / "p226" / "p226_001_mic1.flac", 48000, seconds=0.02)
    entries = load_corpus("vctk", root, {"split": "speaker1"})
    assert len(entries) == 10 and all(e.meta["mic"] == "mic1" and e.meta["version"] == "0.92" for e in entries)
    test = sorted(e.id for e in entries if e.split == "test")
    assert test == [f"p225_{u:03d}_mic1" for u in range(3, 11)]
    assert len(load_corpus("vctk", root, {"split": "all", "mic": "both"})) == 21
    with pytest.raises(ParameterError, match="expected.*wav48/pXXX"):
        load_corpus("vctk", tmp_path / "vctk092" / "wav48_silence_trimmed")


# ----------------------------------------------------------------------------------------- SpEAR
def test_spear_pairs_references_and_noise(tmp_path):
    root = tmp_path / "SpEAR-speech-database" / "data"
    for name in ("bigtipsr1_16", "bigtips_f16r1_16", "bigtips_white_16", "tips_f16rn4_16"):
        _wav(root / "Noisy_Recordings" / f"{name}.wav")
    for name in ("T_alex_volvoR1_16", "alex_volvoR1_16", "volvoR1_16"):
        _wav(root / "Lombard" / f"{name}.wav")
    for name in ("recR1_16", "pathR1_16", "rec_pathR1_16"):
        _wav(root / "Monaural" / f"{name}.wav")
    _wav(root / "TIMIT" / "bigtips_16.wav")
    e = _by_id(load_corpus("spear", root.parent))
    assert set(e) == {"Noisy_Recordings/bigtips_f16r1_16", "Noisy_Recordings/bigtips_white_16",
                      "Lombard/alex_volvoR1_16", "Monaural/rec_pathR1_16", "TIMIT/bigtips_16"}  # tips: no reference
    n = e["Noisy_Recordings/bigtips_f16r1_16"]
    assert Path(n.clean).name == "bigtipsr1_16.wav" and n.meta["noise_type"] == "f16" and n.meta["take"] == "1"
    assert e["Noisy_Recordings/bigtips_white_16"].meta["noise_type"] == "white"
    lom = e["Lombard/alex_volvoR1_16"]
    assert (Path(lom.clean).name, Path(lom.noise).name) == ("T_alex_volvoR1_16.wav", "volvoR1_16.wav")
    assert lom.speaker == "alex" and lom.meta["noise_type"] == "volvo"
    mono = e["Monaural/rec_pathR1_16"]
    assert (Path(mono.clean).name, Path(mono.noise).name) == ("recR1_16.wav", "pathR1_16.wav")
    assert {x.split for x in e.values()} == {"test"}


# -------------------------------------------------------------------------------------- Aurora-2
def _raw(path: Path, samples: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    samples.astype(">i2").tofile(str(path))
    return path


def test_aurora_raw_reading_pairing_and_lists(tmp_path):
    root = tmp_path / "aurora2"
    known = np.array([0, 1000, -1000, 32767, -32768] * 80, dtype=np.int16)  # 400 samples = 0.05 s at 8 kHz
    _raw(root / "speechdata" / "TESTA" / "CLEAN1" / "FAK_1B.08", known)
    _raw(root / "speechdata" / "TESTA" / "N1_SNR5" / "FAK_1B.08", known // 2)
    _raw(root / "speechdata" / "TESTA" / "N1_SNR-5" / "FAK_1B.08", known // 4)
    _raw(root / "speechdata" / "TESTA" / "N2_SNR10" / "MAH_3A.08", known)
    _raw(root / "speechdata" / "TESTA" / "CLEAN2" / "MAH_3A.08", known)
    _raw(root / "speechdata" / "TRAIN" / "CLEAN" / "FAC_13A.08", known)
    _raw(root / "speechdata" / "TRAIN" / "MULTI" / "N3_SNR15" / "FAC_13A.08", known)
    _raw(root / "speechdata" / "TRAIN" / "MULTI" / "CLEAN1" / "FAC_13A.08", known)
    x = read_raw(root / "speechdata" / "TESTA" / "CLEAN1" / "FAK_1B.08")
    assert x.shape == (1, 400) and x.dtype == np.float32
    np.testing.assert_array_equal(x[0], known.astype(np.float32) / 32768)
    e = _by_id(load_corpus("aurora2", root))
    assert len(e) == 5
    t = e["testa/N1_SNR-5/FAK_1B"]
    assert t.format == "raw_be16" and t.sample_rate == 8000 and t.seconds == pytest.approx(0.05)
    assert t.clean.endswith("CLEAN1/FAK_1B.08") and t.meta["snr_db"] == -5.0 and t.meta["noise_type"] == "subway"
    assert e["testa/N2_SNR10/MAH_3A"].meta["noise_type"] == "babble" and e["testa/N2_SNR10/MAH_3A"].speaker == "MAH"
    m = e["train/multi/N3_SNR15/FAC_13A"]
    assert m.split == "train" and m.clean.endswith("CLEAN/FAC_13A.08") and m.meta["noise_type"] == "car"
    assert e["train/clean/FAC_13A"].noisy is None
    lst = tmp_path / "testa.list"
    lst.write_text("speechdata/testa/N1_SNR5/FAK_1B.08\n")
    only = load_corpus("aurora2", root, {"sets": "testa", "file_list": str(lst)})
    assert [x.id for x in only] == ["testa/N1_SNR5/FAK_1B"]
    lst.write_text("FAK_1B\n")  # a bare utterance name keeps it in every condition
    only = load_corpus("aurora2", root, {"sets": "testa", "file_list": str(lst)})
    assert sorted(x.id for x in only) == ["testa/N1_SNR-5/FAK_1B", "testa/N1_SNR5/FAK_1B"]
    with pytest.raises(ParameterError, match="speechdata/train/clean/\\*.08"):
        load_corpus("aurora2", root / "speechdata" / "TESTA")


# ------------------------------------------------------------------------------------------- DNS
def test_dns_folders_and_fileid_pairs(tmp_path):
    ds = tmp_path / "DNS-Challenge" / "datasets"
    _wav(ds / "clean" / "book_00000_chp_0009_reader_06709_0.wav")
    _wav(ds / "noise" / "Door_4Yz_gLsLn4.wav")
    for cond in ("no_reverb", "with_reverb"):
        for k, snr in ((0, 5), (1, 17)):
            _wav(ds / "test_set" / "synthetic" / cond / "clean" / f"clean_fileid_{k}.wav")
            _wav(ds / "test_set" / "synthetic" / cond / "noisy" / f"book_x_snr{snr}_tl-33_fileid_{k}.wav", seed=k + 1)
    e = _by_id(load_corpus("dns", tmp_path / "DNS-Challenge"))
    assert len(e) == 6
    c = e["clean/book_00000_chp_0009_reader_06709_0"]
    assert c.split == "train" and c.speaker == "reader_06709" and c.noisy is None and c.noise is None
    assert e["noise/Door_4Yz_gLsLn4"].noise.endswith("Door_4Yz_gLsLn4.wav") and e["noise/Door_4Yz_gLsLn4"].clean is None
    p = e["synthetic/with_reverb/fileid_1"]
    assert p.split == "test" and p.meta["reverb"] is True and p.meta["snr_db"] == 17.0
    assert p.clean.endswith("with_reverb/clean/clean_fileid_1.wav") and p.noisy.endswith("_fileid_1.wav")
    with pytest.raises(ParameterError, match="datasets/test_set/synthetic/no_reverb"):
        load_corpus("dns", ds / "clean")


# ------------------------------------------------------------------------------------- Beethoven
def test_beethoven_samplernn_split(tmp_path):
    for i in range(12):
        _wav(tmp_path / "music" / "parts" / f"p{i}.flac", seconds=0.01, seed=i)
    entries = load_corpus("beethoven", tmp_path / "music", {"valid_count": "2", "test_count": "3"})
    counts = {s: sum(e.split == s for e in entries) for s in ("train", "valid", "test")}
    assert counts == {"train": 7, "valid": 2, "test": 3}
    names = sorted(f"p{i}" for i in range(12))  # the original sorts path strings: p0, p1, p10, p11, p2, ...
    order = py2_shuffle(names)
    assert {e.id for e in entries if e.split == "test"} == set(order[-3:])
    assert sorted(order) == names and order == py2_shuffle(names)
    py3 = list(names)
    random.Random(123).shuffle(py3)
    assert order != py3  # Python 3's shuffle is a different algorithm: the emulation matters
    assert _by_id(entries)["p7"].meta == {"chunk": 7, "start_s": 7.0}


# --------------------------------------------------------------------------------- MagnaTagATune
def test_magnatagatune_tags_splits_and_broken_clip(tmp_path):
    root = tmp_path / "mtat"
    rows = [("2", "1", "0", "1", "0/a-01-aria-0-29.mp3"), ("6", "0", "1", "1", "c/b-02-rock-0-29.mp3"),
            ("10", "0", "0", "1", "f/c-03-piano-0-29.mp3"), ("12", "1", "0", "0", "e/empty-0-29.mp3")]
    head = '"clip_id"\t"no voice"\t"singer"\t"classical"\t"mp3_path"\n'
    (root).mkdir()
    (root / "annotations_final.csv").write_text(head + "".join("\t".join(f'"{v}"' for v in r) + "\n" for r in rows))
    for n, r in enumerate(rows[:3]):
        _wav(root / r[4], 16000, seconds=0.2, seed=n)
    (root / "e").mkdir()
    (root / "e" / "empty-0-29.mp3").write_bytes(b"")  # the release has a few empty clips
    result = prepare("magnatagatune", root, tmp_path / "mtat.jsonl")
    assert result.count == 3 and result.skipped == 1 and result.splits == {"train": 1, "valid": 1, "test": 1}
    e = {d["id"]: d for d in read_manifest(tmp_path / "mtat.jsonl")}
    assert e["2"]["meta"]["tags"] == ["no voice", "classical"] and e["2"]["split"] == "train"
    assert e["6"]["split"] == "valid" and e["10"]["split"] == "test" and e["10"]["sample_rate"] == 16000
    top = _by_id(load_corpus("magnatagatune", root, {"top_tags": "1"}))
    assert top["6"].meta["tags"] == ["classical"]
    with pytest.raises(ParameterError, match="annotations_final.csv"):
        load_corpus("magnatagatune", root / "0")


# ----------------------------------------------------------------------------------------- plain
def test_plain_folders(tmp_path):
    root = tmp_path / "pairs"
    for rel in ("a/u1", "b/u2"):
        _wav(root / "clean" / f"{rel}.wav")
        _wav(root / "noisy" / f"{rel}.flac", seed=1)
    _wav(root / "noise" / "hum.wav", seed=2)
    e = _by_id(load_corpus("plain", root, {"split": "test"}))
    assert set(e) == {"a/u1", "b/u2", "noise/hum"} and {x.split for x in e.values()} == {"test"}
    assert e["a/u1"].clean.endswith("clean/a/u1.wav") and e["a/u1"].noisy.endswith("noisy/a/u1.flac")
    assert e["noise/hum"].noise is not None and e["noise/hum"].clean is None
    split_root = tmp_path / "split"
    _wav(split_root / "train" / "clean" / "x.wav")
    _wav(split_root / "valid" / "clean" / "y.wav")
    assert {x.id: x.split for x in load_corpus("plain", split_root)} == {"train/x": "train", "valid/y": "valid"}
    _wav(root / "noisy" / "c" / "orphan.wav")
    with pytest.raises(AudioInputError, match="noisy file 'c/orphan' has no partner"):
        load_corpus("plain", root)


# ------------------------------------------------------------------------ manifests and the CLI
def test_cli_prepare_and_list(vbd, tmp_path, capsys):
    out = tmp_path / "out" / "vbd.jsonl"
    assert main(["data", "prepare", "--corpus", "voicebank-demand", "--root", str(vbd), "-o", str(out),
                 "--set", "rate=16k"]) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 4 and list(lines[0]) == ["corpus", "split", "id", "speaker", "clean", "noisy", "noise",
                                                 "sample_rate", "seconds", "format", "frames", "meta"]
    assert all(Path(d["clean"]).is_absolute() and d["sample_rate"] == 16000 for d in lines)
    assert "wrote 4 entries" in capsys.readouterr().err
    assert not [p for p in out.parent.iterdir() if p.name != "vbd.jsonl"]  # no temp file left behind
    assert main(["data", "list"]) == 0
    listed = capsys.readouterr().out
    assert all(f"{c.name}: " in listed for c in list_corpora()) and len(list_corpora()) == 8
    assert "wav48_silence_trimmed/p225/p225_001_mic1.flac" in listed and "--set split=multispeaker" in listed
    assert main(["data", "prepare", "--corpus", "vctk", "--root", str(vbd), "-o", str(out)]) == 2
    assert "does not look like VCTK: expected wav48/pXXX/pXXX_NNN.wav" in capsys.readouterr().err


def test_manifest_round_trip_and_bad_lines(tmp_path, vbd):
    entries = load_corpus("voicebank-demand", vbd, {"sets": "test"})
    p = write_manifest(entries, tmp_path / "m.jsonl")
    assert read_manifest(p) == [e.to_dict() for e in entries]
    p.write_text(p.read_text() + "{not json\n")
    with pytest.raises(ParameterError, match="line 2 is not JSON"):
        read_manifest(p)


# --------------------------------------------------------------- datasets and training configs
def test_datasets_read_raw_entries_from_a_manifest(tmp_path):
    root = tmp_path / "aurora2" / "speechdata"
    known = (np.arange(800) % 200 - 100).astype(np.int16) * 100
    _raw(root / "testa" / "clean1" / "FAK_1B.08", known)
    _raw(root / "testa" / "N1_SNR5" / "FAK_1B.08", known // 2)
    prepare("aurora2", root, tmp_path / "a2.jsonl")
    f = AudioFile(str(root / "testa" / "clean1" / "FAK_1B.08"), "x", 8000, 800, "raw_be16")
    np.testing.assert_allclose(read_segment(f, 100, 50, 8000), known[100:150] / 32768, atol=1e-7)
    assert read_segment(f, 0, 1600, 16000).shape == (1600,)  # resampled on the fly, like any file
    pairs = paired_files(tmp_path, [manifest_source("pair", "test", "a2.jsonl")])
    assert len(pairs) == 1 and pairs[0][0].format == "raw_be16" and pairs[0][1].frames == 800
    noisy, clean = PairedDataset(pairs, 8000, 400)[0]
    assert noisy.shape == clean.shape == (1, 400) and torch.allclose(noisy, clean / 2, atol=1e-4)
    with pytest.raises(AudioInputError, match="no clean entries in split 'test'"):
        scan_files(tmp_path, [manifest_source("clean", "test", "a2.jsonl")])


def test_experiment_config_takes_manifests(vbd, tmp_path):
    from audiorestore.train.experiment import ExperimentConfig, apply_overrides, resolve
    from audiorestore.train.trainer import build_datasets

    prepare("voicebank-demand", vbd, tmp_path / "vb.jsonl", {"rate": "16k", "valid_speakers": "p287"})
    cfg = apply_overrides(ExperimentConfig(), [f"data.root={tmp_path}", "data.manifests=[vb.jsonl]",
                                               "model.tiny=true", "data.num_workers=0"])
    r = resolve(cfg)
    assert r.data.paired_dirs == ["manifest:pair:train:vb.jsonl", "manifest:pair:valid:vb.jsonl"]
    assert r.data.valid_paired == ["vb/valid"] and r.data.clean_dirs == [] and resolve(r).data == r.data
    train, valid = build_datasets(r, 400, 800)
    assert len(train) == 2 and len(valid) == 1  # p226 trains, p287 validates, the test set is never read
    noisy, clean = train[0]
    assert noisy.shape == clean.shape == (1, 400)
    bad = apply_overrides(cfg, ["data.manifest_split=valid", "data.manifest_valid_split="])
    assert resolve(bad).data.paired_dirs == ["manifest:pair:valid:vb.jsonl"]
    with pytest.raises(ParameterError, match="no trainable entries in split 'dev'"):
        resolve(apply_overrides(cfg, ["data.manifest_split=dev"]))
