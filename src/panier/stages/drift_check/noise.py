"""What the training window does on its own: effect floors from pseudo-current windows.

A drift test compares the current window with the training window. Even with no drift,
any stretch of real retail data differs from the rest of the year: items are seasonal,
prices move with promotions, the sampling noise of a small window is large. So an effect
only means something when it is *larger than what the training data shows on its own
between a window of the current window's size and the rest of it*.

``pseudo_windows`` cuts the training window, in time order, into ``count`` evenly spaced
runs of as many consecutive baskets as the current window holds (at most half the training
window), so that each run is what a current window would have been, had nothing changed.
The ``*_noise`` functions measure every test's effect between each run and the rest of the
training window, with the same effect measure the test uses, and return the largest one:
the test's noise floor. In a stationary world it is about two standard errors of sampling
noise; in a seasonal one it is as large as the season makes it.

Everything here is a pure function of its arrays: no randomness, so equal inputs give equal
floors.
"""

from __future__ import annotations

import math

import numpy as np


def cohens_h(p1, p2):
    """Effect size of a difference between two proportions (absolute value)."""
    return np.abs(2 * np.arcsin(np.sqrt(p2)) - 2 * np.arcsin(np.sqrt(p1)))


def pseudo_windows(
    basket_time: np.ndarray | None, n_baskets: int, n_current: int, count: int
) -> list[np.ndarray]:
    """Indices of the reference baskets in each pseudo-current window.

    In: the time of each reference basket (None: baskets are already in time order), the
    number of reference baskets, the number of current baskets, how many windows. Out: up
    to ``count`` index arrays, each a run of ``min(n_current, n_baskets // 2)`` baskets
    consecutive in time, starts spread evenly from the first basket to the last; an empty
    list when the reference is too small to cut (fewer than 2 baskets per side).
    """
    size = min(n_current, n_baskets // 2)
    if size < 2 or count < 1:
        return []
    order = np.arange(n_baskets) if basket_time is None else np.argsort(basket_time, kind="stable")
    starts = np.unique(np.round(np.linspace(0, n_baskets - size, count)).astype(np.int64))
    return [order[s : s + size] for s in starts]


def _masks(windows: list[np.ndarray], n_baskets: int) -> list[np.ndarray]:
    masks = []
    for window in windows:
        mask = np.zeros(n_baskets, dtype=bool)
        mask[window] = True
        masks.append(mask)
    return masks


def share_noise(
    totals: np.ndarray, n_total: int, window_counts: list[np.ndarray], window_size: int
) -> np.ndarray:
    """Largest Cohen's h, over the windows, between a window's share of baskets and the rest's.

    In: per feature, baskets holding it in the whole reference (``totals`` of ``n_total``)
    and in each window (``window_counts``, each of ``window_size`` baskets). Out: per
    feature, the noise floor (0 with no windows)."""
    totals = np.asarray(totals, dtype=float)
    floor = np.zeros(len(totals))
    rest = n_total - window_size
    if rest <= 0:
        return floor
    for counts in window_counts:
        h = cohens_h((totals - counts) / rest, counts / window_size)
        np.maximum(floor, h, out=floor)
    return floor


def item_window_counts(matrix, windows: list[np.ndarray]) -> list[np.ndarray]:
    """Per window, the number of its baskets holding each item (a basket x item CSR matrix)."""
    return [np.bincount(matrix[w].indices, minlength=matrix.shape[1]) for w in windows]


def rule_window_counts(
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
    n_rules: int,
    n_baskets: int,
    windows: list[np.ndarray],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per window, per rule: (baskets holding the antecedent, ... and the consequent).

    ``pairs`` lists every (basket, rule, consequent held) where a basket holds a rule's
    antecedent (``RuleMatches.pairs``)."""
    basket, rule, hit = pairs
    out = []
    for mask in _masks(windows, n_baskets):
        inside = mask[basket]
        out.append(
            (
                np.bincount(rule[inside], minlength=n_rules),
                np.bincount(rule[inside & hit], minlength=n_rules),
            )
        )
    return out


def confidence_noise(
    antecedent_total: np.ndarray,
    rule_total: np.ndarray,
    window_counts: list[tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """Largest absolute confidence change, over the windows, between a window and the rest.

    A rule whose antecedent a window or the rest never holds says nothing in that window
    (skipped); a rule no window can measure gets floor 0 (its test is then decided by its
    p-value and the params floor alone)."""
    n1 = np.asarray(antecedent_total, dtype=float)
    x1 = np.asarray(rule_total, dtype=float)
    floor = np.zeros(len(n1))
    for n_w, x_w in window_counts:
        n_rest, x_rest = n1 - n_w, x1 - x_w
        ok = (n_w > 0) & (n_rest > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            change = np.abs(x_w / n_w - x_rest / n_rest)
        floor = np.where(ok, np.maximum(floor, np.nan_to_num(change)), floor)
    return floor


def numeric_noise(
    values: np.ndarray, unit_basket: np.ndarray | None, n_baskets: int, windows: list[np.ndarray]
) -> float:
    """Largest Wasserstein distance (in reference standard deviations), over the windows,
    between a window's values and the rest's.

    In: the feature's values (one per row, with ``unit_basket`` the basket of each row; or
    one per basket, ``unit_basket`` None). The distance between a window and the whole
    reference is exactly (1 - f) times the distance between the window and the rest (f:
    the window's share of values), so no rest is built; and a window's distribution is
    counted on the reference's own sorted distinct values, so no window is sorted."""
    keep = ~np.isnan(values)
    values = values[keep]
    if values.size < 2 or not windows:
        return 0.0
    unit_basket = unit_basket[keep] if unit_basket is not None else None
    grid, position = np.unique(values, return_inverse=True)
    if grid.size < 2:
        return 0.0
    scale = float(np.std(values)) or 1.0
    widths = np.diff(grid)
    cdf_all = np.cumsum(np.bincount(position, minlength=grid.size))[:-1] / values.size
    largest = 0.0
    for mask in _masks(windows, n_baskets):
        inside = mask[unit_basket] if unit_basket is not None else mask[: values.size]
        n = int(inside.sum())
        if n == 0 or n == values.size:
            continue
        cdf = np.cumsum(np.bincount(position[inside], minlength=grid.size))[:-1] / n
        distance = float(np.sum(np.abs(cdf - cdf_all) * widths)) / (1 - n / values.size)
        largest = max(largest, distance / scale)
    return largest


def js_excess(ref: np.ndarray, cur: np.ndarray, min_expected: float = 5) -> float:
    """The categorical tests' effect on two count vectors: the Jensen-Shannon distance
    (base 2) in excess of its sampling noise, categories expected fewer than
    ``min_expected`` times in either window pooled (``drift.categorical_test``)."""
    ref, cur = np.asarray(ref, dtype=float), np.asarray(cur, dtype=float)
    n1, n2 = ref.sum(), cur.sum()
    if n1 == 0 or n2 == 0:
        return 0.0
    rare = (ref + cur) * min(n1, n2) / (n1 + n2) < min_expected
    if rare.any():
        ref = np.append(ref[~rare], ref[rare].sum())
        cur = np.append(cur[~rare], cur[rare].sum())
    if len(ref) < 2:
        return 0.0
    p, q = ref / n1, cur / n2
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum()
    distance = math.sqrt(max((kl_p + kl_q) / 2, 0.0))
    noise = (len(ref) - 1) * (1 / n1 + 1 / n2) / (8 * math.log(2))
    return math.sqrt(max(distance**2 - noise, 0.0))


def categorical_noise(totals: np.ndarray, window_counts: list[np.ndarray]) -> float:
    """Largest categorical effect (``js_excess``), over the windows, between a window's
    counts and the rest's; ``totals`` are the whole reference's counts."""
    totals = np.asarray(totals, dtype=float)
    return max((js_excess(totals - c, c) for c in window_counts), default=0.0)


def category_window_counts(
    codes: np.ndarray, n_categories: int, windows: list[np.ndarray]
) -> list[np.ndarray]:
    """Per window, the count of each category among its baskets (``codes``: per basket)."""
    return [np.bincount(codes[w], minlength=n_categories) for w in windows]


def detectable_change(p: np.ndarray, n1: np.ndarray, n2: np.ndarray, alpha: float) -> np.ndarray:
    """The smallest change of a proportion ``p`` (measured on ``n1`` then ``n2`` units) that
    a test at level ``alpha`` finds half the time: z(alpha/2) standard errors."""
    z = abs(float(_norm_isf(alpha / 2)))
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(p * (1 - p) * (1 / n1 + 1 / np.maximum(n2, 1)))
    return np.where(n2 > 0, z * se, np.inf)


def _norm_isf(q: float) -> float:
    from scipy import stats

    return float(stats.norm.isf(q)) if q > 0 else math.inf
