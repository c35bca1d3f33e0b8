"""Metric names (``ndcg@10``, ``recall@100``, ``r_precision``...) and a vectorised evaluator that
scores every query of a run at once. The per-metric modules (``ndcg.py``, ``precision.py``...)
are the readable reference definitions; ``evaluate`` must agree with them and with trec_eval
(tests check both)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from ragcore.evals.ndcg import Gain

from ragcore.errors import ConfigError


class Metric(StrEnum):
    PRECISION = "precision"
    RECALL = "recall"
    HIT_RATE = "hit_rate"
    MRR = "mrr"
    NDCG = "ndcg"
    MAP = "map"
    R_PRECISION = "r_precision"


@dataclass(frozen=True)
class MetricSpec:
    metric: Metric
    k: int | None = None  # None only for R-precision

    def __str__(self) -> str:
        return self.metric.value if self.k is None else f"{self.metric.value}@{self.k}"


def parse_metric(text: str | MetricSpec) -> MetricSpec:
    """``"ndcg@10"`` -> ``MetricSpec(Metric.NDCG, 10)``; ``"r_precision"`` takes no cut-off."""
    if isinstance(text, MetricSpec):
        return text
    name, _, k = text.strip().lower().partition("@")
    try:
        metric = Metric(name)
    except ValueError:
        raise ConfigError(
            f"unknown metric {text!r}", f"use one of {', '.join(m.value for m in Metric)} with @k"
        ) from None
    if metric is Metric.R_PRECISION:
        if k:
            raise ConfigError(f"{text!r}: r_precision takes no @k", "write r_precision")
        return MetricSpec(metric)
    if not k.isdigit() or int(k) < 1:
        raise ConfigError(f"metric {text!r} needs a cut-off", f"e.g. {name}@10")
    return MetricSpec(metric, int(k))


def evaluate(
    run: Mapping[str, Sequence[str]],
    qrels: Mapping[str, Mapping[str, float]],
    metrics: Sequence[str | MetricSpec],
    gain: Gain = Gain.LINEAR,
) -> dict[str, dict[str, float]]:
    """Per-query scores, ``{metric name: {query id: value}}``, for every query in ``qrels``.

    ``run`` maps a query id to its ranked document ids (best first, no duplicates); a query
    missing from the run scores 0. Relevant means rel > 0, as in trec_eval.
    """
    specs = [parse_metric(m) for m in metrics]
    qids = sorted(qrels)
    n = len(qids)
    depth = max([s.k for s in specs if s.k is not None] + [1])
    rel = np.zeros((n, depth), dtype=np.float64)
    ideal = np.zeros((n, depth), dtype=np.float64)
    n_rel = np.zeros(n, dtype=np.float64)
    rprec = np.zeros(n, dtype=np.float64)
    want_rprec = any(s.metric is Metric.R_PRECISION for s in specs)
    for i, q in enumerate(qids):
        judged = qrels[q]
        ranking = run.get(q, ())
        row = [judged.get(doc, 0.0) for doc in ranking[:depth]]
        rel[i, : len(row)] = row
        positive = sorted((r for r in judged.values() if r > 0), reverse=True)
        n_rel[i] = len(positive)
        ideal[i, : min(depth, len(positive))] = positive[:depth]
        if want_rprec and positive:
            r = len(positive)
            rprec[i] = sum(1 for doc in ranking[:r] if judged.get(doc, 0) > 0) / r
    hit = rel > 0
    safe_rel = np.where(n_rel > 0, n_rel, 1.0)
    ranks = np.arange(1, depth + 1, dtype=np.float64)
    discount = 1.0 / np.log2(ranks + 1.0)
    cum_hits = np.cumsum(hit, axis=1)

    def g(x: np.ndarray) -> np.ndarray:
        return x if gain is Gain.LINEAR else np.exp2(x) - 1.0

    out: dict[str, dict[str, float]] = {}
    for spec in specs:
        k = spec.k or depth
        h = hit[:, :k]
        if spec.metric is Metric.PRECISION:
            values = h.sum(axis=1) / k
        elif spec.metric is Metric.RECALL:
            values = np.where(n_rel > 0, h.sum(axis=1) / safe_rel, 0.0)
        elif spec.metric is Metric.HIT_RATE:
            values = h.any(axis=1).astype(np.float64)
        elif spec.metric is Metric.MRR:
            first = h.argmax(axis=1)
            values = np.where(h.any(axis=1), 1.0 / (first + 1.0), 0.0)
        elif spec.metric is Metric.NDCG:
            dcg = (np.where(h, g(rel[:, :k]), 0.0) * discount[:k]).sum(axis=1)
            idcg = (g(ideal[:, :k]) * discount[:k]).sum(axis=1)
            values = np.where(idcg > 0, dcg / np.where(idcg > 0, idcg, 1.0), 0.0)
        elif spec.metric is Metric.MAP:
            precision_at_hits = np.where(h, cum_hits[:, :k] / ranks[:k], 0.0)
            values = np.where(n_rel > 0, precision_at_hits.sum(axis=1) / safe_rel, 0.0)
        else:
            values = rprec
        out[str(spec)] = dict(zip(qids, values.tolist(), strict=True))
    return out
