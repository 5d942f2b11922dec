"""What a listening test is: its protocol and scales, its stimuli, each listener's randomised plan, and how
each clip is rendered (anchors made on the fly, levels equalised).

Protocols (``PROTOCOLS``), as their standards describe them, within reason for a local tool:

* ``acr``: ITU-T P.808 absolute category rating, one clip per trial, "Excellent" (5) .. "Bad" (1).
* ``p835``: ITU-T P.835 for noise suppressors: the speech signal (SIG), the background (BAK) and the
  overall quality (OVL) of one clip, each on its five-point scale with the standard's labels.
* ``mushra``: ITU-R BS.1534-3: per item, all conditions side by side on 0-100 sliders against the open
  reference, with a hidden reference and a low anchor (the reference low-passed at 3.5 kHz, BS.1534-3
  section 5.1) among them.

Gold questions (P.808 section 8.2.2 and Annex on crowdsourcing): for ACR and P.835 every listener rates,
at random places, the clean reference (expected 4 or 5) and a strongly degraded anchor (expected 1 or 2):
the reference through an ITU-T P.810 modulated noise reference unit at Q = 5 dB. In MUSHRA the hidden
reference and the anchor of every trial serve that purpose (BS.1534-3 section 4.1.2 post-screening).

A test's stimuli get random opaque ids; the page and the audio route only ever see those ids. Trials, the
conditions inside a MUSHRA trial and the letters of the qualification question are shuffled per listener
with a recorded seed.

Example:
    >>> test = build_test(["bench_out/report"], "mushra", items=4, seed=1)     # doctest: +SKIP
    >>> plan = make_plan(test, listener_seed=1234)                            # doctest: +SKIP
"""

from __future__ import annotations

import io as _io
import json
import logging
import os
import secrets
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from .. import io
from ..errors import AudioInputError, ParameterError
from .store import Stimulus

log = logging.getLogger(__name__)

#: five-point labels, best first (P.808 Table 1; P.835 Tables 1-3)
ACR_LABELS = ("Excellent", "Good", "Fair", "Poor", "Bad")
SIG_LABELS = ("Very natural, no degradation", "Fairly natural, little degradation",
              "Somewhat natural, somewhat degraded", "Fairly unnatural, fairly degraded",
              "Very unnatural, very degraded")
BAK_LABELS = ("Not noticeable", "Slightly noticeable", "Noticeable but not intrusive", "Somewhat intrusive",
              "Very intrusive")
#: MUSHRA's continuous quality scale, 0-100 in five bands (BS.1534-3 section 5.3)
MUSHRA_BANDS = ("Excellent", "Good", "Fair", "Poor", "Bad")


@dataclass(frozen=True)
class Scale:
    """One question: its key in the ratings, the prompt, the range and labels (best first)."""

    key: str
    prompt: str
    low: int
    high: int
    labels: tuple[str, ...]


PROTOCOLS: dict[str, tuple[Scale, ...]] = {
    "acr": (Scale("acr", "Quality of the speech", 1, 5, ACR_LABELS),),
    "p835": (Scale("sig", "The SPEECH SIGNAL alone: how natural is it?", 1, 5, SIG_LABELS),
             Scale("bak", "The BACKGROUND alone: how noticeable or intrusive is it?", 1, 5, BAK_LABELS),
             Scale("ovl", "The OVERALL sample: how good is it?", 1, 5, ACR_LABELS)),
    "mushra": (Scale("mushra", "Quality compared with the reference", 0, 100, MUSHRA_BANDS),),
}
TITLES = {"acr": "Speech quality (ITU-T P.808 ACR)", "p835": "Speech, background and overall quality (ITU-T P.835)",
          "mushra": "Compare with the reference (ITU-R BS.1534 MUSHRA)"}

#: low anchor of MUSHRA (BS.1534-3 section 5.1)
ANCHOR_CUTOFF_HZ = 3500.0
#: strongly degraded gold anchor of ACR/P.835: P.810 MNRU at this Q
MNRU_Q_DB = 5.0
#: every clip is played at this RMS level (P.808 section 6.1.1 asks for -26 dBov speech)
PLAY_LEVEL_DB = -26.0
#: names a NAME=FOLDER source may give its clean reference
REFERENCE_NAMES = ("clean", "reference", "ref")


@dataclass
class ListeningTest:
    """A test: protocol, seed, selected items, stimuli by opaque id, and its definition for the database."""

    protocol: str
    seed: int
    sources: list[str]
    items: list[str]
    conditions: list[str]
    stimuli: dict[str, Stimulus]
    #: item -> kind ('condition' stimuli under their condition name) -> stimulus id
    by_item: dict[str, dict[str, str]] = field(default_factory=dict)
    training_item: str = ""
    quiz_item: str = ""

    @property
    def scales(self) -> tuple[Scale, ...]:
        return PROTOCOLS[self.protocol]

    def meta(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "seed": self.seed, "sources": self.sources, "items": self.items,
                "conditions": self.conditions, "training_item": self.training_item, "quiz_item": self.quiz_item}

    @classmethod
    def from_store(cls, meta: dict[str, Any], stimuli: list[Stimulus]) -> ListeningTest:
        test = cls(meta["protocol"], int(meta["seed"]), list(meta["sources"]), list(meta["items"]),
                   list(meta["conditions"]), {s.id: s for s in stimuli},
                   training_item=meta.get("training_item", ""), quiz_item=meta.get("quiz_item", ""))
        test._index()
        return test

    def _index(self) -> None:
        self.by_item = {}
        for s in self.stimuli.values():
            key = s.condition if s.kind == "condition" else s.kind
            self.by_item.setdefault(s.item, {})[key] = s.id


# ------------------------------------------------------------------------------------------ sources
def _within(path: Path, root: Path) -> Path:
    """``path`` resolved, refused when it (or a symlink on the way) leads outside ``root``."""
    real, base = path.resolve(), root.resolve()
    if not real.is_relative_to(base):
        raise AudioInputError(f"leads outside its source folder {root} (symlink?); refused", path)
    if not real.is_file():
        raise AudioInputError("is not a file", path)
    return real


def is_bench_report(path: Path) -> bool:
    return path.is_dir() and (path / "summary.json").is_file() and (path / "examples").is_dir()


def bench_report_clips(report: str | os.PathLike) -> dict[str, dict[str, Path]]:
    """``{"dataset/item": {"clean": path, method label: path, ...}}`` from a bench report folder's examples."""
    from ..bench.runner import item_key, parse_method

    root = Path(report)
    try:
        doc = json.loads((root / "summary.json").read_text(encoding="utf-8"))
        datasets = doc["datasets"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AudioInputError(f"not a bench report ({type(exc).__name__})", root / "summary.json") from None
    out: dict[str, dict[str, Path]] = {}
    ex_root = root / "examples"
    for ds, entry in datasets.items():
        for item in entry.get("examples", []):
            clips: dict[str, Path] = {}
            ref = ex_root / ds / "clean" / f"{item_key(item)}.flac"
            if ref.is_file():
                clips["clean"] = _within(ref, root)
            for label in entry.get("methods", {}):
                p = ex_root / ds / parse_method(label).key / f"{item_key(item)}.flac"
                if p.is_file():
                    clips[label] = _within(p, root)
            if "clean" in clips and len(clips) > 1:
                out[f"{ds}/{item}"] = clips
    if not out:
        raise AudioInputError("has no example clips with their clean reference (bench --examples K)", root)
    return out


def folder_clips(specs: list[str]) -> dict[str, dict[str, Path]]:
    """``NAME=FOLDER`` sources paired by relative path as ``audiorestore evaluate`` pairs them; one NAME is
    the clean reference (``clean``, ``reference`` or ``ref``)."""
    from ..metrics.evaluation import pair_files

    folders: dict[str, Path] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        name = name.strip()
        if not sep or not name or not path:
            raise ParameterError(f"expected a bench report folder or NAME=FOLDER, got '{spec}'")
        if name in folders:
            raise ParameterError(f"condition '{name}' is given twice")
        if not Path(path).is_dir():
            raise AudioInputError("no such folder", path)
        folders[name] = Path(path)
    ref_names = [n for n in folders if n.lower() in REFERENCE_NAMES]
    if len(ref_names) != 1:
        raise ParameterError("name the clean reference folder once as clean=FOLDER (the hidden reference and "
                             "gold questions are made from it)")
    ref_name = ref_names[0]
    others = [n for n in folders if n != ref_name]
    if not others:
        raise ParameterError("give at least one condition besides the clean reference (NAME=FOLDER)")
    out: dict[str, dict[str, Path]] = {}
    per_condition: dict[str, dict[str, Path]] = {}
    for name in others:
        pairs, missing = pair_files(folders[ref_name], folders[name])
        for m in missing:
            log.warning("%s: unpaired: %s", name, m)
        per_condition[name] = {p.name: _within(p.estimate, folders[name]) for p in pairs}
        for p in pairs:
            out.setdefault(p.name, {"clean": _within(p.reference, folders[ref_name])})
    complete = {item: clips for item, clips in out.items() if all(item in per_condition[n] for n in others)}
    for item, clips in complete.items():
        clips.update({n: per_condition[n][item] for n in others})
    if not complete:
        raise AudioInputError("no file is present in every folder (paired by relative path)", folders[ref_name])
    return complete


def _new_id(used: set[str]) -> str:
    while True:
        sid = secrets.token_urlsafe(9)
        if sid not in used:
            used.add(sid)
            return sid


def build_test(sources: list[str], protocol: str = "acr", items: int | None = None, seed: int = 0) -> ListeningTest:
    """A new test from one bench report folder or ``NAME=FOLDER`` sources (one of them ``clean=``).

    ``items`` (default all) items are drawn at random with ``seed``; every condition of those items is
    rated, plus the anchors and gold questions of the protocol.
    """
    if protocol not in PROTOCOLS:
        raise ParameterError(f"unknown test '{protocol}' (use one of {', '.join(PROTOCOLS)})")
    if not sources:
        raise ParameterError("give a bench report folder or NAME=FOLDER sources")
    if len(sources) == 1 and "=" not in sources[0]:
        if not is_bench_report(Path(sources[0])):
            raise AudioInputError("not a bench report folder (summary.json and examples/ expected); "
                                  "or give NAME=FOLDER sources", sources[0])
        clips = bench_report_clips(sources[0])
    else:
        clips = folder_clips(sources)
    conditions = sorted({c for cl in clips.values() for c in cl if c != "clean"})
    # a condition missing for an item would unbalance the design: keep the items that have all of them
    names = sorted(n for n, cl in clips.items() if all(c in cl for c in conditions))
    if not names:
        raise AudioInputError("no item has a clip for every condition", sources[0])
    rng = np.random.default_rng(seed)
    if items is not None:
        if items < 1:
            raise ParameterError(f"--items must be at least 1, got {items}")
        if items < len(names):
            names = sorted(rng.choice(names, size=items, replace=False).tolist())
    used: set[str] = set()
    stimuli: list[Stimulus] = []
    for name in names:
        group = name.split("/", 1)[0] if "/" in name else ""
        ref = str(clips[name]["clean"])
        for c in conditions:
            stimuli.append(Stimulus(_new_id(used), name, group, c, "condition", str(clips[name][c])))
        kinds = ["reference", "hidden_reference", "anchor_lp"] if protocol == "mushra" \
            else ["hidden_reference", "anchor_mnru"]
        for kind in kinds:
            stimuli.append(Stimulus(_new_id(used), name, group, kind, kind, ref))
    training = names[int(rng.integers(len(names)))]
    quiz = next((n for n in names if n != training), training)
    test = ListeningTest(protocol, int(seed), [str(s) for s in sources], names, conditions,
                         {s.id: s for s in stimuli}, training_item=training, quiz_item=quiz)
    test._index()
    return test


# ------------------------------------------------------------------------------------------ plans
def anchor_kind(protocol: str) -> str:
    return "anchor_lp" if protocol == "mushra" else "anchor_mnru"


def make_plan(test: ListeningTest, listener_seed: int) -> dict[str, Any]:
    """A listener's randomised plan: the qualification question and the ordered trials.

    Trials are ``{"kind": "rate" | "gold", "stimuli": [id], "gold": "reference" | "anchor"}`` (ACR, P.835)
    or ``{"kind": "mushra", "item", "reference": id, "stimuli": [ids, shuffled]}``.
    """
    rng = np.random.default_rng([test.seed, listener_seed])
    anchor = anchor_kind(test.protocol)
    trials: list[dict[str, Any]] = []
    if test.protocol == "mushra":
        for item in test.items:
            ids = test.by_item[item]
            stim = [ids[c] for c in test.conditions] + [ids["hidden_reference"], ids[anchor]]
            trials.append({"kind": "mushra", "item": item, "reference": ids["reference"],
                           "stimuli": [stim[i] for i in rng.permutation(len(stim))]})
    else:
        for item in test.items:
            trials += [{"kind": "rate", "stimuli": [test.by_item[item][c]]} for c in test.conditions]
        # one gold question of each sort, on items drawn at random (P.808 section 8.2.2)
        g_ref, g_anchor = (test.items[int(i)] for i in rng.integers(len(test.items), size=2))
        trials.append({"kind": "gold", "gold": "reference", "stimuli": [test.by_item[g_ref]["hidden_reference"]]})
        trials.append({"kind": "gold", "gold": "anchor", "stimuli": [test.by_item[g_anchor][anchor]]})
    trials = [trials[i] for i in rng.permutation(len(trials))]
    quiz = [test.by_item[test.quiz_item]["hidden_reference"], test.by_item[test.quiz_item][anchor]]
    order = rng.permutation(2)
    return {"seed": int(listener_seed), "trials": trials,
            "qualification": {"options": [quiz[i] for i in order], "worse": quiz[1]},
            "training": {"best": test.by_item[test.training_item]["hidden_reference"],
                         "worst": test.by_item[test.training_item][anchor]}}


# ------------------------------------------------------------------------------------------ audio
def mnru(x: np.ndarray, q_db: float, seed: int) -> np.ndarray:
    """ITU-T P.810 modulated noise reference unit: ``y = x (1 + 10^(-Q/20) n)``, ``n`` white Gaussian.

    Shape:
        ``(time,)`` -> ``(time,)``.
    """
    n = np.random.default_rng(seed).standard_normal(x.shape[-1])
    return x * (1.0 + 10.0 ** (-q_db / 20.0) * n)


def lowpass_anchor(x: np.ndarray, sample_rate: int, cutoff_hz: float = ANCHOR_CUTOFF_HZ) -> np.ndarray:
    """BS.1534-3 low anchor: ``x`` low-passed at ``cutoff_hz`` (zero-phase elliptic, 60 dB stop band).

    Shape:
        ``(time,)`` -> ``(time,)``; unchanged when ``cutoff_hz`` is at or above Nyquist.
    """
    from ..dsp.filters import apply_filter, design_filter

    if cutoff_hz >= sample_rate / 2:
        log.warning("anchor cut-off %g Hz is above the clip's Nyquist frequency; anchor = reference", cutoff_hz)
        return x
    sos = design_filter("ellip", "lowpass", cutoff_hz, sample_rate, order=8)
    return apply_filter(x, sos, zero_phase=True)


def render(stimulus: Stimulus) -> tuple[np.ndarray, int]:
    """The clip a stimulus plays: mono, its anchor processing applied, at :data:`PLAY_LEVEL_DB` RMS."""
    audio, sr = io.read(stimulus.path, mono=True, allow_silence=True)
    x = audio[0].astype(np.float64)
    if stimulus.kind == "anchor_lp":
        x = lowpass_anchor(x, sr)
    elif stimulus.kind == "anchor_mnru":
        x = mnru(x, MNRU_Q_DB, zlib.crc32(stimulus.id.encode()))
    from ..dsp.levels import db_to_amplitude, rms

    level = float(rms(x))
    if level > 0:
        x = x * (float(db_to_amplitude(PLAY_LEVEL_DB)) / level)
        peak = float(np.max(np.abs(x)))
        if peak > 0.99:  # never clip: a loud-peaked clip plays a little softer
            x = x * (0.99 / peak)
    return x.astype(np.float32), sr


def wav_bytes(stimulus: Stimulus) -> bytes:
    """:func:`render` as a 16-bit WAV file in memory."""
    x, sr = render(stimulus)
    buf = _io.BytesIO()
    sf.write(buf, x, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


__all__ = ["PROTOCOLS", "TITLES", "Scale", "ListeningTest", "build_test", "make_plan", "render", "wav_bytes",
           "mnru", "lowpass_anchor", "bench_report_clips", "folder_clips", "is_bench_report", "anchor_kind",
           "ANCHOR_CUTOFF_HZ", "MNRU_Q_DB", "PLAY_LEVEL_DB"]
