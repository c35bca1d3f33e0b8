"""Rank fusion as pure functions.

Reciprocal rank fusion (Cormack, Clarke & Buettcher, "Reciprocal Rank Fusion outperforms
Condorcet and individual Rank Learning Methods", SIGIR 2009):

    RRF(d) = sum_i  w_i / (k + rank_i(d))

with 1-based ranks; a list that does not contain ``d`` contributes nothing. (Qdrant's
engine-side RRF uses 0-based ranks, i.e. the same formula with ``k - 1``.)
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[T]], k: float = 60.0, weights: Sequence[float] | None = None
) -> list[tuple[T, float]]:
    """Fuse ranked lists (best first) into ``(item, score)`` pairs, best first.

    Ties keep the order of first appearance (earlier lists, then earlier ranks).
    """
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    if k <= 0:
        raise ValueError("k must be positive")
    scores: dict[T, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])
