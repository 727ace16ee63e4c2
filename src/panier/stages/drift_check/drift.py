"""Drift between the training window (reference) and a current window.

Each window is summarized once (``summarize_lines``, ``summarize_requests``) and every test
reads the summaries. The tests:

- data drift: numeric features (Kolmogorov-Smirnov, Wasserstein distance in reference
  standard deviations), categorical features (chi-square with rare categories pooled,
  Jensen-Shannon distance, share of never-seen values), missing-value rates (two-proportion,
  measured before any row is dropped), and each item's share of baskets (two-proportion);
- concept drift: each rule's confidence and support re-measured on the current baskets
  (two-proportion tests), the share of baskets no rule can answer (current against
  holdout), and the served model's top-k metrics (current against holdout, with bootstrap
  intervals).

``decide`` corrects all p-values of a run together (Benjamini-Hochberg) and counts a test as
drift only when its adjusted p-value is below the false discovery rate *and* its effect
passes a floor, so that a huge sample does not flag a trivial shift.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse, stats
from scipy.spatial.distance import jensenshannon
from scipy.special import gammaln

from panier.core import schema as S
from panier.core.baskets import Baskets, baskets_from_lines
from panier.core.config import DriftParams, EvaluateParams
from panier.core.evaluation import leave_one_out, rank_hidden
from panier.core.recommend import FallbackRecommender, PopularityRecommender, RuleRecommender
from panier.stages.drift_check import noise
from panier.stages.drift_check.noise import detectable_change

NUMERIC_FEATURES = ("unit_price", "quantity", "basket_size", "basket_value")
CATEGORICAL_FEATURES = (S.COUNTRY, S.ITEM)
# Missing rates: of rows for line attributes, of invoices for invoice attributes (the lines of
# one invoice share its customer and country, so counting lines would treat copies as
# independent evidence).
ROW_MISSING = (S.INVOICE, S.ITEM, S.QUANTITY, S.PRICE, S.DESCRIPTION)
INVOICE_MISSING = (S.CUSTOMER, S.COUNTRY)
INVOICE_LEVEL = (S.CUSTOMER, S.COUNTRY)

DATA_KINDS = ("numeric", "categorical", "missing_rate", "item_share", "new_item", "lost_item")
CONCEPT_KINDS = ("rule_confidence", "rule_support", "no_recommendation_share", "top_k_metric")
# What the model reads: baskets of item codes. Drift here can make the model stale.
MODEL_INPUTS = {("numeric", "basket_size"), ("categorical", S.ITEM)}

BLIND_CHANGE = 0.2  # a rule test that cannot see a confidence change this large is reported
MISSING = "(missing)"
RARE = "(rare)"
MIN_EXPECTED = 5  # categories expected fewer times in either window are pooled (chi-square)
TOP_K_METRICS = ("hit_rate", "ndcg", "mrr")


# ---------------------------------------------------------------------------------------------
# Window summaries


@dataclass(frozen=True)
class WindowSummary:
    """What every drift test needs to know about one window.

    ``source`` is ``lines`` (line items with prices, customers, ...) or ``requests`` (request
    logs: baskets only). Numeric features are sorted once here, since every test and plot
    of them works on sorted values. ``missing`` maps a column to (units with no value,
    units), counting rejected rows too, so that a column that goes half-empty cannot hide
    behind validation.
    """

    source: str
    n_rows: int
    baskets: Baskets
    numeric: dict[str, np.ndarray]
    categories: dict[str, pd.Series]
    missing: dict[str, tuple[int, int]]
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    # In basket order: when each basket was bought (None for sources without times), its
    # country code (index into ``country_names``), and per row its basket (row features).
    basket_time: np.ndarray | None = None
    basket_country: np.ndarray | None = None
    country_names: tuple = ()
    row_basket: np.ndarray | None = None
    rows: dict[str, np.ndarray] = field(default_factory=dict)  # row features, unsorted
    descriptions: dict[str, str] = field(default_factory=dict)  # item code -> description


def _blank(values: pd.Series) -> np.ndarray:
    """Missing or whitespace-only, as validation reads them."""
    missing = values.isna().to_numpy(dtype=bool).copy()
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        text = values.astype("str").str.strip()
        missing |= (text == "").fillna(True).to_numpy(dtype=bool)
    return missing


def _descriptions(lines: pd.DataFrame) -> dict[str, str]:
    """Each item's most frequent non-missing description (ties: the first in sort order),
    to name products in words; the training window's names are in ``models/items.parquet``,
    this also names products that appear only in the current window."""
    named = lines.loc[lines[S.DESCRIPTION].notna(), [S.ITEM, S.DESCRIPTION]]
    if named.empty:
        return {}
    counts = named.groupby([S.ITEM, S.DESCRIPTION], observed=True).size().reset_index(name="n")
    counts = counts.sort_values(["n", S.DESCRIPTION], ascending=[False, True], kind="stable")
    best = counts.drop_duplicates(S.ITEM)
    return dict(zip(best[S.ITEM].astype(str), best[S.DESCRIPTION].astype(str)))


def summarize_lines(lines: pd.DataFrame, rejected: pd.DataFrame | None = None) -> WindowSummary:
    """Summarize a window of validated line items; ``rejected`` holds the window's rows that
    validation rejected (original values as text), counted in the missing-value rates."""
    codes, _ = pd.factorize(lines[S.INVOICE], sort=True)
    n_invoices = int(codes.max()) + 1 if len(lines) else 0
    value = lines[S.QUANTITY].to_numpy(float) * lines[S.PRICE].to_numpy(float)
    baskets = baskets_from_lines(lines)
    invoices = lines.drop_duplicates(S.INVOICE)
    rejected = rejected if rejected is not None else pd.DataFrame(columns=S.COLUMNS)
    n_all = len(lines) + len(rejected)
    missing = {}
    for column in ROW_MISSING:
        in_rejected = int(_blank(rejected[column]).sum()) if column in rejected else 0
        missing[column] = (int(lines[column].isna().sum()) + in_rejected, n_all)
    for column in INVOICE_MISSING:
        missing[column] = (int(invoices[column].isna().sum()), len(invoices))
    country = invoices[S.COUNTRY].astype(object).where(invoices[S.COUNTRY].notna(), MISSING)
    # Baskets are in sorted invoice order (``baskets_from_lines``), as are these groupings.
    by_invoice = lines.groupby(codes, sort=True)
    basket_time = by_invoice[S.TIMESTAMP].min().to_numpy() if len(lines) else None
    basket_country_name = by_invoice[S.COUNTRY].first().astype(object)
    basket_country_name = basket_country_name.where(basket_country_name.notna(), MISSING)
    country_codes, country_names = pd.factorize(basket_country_name, sort=True)
    return WindowSummary(
        source="lines",
        n_rows=len(lines),
        baskets=baskets,
        numeric={
            "unit_price": np.sort(lines[S.PRICE].to_numpy(float)),
            "quantity": np.sort(lines[S.QUANTITY].to_numpy(float)),
            "basket_size": np.sort(baskets.sizes().astype(float)),
            "basket_value": np.sort(np.bincount(codes, weights=value, minlength=n_invoices)),
        },
        categories={S.COUNTRY: country.value_counts().sort_index()},
        missing=missing,
        first=lines[S.TIMESTAMP].min() if len(lines) else None,
        last=lines[S.TIMESTAMP].max() if len(lines) else None,
        basket_time=basket_time,
        basket_country=country_codes.astype(np.int64),
        country_names=tuple(str(c) for c in country_names),
        row_basket=codes.astype(np.int64),
        rows={
            "unit_price": lines[S.PRICE].to_numpy(float),
            "quantity": lines[S.QUANTITY].to_numpy(float),
        },
        descriptions=_descriptions(lines),
    )


def summarize_requests(
    baskets: Baskets, first: pd.Timestamp | None = None, last: pd.Timestamp | None = None
) -> WindowSummary:
    """Summarize request-log baskets: only basket-level features exist."""
    return WindowSummary(
        source="requests",
        n_rows=int(baskets.matrix.nnz),
        baskets=baskets,
        numeric={"basket_size": np.sort(baskets.sizes().astype(float))},
        categories={},
        missing={},
        first=first,
        last=last,
    )


# ---------------------------------------------------------------------------------------------
# Test results


@dataclass
class DriftTest:
    """One test: what was compared, the evidence, and (after ``decide``) the verdict."""

    kind: str
    feature: str
    test: str
    statistic: float
    p_value: float
    effect: float
    effect_name: str
    reference: float | None = None
    current: float | None = None
    n_reference: int = 0
    n_current: int = 0
    direction: str = ""  # "up" or "down": how the current value moved
    effect_se: float | None = None  # standard error of the effect, where one is known
    floor: float = float("nan")
    p_adjusted: float = float("nan")
    drifted: bool = False
    detail: dict = field(default_factory=dict)
    noise_floor: float = 0.0  # largest effect the training window shows on its own
    group: str = ""
    label: str = ""  # what moved, in words, products by description with the code beside
    subject: str = ""  # what was tested, in words (the product or rule, else the feature)

    @property
    def name(self) -> str:
        return f"{self.kind}: {self.feature}"


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


def _share(x, n) -> float:
    return float(x) / n if n else 0.0


def _direction(before: float | None, after: float | None) -> str:
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


def _whole_number_test(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
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


def numeric_test(feature: str, ref: np.ndarray, cur: np.ndarray) -> DriftTest:
    """Kolmogorov-Smirnov, and for whole numbers also a chi-square of value counts
    (``_whole_number_test``), with the Wasserstein distance in reference standard
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
        _, p_counts = _whole_number_test(ref, cur)
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
        _direction(before, after),
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
    new_share = _share(table.loc[new, "cur"].sum(), n2)
    detail = {
        "new_value_share": new_share,
        "new_values": int(new.sum()),
        "unit": unit,
        "categories": len(table),
    }
    if n1 == 0 or n2 == 0:
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
    total = table.sum(axis=1)
    rare = (total * min(n1, n2) / (n1 + n2)) < MIN_EXPECTED
    if rare.any():
        table = pd.concat([table[~rare], table[rare].sum().to_frame(RARE).T])
    detail["categories_tested"] = len(table)
    if len(table) < 2:
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
    p1, p2 = _share(x1, n1), _share(x2, n2)
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
        _direction(p1, p2),
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
            _direction(p1[i], p2[i]),
            se,
            detail=detail(i),
        )
        for i in np.flatnonzero(keep)
    ]
    return tests, int((~keep).sum())


# ---------------------------------------------------------------------------------------------
# Rules, vectorised


@dataclass(frozen=True)
class RuleMatches:
    """How the rules meet a set of baskets."""

    antecedent_baskets: np.ndarray  # per rule: baskets holding the whole antecedent
    rule_baskets: np.ndarray  # per rule: ... and the consequent
    answered: np.ndarray  # per basket: some rule applies (antecedent held, consequent not)
    # Every (basket, rule, consequent held) where the basket holds the rule's antecedent.
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def match_rules(rules: pd.DataFrame, baskets: Baskets) -> RuleMatches:
    """Count every rule on ``baskets`` at once with sparse products (no loop over baskets):
    a basket holds an antecedent when it holds as many of its items as the antecedent has."""
    n_rules, n_baskets = len(rules), baskets.n_baskets
    column = {str(item): i for i, item in enumerate(baskets.items)}
    rows, cols = [], []
    known = np.ones(n_rules, dtype=bool)
    sizes = np.zeros(n_rules, dtype=np.int64)
    for r, antecedent in enumerate(rules["antecedent"]):
        sizes[r] = len(antecedent)
        for item in antecedent:
            c = column.get(str(item))
            if c is None:
                known[r] = False
            else:
                rows.append(r)
                cols.append(c)
    empty = RuleMatches(
        np.zeros(n_rules, np.int64), np.zeros(n_rules, np.int64), np.zeros(n_baskets, dtype=bool)
    )
    if n_rules == 0 or n_baskets == 0 or not rows:
        return empty
    antecedents = sparse.csr_matrix(
        (np.ones(len(rows), np.int32), (rows, cols)), shape=(n_rules, len(baskets.items))
    )
    held = (baskets.matrix.astype(np.int32) @ antecedents.T).tocsr()  # baskets x rules
    held.sort_indices()
    basket = np.repeat(np.arange(n_baskets), np.diff(held.indptr))
    rule = held.indices
    full = (held.data == sizes[rule]) & known[rule]
    basket, rule = basket[full], rule[full]
    consequent = np.array([column.get(str(c), -1) for c in rules["consequent"]], dtype=np.int64)
    # Each (basket, item) pair of the basket matrix as one sorted key, to look pairs up.
    n_items = len(baskets.items)
    matrix = baskets.matrix
    keys = np.repeat(np.arange(n_baskets, dtype=np.int64), np.diff(matrix.indptr)) * n_items
    keys += matrix.indices
    wanted = basket.astype(np.int64) * n_items + consequent[rule]
    found = np.searchsorted(keys, wanted)
    found = np.minimum(found, max(len(keys) - 1, 0))
    has_consequent = (
        (consequent[rule] >= 0) & (keys[found] == wanted)
        if len(keys)
        else np.zeros(len(rule), dtype=bool)
    )
    answered = np.zeros(n_baskets, dtype=bool)
    answered[basket[~has_consequent]] = True
    return RuleMatches(
        np.bincount(rule, minlength=n_rules),
        np.bincount(rule[has_consequent], minlength=n_rules),
        answered,
        (basket, rule, has_consequent),
    )


def rule_label(antecedent, consequent) -> str:
    return f"{{{', '.join(sorted(str(a) for a in antecedent))}}} -> {consequent}"


def rule_tests(
    rules: pd.DataFrame, matches: RuleMatches, n_baskets: int, fdr: float
) -> tuple[list[DriftTest], int]:
    """Each rule's confidence as trained against its confidence re-measured on the current
    baskets (Fisher's exact test; effect: the absolute change of confidence), for every rule
    whose counts could be significant at all (``count_test``: the filter reads only the
    margins, so it is independent of the outcome). Each test's detail says the smallest
    change it could find half the time alone (``detectable_change``). Returns the tests and
    the number of rules left untested."""
    n2 = matches.antecedent_baskets
    x2 = matches.rule_baskets
    x1 = rules["count"].to_numpy(float)
    n1 = rules["antecedent_count"].to_numpy(float)
    p_values, best = count_test(x1, n1, x2, n2)
    keep = (best < fdr) & (n2 > 0)
    z, _ = two_proportion_test(x1, n1, x2, n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = x1 / n1, np.where(n2 > 0, x2 / np.maximum(n2, 1), 0.0)
    # Agresti-Caffo: one success and one failure added to each side, so that a confidence
    # of 0 or 1 measured on a few baskets does not get a standard error of zero.
    a1, a2 = (x1 + 1) / (n1 + 2), (x2 + 1) / (n2 + 2)
    se = np.sqrt(a1 * (1 - a1) / (n1 + 2) + a2 * (1 - a2) / (n2 + 2))
    detectable = detectable_change(p1, n1, n2, fdr)
    antecedents, consequents = list(rules["antecedent"]), list(rules["consequent"])
    support, lift = rules["support"].to_numpy(float), rules["lift"].to_numpy(float)
    tests = []
    for r in np.flatnonzero(keep):
        antecedent, consequent = antecedents[r], consequents[r]
        tests.append(
            DriftTest(
                "rule_confidence",
                rule_label(antecedent, consequent),
                "fisher_exact",
                float(z[r]),
                float(p_values[r]),
                float(abs(p2[r] - p1[r])),
                "confidence_change",
                float(p1[r]),
                float(p2[r]),
                int(n1[r]),
                int(n2[r]),
                _direction(p1[r], p2[r]),
                float(se[r]),
                detail={
                    "antecedent": [str(a) for a in antecedent],
                    "consequent": str(consequent),
                    "reference_support": float(support[r]),
                    "current_support": _share(x2[r], n_baskets),
                    "reference_rule_baskets": int(x1[r]),
                    "current_rule_baskets": int(x2[r]),
                    "lift": float(lift[r]),
                    "detectable_change": round(float(detectable[r]), 4),
                },
            )
        )
    return tests, int((~keep).sum())


def rule_support_tests(
    rules: pd.DataFrame, matches: RuleMatches, n_reference: int, n_current: int, fdr: float
) -> tuple[list[DriftTest], int]:
    """Each rule's support (the share of baskets holding its antecedent and consequent) as
    trained against the same share of the current baskets (two-proportion, Cohen's h): how
    often the rule applies and is right, which moves when its items gain or lose popularity
    even if its confidence holds. Tested, like item shares, when its counts could be
    significant at all. Returns the tests and the number of rules left untested."""
    x1 = rules["count"].to_numpy(float)
    x2 = matches.rule_baskets.astype(float)
    antecedents, consequents = list(rules["antecedent"]), list(rules["consequent"])
    return basket_share_tests(
        "rule_support",
        [rule_label(a, c) for a, c in zip(antecedents, consequents)],
        x1,
        n_reference,
        x2,
        n_current,
        fdr,
        lambda r: {
            "antecedent": [str(a) for a in antecedents[r]],
            "consequent": str(consequents[r]),
            "reference_rule_baskets": int(x1[r]),
            "current_rule_baskets": int(x2[r]),
        },
    )


def co_bought(baskets: Baskets, tests: list[DriftTest], top: int = 3) -> None:
    """For each new-item test, the items most often in the same current baskets: the rules
    the new product would enter (``detail["co_bought"]``: item, share of the new item's
    baskets that hold it)."""
    column = {str(item): i for i, item in enumerate(baskets.items)}
    matrix = baskets.matrix.tocsc()
    for test in tests:
        c = column.get(test.feature)
        if c is None:
            continue
        holders = matrix.indices[matrix.indptr[c] : matrix.indptr[c + 1]]
        counts = np.bincount(baskets.matrix[holders].indices, minlength=len(baskets.items))
        counts[c] = 0
        order = np.lexsort((np.arange(len(counts)), -counts))[:top]
        test.detail["co_bought"] = [
            [str(baskets.items[i]), round(counts[i] / len(holders), 4)]
            for i in order
            if counts[i] > 0
        ]


# ---------------------------------------------------------------------------------------------
# The served model: answers and top-k metrics


def serving_model(rules: pd.DataFrame, items: pd.DataFrame) -> FallbackRecommender:
    """What the serving application answers: rules first, then the most popular items."""
    return FallbackRecommender(
        RuleRecommender(rules), PopularityRecommender(items.set_index("item_code")["baskets"])
    )


def hidden_ranks(model: FallbackRecommender, baskets: Baskets, seed: int, k: int) -> np.ndarray:
    """Leave-one-out, as the evaluate stage does: per basket of two or more items, the rank
    (1..k, 0 = missed) of one hidden item among the model's top ``k`` for the rest."""
    ranks, _ = rank_hidden(model, leave_one_out(baskets.as_lists(), seed), k)
    return ranks


def _metric_weights(ks: list[int]) -> tuple[list[str], np.ndarray]:
    """Each top-k metric as a weight per rank 0..max(ks): a metric is then the mean weight
    of the cases' ranks, and a bootstrap resample is a draw of rank counts."""
    top = max(ks)
    rank = np.arange(top + 1)
    safe = np.maximum(rank, 1)
    names, rows = [], []
    for k in sorted(ks):
        hit = (rank >= 1) & (rank <= k)
        for metric, weights in (
            ("hit_rate", hit * 1.0),
            ("ndcg", hit / np.log2(safe + 1.0)),
            ("mrr", hit / safe),
        ):
            names.append(f"{metric}@{k}")
            rows.append(weights)
    return names, np.array(rows).T  # (ranks x metrics)


def top_k_comparison(
    holdout_ranks: np.ndarray,
    current_ranks: np.ndarray,
    ks: list[int],
    samples: int,
    seed: int,
    level: float,
) -> dict[str, dict]:
    """Top-k metrics on the holdout and the current window, their difference, and a
    percentile bootstrap interval of each and of the difference.

    Every metric is a mean over cases of a function of the hidden item's rank, so resampling
    cases with replacement is the same as drawing the count of each rank from a multinomial:
    exact, and cheap at any number of cases.
    """
    names, weights = _metric_weights(ks)
    top = max(ks)
    rng = np.random.default_rng(seed)
    alpha = (1 - level) / 2
    out = {}
    draws, points = {}, {}
    for window, ranks in (("holdout", holdout_ranks), ("current", current_ranks)):
        n = max(len(ranks), 1)
        counts = np.bincount(np.minimum(ranks, top), minlength=top + 1).astype(float)
        points[window] = counts @ weights / n
        if len(ranks):
            draws[window] = (
                rng.multinomial(len(ranks), counts / len(ranks), size=samples) @ weights / n
            )
        else:
            draws[window] = np.zeros((samples, len(names)))
    difference = draws["current"] - draws["holdout"]
    for j, name in enumerate(names):
        entry = {}
        for window in ("holdout", "current"):
            low, high = np.quantile(draws[window][:, j], [alpha, 1 - alpha])
            entry[window] = float(points[window][j])
            entry[f"{window}_ci"] = [float(low), float(high)]
        low, high = np.quantile(difference[:, j], [alpha, 1 - alpha])
        entry["difference"] = entry["current"] - entry["holdout"]
        entry["difference_ci"] = [float(low), float(high)]
        out[name] = entry
    return out


@dataclass(frozen=True)
class Reference:
    """The fixed side of every comparison: the training window's summary, the model, and the
    holdout window's baskets with the served model's results on them."""

    train: WindowSummary
    rules: pd.DataFrame
    items: pd.DataFrame
    holdout: Baskets
    holdout_ranks: np.ndarray
    holdout_answered: np.ndarray
    model: FallbackRecommender
    matches: RuleMatches | None = None  # the rules on the training baskets
    floors: dict = field(default_factory=dict)  # noise floors by current size, computed once


def prepare_reference(
    train: WindowSummary,
    holdout: Baskets,
    rules: pd.DataFrame,
    items: pd.DataFrame,
    evaluate_params: EvaluateParams,
) -> Reference:
    """Compute once what every drift check against this model needs."""
    model = serving_model(rules, items)
    ranks = hidden_ranks(model, holdout, evaluate_params.seed, max(evaluate_params.ks))
    return Reference(
        train,
        rules,
        items,
        holdout,
        ranks,
        match_rules(rules, holdout).answered,
        model,
        match_rules(rules, train.baskets),
    )


def noise_floors(reference: Reference, n_current: int, count: int) -> dict[tuple, float]:
    """Each test's noise floor, ``(kind, feature) -> effect``: the largest effect the
    training window shows between ``count`` pseudo-current windows of ``n_current`` baskets
    and the rest of it (``noise``). Kept on ``reference`` per size, since a
    benchmark checks many current windows against one reference."""
    key = (n_current, count)
    if key in reference.floors:
        return reference.floors[key]
    ref = reference.train
    n = ref.baskets.n_baskets
    windows = noise.pseudo_windows(ref.basket_time, n, n_current, count)
    floors: dict[tuple, float] = {}
    if not windows:
        reference.floors[key] = floors
        return floors
    size = len(windows[0])
    item_counts = noise.item_window_counts(ref.baskets.matrix, windows)
    totals = ref.baskets.item_counts()
    for item, f in zip(ref.baskets.items, noise.share_noise(totals, n, item_counts, size)):
        for kind in ("item_share", "lost_item"):
            floors[(kind, str(item))] = float(f)
    floors[("categorical", S.ITEM)] = noise.categorical_noise(totals, item_counts)
    if ref.basket_country is not None and len(ref.country_names):
        k = len(ref.country_names)
        floors[("categorical", S.COUNTRY)] = noise.categorical_noise(
            np.bincount(ref.basket_country, minlength=k),
            noise.category_window_counts(ref.basket_country, k, windows),
        )
    basket_level = {"basket_size": ref.baskets.sizes().astype(float)}
    if ref.basket_time is not None and "basket_value" in ref.numeric:
        value = np.bincount(
            ref.row_basket, weights=ref.rows["unit_price"] * ref.rows["quantity"], minlength=n
        )
        basket_level["basket_value"] = value
    for feature, values in basket_level.items():
        floors[("numeric", feature)] = noise.numeric_noise(values, None, n, windows)
    for feature, values in ref.rows.items():
        floors[("numeric", feature)] = noise.numeric_noise(values, ref.row_basket, n, windows)
    rules = reference.rules
    if len(rules) and reference.matches is not None and reference.matches.pairs is not None:
        labels = [rule_label(a, c) for a, c in zip(rules["antecedent"], rules["consequent"])]
        counts = noise.rule_window_counts(reference.matches.pairs, len(rules), n, windows)
        confidence = noise.confidence_noise(
            reference.matches.antecedent_baskets, reference.matches.rule_baskets, counts
        )
        support = noise.share_noise(
            reference.matches.rule_baskets, n, [hits for _, hits in counts], size
        )
        for label, c, s_ in zip(labels, confidence, support):
            floors[("rule_confidence", label)] = float(c)
            floors[("rule_support", label)] = float(s_)
    reference.floors[key] = floors
    return floors


# ---------------------------------------------------------------------------------------------
# Decisions


def effect_floor(test: DriftTest, params: DriftParams) -> float:
    return {
        "numeric": params.min_effect_numeric,
        "categorical": params.min_effect_categorical,
        "rule_confidence": params.min_effect_confidence,
    }.get(test.kind, params.min_effect_share)


def decide(tests: list[DriftTest], params: DriftParams) -> list[DriftTest]:
    """Correct all p-values together (Benjamini-Hochberg) and set each test's verdict:
    drifted when the adjusted p-value is below ``params.fdr`` and the effect reaches its
    floor. Returns the tests, updated in place."""
    if not tests:
        return tests
    p_values = np.clip(np.array([t.p_value for t in tests], dtype=float), 0.0, 1.0)
    adjusted = stats.false_discovery_control(p_values, method="bh")
    for test, p_adj in zip(tests, adjusted):
        test.floor = max(effect_floor(test, params), test.noise_floor)
        test.p_adjusted = float(p_adj)
        test.drifted = bool(p_adj < params.fdr and test.effect >= test.floor)
    return tests


# A drifted basket value is explained by a drifted component moving the same way.
_COMPONENTS = {"basket_value": ("unit_price", "quantity", "basket_size")}


def _moved_outside(general: DriftTest, specific: DriftTest, fdr: float) -> bool:
    """Whether the general rule ``A -> c`` changed in the baskets that hold ``A`` but not the
    whole antecedent of the specific rule ``A + B -> c`` (those baskets' counts are the
    general rule's less the specific one's, in both windows): if not, the general rule only
    moved because the specific one did."""
    g, s = general, specific
    x1 = g.detail["reference_rule_baskets"] - s.detail["reference_rule_baskets"]
    x2 = g.detail["current_rule_baskets"] - s.detail["current_rule_baskets"]
    n1, n2 = g.n_reference - s.n_reference, g.n_current - s.n_current
    if min(x1, x2, n1, n2) < 0 or n1 == 0 or n2 == 0:
        return True
    p_value, _ = count_test(x1, n1, x2, n2)
    return bool(p_value < fdr)


def explain(drifted: list[DriftTest], fdr: float = 0.025) -> None:
    """Mark drifted tests whose change follows from another drifted test, so that the cause
    is named first: of a rule ``A + B -> c`` and the more general ``A -> c`` moving the same
    way, the general one is the cause when it also moved in the baskets without ``B``, else
    the specific one is (``_moved_outside``); a rule's support that moved with its
    confidence or with the popularity of one of its items; and the basket value when a
    price, quantity or basket size moved the same way. Sets ``detail["explained_by"]``."""
    numeric = {t.feature: t for t in drifted if t.kind == "numeric"}
    for feature, parts in _COMPONENTS.items():
        test = numeric.get(feature)
        causes = [
            numeric[p]
            for p in parts
            if p in numeric and numeric[p].direction == (test.direction if test else None)
        ]
        if test and causes:
            test.detail["explained_by"] = [c.name for c in causes]
    rules = [t for t in drifted if t.kind == "rule_confidence"]
    causes: dict[str, list[str]] = {}
    for test in rules:
        antecedent = set(test.detail["antecedent"])
        for g in rules:
            if (
                g is test
                or g.detail["consequent"] != test.detail["consequent"]
                or g.direction != test.direction
                or not set(g.detail["antecedent"]) < antecedent
            ):
                continue
            if _moved_outside(g, test, fdr):
                causes.setdefault(test.name, []).append(g.name)
            else:
                causes.setdefault(g.name, []).append(test.name)
    for test in rules:
        if test.name in causes:
            test.detail["explained_by"] = sorted(set(causes[test.name]))
    confidence = {(t.feature, t.direction): t.name for t in rules}
    items = {(t.feature, t.direction): t.name for t in drifted if t.kind == "item_share"}
    for test in (t for t in drifted if t.kind == "rule_support"):
        same_rule = confidence.get((test.feature, test.direction))
        members = [*test.detail["antecedent"], test.detail["consequent"]]
        causes = [same_rule] if same_rule else []
        causes += sorted(
            items[(m, test.direction)] for m in members if (m, test.direction) in items
        )
        if causes:
            test.detail["explained_by"] = causes


def rank_key(test: DriftTest) -> tuple:
    """Order of drifted tests, most important first. Findings explained by another come
    last; the rest by the effect they surely have (the effect less two standard errors) in
    units of its floor, so that a large but noisy estimate from a few baskets does not
    outrank a sure one."""
    effect = test.effect
    if test.effect_se is not None and math.isfinite(test.effect_se):
        effect = max(effect - 2 * test.effect_se, 0.0)
    score = effect / test.floor if test.floor > 0 else effect
    return ("explained_by" in test.detail, -score, test.p_adjusted, test.kind, test.feature)


# ---------------------------------------------------------------------------------------------
# The whole check


def _skipped(current: WindowSummary) -> list[dict]:
    if current.source != "requests":
        return []
    why = {
        "unit_price": "request logs carry no prices",
        "quantity": "request logs carry no quantities",
        "basket_value": "request logs carry no prices or quantities",
        S.COUNTRY: "request logs carry no countries",
    }
    skipped = [
        {"test": f"numeric: {f}", "reason": why[f]}
        for f in NUMERIC_FEATURES
        if f not in current.numeric
    ]
    skipped.append({"test": f"categorical: {S.COUNTRY}", "reason": why[S.COUNTRY]})
    skipped.append(
        {
            "test": "missing_rate: every column",
            "reason": "request logs hold only complete baskets; there is no column "
            "that can be missing",
        }
    )
    return skipped


def run_tests(
    reference: Reference,
    current: WindowSummary,
    params: DriftParams,
    evaluate_params: EvaluateParams,
) -> tuple[list[DriftTest], dict]:
    """Run every test that applies to ``current``; returns the tests (undecided) and the
    context the report needs (skipped tests, top-k comparison, counts)."""
    ref = reference.train
    tests = [
        numeric_test(f, ref.numeric[f], current.numeric[f])
        for f in NUMERIC_FEATURES
        if f in current.numeric
    ]
    tests += [
        categorical_test(f, ref.categories[f], current.categories[f], "invoices")
        for f in CATEGORICAL_FEATURES
        if f in current.categories
    ]
    tests.append(
        categorical_test(
            S.ITEM,
            pd.Series(ref.baskets.item_counts(), index=ref.baskets.items),
            pd.Series(current.baskets.item_counts(), index=current.baskets.items),
            "basket items",
        )
    )
    tests += missing_rate_tests(ref, current)
    item_tests, items_untested = item_share_tests(ref.baskets, current.baskets, params.fdr)
    tests += item_tests

    matches = match_rules(reference.rules, current.baskets)
    found, rules_untested = rule_tests(
        reference.rules, matches, current.baskets.n_baskets, params.fdr
    )
    tests += found
    supports, supports_untested = rule_support_tests(
        reference.rules, matches, ref.baskets.n_baskets, current.baskets.n_baskets, params.fdr
    )
    tests += supports
    floors = noise_floors(reference, current.baskets.n_baskets, params.noise_windows)
    for test in tests:
        test.noise_floor = floors.get((test.kind, test.feature), 0.0)
    if any(t.kind == "new_item" for t in tests):
        co_bought(current.baskets, [t for t in tests if t.kind == "new_item"])
    holdout_unanswered = int((~reference.holdout_answered).sum())
    tests.append(
        proportion_test(
            "no_recommendation_share",
            "baskets no rule answers",
            holdout_unanswered,
            reference.holdout.n_baskets,
            int((~matches.answered).sum()),
            current.baskets.n_baskets,
            {"baseline": "holdout"},
        )
    )

    k = evaluate_params.primary_k
    current_ranks = hidden_ranks(
        reference.model, current.baskets, evaluate_params.seed, max(evaluate_params.ks)
    )
    holdout_ranks = reference.holdout_ranks
    hits_h = int(((holdout_ranks >= 1) & (holdout_ranks <= k)).sum())
    hits_c = int(((current_ranks >= 1) & (current_ranks <= k)).sum())
    tests.append(
        proportion_test(
            "top_k_metric",
            f"hit_rate@{k}",
            hits_h,
            len(holdout_ranks),
            hits_c,
            len(current_ranks),
            {"baseline": "holdout"},
        )
    )
    top_k = top_k_comparison(
        holdout_ranks,
        current_ranks,
        evaluate_params.ks,
        params.bootstrap_samples,
        params.bootstrap_seed,
        params.confidence_level,
    )
    skipped = _skipped(current)
    never = (
        f"in so few baskets of the two windows together that no split between them "
        f"could reach significance (smallest possible p-value above drift.fdr "
        f"{params.fdr:g})"
    )
    if items_untested:
        skipped.append({"test": f"item_share: {items_untested} items", "reason": never})
    if rules_untested:
        skipped.append(
            {
                "test": f"rule_confidence: {rules_untested} rules",
                "reason": never.replace("in so few baskets", "antecedent in so few baskets"),
            }
        )
    if supports_untested:
        skipped.append({"test": f"rule_support: {supports_untested} rules", "reason": never})
    blind = [t for t in found if t.detail["detectable_change"] > BLIND_CHANGE]
    if blind:
        worst = sorted(blind, key=lambda t: (-t.detail["detectable_change"], t.feature))[0]
        skipped.append(
            {
                "test": f"rule_confidence: {len(blind)} of {len(found)} tested rules",
                "reason": f"tested, but the current window holds their antecedent so rarely that "
                f"only a confidence change above {BLIND_CHANGE:g} could be found (e.g. "
                f"{worst.feature}: {worst.n_current} current baskets, changes below "
                f"{worst.detail['detectable_change']:.2f} unseen); a longer current "
                f"window sees more",
            }
        )
    if not floors:
        skipped.append(
            {
                "test": "noise floors",
                "reason": "the training window is too small "
                "to cut into pseudo-current windows; only the params floors apply",
            }
        )
    context = {
        "skipped": skipped,
        "top_k": top_k,
        "primary_k": k,
        "cases": {"holdout": len(holdout_ranks), "current": len(current_ranks)},
        "items_untested": items_untested,
        "rules_untested": rules_untested,
    }
    return tests, context


GROUPS = ("catalogue", "price", "basket_shape", "rules", "model_quality", "data_quality")
_GROUP_OF_KIND = {
    "item_share": "catalogue",
    "new_item": "catalogue",
    "lost_item": "catalogue",
    "rule_confidence": "rules",
    "rule_support": "rules",
    "top_k_metric": "model_quality",
    "no_recommendation_share": "model_quality",
    "missing_rate": "data_quality",
}
_GROUP_OF_FEATURE = {
    "unit_price": "price",
    "basket_value": "price",
    "basket_size": "basket_shape",
    "quantity": "basket_shape",
    S.ITEM: "catalogue",
    S.COUNTRY: "data_quality",
}


def group_of(test: DriftTest) -> str:
    """Which of ``GROUPS`` a test belongs to: catalogue (items, new and discontinued
    products, the item mix), price (unit price, basket value), basket_shape (basket size,
    quantity), rules, model_quality (top-k metrics, baskets no rule answers), data_quality
    (missing values, countries)."""
    return _GROUP_OF_KIND.get(test.kind) or _GROUP_OF_FEATURE.get(test.feature, "data_quality")


def product_name(code: str, names: dict[str, str]) -> str:
    """``DESCRIPTION (code)``, or the code alone when no description is known."""
    description = str(names.get(str(code), "") or "").strip()
    return f"{description} ({code})" if description and description != "nan" else str(code)


def rule_name(antecedent, consequent, names: dict[str, str]) -> str:
    """A rule with its products named: ``A (code), B (code) -> C (code)``."""
    return (
        ", ".join(product_name(a, names) for a in sorted(str(a) for a in antecedent))
        + " -> "
        + product_name(consequent, names)
    )


def _plain(test: DriftTest, names: dict[str, str] | None = None) -> str:
    """One line a person reads: what moved, from what to what, products by description with
    the code beside."""
    names = names or {}
    if test.kind != "categorical" and (test.reference is None or test.current is None):
        # e.g. unit_price of a basket list, which has no prices: nothing to compare
        return f"{subject(test, names)}: not measured in both windows"
    if test.kind in ("rule_confidence", "rule_support"):
        rule = rule_name(test.detail["antecedent"], test.detail["consequent"], names)
    if test.kind == "rule_confidence":
        verb = "weakened" if test.direction == "down" else "strengthened"
        return (
            f"rule {rule} {verb}: confidence {test.reference:.2f} -> "
            f"{test.current:.2f} ({test.n_current} current baskets hold the antecedent)"
        )
    if test.kind == "rule_support":
        verb = "applies more often" if test.direction == "up" else "applies less often"
        return f"rule {rule} {verb}: in {test.reference:.1%} of baskets, now {test.current:.1%}"
    if test.kind == "new_item":
        with_ = "; ".join(
            f"{product_name(c, names)} in {share:.0%}"
            for c, share in test.detail.get("co_bought", [])
        )
        return (
            f"new product {product_name(test.feature, names)}: in {test.current:.1%} of "
            "current baskets, none in training" + (f"; bought with {with_}" if with_ else "")
        )
    if test.kind == "lost_item":
        return (
            f"discontinued? {product_name(test.feature, names)}: in "
            f"{test.reference:.1%} of baskets, now in none"
        )
    if test.kind == "item_share":
        return (
            f"{product_name(test.feature, names)}: in {test.reference:.1%} of baskets, "
            f"now {test.current:.1%}"
        )
    if test.kind == "numeric":
        change = (test.current / test.reference - 1) if test.reference else float("nan")
        return (
            f"{test.feature} shifted: mean {test.reference:.3g} -> {test.current:.3g} "
            f"({change:+.1%})"
        )
    if test.kind == "categorical":
        new = test.detail.get("new_value_share", 0.0)
        extra = f"; {new:.1%} of current {test.detail.get('unit')} are new values" if new else ""
        return f"{test.feature} distribution changed{extra}"
    if test.kind == "missing_rate":
        return (
            f"{test.feature} missing in {test.reference:.1%} of "
            f"{test.detail.get('unit')}, now {test.current:.1%}"
        )
    if test.kind == "no_recommendation_share":
        return (
            f"baskets no rule answers: {test.reference:.1%} on the holdout, now {test.current:.1%}"
        )
    return f"{test.feature}: {test.reference:.3f} on the holdout, now {test.current:.3f}"


def subject(test: DriftTest, names: dict[str, str]) -> str:
    """What a test is about, in words: the product or rule by description with codes."""
    if test.kind in ("item_share", "new_item", "lost_item"):
        return product_name(test.feature, names)
    if test.kind in ("rule_confidence", "rule_support"):
        return rule_name(test.detail["antecedent"], test.detail["consequent"], names)
    return test.feature


def label(test: DriftTest, names: dict[str, str]) -> str:
    """``_plain`` with the seasonal hint, when there is one."""
    text = _plain(test, names)
    last_year = test.detail.get("same_period_last_year")
    if last_year is not None:
        text += f"; in {last_year:.1%} of baskets in the same weeks last year" + (
            ": looks seasonal" if test.detail.get("seasonal") else ""
        )
    return text


YEAR = pd.Timedelta(days=364)  # 52 weeks: the same weekdays a year earlier


def seasonal_hints(
    reference: WindowSummary, current: WindowSummary, tests: list[DriftTest]
) -> None:
    """When the training window holds the current window's weeks of a year earlier, each
    catalogue test's share of baskets in those weeks (``detail["same_period_last_year"]``),
    and ``detail["seasonal"]`` when the current share is within the test's floor of it
    (Cohen's h): the change then looks like the season coming back, not a new trend."""
    if (
        reference.basket_time is None
        or current.first is None
        or current.last is None
        or not tests
        or reference.baskets.n_baskets == 0
    ):
        return
    start, end = current.first - YEAR, current.last - YEAR
    times = reference.basket_time
    day = np.timedelta64(1, "D")
    if times.min() > start.to_datetime64() + day or times.max() < end.to_datetime64() - day:
        return
    inside = (times >= start.to_datetime64()) & (times <= end.to_datetime64())
    n = int(inside.sum())
    if n < 10:
        return
    counts = np.bincount(
        reference.baskets.matrix[np.flatnonzero(inside)].indices,
        minlength=len(reference.baskets.items),
    )
    column = {str(item): i for i, item in enumerate(reference.baskets.items)}
    for test in tests:
        if test.kind not in ("item_share", "lost_item", "new_item"):
            continue
        share = counts[column[test.feature]] / n if test.feature in column else 0.0
        test.detail["same_period_last_year"] = float(share)
        floor = test.floor if math.isfinite(test.floor) else 0.0
        test.detail["seasonal"] = bool(float(cohens_h(share, test.current)) < max(floor, 1e-9))


def ranked_findings(drifted: list[DriftTest]) -> list[DriftTest]:
    """Drifted tests in the order a person should read them: by ``rank_key``, but taking
    turns between groups (the best of each group, then the second of each, ...), so that
    many findings of one kind cannot crowd out the others; findings explained by another
    come after all the rest."""
    ordered = sorted(drifted, key=rank_key)
    lead = [t for t in ordered if "explained_by" not in t.detail]
    by_group: dict[str, list[DriftTest]] = {}
    for test in lead:
        by_group.setdefault(test.group or group_of(test), []).append(test)
    turns = []
    for r in range(max((len(v) for v in by_group.values()), default=0)):
        turns += [tests[r] for tests in by_group.values() if r < len(tests)]
    return turns + [t for t in ordered if "explained_by" in t.detail]


_FINDING_DETAIL = (
    "antecedent",
    "consequent",
    "co_bought",
    "same_period_last_year",
    "seasonal",
    "explained_by",
    "unit",
    "new_value_share",
)


def finding(test: DriftTest) -> dict:
    """A drifted test as the report lists it: group, kind, feature, label, effect, adjusted
    p-value, and what its kind adds (values before and after, direction, rule parts, the
    products a new one is bought with, the seasonal hint, what explains it)."""
    out = {
        "group": test.group,
        "kind": test.kind,
        "feature": test.feature,
        "subject": test.subject,
        "label": test.label,
        "effect": test.effect,
        "p_adjusted": test.p_adjusted,
        "floor": test.floor,
        "reference": test.reference,
        "current": test.current,
        "direction": test.direction,
        "n_current": test.n_current,
    }
    out.update({k: test.detail[k] for k in _FINDING_DETAIL if k in test.detail})
    return out


def retrain_decision(drifted: list[DriftTest]) -> tuple[bool, list[str], list[str]]:
    """Whether retraining would help, and why; plus the drift to investigate instead.

    Retraining helps when what the model learned or reads has changed: a rule's confidence,
    the popularity of items or the item mix, the basket size, or the served model's results
    got worse (fewer hits, more baskets no rule answers). Drift in prices, quantities,
    basket value, countries or missing values does not enter an association-rule model:
    retraining would give the same rules, so it is reported for the data owners instead.
    And when a required column went missing more often, rows were dropped by validation and
    the baskets are incomplete: retraining on them would learn the fault, so it is not
    recommended until the data is fixed.
    """
    reasons, investigate, broken = [], [], []
    for test in drifted:
        model_relevant = (
            test.kind in ("rule_confidence", "rule_support", "item_share", "new_item", "lost_item")
            or (test.kind, test.feature) in MODEL_INPUTS
            or (test.kind == "top_k_metric" and test.direction == "down")
            or (test.kind == "no_recommendation_share" and test.direction == "up")
        )
        (reasons if model_relevant else investigate).append(test.label or _plain(test))
        if test.kind == "missing_rate" and test.feature in S.REQUIRED and test.direction == "up":
            broken.append(test.feature)
    if broken and reasons:
        investigate.insert(
            0,
            f"not retraining: {', '.join(broken)} went missing, so "
            "validation dropped rows and the baskets are incomplete; fix "
            "the data, then check again",
        )
    return bool(reasons) and not broken, reasons, investigate


def _window_info(summary: WindowSummary) -> dict:
    return {
        "source": summary.source,
        "rows": summary.n_rows,
        "baskets": summary.baskets.n_baskets,
        "items": len(summary.baskets.items),
        "first": summary.first,
        "last": summary.last,
    }


def check_drift(
    reference: Reference,
    current: WindowSummary,
    params: DriftParams,
    evaluate_params: EvaluateParams,
) -> dict:
    """Run and decide every drift test of ``current`` against ``reference``; returns the
    report written to ``metrics/drift.json`` (flags, counts, lists, and every test)."""
    tests, context = run_tests(reference, current, params, evaluate_params)
    decide(tests, params)
    names = {**reference.train.descriptions, **current.descriptions}
    if "description" in reference.items:
        names.update(
            dict(
                zip(
                    reference.items["item_code"].astype(str),
                    reference.items["description"].astype(str),
                )
            )
        )
    drifted = [t for t in tests if t.drifted]
    seasonal_hints(reference.train, current, drifted)
    explain(drifted, params.fdr)
    for test in tests:
        test.group = group_of(test)
        test.label = label(test, names)
        test.subject = subject(test, names)
    drifted = ranked_findings(drifted)
    data_drift = any(t.kind in DATA_KINDS for t in drifted)
    groups = {g: {"tests": 0, "drifted": 0} for g in GROUPS}
    for test in tests:
        groups[test.group]["tests"] += 1
        groups[test.group]["drifted"] += int(test.drifted)
    concept_drift = any(t.kind in CONCEPT_KINDS for t in drifted)
    retrain, reasons, investigate = retrain_decision(drifted)

    def listed(kind: str, direction: str) -> list[dict]:
        chosen = [t for t in drifted if t.kind == kind and t.direction == direction]
        return [
            {
                "name": t.feature,
                "subject": t.subject,
                "label": t.label,
                "reference": t.reference,
                "current": t.current,
                "effect": t.effect,
                "p_adjusted": t.p_adjusted,
                "n_current": t.n_current,
            }
            for t in sorted(chosen, key=rank_key)
        ]

    by_kind = {}
    for test in tests:
        entry = by_kind.setdefault(test.kind, {"run": 0, "drifted": 0})
        entry["run"] += 1
        entry["drifted"] += int(test.drifted)
    return {
        "drift_detected": data_drift or concept_drift,
        "data_drift": data_drift,
        "concept_drift": concept_drift,
        "retrain_recommended": retrain,
        "retrain_reasons": reasons,
        "investigate": investigate,
        "top_drifted": [t.name for t in drifted[:10]],
        "top_drifted_plain": [t.label for t in drifted[:10]],
        "findings": [finding(t) for t in drifted],
        "groups": groups,
        "tests_run": len(tests),
        "tests_drifted": len(drifted),
        "tests_by_kind": by_kind,
        "skipped": context["skipped"],
        "windows": {
            "reference": _window_info(reference.train),
            "current": _window_info(current),
            "holdout_baskets": reference.holdout.n_baskets,
        },
        "items": {
            "gained": listed("item_share", "up"),
            "lost": listed("item_share", "down"),
            "new": listed("new_item", "up"),
            "discontinued": listed("lost_item", "down"),
            "untested": context["items_untested"],
        },
        "rules": {
            "weakened": listed("rule_confidence", "down"),
            "strengthened": listed("rule_confidence", "up"),
            "less_frequent": listed("rule_support", "down"),
            "more_frequent": listed("rule_support", "up"),
            "untested": context["rules_untested"],
        },
        "top_k": {
            "k": context["primary_k"],
            "cases": context["cases"],
            "bootstrap_samples": params.bootstrap_samples,
            "confidence_level": params.confidence_level,
            "metrics": context["top_k"],
        },
        "decision": {
            "fdr": params.fdr,
            "correction": "benjamini-hochberg over all tests",
            "floors": {
                "numeric": params.min_effect_numeric,
                "categorical": params.min_effect_categorical,
                "share": params.min_effect_share,
                "confidence": params.min_effect_confidence,
            },
            "noise_windows": params.noise_windows,
            "floor_rule": "the larger of the params floor and the largest effect "
            "of the training window's pseudo-current windows",
        },
        "tests": [asdict(t) for t in sorted(tests, key=lambda t: (t.kind, t.feature))],
    }
