"""R-precision: precision at rank R, where R is the query's number of relevant documents
(rel > 0) (trec_eval ``Rprec``; Buckley & Voorhees 2005). Queries with no relevant document
score 0."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def r_precision(ranking: Sequence[str], qrels: Mapping[str, float]) -> float:
    r = sum(1 for rel in qrels.values() if rel > 0)
    if r == 0:
        return 0.0
    return sum(1 for doc in ranking[:r] if qrels.get(doc, 0) > 0) / r
