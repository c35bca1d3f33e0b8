"""Retrieval metrics, one per module (``ndcg.py``, ``precision.py``...), their names
(``ndcg@10``, ``recall@100``, ``r_precision``...) and ``evaluate``, which dispatches to them
(ranx's layout). Each metric agrees with trec_eval (tests check it with pytrec_eval)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from ragcore.evals.metrics.average_precision import average_precision_at_k
from ragcore.evals.metrics.hit_rate import hit_rate_at_k
from ragcore.evals.metrics.mrr import reciprocal_rank_at_k
from ragcore.evals.metrics.ndcg import Gain, ndcg_at_k
from ragcore.evals.metrics.precision import precision_at_k
from ragcore.evals.metrics.r_precision import r_precision
from ragcore.evals.metrics.recall import recall_at_k

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


def _score(spec: MetricSpec, ranking: Sequence[str], judged: Mapping[str, float],
           gain: Gain) -> float:  # fmt: skip
    k = spec.k or 0
    match spec.metric:
        case Metric.PRECISION:
            return precision_at_k(ranking, judged, k)
        case Metric.RECALL:
            return recall_at_k(ranking, judged, k)
        case Metric.HIT_RATE:
            return hit_rate_at_k(ranking, judged, k)
        case Metric.MRR:
            return reciprocal_rank_at_k(ranking, judged, k)
        case Metric.NDCG:
            return ndcg_at_k(ranking, judged, k, gain)
        case Metric.MAP:
            return average_precision_at_k(ranking, judged, k)
        case Metric.R_PRECISION:
            return r_precision(ranking, judged)
    raise AssertionError(spec)  # every Metric is matched above


def evaluate(
    run: Mapping[str, Sequence[str]],
    qrels: Mapping[str, Mapping[str, float]],
    metrics: Sequence[str | MetricSpec],
    gain: Gain = Gain.LINEAR,
) -> dict[str, dict[str, float]]:
    """Per-query scores, ``{metric name: {query id: value}}``, for every query in ``qrels``,
    each from the metric's own module (one definition per metric).

    ``run`` maps a query id to its ranked document ids (best first, no duplicates); a query
    missing from the run scores 0. Relevant means rel > 0, as in trec_eval.
    """
    specs = [parse_metric(m) for m in metrics]
    qids = sorted(qrels)
    return {
        str(spec): {q: _score(spec, run.get(q, ()), qrels[q], gain) for q in qids} for spec in specs
    }
