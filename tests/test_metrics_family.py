"""Every retrieval metric: hand-computed values, and agreement with trec_eval (pytrec_eval)."""

from __future__ import annotations

import random

import pytest
from ragcore.evals.metrics import Metric, MetricSpec, evaluate, parse_metric
from ragcore.evals.metrics.average_precision import average_precision_at_k
from ragcore.evals.metrics.hit_rate import hit_rate_at_k
from ragcore.evals.metrics.mrr import reciprocal_rank_at_k
from ragcore.evals.metrics.ndcg import Gain, ndcg_at_k
from ragcore.evals.metrics.precision import precision_at_k
from ragcore.evals.metrics.r_precision import r_precision
from ragcore.evals.metrics.ranking import ranking_from_scores
from ragcore.evals.metrics.recall import recall_at_k

from ragcore.errors import ConfigError

# relevant: a (1), c (2), e (1); x is judged non-relevant, the rest unjudged
QRELS = {"a": 1, "c": 2, "e": 1, "x": 0}
RUN = ["b", "a", "x", "c", "d"]


def test_hand_computed_values() -> None:
    assert precision_at_k(RUN, QRELS, 2) == pytest.approx(1 / 2)
    assert precision_at_k(RUN, QRELS, 10) == pytest.approx(2 / 10)  # short run still / k
    assert hit_rate_at_k(RUN, QRELS, 1) == 0.0 and hit_rate_at_k(RUN, QRELS, 2) == 1.0
    assert reciprocal_rank_at_k(RUN, QRELS, 5) == pytest.approx(1 / 2)
    assert reciprocal_rank_at_k(RUN, QRELS, 1) == 0.0
    # AP@5: hits at ranks 2 and 4 -> (1/2 + 2/4) / 3 relevant
    assert average_precision_at_k(RUN, QRELS, 5) == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert average_precision_at_k(RUN, QRELS, 3) == pytest.approx((1 / 2) / 3)
    # R = 3: top 3 holds one relevant
    assert r_precision(RUN, QRELS) == pytest.approx(1 / 3)
    assert recall_at_k(RUN, QRELS, 5) == pytest.approx(2 / 3)


def test_empty_run_and_no_relevant_documents() -> None:
    for fn in (precision_at_k, hit_rate_at_k, reciprocal_rank_at_k, average_precision_at_k):
        assert fn([], QRELS, 5) == 0.0
        assert fn(RUN, {"a": 0}, 5) == 0.0
    assert r_precision([], QRELS) == 0.0 and r_precision(RUN, {}) == 0.0


def test_ties_break_by_descending_doc_id_like_trec_eval() -> None:
    scores = {"d1": 1.0, "d3": 2.0, "d2": 2.0}
    assert ranking_from_scores(scores) == ["d3", "d2", "d1"]
    assert reciprocal_rank_at_k(ranking_from_scores(scores), {"d2": 1}, 10) == pytest.approx(1 / 2)


def test_metric_names() -> None:
    assert parse_metric("NDCG@10") == MetricSpec(Metric.NDCG, 10)
    assert str(parse_metric("r_precision")) == "r_precision"
    for bad in ("ndcg", "ndcg@0", "bleu@4", "r_precision@5"):
        with pytest.raises(ConfigError):
            parse_metric(bad)


def test_batch_evaluate_matches_reference_functions() -> None:
    got = evaluate(
        {"q": RUN, "empty": []},
        {"q": QRELS, "empty": {"a": 1}, "none": {"z": 1}},
        ["precision@2", "recall@5", "hit_rate@1", "mrr@5", "ndcg@3", "map@5", "r_precision"],
    )
    assert got["precision@2"]["q"] == pytest.approx(precision_at_k(RUN, QRELS, 2))
    assert got["recall@5"]["q"] == pytest.approx(recall_at_k(RUN, QRELS, 5))
    assert got["mrr@5"]["q"] == pytest.approx(0.5)
    assert got["ndcg@3"]["q"] == pytest.approx(ndcg_at_k(RUN, QRELS, 3))
    assert got["map@5"]["q"] == pytest.approx(average_precision_at_k(RUN, QRELS, 5))
    assert got["r_precision"]["q"] == pytest.approx(1 / 3)
    # queries absent from the run score 0 on every metric
    assert all(got[m]["empty"] == 0.0 and got[m]["none"] == 0.0 for m in got)


TREC = {
    "precision@5": "P_5",
    "precision@10": "P_10",
    "recall@10": "recall_10",
    "hit_rate@5": "success_5",
    "ndcg@10": "ndcg_cut_10",
    "ndcg@5": "ndcg_cut_5",
    "map@10": "map_cut_10",
    "map@100": "map_cut_100",
    "r_precision": "Rprec",
}


def _random_runs(seed: int, n: int = 300):
    rng = random.Random(seed)
    qrels, scored = {}, {}
    for q in range(n):
        docs = [f"d{i:02d}" for i in range(50)]
        qrels[f"q{q}"] = {
            d: rng.choice([0, 1, 1, 2, 3]) for d in rng.sample(docs, rng.randint(1, 12))
        }
        picked = rng.sample(docs, rng.randint(1, 40))
        # coarse scores make ties common
        scored[f"q{q}"] = {d: float(rng.randint(0, 8)) for d in picked}
    return qrels, scored


def test_agrees_with_pytrec_eval_to_1e9() -> None:
    pytrec_eval = pytest.importorskip("pytrec_eval")
    qrels, scored = _random_runs(3)
    measures = {"P", "recall", "success", "ndcg_cut", "map_cut", "Rprec", "recip_rank"}
    ref = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(scored)
    run = {q: ranking_from_scores(s) for q, s in scored.items()}
    batch = evaluate(run, qrels, [*TREC, "mrr@1000"])
    for q, ranking in run.items():
        for ours, theirs in TREC.items():
            assert abs(batch[ours][q] - ref[q][theirs]) < 1e-9, (q, ours)
        assert abs(batch["mrr@1000"][q] - ref[q]["recip_rank"]) < 1e-9
        assert abs(ndcg_at_k(ranking, qrels[q], 10) - ref[q]["ndcg_cut_10"]) < 1e-9
        assert abs(precision_at_k(ranking, qrels[q], 5) - ref[q]["P_5"]) < 1e-9
        assert abs(average_precision_at_k(ranking, qrels[q], 100) - ref[q]["map_cut_100"]) < 1e-9
        assert abs(r_precision(ranking, qrels[q]) - ref[q]["Rprec"]) < 1e-9
        assert abs(hit_rate_at_k(ranking, qrels[q], 5) - ref[q]["success_5"]) < 1e-9


def test_mrr_at_k_is_recip_rank_of_the_truncated_run() -> None:
    pytrec_eval = pytest.importorskip("pytrec_eval")
    qrels, scored = _random_runs(5, 100)
    truncated = {
        q: dict(list(sorted(s.items(), key=lambda kv: (kv[1], kv[0]), reverse=True))[:10])
        for q, s in scored.items()
    }
    ref = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(truncated)
    run = {q: ranking_from_scores(s) for q, s in scored.items()}
    got = evaluate(run, qrels, ["mrr@10"])["mrr@10"]
    for q in run:
        assert abs(got[q] - ref[q]["recip_rank"]) < 1e-9


def test_exponential_gain_matches_reference_function() -> None:
    qrels, scored = _random_runs(9, 50)
    run = {q: ranking_from_scores(s) for q, s in scored.items()}
    got = evaluate(run, qrels, ["ndcg@10"], gain=Gain.EXPONENTIAL)["ndcg@10"]
    for q, ranking in run.items():
        assert abs(got[q] - ndcg_at_k(ranking, qrels[q], 10, Gain.EXPONENTIAL)) < 1e-12
