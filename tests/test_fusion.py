from __future__ import annotations

import pytest

from ragcore.fusion import reciprocal_rank_fusion


def test_rrf_hand_computed() -> None:
    # k=1: a: 1/(1+1) = .5 ; b: 1/(1+2) + 1/(1+1) = .8333 ; c: 1/(1+2) = .3333
    fused = dict(reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=1))
    assert fused == pytest.approx({"a": 0.5, "b": 1 / 3 + 1 / 2, "c": 1 / 3})
    order = [x for x, _ in reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=1)]
    assert order == ["b", "a", "c"]


def test_rrf_weights_and_ties() -> None:
    # weights 2 and 1, k=60: x = 2/61, y = 1/61 + 2/62
    fused = dict(reciprocal_rank_fusion([["x", "y"], ["y"]], k=60, weights=[2, 1]))
    assert fused["x"] == pytest.approx(2 / 61)
    assert fused["y"] == pytest.approx(2 / 62 + 1 / 61)
    # equal scores keep first-appearance order
    assert [x for x, _ in reciprocal_rank_fusion([["p"], ["q"]], k=5)] == ["p", "q"]


def test_rrf_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="weights"):
        reciprocal_rank_fusion([["a"]], weights=[1, 2])
    with pytest.raises(ValueError, match="k must be positive"):
        reciprocal_rank_fusion([["a"]], k=0)
