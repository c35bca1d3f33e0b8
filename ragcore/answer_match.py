"""Answer exact match and token F1 with SQuAD normalization, shared by evaluation and by the
reader's training and calibration (which label answers with them).

Definitions follow the official SQuAD v2.0 evaluation script (Rajpurkar, Jia and Liang,
"Know What You Don't Know: Unanswerable Questions for SQuAD", ACL 2018):

- ``normalize``: lower-case, drop punctuation, drop the articles *a, an, the*, squeeze spaces.
- ``exact_match = max over gold answers of [normalize(pred) == normalize(gold)]``.
- ``token_f1 = max over gold answers of 2PR/(P+R)`` on the bags of normalized tokens, with
  ``P = |common| / |pred tokens|`` and ``R = |common| / |gold tokens|``.
- An unanswerable question has the single gold answer ``""``: an abstention (prediction
  ``""`` or ``None``) scores 1 on both, any other prediction 0.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation)


def normalize(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def tokens(text: str) -> list[str]:
    return normalize(text).split() if text else []


def _golds(golds: Sequence[str]) -> list[str]:
    kept = [g for g in golds if normalize(g)]
    return kept or [""]


def contains_span(passage: str, span: str) -> bool:
    """``span`` occurs in ``passage``, both normalized, on token boundaries (a non-empty span)."""
    span = normalize(span)
    return bool(span) and f" {span} " in f" {normalize(passage)} "


def exact_match(prediction: str | None, golds: Sequence[str]) -> float:
    pred = normalize(prediction or "")
    return float(max(pred == normalize(g) for g in _golds(golds)))


def _f1(pred: list[str], gold: list[str]) -> float:
    if not pred or not gold:
        return float(pred == gold)
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    p, r = common / len(pred), common / len(gold)
    return 2 * p * r / (p + r)


def token_f1(prediction: str | None, golds: Sequence[str]) -> float:
    pred = tokens(prediction or "")
    return max(_f1(pred, tokens(g)) for g in _golds(golds))
