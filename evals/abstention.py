"""Abstention precision, recall and F1, with "abstain" as the positive class.

For each question we know whether it is answerable from the corpus and whether the system
abstained. Following the selective-QA convention of SQuAD 2.0 (Rajpurkar et al., ACL 2018)
and the abstention survey of Wen et al. ("Know Your Limits", TACL 2025):

- ``precision = |abstained and unanswerable| / |abstained|``: how often an abstention was right;
- ``recall = |abstained and unanswerable| / |unanswerable|``: how many unanswerable questions
  were refused (SQuAD's "NoAns accuracy");
- ``f1 = 2PR / (P + R)``.

An empty denominator gives 0.0 (as scikit-learn's ``zero_division=0``), so a system that never
abstains scores precision 0, recall 0 on a set with unanswerable questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class AbstentionScores:
    precision: float
    recall: float
    f1: float
    abstained: int
    unanswerable: int
    correct: int


def abstention_scores(abstained: Sequence[bool], answerable: Sequence[bool]) -> AbstentionScores:
    if len(abstained) != len(answerable):
        raise ValueError("abstained and answerable must have one entry per question")
    correct = sum(a and not ans for a, ans in zip(abstained, answerable, strict=True))
    n_abstained = sum(abstained)
    n_unanswerable = sum(not ans for ans in answerable)
    p = correct / n_abstained if n_abstained else 0.0
    r = correct / n_unanswerable if n_unanswerable else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return AbstentionScores(p, r, f1, n_abstained, n_unanswerable, correct)
