"""An answer verifier: after the span is decoded, decide whether answering will fail.

Read-then-verify (Hu et al., "Read + Verify: Machine Reading Comprehension with Unanswerable
Questions", AAAI 2019): the reader proposes a span, and a second model judges whether the
sentence holding it actually answers the question. Here the judge is the packaged
ms-marco-MiniLM-L-12-v2 cross-encoder's relevance logit for (question, that sentence), and a
logistic regression combines it with the reader's own abstention evidence (the head's
P(unanswerable), or the null-vs-span share without a head). Its target is "answering fails":
the question is unanswerable, or the span's F1 against the gold answers is below 0.5. This is
what the abstention decision should rank by, since abstaining on an answerable question whose
span is wrong costs nothing.

The regression has two or three weights, fitted on the calibration articles by
``adapters.calibration`` (out-of-fold scores, folds by paragraph, choose the threshold) and
saved beside the adapter as ``abstain_verifier.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ragcore.adapters.reader.decoding import AbstainScore, Reading
from ragcore.adapters.reader.evidence import sentence_relevance, span_sentence

from ragcore.errors import ConfigError

VERIFIER_FILE = "abstain_verifier.json"
FAIL_F1 = 0.5  # a span scoring below this F1 counts as a failed answer


class VerifierFeature(StrEnum):
    """The verifier's inputs, each a real number per reading."""

    HEAD = "head"  # logit of the abstention head's P(unanswerable)
    NULL_VS_SPAN = "null_vs_span"  # logit of p_abstain / (p_abstain + P(span))
    SENTENCE_RELEVANCE = "sentence_relevance"  # cross-encoder logit (question, span's sentence)
    PASSAGE_RELEVANCE = "passage_relevance"  # cross-encoder logit (question, cited passage)


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def feature_values(
    features: Sequence[VerifierFeature],
    reading: Reading,
    question: str,
    passages: Sequence[str],
    relevance: Callable[[str, str], float] = sentence_relevance,
) -> list[float]:
    """The verifier's inputs for a reading of ``question`` over ``passages``."""
    values = []
    for feature in features:
        if feature is VerifierFeature.HEAD:
            if reading.p_head is None:
                raise ConfigError(
                    "the answer verifier uses the abstention head, which this adapter lacks",
                    "refit both with ragcore adapters calibrate --head-article",
                )
            values.append(_logit(reading.p_head))
        elif feature is VerifierFeature.NULL_VS_SPAN:
            values.append(_logit(reading.abstain_score(AbstainScore.NULL_VS_SPAN)))
        else:
            cited = reading.cited if reading.cited else 1
            passage = passages[cited - 1] if 0 < cited <= len(passages) else " ".join(passages)
            if feature is VerifierFeature.PASSAGE_RELEVANCE:
                values.append(relevance(question, passage))
            else:
                values.append(relevance(question, span_sentence(passage, reading.answer or "")))
    return values


@dataclass(frozen=True)
class AnswerVerifier:
    """P(answering fails) = sigmoid(w . (x - mean) / std + b) over ``features``."""

    features: tuple[VerifierFeature, ...]
    weight: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    std: tuple[float, ...]
    l2: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(VerifierFeature(f) for f in self.features))
        n = len(self.features)
        if not n or not len(self.weight) == len(self.mean) == len(self.std) == n:
            raise ConfigError(
                "an answer verifier needs one weight, mean and std per feature",
                f"refit it ({VERIFIER_FILE} is inconsistent)",
            )

    def probability(self, values: Sequence[float]) -> float:
        z = sum(
            w * (x - m) / s
            for w, x, m, s in zip(self.weight, values, self.mean, self.std, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-(z + self.bias)))

    def save(self, folder: Path) -> None:
        raw = {
            "features": [f.value for f in self.features],
            "weight": list(self.weight),
            "bias": self.bias,
            "mean": list(self.mean),
            "std": list(self.std),
            "l2": self.l2,
            "target": f"unanswerable, or the span's F1 < {FAIL_F1}",
        }
        (folder / VERIFIER_FILE).write_text(json.dumps(raw, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> AnswerVerifier | None:
        """The verifier saved in ``folder``, or None when it has none."""
        path = folder / VERIFIER_FILE
        if not path.is_file():
            return None
        try:
            raw = json.loads(path.read_text())
            return cls(
                tuple(raw["features"]),
                tuple(map(float, raw["weight"])),
                float(raw["bias"]),
                tuple(map(float, raw["mean"])),
                tuple(map(float, raw["std"])),
                float(raw.get("l2", 1.0)),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{path} is not an answer verifier ({type(exc).__name__}: {exc})",
                "refit it with ragcore adapters calibrate",
            ) from None


def fit_verifier(
    features: Sequence[VerifierFeature],
    x: Sequence[Sequence[float]],
    fails: Sequence[bool],
    l2: float = 1.0,
) -> AnswerVerifier:
    """L2-regularized logistic regression (penalty ``l2 * |w|^2 / 2`` on the summed log loss,
    bias unpenalized) on standardized features, by Newton's method."""
    import numpy as np

    a = np.asarray(x, dtype=float)
    y = np.asarray(fails, dtype=float)
    if a.ndim != 2 or a.shape != (len(y), len(features)) or not 0 < y.sum() < len(y):
        raise ConfigError(
            "an answer verifier needs one row per reading and both outcomes among them",
            "calibrate on articles with answerable and unanswerable questions",
        )
    mean, std = a.mean(0), a.std(0) + 1e-9
    z = np.hstack([(a - mean) / std, np.ones((len(a), 1))])
    theta = np.zeros(z.shape[1])
    penalty = l2 * np.eye(z.shape[1])
    penalty[-1, -1] = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(z @ theta)))
        grad = z.T @ (p - y) + penalty @ theta
        hess = z.T @ (z * (p * (1 - p))[:, None]) + penalty + 1e-9 * np.eye(len(theta))
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    return AnswerVerifier(
        tuple(features),
        tuple(float(w) for w in theta[:-1]),
        float(theta[-1]),
        tuple(float(m) for m in mean),
        tuple(float(s) for s in std),
        l2,
    )


def group_folds(groups: Sequence[str], folds: int = 5) -> dict[str, int]:
    """Each group's fold: groups go to folds round-robin in order of first appearance."""
    return {g: i % folds for i, g in enumerate(dict.fromkeys(groups))}


def out_of_fold(
    features: Sequence[VerifierFeature],
    x: Sequence[Sequence[float]],
    fails: Sequence[bool],
    groups: Sequence[str],
    folds: int = 5,
    l2: float = 1.0,
) -> list[float]:
    """Each reading's P(answering fails) from a verifier fitted without its group (e.g. its
    paragraph), so a threshold can be chosen on scores the verifier did not see."""
    fold = group_folds(groups, folds)
    out = [0.0] * len(fails)
    for f in sorted(set(fold.values())):
        train = [i for i, g in enumerate(groups) if fold[g] != f]
        verifier = fit_verifier(features, [x[i] for i in train], [fails[i] for i in train], l2)
        for i, g in enumerate(groups):
            if fold[g] == f:
                out[i] = verifier.probability(x[i])
    return out
