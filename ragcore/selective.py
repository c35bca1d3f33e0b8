"""Selective answering: the precision-coverage curve of an abstention score, and the
threshold that reaches a target answered precision.

A reader that abstains at ``score >= threshold`` trades coverage (the share of questions it
answers) for precision (the share of its answers that are right): the risk-coverage curve of
selective classification (Geifman and El-Yaniv, "Selective Classification for Deep Neural
Networks", NeurIPS 2017). ``evals.diagnose`` draws it for a deployment's questions, and
``adapters.training`` chooses a reader's threshold on it for a target precision.

A calibration set rarely has the deployment's mix of questions (SQuAD 2.0 is half
unanswerable; a support bot's questions are mostly answerable), so the curve can be taken at
an expected ``answerable_share``: each answerable question then weighs ``share / n_answerable``
and each unanswerable one ``(1 - share) / n_unanswerable``, the usual prior-shift reweighting
of a sample to a population with other class shares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ragcore.errors import ConfigError

#: (abstention score or None when there is no draft, draft right, answerable), per question
ScoredDraft = tuple[float | None, bool, bool]
#: one-sided 95% normal quantile: the confidence of a precision's lower bound
Z_95 = 1.6449


@dataclass(frozen=True)
class CurvePoint:
    """Had the reader abstained at ``abstain_score >= threshold``: the share of questions
    answered (coverage), the share of answers right (precision), the share of answerable
    questions answered right and of unanswerable ones abstained on."""

    threshold: float
    coverage: float
    precision: float | None
    answerable_correct: float | None
    unanswerable_abstained: float | None
    answered: int = 0  # questions answered (unweighted): the evidence behind ``precision``

    @property
    def precision_lower(self) -> float | None:
        """The 95% lower confidence bound of ``precision`` over the ``answered`` questions."""
        return None if self.precision is None else wilson_lower(self.precision, self.answered)


def wilson_lower(share: float, n: int, z: float = Z_95) -> float:
    """Lower end of the Wilson score interval for a share observed over ``n`` trials (Wilson,
    "Probable inference, the law of succession, and statistical inference", JASA 1927); 0
    with no trials."""
    if n <= 0:
        return 0.0
    centre = share + z * z / (2 * n)
    spread = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def _weights(points: Sequence[ScoredDraft], answerable_share: float | None) -> list[float]:
    n = len(points)
    n_ans = sum(a for _, _, a in points)
    if answerable_share is None:
        return [1.0 / n] * n
    if not 0.0 <= answerable_share <= 1.0:
        raise ConfigError(
            f"answerable share {answerable_share} is not in [0, 1]",
            "give the share of questions your docs answer, e.g. 0.67",
        )
    if not 0 < n_ans < n:
        raise ConfigError(
            "reweighting to an answerable share needs answerable and unanswerable questions",
            "calibrate on questions of both kinds",
        )
    return [
        answerable_share / n_ans if a else (1 - answerable_share) / (n - n_ans) for *_, a in points
    ]


def precision_coverage(
    points: Sequence[ScoredDraft], answerable_share: float | None = None
) -> list[CurvePoint]:
    """The curve of ``points``: a point at each distinct score (that threshold answers the
    questions scored below it), plus one past the highest. A question without a score (no
    draft) is never answered. ``answerable_share``: weigh the questions to that share of
    answerable ones (coverage and precision change; the per-kind rates do not)."""
    weight = _weights(points, answerable_share) if points else []
    scored = sorted({s for s, _, _ in points if s is not None})
    cuts = [*scored, (scored[-1] + 1.0) if scored else 1.0]
    n_ans = sum(a for _, _, a in points)
    n_un = len(points) - n_ans
    curve = []
    for t in cuts:
        answered = [
            (ok, a, w)
            for (s, ok, a), w in zip(points, weight, strict=True)
            if s is not None and s < t
        ]
        mass = sum((w for *_, w in answered), 0.0)
        curve.append(
            CurvePoint(
                t,
                mass,
                sum(w for ok, _, w in answered if ok) / mass if answered else None,
                sum(ok and a for ok, a, _ in answered) / n_ans if n_ans else None,
                1 - sum(not a for _, a, _ in answered) / n_un if n_un else None,
                len(answered),
            )
        )
    return curve


def operating_point(
    curve: Sequence[CurvePoint], target_precision: float, *, bounded: bool = False
) -> CurvePoint | None:
    """The curve's point of most coverage whose answered precision is at least the target
    (a share in [0, 1]); None when no threshold reaches it. ``bounded``: its 95% lower
    confidence bound must reach the target, as when a threshold is chosen for other
    questions (a precision of 1 on a single answer is no evidence; Geifman and El-Yaniv
    bound the risk of a selective classifier the same way)."""
    ok = [
        p
        for p in curve
        if p.precision is not None
        and (p.precision_lower if bounded else p.precision) >= target_precision
    ]
    return max(ok, key=lambda p: (p.coverage, -p.threshold), default=None)


def best_supported(curve: Sequence[CurvePoint]) -> CurvePoint | None:
    """The point whose precision has the highest 95% lower confidence bound (on ties, the
    least coverage): the closest to a target no threshold reaches that the evidence
    supports; None when no answer is right at any threshold."""
    scored = [p for p in curve if p.precision_lower]
    return max(scored, key=lambda p: (p.precision_lower or 0.0, -p.coverage), default=None)
