"""The Beethoven piano sonatas set of SampleRNN (Mehri et al., ICLR 2017), used for music
super-resolution by Kuleshov et al. (2017) and TFiLM (Birnbaum et al., 2019).

``datasets/music`` of github.com/soroushmehr/sampleRNN_ICLR2017 downloads the 32 sonatas from
archive.org (.ogg), converts them to 16 kHz mono, concatenates them and cuts ``parts/p<i>.flac``
(``preprocess.py``: ``ffmpeg -ss <i> -t 8``, so chunk ``i`` starts at ``i`` seconds, as the script
reads). ``_2npy.py`` then sorts the chunk paths, shuffles them with Python 2's ``random.seed(123);
random.shuffle`` and keeps the last 2 x 256 for validation and test: ``music_train.npy`` =
``[:-512]``, ``music_valid.npy`` = ``[-512:-256]``, ``music_test.npy`` = ``[-256:]``. The
shuffle is reproduced here (Python 2's algorithm on the same Mersenne Twister stream); this was
not checked against the published .npy files.

A folder of whole recordings (no ``p<i>`` chunks) gives whole-file ``train`` entries: there is no
published split of the recordings themselves.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from ._base import Entry, audio_files, check_root, find, layout_error, register, try_entry

NAME = "beethoven"
_CHUNK = re.compile(r"^p(\d+)$")
SEED = 123


def py2_shuffle(items: list, seed: int = SEED) -> list:
    """A copy of ``items`` in the order Python 2.7's ``random.seed(seed); random.shuffle(items)`` gives.

    Python 3 draws ``randbelow`` instead of ``int(random() * (i + 1))``, so its shuffle differs
    for the same seed; the seeding of the generator by an integer is the same in both.

    Example:
        >>> py2_shuffle([1, 2, 3], seed=0) == py2_shuffle([1, 2, 3], seed=0)
        True
    """
    x = list(items)
    rng = random.Random(seed)
    for i in reversed(range(1, len(x))):
        j = int(rng.random() * (i + 1))
        x[i], x[j] = x[j], x[i]
    return x


@register(NAME, "Beethoven piano sonatas (SampleRNN's 8 s chunks at 16 kHz), with its train/valid/test split", """
    ROOT/parts/p0.flac p1.flac ... (8 s chunks, 16 kHz mono; ROOT may be parts/ itself)
    split as SampleRNN's _2npy.py: sorted names, Python 2 shuffle with seed 123,
    last 512 -> 256 valid + 256 test (valid_count, test_count), the rest -> train
    or ROOT/*.ogg|wav|flac whole recordings -> train""")
def beethoven(root: Path, *, valid_count: int = 256, test_count: int = 256) -> list[Entry]:
    """Entries of the SampleRNN piano chunks (or whole recordings) under ``root``.

    Example:
        >>> entries = beethoven(Path("/data/music"))                 # doctest: +SKIP
    """
    root = check_root(root)
    parts = find(root, "parts") or root
    files = audio_files(parts)
    chunks = [p for p in files if _CHUNK.match(p.stem)]
    entries: list[Entry] = []
    skipped: list[str] = []
    if chunks:
        # glob order of the original: sorted path strings (p0, p1, p10, p100, ...), then the fixed shuffle
        order = py2_shuffle(sorted(chunks, key=lambda p: p.as_posix()))
        n = len(order)
        n_test = min(test_count, n)
        n_valid = min(valid_count, n - n_test)
        for pos, p in enumerate(order):
            split = "test" if pos >= n - n_test else "valid" if pos >= n - n_test - n_valid else "train"
            i = int(_CHUNK.match(p.stem).group(1))  # type: ignore[union-attr]
            e = try_entry(skipped, NAME, split, p.stem, clean=p, meta={"chunk": i, "start_s": float(i)})
            if e is not None:
                entries.append(e)
        return sorted(entries, key=lambda e: e.meta["chunk"])
    if not files:
        raise layout_error(root, "the SampleRNN Beethoven set", ["parts/p0.flac, p1.flac, ...",
                                                                  "or the sonata recordings (*.ogg, *.wav)"])
    for p in files:
        e = try_entry(skipped, NAME, "train", p.relative_to(root).with_suffix("").as_posix(), clean=p,
                      meta={"recording": p.name})
        if e is not None:
            entries.append(e)
    return entries
