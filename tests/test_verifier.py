"""The answer verifier: the logistic regression (its optimality conditions), out-of-fold
scores, saving, and its features."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from ragcore.adapters.reader.decoding import AbstainScore, Reading
from ragcore.adapters.reader.verifier import (
    VERIFIER_FILE,
    AnswerVerifier,
    VerifierFeature,
    feature_values,
    fit_verifier,
    out_of_fold,
)

from ragcore.errors import ConfigError

PASSAGE = "The gateway listens on port 9000. Resets take ten minutes. Dr. Who built it in 1999."


FEATURES = (VerifierFeature.HEAD, VerifierFeature.SENTENCE_RELEVANCE)


def _data(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)) * [2.0, 5.0] + [1.0, -3.0]
    p = 1 / (1 + np.exp(-(1.5 * x[:, 0] - 0.4 * x[:, 1] + 0.3)))
    return x, rng.random(n) < p


def test_fit_verifier_meets_the_regularized_optimality_conditions() -> None:
    x, y = _data()
    l2 = 2.0
    v = fit_verifier(FEATURES, x.tolist(), y.tolist(), l2=l2)
    z = (x - np.array(v.mean)) / np.array(v.std)
    p = np.array([v.probability(row) for row in x])
    # the gradient of sum(log loss) + l2 |w|^2 / 2 vanishes at the optimum; the bias is free
    assert np.allclose(z.T @ (p - y) + l2 * np.array(v.weight), 0.0, atol=1e-6)
    assert abs(float((p - y).sum())) < 1e-6
    assert v.mean == pytest.approx(tuple(x.mean(0))) and v.std == pytest.approx(tuple(x.std(0)))
    # the signs of the generating model are recovered
    assert v.weight[0] > 0 > v.weight[1]
    logit = sum(w * zi for w, zi in zip(v.weight, z[0], strict=True)) + v.bias
    manual = 1 / (1 + math.exp(-logit))
    assert v.probability(x[0]) == pytest.approx(manual)


def test_fit_verifier_rejects_one_outcome_and_bad_shapes() -> None:
    with pytest.raises(ConfigError, match="both outcomes"):
        fit_verifier(FEATURES, [[0.0, 1.0], [1.0, 2.0]], [True, True])
    with pytest.raises(ConfigError, match="one row per reading"):
        fit_verifier(FEATURES, [[0.0], [1.0]], [True, False])


def test_out_of_fold_scores_each_group_with_a_verifier_that_never_saw_it() -> None:
    x, y = _data(60, seed=1)
    groups = [f"p{i // 6}" for i in range(60)]  # 10 paragraphs
    oof = out_of_fold(FEATURES, x.tolist(), y.tolist(), groups, folds=5)
    # fold of group i is i % 5 in order of appearance: p0 and p5 share fold 0
    held = [i for i, g in enumerate(groups) if g in ("p0", "p5")]
    rest = [i for i in range(60) if i not in held]
    alone = fit_verifier(FEATURES, x[rest].tolist(), y[rest].tolist())
    for i in held:
        assert oof[i] == pytest.approx(alone.probability(x[i]))
    full = fit_verifier(FEATURES, x.tolist(), y.tolist())
    assert any(abs(oof[i] - full.probability(x[i])) > 1e-6 for i in held)


def test_verifier_saves_and_loads(tmp_path: Path) -> None:
    x, y = _data()
    v = fit_verifier(FEATURES, x.tolist(), y.tolist())
    v.save(tmp_path)
    again = AnswerVerifier.load(tmp_path)
    assert again == v and again.features == FEATURES
    assert AnswerVerifier.load(tmp_path / "missing") is None
    raw = json.loads((tmp_path / VERIFIER_FILE).read_text())
    raw["weight"] = raw["weight"][:1]
    (tmp_path / VERIFIER_FILE).write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match="one weight, mean and std per feature"):
        AnswerVerifier.load(tmp_path)
    (tmp_path / VERIFIER_FILE).write_text("{not json")
    with pytest.raises(ConfigError, match="is not an answer verifier"):
        AnswerVerifier.load(tmp_path)


def test_feature_values_use_the_cited_passage_sentence() -> None:
    seen: list[tuple[str, str]] = []

    def relevance(question: str, sentence: str) -> float:
        seen.append((question, sentence))
        return 2.5

    reading = Reading("ten minutes", 2, p_abstain=0.2, p_answer=0.6, p_head=0.25)
    values = feature_values(
        (*FEATURES, VerifierFeature.NULL_VS_SPAN), reading, "How long?", ["Other.", PASSAGE],
        relevance,
    )  # fmt: skip
    assert values[0] == pytest.approx(math.log(0.25 / 0.75))
    assert values[1] == 2.5 and seen == [("How long?", "Resets take ten minutes.")]
    assert values[2] == pytest.approx(math.log(0.25 / 0.75))  # 0.2 / (0.2 + 0.6)
    seen.clear()  # the passage feature judges the whole cited passage, not the sentence
    passage = VerifierFeature.PASSAGE_RELEVANCE
    assert feature_values((passage,), reading, "How long?", ["Other.", PASSAGE], relevance) == [2.5]
    assert seen == [("How long?", PASSAGE)]
    with pytest.raises(ConfigError, match="abstention head"):
        feature_values(FEATURES, Reading("x", 1, 0.5, 0.5), "q", ["x"], relevance)
    with pytest.raises(ConfigError, match=r"no abstain_verifier\.json"):
        reading.abstain_score(AbstainScore.VERIFIER)
    assert Reading("x", 1, 0.5, 0.5, p_verify=0.7).abstain_score(AbstainScore.VERIFIER) == 0.7
    assert not AbstainScore.VERIFIER.before_decoding
