from __future__ import annotations

import numpy as np
import pytest
from ragcore.evals.stats import bootstrap_ci, holm_adjust, paired_randomization_test


def test_bootstrap_ci_brackets_the_mean_and_shrinks_with_n() -> None:
    rng = np.random.default_rng(1)
    small = bootstrap_ci(rng.random(30).tolist())
    large = bootstrap_ci(rng.random(3000).tolist())
    assert small.low < small.mean < small.high
    assert (large.high - large.low) < (small.high - small.low)
    assert bootstrap_ci([0.5] * 10) == bootstrap_ci([0.5] * 10)  # seeded: reproducible
    const = bootstrap_ci([0.25] * 10)
    assert const.low == const.high == const.mean == pytest.approx(0.25)
    assert bootstrap_ci([]).n == 0


def test_randomization_test_exact_small_case() -> None:
    # differences (+1, +1, +1): of the 8 sign patterns, 2 reach |mean| = 1 -> p = 0.25
    res = paired_randomization_test([0, 0, 0], [1, 1, 1], permutations=200000, seed=3)
    assert res.delta == pytest.approx(1.0)
    assert res.p_value == pytest.approx(0.25, abs=0.01)


def test_randomization_test_detects_shift_and_not_noise() -> None:
    rng = np.random.default_rng(2)
    a = rng.random(400)
    assert paired_randomization_test(a, a + 0.05).p_value < 0.001
    assert paired_randomization_test(a, a + rng.normal(0, 0.01, 400)).p_value > 0.01
    assert paired_randomization_test(a, a).p_value == pytest.approx(1.0)
    with pytest.raises(ValueError, match="differ in length"):
        paired_randomization_test([1, 2], [1])


def test_bootstrap_cis_share_resamples_and_match_the_textbook_gather() -> None:
    from ragcore.evals.stats import bootstrap_cis

    rng = np.random.default_rng(5)
    a, b = rng.random(700), rng.integers(0, 2, 700).astype(float)
    cis = bootstrap_cis({"a": a.tolist(), "b": b.tolist(), "short": [1.0, 0.0]}, resamples=500)
    for name, x in (("a", a), ("b", b)):
        # the definition: resample queries with replacement, take the mean, read percentiles
        idx = np.random.default_rng(0).integers(0, x.size, size=(500, x.size))
        low, high = np.quantile(x[idx].mean(axis=1), [0.025, 0.975])
        assert (cis[name].low, cis[name].high) == pytest.approx((low, high), abs=1e-12)
        alone = bootstrap_ci(x.tolist(), resamples=500)
        assert (alone.mean, alone.low, alone.high) == pytest.approx(
            (cis[name].mean, cis[name].low, cis[name].high), abs=1e-12
        )
    assert cis["short"].n == 2 and 0.0 <= cis["short"].low <= cis["short"].high <= 1.0


def test_holm_adjustment_worked_by_hand() -> None:
    # sorted: 0.01 (x3 = 0.03), 0.02 (x2 = 0.04), 0.04 (x1 = 0.04), in the input's order
    assert holm_adjust([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    # monotone: a later step never falls below an earlier one; capped at 1
    assert holm_adjust([0.03, 0.011, 0.5, 0.9]) == pytest.approx([0.09, 0.044, 1.0, 1.0])
    assert holm_adjust([0.2]) == [0.2] and holm_adjust([]) == []
