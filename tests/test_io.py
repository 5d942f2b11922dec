"""Audio file I/O (audiorestore.io): format round trips, atomic writes, bad-input errors, batching."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiorestore import api, io
from audiorestore.enhancer import get_method
from audiorestore.errors import AudioInputError, ParameterError

SR = 16000
N = 4000


def signal(channels: int, n: int = N, sample_rate: int = SR) -> np.ndarray:
    """A different tone per channel at half scale, float32 ``(channels, n)``."""
    t = np.arange(n) / sample_rate
    return np.stack([0.5 * np.sin(2 * np.pi * 220 * (c + 1) * t + c) for c in range(channels)]).astype(np.float32)


def snr_db(estimate: np.ndarray, reference: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference ** 2) / np.sum((estimate - reference) ** 2)))


def leftovers(folder: Path) -> list[str]:
    """Hidden temporary files an atomic write may have left."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


MP3_WRITABLE = "MP3" in sf.available_formats() and sf.check_format("MP3", "MPEG_LAYER_III")
needs_mp3 = pytest.mark.skipif(not MP3_WRITABLE, reason=f"libsndfile {sf.__libsndfile_version__} cannot write MP3 "
                                                        "(needs >= 1.1)")


# ------------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("name,subtype,fmt,tolerance", [
    ("x.wav", "PCM_16", "WAV", 2 ** -15),
    ("x.wav", "PCM_24", "WAV", 2 ** -23),
    ("x.wav", "FLOAT", "WAV", 0.0),
    ("x.flac", None, "FLAC", 2 ** -15),  # FLAC defaults to 16 bit
    ("x.flac", "PCM_24", "FLAC", 2 ** -23),
])
def test_lossless_round_trip(tmp_path, name, subtype, fmt, tolerance, channels):
    x = signal(channels)
    path = io.write(tmp_path / name, x, SR, subtype=subtype)
    info = io.info(path)
    assert (info.format, info.subtype) == (fmt, subtype or "PCM_16")
    assert (info.sample_rate, info.channels, info.frames) == (SR, channels, N)
    assert info.duration_s == pytest.approx(N / SR)
    y, sr = io.read(path)
    assert sr == SR and y.shape == (channels, N) and y.dtype == np.float32
    assert np.max(np.abs(y - x)) <= tolerance + 1e-9
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_ogg_vorbis_round_trip(tmp_path, channels):
    x = signal(channels)
    path = io.write(tmp_path / "x.ogg", x, SR)
    info = io.info(path)
    assert (info.format, info.subtype, info.channels, info.sample_rate) == ("OGG", "VORBIS", channels, SR)
    y, _ = io.read(path)
    assert y.shape == (channels, N)
    for c in range(channels):  # lossy, but close
        assert snr_db(y[c, 500:-500], x[c, 500:-500]) > 15


@needs_mp3
@pytest.mark.parametrize("channels", [1, 2])
def test_mp3_round_trip(tmp_path, channels):
    x = signal(channels)
    path = io.write(tmp_path / "x.mp3", x, SR)
    info = io.info(path)
    assert (info.format, info.subtype, info.channels, info.sample_rate) == ("MP3", "MPEG_LAYER_III", channels, SR)
    y, _ = io.read(path)
    assert abs(y.shape[1] - N) <= 1152  # at most one MPEG frame of padding
    n = min(N, y.shape[1])
    for c in range(channels):
        assert snr_db(y[c, 500:n - 500], x[c, 500:n - 500]) > 10


@needs_mp3
def test_mp3_that_cannot_be_written_is_a_one_line_error_and_leaves_nothing(tmp_path):
    with pytest.raises(ParameterError, match="cannot write MP3.*6 channel"):
        io.write(tmp_path / "six.mp3", signal(6), SR)  # MPEG audio holds at most 2 channels
    with pytest.raises(ParameterError, match="96000 Hz"):
        io.write(tmp_path / "hi.mp3", signal(1, sample_rate=96000), 96000)
    assert list(tmp_path.iterdir()) == []


def test_opus_extension_writes_ogg_opus(tmp_path):
    path = io.write(tmp_path / "x.opus", signal(2, n=SR), SR)
    info = io.info(path)
    assert (info.format, info.subtype, info.channels) == ("OGG", "OPUS", 2)


# --------------------------------------------------------------------------- formats and subtypes
def test_format_for_extensions_and_errors():
    assert io.format_for("a.WAV") == ("WAV", "PCM_16")
    assert io.format_for("a.flac", "PCM_24") == ("FLAC", "PCM_24")
    assert io.format_for("a.opus") == ("OGG", "OPUS")
    assert io.format_for("a.aiff") == ("AIFF", "PCM_16")
    with pytest.raises(ParameterError, match="unsupported output extension '.xyz'"):
        io.format_for("a.xyz")
    with pytest.raises(ParameterError, match="cannot store subtype FLOAT"):
        io.format_for("a.flac", "FLOAT")


@pytest.mark.parametrize("src_name,src_subtype,dst_name,expected", [
    ("in.wav", "PCM_24", "out.wav", "PCM_24"),   # same format: subtype kept
    ("in.wav", "FLOAT", "out.wav", "FLOAT"),
    ("in.flac", "PCM_24", "out.flac", "PCM_24"),
    ("in.wav", "PCM_24", "out.flac", None),       # another format: that format's default
    ("in.wav", "FLOAT", "out.ogg", None),
    ("in.ogg", "VORBIS", "out.wav", None),
])
def test_output_subtype(tmp_path, src_name, src_subtype, dst_name, expected):
    src = io.write(tmp_path / src_name, signal(1), SR, subtype=src_subtype)
    assert io.output_subtype(io.info(src), tmp_path / dst_name) == expected


def test_process_file_preserves_rate_channels_and_subtype(tmp_path):
    src = io.write(tmp_path / "in.wav", signal(2), SR, subtype="PCM_24")
    out = api.process_file(get_method("smooth"), src, tmp_path / "out.wav")
    info = io.info(out)
    assert (info.sample_rate, info.channels, info.frames, info.subtype) == (SR, 2, N, "PCM_24")


def test_write_clips_integer_formats_but_not_float(tmp_path):
    x = np.array([[1.5, -2.0] + [0.1] * 30], dtype=np.float32)
    pcm, _ = io.read(io.write(tmp_path / "pcm.wav", x, SR))
    flt, _ = io.read(io.write(tmp_path / "flt.wav", x, SR, subtype="FLOAT"))
    assert pcm[0, 0] == pytest.approx(1.0, abs=1e-4) and pcm[0, 1] == pytest.approx(-1.0, abs=1e-4)
    assert flt[0, 0] == 1.5 and flt[0, 1] == -2.0


def test_write_accepts_1d_and_rejects_other_shapes(tmp_path):
    y, _ = io.read(io.write(tmp_path / "mono.wav", signal(1)[0], SR))
    assert y.shape == (1, N)
    with pytest.raises(ValueError, match=r"\(1, 2, 100\)"):
        io.write(tmp_path / "bad.wav", np.zeros((1, 2, 100)), SR)
    with io.AtomicWriter(tmp_path / "w.wav", SR, channels=2) as w:
        with pytest.raises(ValueError, match=r"\(2, time\), found \(3, 10\)"):
            w.write(np.zeros((3, 10)))
        w.write(signal(2))


# ---------------------------------------------------------------------------------- atomic writes
def test_atomic_write_leaves_no_temp_file_and_has_ordinary_permissions(tmp_path):
    path = io.write(tmp_path / "sub" / "dir" / "x.wav", signal(1), SR)  # parents are created
    assert path.exists() and leftovers(path.parent) == []
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_failed_write_keeps_the_previous_output_and_removes_the_temp_file(tmp_path):
    out = io.write(tmp_path / "out.wav", signal(1), SR)
    before = out.read_bytes()
    with pytest.raises(RuntimeError, match="killed"):
        with io.AtomicWriter(out, SR, channels=1) as w:
            w.write(np.zeros((1, 100), np.float32))
            raise RuntimeError("killed halfway")
    assert out.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_existing_output_is_not_replaced_without_overwrite(tmp_path):
    out = io.write(tmp_path / "out.wav", signal(1), SR)
    before = out.read_bytes()
    with pytest.raises(AudioInputError, match="output exists"):
        io.write(out, signal(1) * 0.1, SR, overwrite=False)
    assert out.read_bytes() == before
    io.write(out, signal(1) * 0.1, SR, overwrite=True)
    assert out.read_bytes() != before


def test_a_protected_input_is_never_overwritten(tmp_path):
    src = io.write(tmp_path / "in.wav", signal(1), SR)
    before = src.read_bytes()
    with pytest.raises(AudioInputError, match="refusing to overwrite an input file"):
        io.write(src, signal(1) * 0.1, SR, overwrite=True, protect=(str(src),))
    link = tmp_path / "link.wav"  # the same file under another name
    link.symlink_to(src)
    with pytest.raises(AudioInputError, match="refusing to overwrite an input file"):
        io.write(link, signal(1) * 0.1, SR, overwrite=True, protect=(str(src),))
    hard = tmp_path / "hard.wav"
    os.link(src, hard)
    with pytest.raises(AudioInputError, match="refusing to overwrite an input file"):
        io.write(hard, signal(1) * 0.1, SR, overwrite=True, protect=(str(src),))
    with pytest.raises(AudioInputError, match="refusing to overwrite an input file"):
        api.process_file(get_method("smooth"), src, src, overwrite=True)
    assert src.read_bytes() == before
    assert leftovers(tmp_path) == []


# ----------------------------------------------------------------------------------- bad input
def _make_bad(tmp_path: Path, case: str) -> Path:
    p = tmp_path / f"{case}.wav"
    if case == "directory":
        p.mkdir()
    elif case == "empty":
        p.write_bytes(b"")
    elif case == "text":
        p.write_text("this is a text file, not audio\n" * 20)
    elif case in ("truncated_header", "truncated_data", "header_only"):
        full = io.write(tmp_path / "full.wav", signal(1), SR)  # 44-byte header + 8000 bytes of PCM_16
        cut = {"truncated_header": 30, "truncated_data": 44 + 3001, "header_only": 44}[case]
        p.write_bytes(full.read_bytes()[:cut])
        full.unlink()
    elif case == "silent":
        sf.write(p, np.zeros(1000), SR)
    elif case in ("nan", "inf"):
        x = signal(1)[0]
        x[[10, 20]] = np.nan if case == "nan" else np.inf
        sf.write(p, x, SR, subtype="FLOAT")
    elif case == "one_sample":
        sf.write(p, np.array([0.5]), SR)
    return p


@pytest.mark.parametrize("case,message", [
    ("missing", "no such file"),
    ("directory", "is a directory, expected an audio file"),
    ("empty", "file is empty (0 bytes)"),
    ("text", "not a readable audio file"),
    ("truncated_header", "not a readable audio file"),
    ("truncated_data", "truncated: the header declares 8000 bytes of audio but only 3001 are present"),
    ("header_only", "contains no audio samples"),
    ("silent", "is silent (all samples are zero); nothing to restore"),
    ("nan", "contains 2 NaN or infinite samples"),
    ("inf", "contains 2 NaN or infinite samples"),
    ("one_sample", "too short: 1 samples (at least 16 needed)"),
])
def test_bad_input_raises_a_one_line_audio_input_error(tmp_path, case, message):
    path = tmp_path / "missing.wav" if case == "missing" else _make_bad(tmp_path, case)
    with pytest.raises(AudioInputError) as err:
        io.read(path)
    text = str(err.value)
    assert text.startswith(f"{path}: {message}")  # names the file, one line
    assert "\n" not in text


@pytest.mark.parametrize("case", ["truncated_data", "nan", "one_sample"])
def test_process_file_refuses_bad_input_and_writes_nothing(tmp_path, case):
    src = _make_bad(tmp_path, case)
    with pytest.raises(AudioInputError):
        api.process_file(get_method("smooth"), src, tmp_path / "out.wav")
    assert not (tmp_path / "out.wav").exists() and leftovers(tmp_path) == []


def test_restoring_a_silent_file_writes_silence_of_the_same_shape(tmp_path, caplog):
    src = tmp_path / "mute.flac"
    sf.write(src, np.zeros((3000, 2)), SR, subtype="PCM_24")
    with caplog.at_level("INFO", logger="audiorestore.api"):
        out = api.process_file(get_method("wiener"), src, tmp_path / "out.flac")
    y, sr = sf.read(out, always_2d=True)
    assert sr == SR and y.shape == (3000, 2) and not np.any(y)
    assert sf.info(str(out)).subtype == "PCM_24"  # the input's format, as for any other file
    assert "digital silence" in caplog.text
    up = api.upsample_file(src, tmp_path / "up.wav", 3 * SR, method="sinc")
    y, sr = sf.read(up, always_2d=True)
    assert sr == 3 * SR and y.shape == (9000, 2) and not np.any(y)
    assert leftovers(tmp_path) == []


def test_allow_silence_reads_an_all_zero_file(tmp_path):
    y, sr = io.read(_make_bad(tmp_path, "silent"), allow_silence=True)
    assert y.shape == (1, 1000) and not np.any(y)


def test_validate_reports_the_shape_it_found():
    with pytest.raises(AudioInputError, match=r"found shape \(100,\)"):
        io.validate(np.ones(100, np.float32))
    with pytest.raises(AudioInputError, match=r"found shape \(1000, 2\): more channels than samples"):
        io.validate(np.ones((1000, 2), np.float32))  # (time, channels) is never silently transposed
    with pytest.raises(AudioInputError, match="too short: 3 samples"):
        io.validate(np.ones((6, 3), np.float32))  # a 6-channel file that is merely short


def test_clipped_input_is_logged(tmp_path, caplog):
    x = signal(1)
    x[0, ::10] = 1.0
    path = io.write(tmp_path / "clip.wav", x, SR, subtype="FLOAT")
    with caplog.at_level(logging.WARNING, logger="audiorestore.io"):
        io.read(path)
    assert "clipped input" in caplog.text


# ------------------------------------------------------------------------------------ read options
def test_read_mono_resample_and_partial(tmp_path):
    x = signal(2)
    path = io.write(tmp_path / "x.wav", x, SR, subtype="FLOAT")
    mono, _ = io.read(path, mono=True)
    np.testing.assert_allclose(mono[0], x.mean(axis=0), atol=1e-7)
    down, sr = io.read(path, sample_rate=8000)
    assert sr == 8000 and down.shape == (2, N // 2)
    part, _ = io.read(path, start=1000, frames=500)
    np.testing.assert_array_equal(part, x[:, 1000:1500])


# ------------------------------------------------------------------------------------ batching
def test_expand_inputs_mirrors_directory_trees(tmp_path):
    root = tmp_path / "in"
    for rel in ("a.wav", "sub/b.flac", "sub/deeper/c.ogg"):
        io.write(root / rel, signal(1), SR)
    (root / "notes.txt").write_text("not audio")
    (root / ".hidden.wav").write_bytes(b"")
    single = io.write(tmp_path / "single.wav", signal(1), SR)
    pairs = io.expand_inputs([root, single])
    assert [(str(f.relative_to(tmp_path)), str(rel)) for f, rel in pairs] == [
        ("in/a.wav", "a.wav"), ("in/sub/b.flac", "sub/b.flac"), ("in/sub/deeper/c.ogg", "sub/deeper/c.ogg"),
        ("single.wav", "single.wav")]


def test_expand_inputs_errors_name_the_input(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(AudioInputError, match="empty: no audio files"):
        io.expand_inputs([tmp_path / "empty"])
    with pytest.raises(AudioInputError, match="nope.wav: no such file or directory"):
        io.expand_inputs([tmp_path / "nope.wav"])


@pytest.mark.parametrize("block,overlap", [(1000, 0), (1000, 250), (999, 100), (N, 0), (N + 500, 10), (17, 16)])
def test_iter_blocks_covers_the_file_exactly(tmp_path, block, overlap):
    x = signal(2)
    path = io.write(tmp_path / "x.wav", x, SR, subtype="FLOAT")
    blocks = list(io.iter_blocks(path, block, overlap))
    step = block - overlap
    assert [s for s, _ in blocks] == list(range(0, step * len(blocks), step))
    for start, b in blocks:
        assert b.dtype == np.float32 and b.shape[0] == 2
        np.testing.assert_array_equal(b, x[:, start:start + block])  # every block is the file's data
    assert all(b.shape[1] == block for _, b in blocks[:-1])
    last_start, last = blocks[-1]
    assert last_start + last.shape[1] == N  # ends exactly at the end of the file
    assert len(blocks) == 1 or blocks[-2][0] + block < N  # no block entirely inside the previous one


def test_iter_blocks_rejects_overlap_not_smaller_than_block(tmp_path):
    path = io.write(tmp_path / "x.wav", signal(1), SR)
    with pytest.raises(ValueError, match="larger than overlap"):
        list(io.iter_blocks(path, 100, 100))
