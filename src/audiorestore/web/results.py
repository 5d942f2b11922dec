"""Results of a listening test: per-condition MOS (ACR), SIG/BAK/OVL (P.835) or MUSHRA scores with 95 %
confidence intervals, after screening listeners with the gold questions.

Screening:

* ACR and P.835 (ITU-T P.808 section 8.2.2, gold questions): a listener is screened out when they rate
  the clean reference below 4, or the strongly degraded anchor above 2 (the overall scale in P.835);
* MUSHRA (ITU-R BS.1534-3 section 4.1.2, post-screening): when they rate the hidden reference below 90
  in more than 15 % of their trials, or the 3.5 kHz anchor above 90 in more than 15 %.

Intervals: the mean of all votes of the kept listeners for a condition, with the Student-t interval
``t_{0.975, n-1} s / sqrt(n)`` over the votes (ITU-T P.1401 section 6.2, as P.808 reports MOS CI95).
The hidden reference and the anchors are reported as rows of their own.

Example:
    >>> res = listening_results("ratings.sqlite")          # doctest: +SKIP
    >>> res.write("results/")                              # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..metrics.report import Summary, _csv_text, _fmt, _json_safe, mean_ci, summary_dict
from ..io import write_text_atomic
from .store import open_existing

#: report rows for the stimuli that are not conditions
SPECIAL_ROWS = {"hidden_reference": "reference (hidden)", "anchor_lp": "anchor (3.5 kHz low-pass)",
                "anchor_mnru": "anchor (MNRU Q=5 dB)"}
#: BS.1534-3 post-screening
MUSHRA_REF_MIN, MUSHRA_ANCHOR_MAX, MUSHRA_FRACTION = 90, 90, 0.15
RESULT_FILES = {"csv": "listening.csv", "json": "listening.json", "markdown": "listening.md"}


@dataclass
class ConditionResult:
    """One row: a condition (or the hidden reference / an anchor) on one scale, optionally per group."""

    condition: str
    scale: str
    group: str
    summary: Summary
    listeners: int


@dataclass
class ListeningResults:
    """Everything ``--results`` reports."""

    protocol: str
    rows: list[ConditionResult]
    listeners: int
    completed: int
    screened: dict[str, list[str]]
    n_ratings: int
    meta: dict[str, Any] = field(default_factory=dict)

    def overall(self, scale: str | None = None) -> dict[str, Summary]:
        """condition -> summary over all groups on ``scale`` (default: the protocol's main scale)."""
        scale = scale or main_scale(self.protocol)
        return {r.condition: r.summary for r in self.rows if r.group == "" and r.scale == scale}

    def by_group(self, scale: str | None = None) -> dict[tuple[str, str], Summary]:
        """(group, condition) -> summary on ``scale`` (bench reports: group = dataset)."""
        scale = scale or main_scale(self.protocol)
        return {(r.group, r.condition): r.summary for r in self.rows if r.group and r.scale == scale}

    def markdown(self) -> str:
        lines = [f"# Listening test results ({self.protocol.upper()})", "",
                 f"{self.listeners} listener(s), {self.completed} completed, {len(self.screened)} screened out; "
                 f"{self.n_ratings} rating(s).", "",
                 "| condition | scale | mean | 95% CI | ratings | listeners |", "|---|---|---:|---:|---:|---:|"]
        for r in self.rows:
            if r.group:
                continue
            s = r.summary
            ci = f"± {s.half_width:.2f}" if math.isfinite(s.half_width) else "n/a"
            lines.append(f"| {r.condition} | {r.scale.upper()} | {_fmt(s.mean, 2)} | {ci} | {s.n} | {r.listeners} |")
        if self.screened:
            lines += ["", "Screened out:"] + [f"- {lid}: {'; '.join(why)}" for lid, why in self.screened.items()]
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return _json_safe({
            "protocol": self.protocol, "listeners": self.listeners, "completed": self.completed,
            "n_ratings": self.n_ratings, "screened": self.screened, "test": self.meta,
            "results": [{"condition": r.condition, "scale": r.scale, "group": r.group, "listeners": r.listeners,
                         **summary_dict([r.summary])[r.summary.name]} for r in self.rows]})

    def write(self, outdir: str | os.PathLike) -> dict[str, Path]:
        """``listening.csv``, ``listening.json`` and ``listening.md`` in ``outdir`` (atomic writes)."""
        out = Path(outdir)
        header = ["condition", "scale", "group", "n", "mean", "std", "ci95_low", "ci95_high", "listeners"]
        csv_rows = [[r.condition, r.scale, r.group, r.summary.n, r.summary.mean, r.summary.std, r.summary.ci_low,
                     r.summary.ci_high, r.listeners] for r in self.rows]
        return {"csv": write_text_atomic(out / RESULT_FILES["csv"], _csv_text(header, csv_rows)),
                "json": write_text_atomic(out / RESULT_FILES["json"], json.dumps(self.to_json(), indent=1) + "\n"),
                "markdown": write_text_atomic(out / RESULT_FILES["markdown"], self.markdown())}


def main_scale(protocol: str) -> str:
    return {"acr": "acr", "p835": "ovl", "mushra": "mushra"}[protocol]


def screen(protocol: str, ratings: list[dict[str, Any]]) -> dict[str, list[str]]:
    """listener -> reasons they are screened out (absent when kept)."""
    out: dict[str, list[str]] = {}
    scale = main_scale(protocol)
    by_listener: dict[str, list[dict[str, Any]]] = {}
    for r in ratings:
        if r["scale"] == scale:
            by_listener.setdefault(r["listener"], []).append(r)
    for lid, rs in by_listener.items():
        why: list[str] = []
        if protocol == "mushra":
            trials = {r["trial"] for r in rs}
            low_ref = sum(1 for r in rs if r["kind"] == "hidden_reference" and r["value"] < MUSHRA_REF_MIN)
            high_anchor = sum(1 for r in rs if r["kind"] == "anchor_lp" and r["value"] > MUSHRA_ANCHOR_MAX)
            if low_ref > MUSHRA_FRACTION * len(trials):
                why.append(f"rated the hidden reference below {MUSHRA_REF_MIN} in {low_ref} of {len(trials)} trials")
            if high_anchor > MUSHRA_FRACTION * len(trials):
                why.append(f"rated the 3.5 kHz anchor above {MUSHRA_ANCHOR_MAX} in {high_anchor} of {len(trials)} "
                           "trials")
        else:
            for r in rs:
                if r["kind"] == "hidden_reference" and r["value"] < 4:
                    why.append(f"rated the clean reference {r['value']} (gold: 4 or 5)")
                elif r["kind"] == "anchor_mnru" and r["value"] > 2:
                    why.append(f"rated the degraded anchor {r['value']} (gold: 1 or 2)")
        if why:
            out[lid] = why
    return out


def listening_results(db: str | os.PathLike, confidence: float = 0.95) -> ListeningResults:
    """Analyse the ratings database ``db`` (see the module docstring)."""
    store = open_existing(db)
    try:
        meta = {k: v for k, v in store.meta().items() if k != "access_key"}  # never written to a report
        ratings = store.ratings()
        listeners = store.listeners()
        answered = {lis.id: store.answered(lis.id) for lis in listeners}
    finally:
        store.close()
    protocol = meta["protocol"]
    completed = sum(1 for lis in listeners if len(answered[lis.id]) == len(lis.plan["trials"]))
    screened = screen(protocol, ratings)
    kept = [r for r in ratings if r["listener"] not in screened]
    order = list(meta["conditions"]) + [k for k in SPECIAL_ROWS if k not in ("reference",)]
    rows: list[ConditionResult] = []
    scales = ["sig", "bak", "ovl"] if protocol == "p835" else [main_scale(protocol)]
    groups = sorted({r["group"] for r in kept if r["group"]})
    for group in ["", *groups]:
        for scale in scales:
            for cond in order:
                sel = [r for r in kept if r["scale"] == scale and (not group or r["group"] == group)
                       and (r["condition"] == cond if r["kind"] == "condition" else r["kind"] == cond)]
                if not sel:
                    continue
                name = SPECIAL_ROWS.get(cond, cond)
                rows.append(ConditionResult(name, scale, group, mean_ci([r["value"] for r in sel], confidence, name),
                                            len({r["listener"] for r in sel})))
    return ListeningResults(protocol, rows, len(listeners), completed, screened, len(ratings), meta)


__all__ = ["listening_results", "ListeningResults", "ConditionResult", "screen", "main_scale", "RESULT_FILES"]
