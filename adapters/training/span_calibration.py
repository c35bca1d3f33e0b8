"""Calibrating the extractive reader's abstention for the deployment.

The reader reads held-out, serving-shaped examples (the question's paragraph among its
nearest others, ``raft.serving_examples``); each reading is its fail score
``sigmoid(null - span)`` and its draft's F1. The threshold is the one of most coverage whose
answered precision reaches the target at the deployment's share of answerable questions
(``thresholds.precision_threshold``); when none does, the SQuAD 2.0 F1 peak
(``thresholds.calibrate_threshold``) is used and the card says so. The card records the
precision-coverage curve, the ROC AUC of the score for failed answers and the SQuAD 2.0
figures at the chosen threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ragcore.adapters.reader.abstain_head import roc_auc
from ragcore.adapters.reader.extractive import ExtractiveReader
from ragcore.adapters.training.raft import ReaderExample
from ragcore.adapters.training.thresholds import (
    calibrate_threshold,
    operating_point,
    precision_threshold,
)

from ragcore.answer_match import token_f1

FAIL_F1 = 0.5  # a draft below this F1 counts as a failed answer


@dataclass(frozen=True)
class SpanReading:
    """One example read: the fail score, the draft's F1, and whether it was answerable."""

    id: str
    score: float
    f1: float
    answerable: bool

    @property
    def correct(self) -> bool:
        return self.answerable and self.f1 >= FAIL_F1


def read_examples(
    reader: ExtractiveReader,
    examples: Sequence[ReaderExample],
    on_read: Callable[[], None] | None = None,
) -> list[SpanReading]:
    """Read every example with the reader's threshold ignored (the draft is always kept)."""
    readings = []
    for ex in examples:
        reply = reader.answer(ex.prompt)
        score = 1.0 if reply.abstain_score is None else reply.abstain_score
        golds = [g for g in ex.golds if g.strip()]
        f1 = token_f1(reply.draft, golds) if golds and reply.draft else 0.0
        readings.append(SpanReading(ex.id, score, f1, bool(golds)))
        if on_read is not None:
            on_read()
    return readings


def calibrate_span_reader(
    reader: ExtractiveReader,
    readings: Sequence[SpanReading],
    target_precision: float = 0.9,
    answerable_share: float | None = None,
) -> dict[str, Any]:
    """Choose and save the reader's threshold; return the card's calibration record."""
    scores = [r.score for r in readings]
    correct = [r.correct for r in readings]
    answerable = [r.answerable for r in readings]
    f1s = [r.f1 if r.answerable else 0.0 for r in readings]
    fails = [not c for c in correct]
    chosen = precision_threshold(scores, correct, answerable, target_precision, answerable_share)
    squad_t, _ = calibrate_threshold(scores, f1s, answerable)
    rule = "precision" if chosen is not None else "squad_f1"
    threshold = chosen[0] if chosen is not None else squad_t
    threshold = min(1.0, max(0.0, threshold))
    reader.config = replace(reader.config, abstain_threshold=threshold)
    reader.config.save(reader.folder)
    curve = []
    for target in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95):
        point = precision_threshold(scores, correct, answerable, target, answerable_share)
        if point is not None:
            curve.append(
                {
                    "precision_target": target,
                    "threshold": point[0],
                    "precision": round(point[1], 4),
                    "coverage": round(point[2], 4),
                }
            )
    return {
        "readings": len(readings),
        "answerable": sum(answerable),
        "rule": rule,
        "target_precision": target_precision,
        "answerable_share": answerable_share,
        "threshold": threshold,
        "forced_hasans_f1": round(100 * sum(f1s) / max(1, sum(answerable)), 2),
        "auc_fails": round(roc_auc(scores, fails), 4) if 0 < sum(fails) < len(fails) else None,
        "at_threshold": vars(operating_point(scores, f1s, answerable, threshold)),
        "squad_f1_threshold": squad_t,
        "precision_coverage": curve,
    }
