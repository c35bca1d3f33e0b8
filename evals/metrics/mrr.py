"""Reciprocal rank@k: 1 / rank of the first relevant document (rel > 0) within the top k, else
0 (Voorhees, TREC-8 QA track, 1999). Its mean over queries is MRR@k. Equals trec_eval's
``recip_rank`` on the run truncated to k."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def reciprocal_rank_at_k(ranking: Sequence[str], qrels: Mapping[str, float], k: int) -> float:
    for i, doc in enumerate(ranking[:k], start=1):
        if qrels.get(doc, 0) > 0:
            return 1.0 / i
    return 0.0
