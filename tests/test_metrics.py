from __future__ import annotations

import math
import random

import pytest
from ragcore.evals.metrics.ndcg import Gain, ndcg_at_k
from ragcore.evals.metrics.recall import recall_at_k


def test_ndcg_binary_hand_computed() -> None:
    # relevant: a, c. ranking: a, b, c -> DCG = 1/log2(2) + 1/log2(4) = 1.5
    # ideal: 1 + 1/log2(3)
    expected = 1.5 / (1 + 1 / math.log2(3))
    assert ndcg_at_k(["a", "b", "c"], {"a": 1, "c": 1}, 10) == pytest.approx(expected)
    assert ndcg_at_k(["a", "b", "c"], {"a": 1, "c": 1}, 1) == pytest.approx(1.0)
    assert ndcg_at_k(["b", "a"], {"a": 1}, 1) == 0.0


def test_ndcg_graded_linear_vs_exponential() -> None:
    qrels = {"a": 1, "b": 3}
    ranking = ["a", "b"]
    lin = (1 + 3 / math.log2(3)) / (3 + 1 / math.log2(3))
    exp = (1 + 7 / math.log2(3)) / (7 + 1 / math.log2(3))
    assert ndcg_at_k(ranking, qrels, 10, Gain.LINEAR) == pytest.approx(lin)
    assert ndcg_at_k(ranking, qrels, 10, Gain.EXPONENTIAL) == pytest.approx(exp)


def test_empty_run_and_no_relevant() -> None:
    assert ndcg_at_k([], {"a": 1}, 10) == 0.0
    assert ndcg_at_k(["a"], {}, 10) == 0.0
    assert ndcg_at_k(["a"], {"a": 0}, 10) == 0.0
    assert recall_at_k([], {"a": 1}, 10) == 0.0
    assert recall_at_k(["a"], {}, 10) == 0.0


def test_recall_hand_computed() -> None:
    qrels = {"a": 1, "b": 2, "c": 0, "d": 1}
    assert recall_at_k(["a", "x", "b", "c"], qrels, 2) == pytest.approx(1 / 3)
    assert recall_at_k(["a", "x", "b", "c"], qrels, 3) == pytest.approx(2 / 3)


def test_agrees_with_pytrec_eval() -> None:
    pytrec_eval = pytest.importorskip("pytrec_eval")
    rng = random.Random(7)
    qrels, run = {}, {}
    for q in range(300):
        docs = [f"d{i}" for i in range(40)]
        qrels[f"q{q}"] = {d: rng.choice([0, 1, 2, 3]) for d in rng.sample(docs, rng.randint(1, 10))}
        picked = rng.sample(docs, rng.randint(0, 30))
        run[f"q{q}"] = {d: float(len(picked) - i) for i, d in enumerate(picked)}
    ev = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.10", "ndcg_cut.5"})
    ref = ev.evaluate({q: r for q, r in run.items() if r})
    for q, r in run.items():
        ranking = list(r)
        want = ref.get(q, {"ndcg_cut_10": 0.0, "ndcg_cut_5": 0.0, "recall_10": 0.0})
        assert abs(ndcg_at_k(ranking, qrels[q], 10) - want["ndcg_cut_10"]) < 1e-9
        assert abs(ndcg_at_k(ranking, qrels[q], 5) - want["ndcg_cut_5"]) < 1e-9
        assert abs(recall_at_k(ranking, qrels[q], 10) - want["recall_10"]) < 1e-9
