"""Precision@k: relevant documents (rel > 0) in the top k, divided by k (trec_eval ``P_k``;
Manning, Raghavan & Schütze, Introduction to IR, 2008, ch. 8). A run shorter than k still
divides by k. Queries with no relevant document score 0."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def precision_at_k(ranking: Sequence[str], qrels: Mapping[str, float], k: int) -> float:
    if k < 1:
        raise ValueError("k must be >= 1")
    return sum(1 for doc in ranking[:k] if qrels.get(doc, 0) > 0) / k
