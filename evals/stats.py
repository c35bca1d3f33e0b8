"""Statistics over per-query scores.

- ``bootstrap_ci``: percentile bootstrap confidence interval of the mean (Efron & Tibshirani,
  An Introduction to the Bootstrap, 1993, ch. 13).
- ``paired_randomization_test``: two-sided Fisher randomization (permutation) test on paired
  per-query differences, the test Smucker, Allan & Carterette recommend for IR ("A Comparison
  of Statistical Significance Tests for Information Retrieval Evaluation", CIKM 2007).
Both are seeded, so a CI job reruns to identical numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MeanCI:
    mean: float
    low: float
    high: float
    n: int


def bootstrap_ci(
    values: Sequence[float], confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> MeanCI:
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return MeanCI(0.0, 0.0, 0.0, 0)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return MeanCI(float(x.mean()), float(low), float(high), int(x.size))


@dataclass(frozen=True)
class PairedTest:
    mean_a: float
    mean_b: float
    delta: float  # mean(b) - mean(a)
    p_value: float
    n: int


def paired_randomization_test(
    a: Sequence[float], b: Sequence[float], permutations: int = 10000, seed: int = 0
) -> PairedTest:
    """p-value of the null hypothesis that ``a`` and ``b`` (paired by position) are exchangeable:
    the share of random sign flips of the differences whose |mean| reaches the observed one
    (with the +1 correction of Phipson & Smyth, 2010)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"paired samples differ in length: {x.size} vs {y.size}")
    if x.size == 0:
        return PairedTest(0.0, 0.0, 0.0, 1.0, 0)
    d = y - x
    observed = abs(d.mean())
    rng = np.random.default_rng(seed)
    signs = rng.choice((-1.0, 1.0), size=(permutations, d.size))
    extreme = int((np.abs((signs * d).mean(axis=1)) >= observed - 1e-15).sum())
    p = (extreme + 1) / (permutations + 1)
    return PairedTest(float(x.mean()), float(y.mean()), float(d.mean()), float(p), int(d.size))
