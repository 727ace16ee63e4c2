"""The statistics every drift test is built from: two-proportion and exact count tests,
effect sizes, and distances between samples. Pure functions of numbers and arrays."""

from __future__ import annotations

from typing import overload

import numpy as np
from scipy import stats
from scipy.special import gammaln

MIN_EXPECTED = 5  # categories expected fewer times in either window are pooled (chi-square)


@overload
def cohens_h(p1: np.ndarray, p2: np.ndarray | float) -> np.ndarray: ...
@overload
def cohens_h(p1: float, p2: np.ndarray) -> np.ndarray: ...
@overload
def cohens_h(p1: float, p2: float) -> float: ...
def cohens_h(p1: np.ndarray | float, p2: np.ndarray | float) -> np.ndarray | float:
    """Effect size of a difference between two proportions (absolute value)."""
    return np.abs(2 * np.arcsin(np.sqrt(p2)) - 2 * np.arcsin(np.sqrt(p1)))


def two_proportion_test(x1, n1, x2, n2) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided pooled z-test of x1/n1 against x2/n2, elementwise; returns (z, p-value).
    Cases with an empty sample or no variation get z = 0 and p = 1."""
    x1, n1, x2, n2 = (np.asarray(a, dtype=float) for a in (x1, n1, x2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (x1 + x2) / (n1 + n2)
        variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
        z = (x2 / n2 - x1 / n1) / np.sqrt(variance)
    z = np.where(np.isfinite(z), z, 0.0)
    return z, 2 * stats.norm.sf(np.abs(z))


def _log_hypergeom_pmf(x, population, successes, draws) -> np.ndarray:
    def log_choose(n, k):
        return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)

    return (
        log_choose(successes, x)
        + log_choose(population - successes, draws - x)
        - log_choose(population, draws)
    )


def count_test(x1, n1, x2, n2) -> tuple[np.ndarray, np.ndarray]:
    """Fisher's exact test of x1 of n1 units against x2 of n2, elementwise (discrete counts:
    exact at any size, a new item's 0 of n1 included). Returns (two-sided p-value, as twice
    the smaller tail, at most 1; the smallest p-value the margins allow). A test whose
    smallest possible p-value is above the false discovery rate can never be significant,
    whatever the counts: leaving it out is independent of its outcome (it reads only the
    margins) and spends no false-discovery budget on it."""
    x1, n1, x2, n2 = (np.asarray(a, dtype=np.int64) for a in (x1, n1, x2, n2))
    total, both = x1 + x2, n1 + n2
    dist = stats.hypergeom(both, total, n2)
    low, high = dist.cdf(x2), dist.sf(x2 - 1)
    p = np.minimum(1.0, 2 * np.minimum(low, high))
    top, bottom = np.minimum(total, n2), np.maximum(0, total - n1)
    best = np.minimum(
        1.0,
        2
        * np.exp(
            np.minimum(
                _log_hypergeom_pmf(top, both, total, n2),
                _log_hypergeom_pmf(bottom, both, total, n2),
            )
        ),
    )
    empty = (n1 == 0) | (n2 == 0) | (total == 0) | (total == both)
    return np.where(empty, 1.0, p), np.where(empty, 1.0, best)


def share_of(x, n) -> float:
    return float(x) / n if n else 0.0


def direction_of(before: float | None, after: float | None) -> str:
    if before is None or after is None or before == after:
        return ""
    return "up" if after > before else "down"


def wasserstein_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """The 1-Wasserstein distance between two samples given sorted: the area between their
    empirical distribution functions (what ``scipy.stats.wasserstein_distance`` computes,
    without sorting again)."""
    values = np.sort(np.concatenate([a, b]), kind="mergesort")
    widths = np.diff(values)
    cdf_a = np.searchsorted(a, values[:-1], side="right") / a.size
    cdf_b = np.searchsorted(b, values[:-1], side="right") / b.size
    return float(np.sum(np.abs(cdf_a - cdf_b) * widths))


def whole_number_test(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """Chi-square on the count of each value, neighbouring values pooled (in increasing
    order) until each pool is expected at least ``MIN_EXPECTED`` times in the smaller
    window: for whole numbers, where Kolmogorov-Smirnov's ties make it conservative and
    dull to a change of part of the distribution (weekend baskets only). Returns
    (statistic, p-value)."""
    values, counts = np.unique(np.concatenate([ref, cur]), return_counts=True)
    scale = min(ref.size, cur.size) / (ref.size + cur.size)
    group = np.zeros(len(values), dtype=np.int64)
    g, held = 0, 0.0
    for i, n in enumerate(counts):
        if held >= MIN_EXPECTED:
            g, held = g + 1, 0.0
        group[i] = g
        held += n * scale
    if held < MIN_EXPECTED and g > 0:
        group[group == g] = g - 1
    r = np.bincount(group[np.searchsorted(values, ref)], minlength=group.max() + 1)
    c = np.bincount(group[np.searchsorted(values, cur)], minlength=group.max() + 1)
    if len(r) < 2:
        return 0.0, 1.0
    chi2, p_value, _, _ = stats.chi2_contingency(np.vstack([r, c]).astype(float), correction=False)
    return float(chi2), float(p_value)
