"""Data-drift tests: numeric features, categorical features, missing-value rates and each
item's share of baskets, reference window against current window. Each returns
``DriftTest`` objects, undecided (``decisions.decide`` sets the verdicts)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

from panier.core.baskets import Baskets
from panier.stages.drift_check.result import DriftTest
from panier.stages.drift_check.statistics import (
    MIN_EXPECTED,
    cohens_h,
    count_test,
    direction_of,
    share_of,
    two_proportion_test,
    wasserstein_sorted,
    whole_number_test,
)
from panier.stages.drift_check.summary import (
    INVOICE_LEVEL,
    INVOICE_MISSING,
    ROW_MISSING,
    WindowSummary,
)

RARE = "(rare)"


def numeric_test(feature: str, ref: np.ndarray, cur: np.ndarray) -> DriftTest:
    """Kolmogorov-Smirnov, and for whole numbers also a chi-square of value counts
    (``whole_number_test``), with the Wasserstein distance in reference standard
    deviations as effect. Both samples come sorted (``WindowSummary``). Missing values are
    left out here; the missing-rate tests count them."""
    ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    if ref.size == 0 or cur.size == 0:
        return DriftTest(
            "numeric",
            feature,
            "kolmogorov_smirnov",
            0.0,
            1.0,
            0.0,
            "wasserstein_std",
            n_reference=ref.size,
            n_current=cur.size,
        )
    result = stats.ks_2samp(ref, cur)
    statistic, p_value, name = float(result.statistic), float(result.pvalue), "kolmogorov_smirnov"
    if np.all(ref == np.round(ref)) and np.all(cur == np.round(cur)):
        # Whole numbers: also the counts of each value; the smaller p-value, doubled
        # (Bonferroni over the two views).
        _, p_counts = whole_number_test(ref, cur)
        p_value, name = min(1.0, 2 * min(p_value, p_counts)), "kolmogorov_smirnov+chi_square"
    scale = float(np.std(ref)) or 1.0
    quantiles = (0.1, 0.5, 0.9)
    ref_q, cur_q = np.quantile(ref, quantiles), np.quantile(cur, quantiles)
    before, after = float(np.mean(ref)), float(np.mean(cur))
    # Standard error of a difference of means in reference standard deviations: the
    # Wasserstein distance moves with the means, so this is the scale of its noise.
    se = math.sqrt(1 / ref.size + 1 / cur.size)
    return DriftTest(
        "numeric",
        feature,
        name,
        statistic,
        p_value,
        wasserstein_sorted(ref, cur) / scale,
        "wasserstein_std",
        before,
        after,
        ref.size,
        cur.size,
        direction_of(before, after),
        se,
        detail={
            "reference_std": scale,
            **{f"reference_p{int(q * 100)}": float(v) for q, v in zip(quantiles, ref_q)},
            **{f"current_p{int(q * 100)}": float(v) for q, v in zip(quantiles, cur_q)},
        },
    )


def categorical_test(feature: str, ref: pd.Series, cur: pd.Series, unit: str) -> DriftTest:
    """Chi-square on the reference/current contingency table, with categories expected
    fewer than ``MIN_EXPECTED`` times in either window pooled into one, and the
    Jensen-Shannon distance (base 2) between the two distributions.

    The effect is the JS distance *in excess of sampling noise*: with many categories two
    samples of one distribution are already some distance apart (about
    sqrt((K-1)(1/N1+1/N2)/(8 ln 2)) for K categories), and that part says nothing. The raw
    distance and the share of current units whose value the reference never saw (new items,
    new countries) are in ``detail``.
    """
    table = pd.concat([ref.rename("ref"), cur.rename("cur")], axis=1).fillna(0)
    table = table.sort_index()
    n1, n2 = float(table["ref"].sum()), float(table["cur"].sum())
    new = table["ref"] == 0
    new_share = share_of(table.loc[new, "cur"].sum(), n2)
    detail = {
        "new_value_share": new_share,
        "new_values": int(new.sum()),
        "unit": unit,
        "categories": len(table),
    }

    def untestable() -> DriftTest:
        # Nothing to compare (an empty side, or one category left after pooling): no drift.
        return DriftTest(
            "categorical",
            feature,
            "chi_square",
            0.0,
            1.0,
            0.0,
            "jensen_shannon_excess",
            n_reference=int(n1),
            n_current=int(n2),
            detail=detail,
        )

    if n1 == 0 or n2 == 0:
        return untestable()
    total = table.sum(axis=1)
    rare = (total * min(n1, n2) / (n1 + n2)) < MIN_EXPECTED
    if rare.any():
        table = pd.concat([table[~rare], table[rare].sum().to_frame(RARE).T])
    detail["categories_tested"] = len(table)
    if len(table) < 2:
        return untestable()
    chi2, p_value, dof, _ = stats.chi2_contingency(table.to_numpy().T, correction=False)
    ref_p, cur_p = table["ref"] / n1, table["cur"] / n2
    distance = float(jensenshannon(ref_p, cur_p, base=2))
    noise = (len(table) - 1) * (1 / n1 + 1 / n2) / (8 * math.log(2))
    excess = math.sqrt(max(distance**2 - noise, 0.0))
    detail.update(
        {"jensen_shannon": distance, "jensen_shannon_noise": math.sqrt(noise), "dof": int(dof)}
    )
    return DriftTest(
        "categorical",
        feature,
        "chi_square",
        float(chi2),
        float(p_value),
        excess,
        "jensen_shannon_excess",
        n_reference=int(n1),
        n_current=int(n2),
        effect_se=math.sqrt(noise),
        detail=detail,
    )


def proportion_test(
    kind: str, feature: str, x1: int, n1: int, x2: int, n2: int, detail: dict | None = None
) -> DriftTest:
    """Two-proportion z-test of x1/n1 against x2/n2, with Cohen's h as effect."""
    z, p_value = two_proportion_test(x1, n1, x2, n2)
    p1, p2 = share_of(x1, n1), share_of(x2, n2)
    se = math.sqrt(1 / n1 + 1 / n2) if n1 and n2 else None
    return DriftTest(
        kind,
        feature,
        "two_proportion_z",
        float(z),
        float(p_value),
        float(cohens_h(p1, p2)),
        "cohens_h",
        p1,
        p2,
        int(n1),
        int(n2),
        direction_of(p1, p2),
        se,
        detail=detail or {},
    )


def missing_rate_tests(ref: WindowSummary, cur: WindowSummary) -> list[DriftTest]:
    """Per column, the share of units (rows, or invoices for invoice attributes) with no
    value, including rows validation rejected."""
    tests = []
    for column in (*ROW_MISSING, *INVOICE_MISSING):
        if column not in ref.missing or column not in cur.missing:
            continue
        (x1, n1), (x2, n2) = ref.missing[column], cur.missing[column]
        if x1 + x2 == 0:
            continue  # never missing in either window: nothing to test
        unit = "invoices" if column in INVOICE_LEVEL else "rows"
        tests.append(
            proportion_test(
                "missing_rate",
                column,
                x1,
                n1,
                x2,
                n2,
                {"unit": unit, "reference_missing": x1, "current_missing": x2},
            )
        )
    return tests


def item_kind(reference_baskets: float, current_baskets: float) -> str:
    """``new_item`` for an item no training basket holds, ``lost_item`` for one no current
    basket holds, else ``item_share``."""
    if reference_baskets == 0:
        return "new_item"
    if current_baskets == 0:
        return "lost_item"
    return "item_share"


def item_share_tests(ref: Baskets, cur: Baskets, fdr: float) -> tuple[list[DriftTest], int]:
    """Per item, the share of baskets holding it (Fisher's exact test, Cohen's h), for every
    item of either window: a new product (in no training basket) is tested on its own
    current count and gets kind ``new_item``; one gone from the current window ``lost_item``.
    Items seen in so few baskets that no split between the windows could be significant are
    left out (``count_test``). Returns the tests and the number of items left untested."""
    counts = (
        pd.concat(
            [
                pd.Series(ref.item_counts(), index=ref.items, name="ref"),
                pd.Series(cur.item_counts(), index=cur.items, name="cur"),
            ],
            axis=1,
        )
        .fillna(0)
        .sort_index()
    )
    x1, x2 = counts["ref"].to_numpy(float), counts["cur"].to_numpy(float)
    return basket_share_tests(
        lambda i: item_kind(x1[i], x2[i]),
        [str(item) for item in counts.index],
        x1,
        ref.n_baskets,
        x2,
        cur.n_baskets,
        fdr,
        lambda i: {"reference_baskets": int(x1[i]), "current_baskets": int(x2[i])},
    )


def basket_share_tests(
    kind: str | Callable[[int], str],
    features: list[str],
    x1: np.ndarray,
    n1: int,
    x2: np.ndarray,
    n2: int,
    fdr: float,
    detail: Callable[[int], dict],
) -> tuple[list[DriftTest], int]:
    """Shares of baskets, ``x1`` of ``n1`` against ``x2`` of ``n2`` for each feature: Fisher's
    exact test with Cohen's h, for the features whose counts could be significant at all
    (``count_test``). ``kind`` is a kind or a function of the feature's index. Returns the
    tests and the number of features left untested."""
    if n1 == 0 or n2 == 0:
        return [], len(features)
    p_values, best = count_test(x1, n1, x2, n2)
    keep = best < fdr
    p1, p2 = x1 / n1, x2 / n2
    h = cohens_h(p1, p2)
    z, _ = two_proportion_test(x1, n1, x2, n2)
    se = math.sqrt(1 / n1 + 1 / n2)
    kind_of = kind if callable(kind) else (lambda i: kind)
    tests = [
        DriftTest(
            kind_of(i),
            features[i],
            "fisher_exact",
            float(z[i]),
            float(p_values[i]),
            float(h[i]),
            "cohens_h",
            float(p1[i]),
            float(p2[i]),
            n1,
            n2,
            direction_of(p1[i], p2[i]),
            se,
            detail=detail(i),
        )
        for i in np.flatnonzero(keep).tolist()
    ]
    return tests, int((~keep).sum())
