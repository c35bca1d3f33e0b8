"""Recall@k: the share of a query's relevant documents (rel > 0) found in the top k
(Manning, Raghavan & Schütze, Introduction to IR, 2008, ch. 8). trec_eval's ``recall_k``.
Queries with no relevant document score 0."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def recall_at_k(ranking: Sequence[str], qrels: Mapping[str, float], k: int) -> float:
    relevant = {doc for doc, rel in qrels.items() if rel > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranking[:k])) / len(relevant)
