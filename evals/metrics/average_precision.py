"""Average precision@k (trec_eval ``map_cut_k``; Buckley & Voorhees, "Retrieval System
Evaluation", TREC book, 2005):

    AP@k = (1 / R) * sum_{i <= k, doc_i relevant} P@i

with R the number of relevant documents (rel > 0) for the query, not min(k, R). Its mean over
queries is MAP@k. Queries with no relevant document score 0."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def average_precision_at_k(ranking: Sequence[str], qrels: Mapping[str, float], k: int) -> float:
    total_relevant = sum(1 for r in qrels.values() if r > 0)
    if total_relevant == 0:
        return 0.0
    hits, score = 0, 0.0
    for i, doc in enumerate(ranking[:k], start=1):
        if qrels.get(doc, 0) > 0:
            hits += 1
            score += hits / i
    return score / total_relevant
