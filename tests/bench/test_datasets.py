"""Datasets: paired folders, pair manifests, SpEAR pairs from a corpus manifest, auto-detection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audiorestore.bench.datasets import load_dataset, manifest, paired_folder, spear
from audiorestore.errors import AudioInputError, ParameterError

from .conftest import make_manifest, make_pairs


def test_paired_folder_pairs_by_relative_path_across_extensions(tmp_path: Path) -> None:
    root = make_pairs(tmp_path / "p", n_items=3, ext=".wav", clean_ext=".flac", with_noise=True)
    items = paired_folder(root)
    assert [i.name for i in items] == ["g0/utt0", "g0/utt2", "g1/utt1"]
    assert all(i.clean.suffix == ".flac" and i.noisy.suffix == ".wav" for i in items)
    assert all(i.noise is not None and i.noise.exists() for i in items)


def test_paired_folder_leaves_out_unpaired_and_needs_both_folders(tmp_path: Path) -> None:
    root = make_pairs(tmp_path / "p", n_items=2)
    (root / "clean" / "g1" / "utt1.wav").unlink()
    assert [i.name for i in paired_folder(root)] == ["g0/utt0"]
    with pytest.raises(AudioInputError, match="clean"):
        paired_folder(root / "noisy")


def test_manifest_resolves_relative_paths_and_noise(tmp_path: Path) -> None:
    mf = make_manifest(tmp_path / "m", n_items=3)
    items = manifest(mf)
    assert [i.name for i in items] == ["g0/utt0", "g0/utt2", "g1/utt1"]
    assert all(i.noisy.exists() and i.clean.exists() and i.noise is not None for i in items)


def test_spear_reads_pair_lines_of_a_corpus_manifest(tmp_path: Path) -> None:
    make_pairs(tmp_path / "pairs" / "spear_16k" / "Noisy_Recordings", n_items=2)
    base = "pairs/spear_16k/Noisy_Recordings"
    rows = [{"path": "noise/x.flac", "kind": "noise"},
            {"path": f"{base}/noisy/g0/utt0.wav", "kind": "pair_noisy", "clean_ref": f"{base}/clean/g0/utt0.wav"},
            {"path": f"{base}/noisy/g1/utt1.wav", "kind": "pair_noisy", "clean_ref": f"{base}/clean/g1/utt1.wav"},
            {"path": "pairs/spear_16k/Monaural/a.wav", "kind": "pair_noisy", "clean_ref": "x.wav"}]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    items = spear(tmp_path)
    assert [i.name for i in items] == ["utt0", "utt1"]
    ds = load_dataset(f"spear={tmp_path}")
    assert ds.kind == "spear" and len(ds) == 2


def test_load_dataset_detects_the_kind_and_applies_limit(tmp_path: Path) -> None:
    make_manifest(tmp_path / "m", n_items=3)
    assert load_dataset(f"a={tmp_path / 'm'}").kind == "manifest"  # a folder with a pair manifest
    assert load_dataset(f"a={tmp_path / 'm' / 'manifest.jsonl'}").kind == "manifest"
    make_pairs(tmp_path / "f", n_items=3)
    ds = load_dataset(str(tmp_path / "f"), limit=2)
    assert ds.name == "f" and ds.kind == "folder" and len(ds) == 2


def test_load_dataset_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(AudioInputError, match="no such file"):
        load_dataset(f"x={tmp_path / 'missing'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AudioInputError, match="not a dataset"):
        load_dataset(f"x={tmp_path / 'empty'}")
    with pytest.raises(ParameterError, match="plain word"):
        load_dataset(f"a/b={tmp_path}")
