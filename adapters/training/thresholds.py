"""Choosing an abstention threshold from readings: the SQuAD 2.0 F1 curve over thresholds,
its smoothed peak, cross-validated F1 by paragraph folds, and the figures at an operating
point. Pure functions over (score, answer F1, answerable) per question; this is the
null-threshold tuning of extractive SQuAD 2.0 readers (Devlin et al., "BERT", 2019, section
4.3). Or, for a deployment, the threshold of most coverage that keeps answered precision at a
target (``precision_target``, on ``ragcore.selective``'s precision-coverage curve)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from ragcore.adapters.reader.abstain_head import roc_auc
from ragcore.adapters.reader.verifier import FAIL_F1, group_folds
from ragcore.adapters.training.calibration_record import (
    OperatingPoint,
    PrecisionTarget,
    ScoreFigures,
    Tally,
    TargetRecord,
)

from ragcore.errors import ConfigError
from ragcore.selective import CurvePoint, best_supported, precision_coverage
from ragcore.selective import operating_point as precision_point

DEFAULT_GRID = tuple(i / 100 for i in range(1, 100))
ThresholdRule = Callable[[Sequence[float], Sequence[float], Sequence[bool]], float]


def calibrate_threshold(
    p_abstain: Sequence[float],
    answer_f1: Sequence[float],
    answerable: Sequence[bool],
    grid: Sequence[float] | None = None,
    window: int = 3,
) -> tuple[float, float]:
    """The abstention threshold and its mean SQuAD 2.0 F1 over held-out questions.

    A question scores ``answer_f1`` when answered and 1/0 when it abstains on an
    unanswerable/answerable question. A few hundred questions give a jagged F1 curve, so the
    threshold is the peak of the curve averaged over ``window`` grid steps on each side (a
    moving average; ties go to the higher threshold), and the F1 returned is the unsmoothed
    one there. On cross-fitted readings of 4 articles (the README records it), a
    threshold chosen this way on 3 articles scored higher on the fourth than the highest
    threshold within 0.01 F1 of the best (the rule before), for each of the four scores."""
    if not (len(p_abstain) == len(answer_f1) == len(answerable)) or not p_abstain:
        raise ConfigError("calibration needs one score per question", "pass held-out questions")
    if window < 0:
        raise ConfigError(f"window {window} is negative", "pass 0 (no smoothing) or more")
    grid = sorted(grid or DEFAULT_GRID)
    curve = f1_curve(p_abstain, answer_f1, answerable, grid)
    windows = [curve[max(0, i - window) : i + window + 1] for i in range(len(curve))]
    smoothed = [sum(w) / len(w) for w in windows]
    best = max(range(len(grid)), key=lambda i: (smoothed[i], grid[i]))
    return grid[best], curve[best]


def f1_curve(
    scores: Sequence[float],
    answer_f1: Sequence[float],
    answerable: Sequence[bool],
    grid: Sequence[float] = DEFAULT_GRID,
) -> list[float]:
    """Mean SQuAD 2.0 F1 (0-1) when abstaining at ``score >= t``, for each ``t`` in ``grid``."""
    curve = []
    for t in grid:
        has, no = _question_scores(scores, answer_f1, answerable, t)
        curve.append((sum(has) + sum(no)) / len(scores))
    return curve


def _question_scores(
    scores: Sequence[float], answer_f1: Sequence[float], answerable: Sequence[bool], t: float
) -> tuple[list[float], list[float]]:
    """Per-question SQuAD 2.0 F1 when abstaining at ``score >= t``: answerable questions score
    their answer's F1 (0 when abstaining), unanswerable ones 1 when abstaining, else 0."""
    rows = list(zip(scores, answer_f1, answerable, strict=True))
    has = [f if s < t else 0.0 for s, f, ok in rows if ok]
    no = [float(s >= t) for s, _, ok in rows if not ok]
    return has, no


def _calibrated(
    scores: Sequence[float], answer_f1: Sequence[float], answerable: Sequence[bool]
) -> float:
    return calibrate_threshold(scores, answer_f1, answerable)[0]


def cross_validated_f1(
    scores: Sequence[float],
    answer_f1: Sequence[float],
    answerable: Sequence[bool],
    groups: Sequence[str],
    folds: int = 5,
    choose: ThresholdRule = _calibrated,
) -> float | None:
    """Mean SQuAD 2.0 F1 (0-1) when each fold of ``groups`` (e.g. paragraphs) is scored at the
    threshold ``choose`` (default: ``calibrate_threshold``) picks on the other folds; None
    with fewer than two groups."""
    fold = group_folds(groups, folds)
    if len(fold) < 2:
        return None
    total = 0.0
    columns = (scores, answer_f1, answerable)
    for f in sorted(set(fold.values())):
        inside = [i for i, g in enumerate(groups) if fold[g] == f]
        outside = [i for i, g in enumerate(groups) if fold[g] != f]
        t = choose(*([c[i] for i in outside] for c in columns))
        has, no = _question_scores(*([c[i] for i in inside] for c in columns), t)
        total += sum(has) + sum(no)
    return total / len(scores)


def operating_point(
    scores: Sequence[float], answer_f1: Sequence[float], answerable: Sequence[bool], t: float
) -> OperatingPoint:
    """Overall F1, HasAns F1 and NoAns accuracy (0-100) when abstaining at ``score >= t``."""
    has, no = _question_scores(scores, answer_f1, answerable, t)

    def pct(values: list[float]) -> float | None:
        return round(100 * sum(values) / len(values), 2) if values else None

    return OperatingPoint(t, pct(has + no), pct(has), pct(no))


def score_figures(
    scores: Sequence[float],
    answer_f1: Sequence[float],
    answerable: Sequence[bool],
    groups: Sequence[str],
    folds: int = 5,
) -> ScoreFigures:
    """One abstention score's figures over readings (``ScoreFigures``)."""
    fails = [not ok or f < FAIL_F1 for f, ok in zip(answer_f1, answerable, strict=True)]
    threshold, best_f1 = calibrate_threshold(scores, answer_f1, answerable)
    cv = cross_validated_f1(scores, answer_f1, answerable, groups, folds)
    unanswerable = [not a for a in answerable]
    return ScoreFigures(
        threshold=threshold,
        f1=round(100 * best_f1, 2),
        cv_f1=None if cv is None else round(100 * cv, 2),
        auc=round(roc_auc(scores, unanswerable), 4)
        if 0 < sum(answerable) < len(answerable)
        else None,
        auc_fails=round(roc_auc(scores, fails), 4) if 0 < sum(fails) < len(fails) else None,
    )


def _points(
    scores: Sequence[float], answer_f1: Sequence[float], answerable: Sequence[bool]
) -> list[tuple[float | None, bool, bool]]:
    """(score, answer right at F1 >= ``FAIL_F1``, answerable) per question."""
    rows = zip(scores, answer_f1, answerable, strict=True)
    return [(s, ok and f >= FAIL_F1, ok) for s, f, ok in rows]


def tally(
    scores: Sequence[float],
    answer_f1: Sequence[float],
    answerable: Sequence[bool],
    threshold: float,
) -> Tally:
    """Right and wrong answers and abstentions when abstaining at ``score >= threshold``."""
    points = _points(scores, answer_f1, answerable)
    return Tally.count((score < threshold, good) for score, good, _ in points)


def precision_curve(
    scores: Sequence[float],
    answer_f1: Sequence[float],
    answerable: Sequence[bool],
    answerable_share: float | None = None,
) -> tuple[CurvePoint, ...]:
    """The precision-coverage curve at thresholds 0, 0.05, ..., 1, the questions weighed to
    ``answerable_share`` (None: as sampled)."""
    curve = precision_coverage(_points(scores, answer_f1, answerable), answerable_share)
    return tuple(_at(curve, t / 20) for t in range(21))


def precision_target(
    scores: Sequence[float],
    answer_f1: Sequence[float],
    answerable: Sequence[bool],
    target: PrecisionTarget,
) -> TargetRecord:
    """The threshold of most coverage whose answered precision (answers at F1 >= ``FAIL_F1``
    count as right) reaches ``target.precision`` with questions weighed to
    ``target.answerable_share``, by its 95% lower confidence bound; the record's point is
    None when no threshold does, and its ``closest`` the point of highest lower bound."""
    curve = precision_coverage(_points(scores, answer_f1, answerable), target.answerable_share)
    point = precision_point(curve, target.precision, bounded=True)
    closest = None if point is not None else best_supported(curve)
    return TargetRecord(target, _clipped(point), _clipped(closest))


def _clipped(point: CurvePoint | None) -> CurvePoint | None:
    """Past the highest score means answering all: threshold 1."""
    return None if point is None else replace(point, threshold=min(point.threshold, 1.0))


def _at(curve: Sequence[CurvePoint], t: float) -> CurvePoint:
    """The curve at threshold ``t``: the cut of lowest threshold at or above it answers the
    same questions (those scored below ``t``)."""
    above = [p for p in curve if p.threshold >= t]
    return replace(min(above, key=lambda p: p.threshold) if above else curve[-1], threshold=t)
