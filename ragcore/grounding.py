"""Grounding guard: is an answer supported by the passages it cites?

An answer is supported when at least ``min_support`` of its key tokens (lower-cased words and
numbers, stop words dropped) occur in the cited passages' text. This is the deterministic
check the evals use for "answer supported" relaxed from exact span to key tokens, so a
paraphrased or re-punctuated span still passes while an invented fact does not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

from ragcore.types import Hit

_TOKEN = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "by",
        "with",
        "from",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "as",
        "per",
        "each",
        "than",
        "then",
        "there",
        "their",
        "they",
        "he",
        "she",
        "his",
        "her",
        "we",
        "you",
        "your",
        "our",
    }
)


class GuardMode(StrEnum):
    OFF = "off"  # keep every answer
    FLAG = "flag"  # keep it, add the flag "unsupported"
    ABSTAIN = "abstain"  # replace an unsupported answer by an abstention


def key_tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOP_WORDS]


def support(answer: str, passages: Sequence[Hit]) -> float:
    """Share of the answer's key tokens found in ``passages`` (1.0 for an answer without any)."""
    keys = key_tokens(answer)
    if not keys:
        return 1.0
    vocab = set(_TOKEN.findall(" ".join(h.chunk.text for h in passages).lower()))
    return sum(k in vocab for k in keys) / len(keys)


def best_supporting(answer: str, hits: Sequence[Hit], min_support: float) -> int | None:
    """1-based number of the passage that supports the answer best, if any reaches the bar."""
    scored = [(support(answer, [h]), -n, n) for n, h in enumerate(hits, start=1)]
    best = max(scored, default=None)
    return best[2] if best and best[0] >= min_support else None
