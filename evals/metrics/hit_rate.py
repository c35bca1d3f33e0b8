"""Hit rate@k (success@k): 1 if any relevant document (rel > 0) is in the top k, else 0
(trec_eval ``success_k``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def hit_rate_at_k(ranking: Sequence[str], qrels: Mapping[str, float], k: int) -> float:
    return 1.0 if any(qrels.get(doc, 0) > 0 for doc in ranking[:k]) else 0.0
