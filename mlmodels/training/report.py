"""Reports of a cross-validation: JSON, a text table and a bar chart (Pillow, no matplotlib)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from mlmodels.training.checks import Check, HashtagResult, checks_missed, recall_by_source
from mlmodels.training.crossval import PEOPLE, CVResult
from mlmodels.training.metrics import Metrics

TARGET_F1 = 0.90
TARGET_F1_PEOPLE = 0.85  # adult, child and adult-vs-child


def target_for(concept: str) -> float:
    return TARGET_F1_PEOPLE if concept in PEOPLE else TARGET_F1


def targets_missed(cv: CVResult) -> list[str]:
    """One line per missed target, with the reason (which of precision/recall falls short)."""
    missed: list[str] = []
    for concept, m in cv.selected.items():
        if not m.support:
            continue  # no photos: nothing to measure, not a miss of the model
        target = target_for(concept)
        if m.f1 < target:
            weak = "recall" if m.recall < m.precision else "precision"
            missed.append(
                f"{concept}: F1 {m.f1:.3f} < {target:.2f} (P {m.precision:.3f}, "
                f"R {m.recall:.3f}; {weak} is the weak side; fp {m.fp}, fn {m.fn}; "
                f"source {cv.source[concept]})"
            )
    ac = cv.adult_child
    if ac and ac["f1"] < TARGET_F1_PEOPLE:
        missed.append(
            f"adult vs child: F1 {ac['f1']:.3f} < {TARGET_F1_PEOPLE:.2f} "
            f"(accuracy {ac['accuracy']:.3f} on {int(ac['n'])} photos)"
        )
    return missed


def report_json(
    cv: CVResult,
    meta: Mapping[str, Any],
    checks: Sequence[Check] = (),
    hashtags: Sequence[HashtagResult] = (),
) -> dict[str, Any]:
    concepts: dict[str, Any] = {}
    for c in cv.concepts:
        concepts[c] = {
            "selected": cv.selected[c].as_dict(),
            "head": cv.head[c].as_dict(),
            "imagenet": cv.imagenet[c].as_dict() if c in cv.imagenet else None,
            "mean": cv.mean[c].as_dict() if c in cv.mean else None,
            "target_f1": target_for(c),
            "fold_sources": cv.fold_sources[c],
            "fold_l2": cv.fold_l2[c],
            "fold_signal_boost": cv.fold_boost[c],
            "fold_threshold_rules": cv.fold_rules[c],
            "final": {
                "source": cv.source[c],
                "threshold": round(cv.thresholds[c], 6),
                "threshold_rule": cv.threshold_rule[c],
                "l2": cv.l2[c],
                "signal_boost": cv.boost[c],
            },
        }
    return {
        "meta": dict(meta),
        "method": {
            "cv": "nested k-fold grouped by source, inner folds too",
            "folds": cv.folds,
            "held_out_groups": [
                sorted({g for g, f in zip(cv.groups, cv.fold_of, strict=True) if f == k})
                for k in range(cv.folds)
            ],
            "seed": cv.seed,
            "precision_target": cv.precision_target,
            "note": (
                "l2, thresholds and sources chosen on inner out-of-fold scores of each outer "
                "training split; the outer held-out folds only measure"
            ),
        },
        "macro_f1": round(cv.macro_f1, 4),
        "adult_vs_child": cv.adult_child,
        "concepts": concepts,
        "confusion": cv.confusion,
        "recall_by_source": {
            c: {g: {"found": hit, "n": n} for g, (hit, n) in rows.items()}
            for c, rows in recall_by_source(cv).items()
        },
        "checks": [c.as_dict() for c in checks],
        "hashtags": {h.hashtag: h.as_dict() for h in hashtags},
        "targets_missed": targets_missed(cv) + checks_missed(checks, hashtags),
    }


def _cell(m: Metrics | None) -> str:
    return "      -" if m is None else f"  {m.f1:.3f}"


def format_table(
    cv: CVResult, checks: Sequence[Check] = (), hashtags: Sequence[HashtagResult] = ()
) -> str:
    """Per-concept table (selected source, then head, roll-up and mean F1), adult vs child, the
    must-shows, per-hashtag search, confusion."""
    lines = [
        f"nested {cv.folds}-fold CV grouped by source ({len(set(cv.groups))} sources), precision "
        f"target {cv.precision_target:.2f} (thresholds chosen without the held-out fold)",
        "",
        "concept     P      R      F1     n    target      head F1  roll-up F1  mean F1  source",
    ]
    for c in cv.concepts:
        m = cv.selected[c]
        target = target_for(c)
        verdict = "-" if not m.support else ("PASS" if m.f1 >= target else "MISS")
        sources = _fold_counts(cv.fold_sources[c])
        lines.append(
            f"{c:10s}  {m.precision:.3f}  {m.recall:.3f}  {m.f1:.3f}  {m.support:3d}  "
            f"{verdict:4s} {target:.2f}  {_cell(cv.head[c])}  {_cell(cv.imagenet.get(c))}    "
            f"{_cell(cv.mean.get(c))}  "
            f"{cv.source[c]} (folds: {sources})"
        )
    lines.append(f"\nmacro F1 {cv.macro_f1:.3f}")
    ac = cv.adult_child
    if ac:
        verdict = "PASS" if ac["f1"] >= TARGET_F1_PEOPLE else "MISS"
        lines.append(
            f"adult vs child ({int(ac['n'])} photos): accuracy {ac['accuracy']:.3f}, "
            f"macro F1 {ac['f1']:.3f}  {verdict} {TARGET_F1_PEOPLE:.2f}"
        )
    lines += _checks_lines(checks) + _hashtag_lines(hashtags)
    lines.append("\nconfusion (folder -> photos tagged with each concept, out-of-fold):")
    short = [c[:5] for c in cv.concepts]
    lines.append(f"{'folder':13s}{'n':>4s} " + " ".join(f"{s:>5s}" for s in short) + "  none")
    for folder, row in cv.confusion.items():
        cells = " ".join(f"{row[c] or '.':>5}" for c in cv.concepts)
        lines.append(f"{folder:13s}{row['n']:4d} {cells} {row['(none)']:5d}")
    return "\n".join(lines)


def _checks_lines(checks: Sequence[Check]) -> list[str]:
    lines = ["\nmust-shows:"] if checks else []
    for c in checks:
        verdict = {True: "PASS", False: "MISS", None: "    "}[c.passed]
        share = "-" if c.share is None else f"{c.share:.3f}"
        goal = "" if c.target is None else f" ({'<=' if c.at_most else '>='} {c.target:.2f})"
        lines.append(f"  {verdict} {c.name}: {c.hits}/{c.n} = {share}{goal}")
    return lines


def _hashtag_lines(hashtags: Sequence[HashtagResult]) -> list[str]:
    if not hashtags:
        return []
    lines = [
        "\nsearch per hashtag (shown = the rule holds on the held-out decisions):",
        "hashtag   rule                          P      R    relevant shown unknown  target",
    ]
    for h in hashtags:
        m = h.metrics
        lines.append(
            f"{h.hashtag:8s}  {h.expression:28s}  {m.precision:.3f}  {m.recall:.3f}  "
            f"{m.support:6d}  {m.tp + m.fp:5d}  {h.unknown_truth:6d}   "
            f"{'PASS' if h.passed else 'MISS'}"
        )
    return lines


def _fold_counts(values: list[str]) -> str:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return ", ".join(f"{k} x{n}" for k, n in sorted(counts.items()))


def chart(cv: CVResult, width: int = 720) -> Image.Image:
    """Horizontal bars of per-concept F1 (selected source) with the 0.90 target line; adult and
    child bars are measured against 0.85 (marked by a short tick)."""
    font = ImageFont.load_default()
    row, left, right, top = 26, 90, 60, 34
    height = top + row * len(cv.concepts) + 30
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    span = width - left - right

    def x_of(v: float) -> int:
        return left + round(v * span)

    draw.text((left, 8), f"F1 per concept, nested {cv.folds}-fold CV", fill="black", font=font)
    for i, c in enumerate(cv.concepts):
        m = cv.selected[c]
        y = top + i * row
        target = target_for(c)
        colour = (46, 139, 87) if m.f1 >= target else (205, 92, 92)
        draw.text((8, y + 5), c, fill="black", font=font)
        draw.rectangle((left, y + 3, x_of(m.f1), y + row - 5), fill=colour)
        draw.text((x_of(m.f1) + 4, y + 5), f"{m.f1:.2f}", fill="black", font=font)
        if target != TARGET_F1:
            draw.line((x_of(target), y + 1, x_of(target), y + row - 3), fill="black", width=2)
    bottom = top + row * len(cv.concepts)
    draw.line((x_of(TARGET_F1), top - 4, x_of(TARGET_F1), bottom), fill="black", width=1)
    draw.text((x_of(TARGET_F1) - 12, bottom + 4), f"{TARGET_F1:.2f}", fill="black", font=font)
    for tick in (0.0, 0.5, 1.0):
        draw.text((x_of(tick) - 6, bottom + 14), f"{tick:.1f}", fill="grey", font=font)
    return img


def write_report(
    out_dir: str | Path,
    cv: CVResult,
    meta: Mapping[str, Any],
    checks: Sequence[Check] = (),
    hashtags: Sequence[HashtagResult] = (),
) -> None:
    """``report.json``, ``report.txt`` (the tables) and ``chart.png`` in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = report_json(cv, meta, checks, hashtags)
    (out / "report.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out / "report.txt").write_text(format_table(cv, checks, hashtags) + "\n", encoding="utf-8")
    chart(cv).save(out / "chart.png")
