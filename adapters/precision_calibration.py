"""Calibrate a reader's abstention for a deployment: a target answered precision at the
expected share of answerable questions.

SQuAD 2.0 calibration maximises F1 on one-paragraph prompts where half the questions are
adversarially unanswerable. A support bot is judged otherwise: of the answers it gives, at
least ``target_precision`` must be right, and it should answer as many questions as that
allows (selective prediction: Geifman and El-Yaniv, "Selective Classification for Deep Neural
Networks", 2017). Here the answer verifier is refitted on readings of serving-shaped prompts
(``adapters.rag_data``), its out-of-fold scores give each reading's P(answering fails), and
the threshold is the one of most coverage whose precision reaches the target, with the
readings reweighted so answerable questions make up ``answerable_share`` of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragcore.adapters.abstain_head import roc_auc
from ragcore.adapters.decoding import AbstainScore, ReaderConfig, Reading
from ragcore.adapters.raft import ReaderExample
from ragcore.adapters.verifier import (
    FAIL_F1,
    VerifierFeature,
    feature_values,
    fit_verifier,
    out_of_fold,
)
from ragcore.evals.squad import token_f1

from ragcore.errors import ConfigError
from ragcore.progress import Progress
from ragcore.prompting import reader_messages

if TYPE_CHECKING:
    from ragcore.adapters.registry import ReaderGenerator

TARGET_PRECISION = 0.9
ANSWERABLE_SHARE = 2 / 3  # docsqa-dev's mix (60 of 90); a deployment passes its own


@dataclass(frozen=True)
class PrecisionPoint:
    threshold: float
    coverage: float  # weighted share of questions answered
    precision: float | None  # weighted share of answers that are right
    answerable_correct: float  # share of answerable questions answered right
    unanswerable_abstained: float | None


def weighted_curve(
    scores: Sequence[float | None],
    right: Sequence[bool],
    answerable: Sequence[bool],
    answerable_share: float,
) -> list[PrecisionPoint]:
    """Precision against coverage over thresholds (abstain at ``score >= t``), each reading
    weighted so answerable ones carry ``answerable_share`` of the total weight. A reading
    without a score (no span) is never answered."""
    n_ans = sum(answerable)
    n_un = len(answerable) - n_ans
    if not n_ans:
        raise ConfigError("no answerable question to calibrate on", "build answerable examples")
    w_ans = answerable_share / n_ans
    w_un = (1 - answerable_share) / n_un if n_un else 0.0
    rows = list(zip(scores, right, answerable, strict=True))
    scored = sorted({s for s in scores if s is not None})
    points = []
    for t in [*scored, (scored[-1] + 1.0) if scored else 1.0]:
        answered = [(ok, a) for s, ok, a in rows if s is not None and s < t]
        weight = sum(w_ans if a else w_un for _, a in answered)
        good = sum(w_ans for ok, a in answered if ok and a)
        points.append(
            PrecisionPoint(
                t,
                weight,
                good / weight if weight else None,
                sum(ok and a for ok, a in answered) / n_ans,
                1 - sum(not a for _, a in answered) / n_un if n_un else None,
            )
        )
    return points


def precision_threshold(
    curve: Sequence[PrecisionPoint], target: float
) -> tuple[PrecisionPoint, bool]:
    """The point of most coverage whose precision reaches ``target``, and True; when none
    does, the point of best precision (most coverage on ties), and False."""
    reached = [p for p in curve if p.precision is not None and p.precision >= target]
    if reached:
        return max(reached, key=lambda p: (p.coverage, -p.threshold)), True
    scored = [p for p in curve if p.precision is not None]
    if not scored:
        raise ConfigError("the reader answered nothing on the calibration set", "check the data")
    return max(scored, key=lambda p: (p.precision, p.coverage)), False


@dataclass(frozen=True)
class PrecisionCalibration:
    threshold: float
    target_precision: float
    target_met: bool
    answerable_share: float
    point: PrecisionPoint
    auc_fails: float | None
    questions: int
    curve: tuple[PrecisionPoint, ...]

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["curve"] = [asdict(p) for p in self.curve[:: max(1, len(self.curve) // 40)]]
        return raw


def calibrate_for_precision(
    reader: ReaderGenerator,
    examples: Sequence[ReaderExample],
    adapter_dir: Path,
    *,
    target_precision: float = TARGET_PRECISION,
    answerable_share: float = ANSWERABLE_SHARE,
    quiet: bool = False,
) -> PrecisionCalibration:
    """Read ``examples``, refit the answer verifier on them, choose the threshold for the
    target precision, and save verifier and reader config in ``adapter_dir``."""
    if not 0 < target_precision <= 1 or not 0 < answerable_share <= 1:
        raise ConfigError("target precision and answerable share must be in (0, 1]", "e.g. 0.9")
    features = (VerifierFeature.HEAD, VerifierFeature.SENTENCE_RELEVANCE)
    if reader.head is None:
        features = (VerifierFeature.NULL_VS_SPAN, VerifierFeature.SENTENCE_RELEVANCE)
    readings: list[Reading] = []
    x: list[list[float]] = []
    with Progress(quiet) as progress:
        task = progress.task("calibrating", total=len(examples))
        for ex in examples:
            r = reader.reading(reader_messages(ex.question, ex.passages))
            readings.append(r)
            if r.answer is not None:
                x.append(feature_values(features, r, ex.question, [t for _, t in ex.passages]))
            progress.advance(task)
    drafted = [(r, ex) for r, ex in zip(readings, examples, strict=True) if r.answer is not None]
    right = [bool(ex.golds) and token_f1(r.answer, ex.golds) >= FAIL_F1 for r, ex in drafted]
    fails = [not ok for ok in right]
    verifier = fit_verifier(features, x, fails)
    oof = iter(out_of_fold(features, x, fails, [ex.id for _, ex in drafted]))
    scores = [next(oof) if r.answer is not None else None for r in readings]
    all_right = [
        r.answer is not None and bool(ex.golds) and token_f1(r.answer, ex.golds) >= FAIL_F1
        for r, ex in zip(readings, examples, strict=True)
    ]
    answerable = [bool(ex.golds) for ex in examples]
    curve = weighted_curve(scores, all_right, answerable, answerable_share)
    point, met = precision_threshold(curve, target_precision)
    threshold = min(1.0, point.threshold)
    verifier.save(adapter_dir)
    config = replace(ReaderConfig.load(adapter_dir), score=AbstainScore.VERIFIER)
    replace(config, abstain_threshold=threshold).save(adapter_dir)
    auc = (
        roc_auc([s for s in scores if s is not None], fails)
        if 0 < sum(fails) < len(fails)
        else None
    )
    return PrecisionCalibration(
        threshold,
        target_precision,
        met,
        answerable_share,
        point,
        None if auc is None else round(auc, 4),
        len(examples),
        tuple(curve),
    )
