"""nDCG@k (Järvelin & Kekäläinen, "Cumulated gain-based evaluation of IR techniques",
TOIS 2002), as trec_eval computes it:

    DCG@k  = sum_{i=1..k} gain(rel_i) / log2(i + 1)
    nDCG@k = DCG@k / IDCG@k      (IDCG: the qrels' relevances sorted, best first)

``Gain.LINEAR`` (gain = rel) is trec_eval's ``ndcg_cut``; ``Gain.EXPONENTIAL``
(gain = 2^rel - 1, Burges et al. 2005) is the other common definition. They agree on binary
qrels. Queries with no relevant document score 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import StrEnum


class Gain(StrEnum):
    LINEAR = "linear"
    EXPONENTIAL = "exponential"


def _gain(rel: float, gain: Gain) -> float:
    return rel if gain is Gain.LINEAR else 2.0**rel - 1.0


def ndcg_at_k(
    ranking: Sequence[str], qrels: Mapping[str, float], k: int, gain: Gain = Gain.LINEAR
) -> float:
    """nDCG@k of one ranked list of ids (duplicates should be removed first)."""
    dcg = sum(
        _gain(qrels.get(doc, 0.0), gain) / math.log2(i + 2)
        for i, doc in enumerate(ranking[:k])
        if qrels.get(doc, 0.0) > 0
    )
    ideal = sorted((r for r in qrels.values() if r > 0), reverse=True)[:k]
    idcg = sum(_gain(r, gain) / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0
