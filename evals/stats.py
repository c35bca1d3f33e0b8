"""Statistics over per-query scores.

- ``bootstrap_ci``: percentile bootstrap confidence interval of the mean (Efron & Tibshirani,
  An Introduction to the Bootstrap, 1993, ch. 13).
- ``paired_randomization_test``: two-sided Fisher randomization (permutation) test on paired
  per-query differences, the test Smucker, Allan & Carterette recommend for IR ("A Comparison
  of Statistical Significance Tests for Information Retrieval Evaluation", CIKM 2007).
Both are seeded, so a CI job reruns to identical numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MeanCI:
    mean: float
    low: float
    high: float
    n: int


def bootstrap_cis(
    columns: Mapping[str, Sequence[float]],
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, MeanCI]:
    """Percentile bootstrap CI of the mean of each column. Columns of one length share the
    resampled query sets (as when metrics are scored on the same queries), so the work is one
    count matrix times the stacked scores instead of a gather per metric."""
    tail = (1.0 - confidence) / 2.0
    by_size: dict[int, list[str]] = {}
    for name, values in columns.items():
        by_size.setdefault(len(values), []).append(name)
    out: dict[str, MeanCI] = {}
    for n, names in by_size.items():
        if n == 0:
            out |= {name: MeanCI(0.0, 0.0, 0.0, 0) for name in names}
            continue
        x = np.stack([np.asarray(columns[name], dtype=np.float64) for name in names])
        rng = np.random.default_rng(seed)
        means = np.empty((resamples, len(names)))
        block = max(1, min(resamples, 4_000_000 // n))  # bounds the count matrix's memory
        for start in range(0, resamples, block):
            rows = min(block, resamples - start)
            idx = rng.integers(0, n, size=(rows, n))
            flat = (idx + np.arange(rows)[:, None] * n).ravel()
            counts = np.bincount(flat, minlength=rows * n).reshape(rows, n)
            means[start : start + rows] = counts @ x.T / n
        lows, highs = np.quantile(means, [tail, 1.0 - tail], axis=0)
        for i, name in enumerate(names):
            out[name] = MeanCI(float(x[i].mean()), float(lows[i]), float(highs[i]), n)
    return out


def bootstrap_ci(
    values: Sequence[float], confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> MeanCI:
    return bootstrap_cis({"": values}, confidence, resamples, seed)[""]


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


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (Holm, "A simple sequentially rejective multiple test
    procedure", Scand. J. Statistics 1979), in the input's order. Sorted ascending, the i-th of
    m (from 0) becomes max over j <= i of min(1, (m - j) p_(j)); rejecting where the adjusted
    value is below alpha controls the family-wise error rate at alpha."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
