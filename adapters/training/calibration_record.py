"""What a calibration measured and chose, as values: the figures of each abstention score,
the operating point at the chosen threshold, the chosen score's F1 curve, and the head and
verifier that were fitted. ``Calibration.to_json`` is the training card's
``metrics.calibration`` record (the shape ``adapters list`` and earlier cards use)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from ragcore.adapters.reader.decoding import AbstainScore

from ragcore.errors import ConfigError
from ragcore.selective import CurvePoint


class CalibratedOn(StrEnum):
    """What a calibration read: SQuAD 2.0 articles, gold questions over a docs index, or
    questions synthesized from the index (``adapters tune``)."""

    SQUAD = "squad"
    DOCS = "docs"
    SYNTHETIC = "synthetic"


@dataclass(frozen=True)
class OperatingPoint:
    """SQuAD 2.0 figures (0-100; None with no question of that kind) when abstaining at
    ``score >= threshold``."""

    threshold: float
    f1: float | None
    hasans_f1: float | None
    noans_acc: float | None


@dataclass(frozen=True)
class ScoreFigures:
    """One abstention score over the calibration readings: its threshold (the smoothed F1
    peak), the F1 there, the cross-validated F1 (folds by paragraph), and ROC AUC for
    unanswerable questions and for failed answers (unanswerable, or a span below F1 0.5)."""

    threshold: float
    f1: float
    cv_f1: float | None
    auc: float | None
    auc_fails: float | None

    def rank(self) -> tuple[float, float]:
        """ROC AUC for failed answers, then the sweep's best F1 on ties. The cross-validated
        F1 is recorded but does not choose: folds within the calibration articles share their
        writers and topics, so it misses how a score's threshold moves on other articles (it
        chose null_vs_span with sentence focus at 66.0, which scored 59.3 on the test
        articles; the verifier it ranked below scored 64.4 there)."""
        return (self.auc_fails or 0.0, self.f1)


@dataclass(frozen=True)
class HeadRecord:
    layer: int
    l2: float
    fitted_on: tuple[str, ...] = ()
    auc: float | None = None  # ROC AUC on the calibration articles, when fitted now

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HeadRecord:
        return cls(
            int(data["layer"]),
            float(data["l2"]),
            tuple(data.get("fitted_on", ())),
            data.get("auc"),
        )


@dataclass(frozen=True)
class VerifierRecord:
    features: tuple[str, ...] = ()
    weight: tuple[float, ...] = ()
    fitted_on: tuple[str, ...] = ()
    skipped: str | None = None  # why no verifier was fitted


@dataclass(frozen=True)
class Tally:
    """What a reader did with a set of questions at its threshold: answers right (F1 >= 0.5
    on an answerable question), answers wrong (below that, or any answer to an unanswerable
    question), and abstentions."""

    right: int
    wrong: int
    abstained: int

    @property
    def net(self) -> int:
        """Right minus wrong answers: what a threshold rule and a choice of reader maximise."""
        return self.right - self.wrong

    @classmethod
    def count(cls, outcomes: Iterable[tuple[bool, bool]]) -> Tally:
        """The tally of (answered, answer right) per question."""
        right = wrong = abstained = 0
        for answered, good in outcomes:
            if not answered:
                abstained += 1
            elif good:
                right += 1
            else:
                wrong += 1
        return cls(right, wrong, abstained)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tally:
        return cls(int(data["right"]), int(data["wrong"]), int(data["abstained"]))


@dataclass(frozen=True)
class PrecisionTarget:
    """The deployment a threshold is chosen for: answers right at least ``precision`` of the
    time (a share), with ``answerable_share`` of the questions answerable (None: the
    calibration questions' own share)."""

    precision: float
    answerable_share: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.precision <= 1.0:
            raise ConfigError(f"target precision {self.precision} is not in (0, 1]", "use e.g. 0.9")
        share = self.answerable_share
        if share is not None and not 0.0 < share < 1.0:
            raise ConfigError(
                f"answerable share {share} is not in (0, 1)",
                "give the share of questions your docs answer, e.g. 0.67",
            )


@dataclass(frozen=True)
class TargetRecord:
    """What a precision target chose: the curve's point of most coverage whose precision's
    95% lower confidence bound reaches it, or None when none does; then ``closest``, the
    point of highest lower bound, gives the threshold (None when nothing was answered: the F1
    peak's threshold is kept)."""

    target: PrecisionTarget
    point: CurvePoint | None
    closest: CurvePoint | None = None

    @property
    def reached(self) -> bool:
        return self.point is not None

    @property
    def chosen(self) -> CurvePoint | None:
        """The point whose threshold is used: the target's, else the closest."""
        return self.point if self.point is not None else self.closest

    def to_json(self) -> dict[str, Any]:
        return {
            "precision": self.target.precision,
            "answerable_share": self.target.answerable_share,
            "reached": self.reached,
            "point": None if self.point is None else asdict(self.point),
            "closest": None if self.closest is None else asdict(self.closest),
        }


@dataclass(frozen=True)
class Calibration:
    score: AbstainScore  # the score chosen (best ROC AUC for failed answers)
    point: OperatingPoint  # the figures at its threshold
    scores: Mapping[AbstainScore, ScoreFigures]
    articles: tuple[str, ...]  # the SQuAD articles, or the gold files (``on``)
    questions: int
    curve: tuple[OperatingPoint, ...]  # the chosen score at thresholds 0, 0.05, ..., 1
    head: HeadRecord | None = None
    verifier: VerifierRecord | None = None
    passages: int = 1  # passages per calibration prompt (the question's own among others)
    target: TargetRecord | None = None  # the precision target, when the threshold had one
    # the chosen score's precision-coverage curve at thresholds 0, 0.05, ..., 1 (questions
    # weighed to the target's answerable share, if it has one)
    precision_curve: tuple[CurvePoint, ...] = ()
    on: CalibratedOn = CalibratedOn.SQUAD
    served: Tally | None = None  # the calibration questions at the chosen threshold

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {}
        if self.head is not None:
            head = asdict(self.head)
            record["head"] = {
                k: list(v) if isinstance(v, tuple) else v
                for k, v in head.items()
                if v not in (None, ())
            }
        if self.verifier is not None:
            v = self.verifier
            record["verifier"] = (
                {"skipped": v.skipped}
                if v.skipped is not None
                else {
                    "features": list(v.features),
                    "weight": list(v.weight),
                    "fitted_on": list(v.fitted_on),
                }
            )
        point = asdict(self.point)
        return (
            record
            | {
                "abstain_threshold": point.pop("threshold"),
                "score": self.score.value,
                "scores": {s.value: asdict(f) for s, f in self.scores.items()},
                "calibrated_on": self.on.value,
                "articles": list(self.articles),
                "questions": self.questions,
                "passages": self.passages,
                **point,
                "curve": [asdict(p) for p in self.curve],
                "precision_curve": [asdict(p) for p in self.precision_curve],
            }
            | ({} if self.target is None else {"target_precision": self.target.to_json()})
            | ({} if self.served is None else {"served": asdict(self.served)})
        )
