"""Drift between the training window (reference) and the current window.

Each window is summarized once (``summarize``); every test reads the summaries. All p-values
of a run are corrected together (Benjamini-Hochberg), and a test counts as drift only when
its adjusted p-value is below the false discovery rate *and* its effect size passes a floor,
so that a huge sample does not flag a trivial shift.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

from panier import schema as S
from panier.baskets import Baskets, baskets_from_lines
from panier.config import DriftParams, EvaluateParams
from panier.evaluation import evaluate, leave_one_out
from panier.recommend import FallbackRecommender, PopularityRecommender, RuleRecommender

NUMERIC_FEATURES = ("unit_price", "quantity", "basket_size", "basket_value")
CATEGORICAL_FEATURES = (S.COUNTRY,)
MISSING_FEATURES = (S.CUSTOMER, S.COUNTRY, S.DESCRIPTION)
# Attributes of the invoice, not the line: tested once per invoice, since the lines of one
# invoice share them and counting lines would treat copies as independent evidence.
INVOICE_LEVEL = (S.CUSTOMER, S.COUNTRY)
DATA_KINDS = ("numeric", "categorical", "missing_rate", "item_share")
CONCEPT_KINDS = ("rule_confidence", "no_recommendation_share", "top_k_metric")
MIN_CATEGORY_COUNT = 5  # rarer categories are pooled into one before a chi-square test


@dataclass(frozen=True)
class WindowSummary:
    """What every drift test needs to know about one window."""

    n_rows: int
    n_invoices: int
    numeric: dict[str, np.ndarray]
    categories: dict[str, pd.Series]  # value -> count of rows or invoices (missing excluded)
    missing: dict[str, int]  # column -> rows or invoices with no value
    baskets: Baskets

    def units(self, column: str) -> int:
        """How many units a column's counts are out of: invoices or rows."""
        return self.n_invoices if column in INVOICE_LEVEL else self.n_rows


def summarize(lines: pd.DataFrame) -> WindowSummary:
    """Summarize a window of validated line items."""
    value = lines[S.QUANTITY].to_numpy(float) * lines[S.PRICE].to_numpy(float)
    per_invoice = pd.DataFrame({S.INVOICE: lines[S.INVOICE], "value": value}).groupby(
        S.INVOICE, sort=True)
    baskets = baskets_from_lines(lines)
    invoices = lines.drop_duplicates(S.INVOICE)

    def level(column: str) -> pd.DataFrame:
        return invoices if column in INVOICE_LEVEL else lines

    return WindowSummary(
        n_rows=len(lines),
        n_invoices=len(invoices),
        numeric={
            "unit_price": lines[S.PRICE].to_numpy(float),
            "quantity": lines[S.QUANTITY].to_numpy(float),
            "basket_size": baskets.sizes().astype(float),
            "basket_value": per_invoice["value"].sum().to_numpy(float),
        },
        categories={c: level(c)[c].value_counts(dropna=True) for c in CATEGORICAL_FEATURES},
        missing={c: int(level(c)[c].isna().sum()) for c in MISSING_FEATURES},
        baskets=baskets,
    )


@dataclass
class Test:
    kind: str
    feature: str
    test: str
    statistic: float
    p_value: float
    effect: float
    effect_name: str
    reference: float | None = None
    current: float | None = None
    p_adjusted: float = float("nan")
    drifted: bool = False
    detail: dict = field(default_factory=dict)


def cohens_h(p1: float, p2: float) -> float:
    """Effect size of a difference between two proportions."""
    return float(abs(2 * np.arcsin(np.sqrt(p2)) - 2 * np.arcsin(np.sqrt(p1))))


def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Two-sided pooled z-test of x1/n1 against x2/n2; returns (z, p-value)."""
    if n1 == 0 or n2 == 0:
        return 0.0, 1.0
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return 0.0, 1.0
    z = (x2 / n2 - x1 / n1) / np.sqrt(variance)
    return float(z), float(2 * stats.norm.sf(abs(z)))


def numeric_test(feature: str, ref: np.ndarray, cur: np.ndarray) -> Test:
    """Kolmogorov-Smirnov, with the Wasserstein distance in reference standard deviations."""
    # Missing values are not measurements (a basket list has no prices at all).
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if ref.size == 0 or cur.size == 0:
        return Test("numeric", feature, "kolmogorov_smirnov", 0.0, 1.0, 0.0, "wasserstein_std",
                    detail={"skipped": "no values in a window"})
    result = stats.ks_2samp(ref, cur)
    scale = float(np.std(ref)) or 1.0
    return Test("numeric", feature, "kolmogorov_smirnov", float(result.statistic),
                float(result.pvalue), float(stats.wasserstein_distance(ref, cur) / scale),
                "wasserstein_std", float(np.mean(ref)), float(np.mean(cur)))


def categorical_test(feature: str, ref: pd.Series, cur: pd.Series) -> Test:
    """Chi-square on the contingency table (rare categories pooled) and Jensen-Shannon
    distance; reports the share of current rows whose value the reference never saw."""
    table = pd.concat([ref.rename("ref"), cur.rename("cur")], axis=1).fillna(0)
    new_share = float(table.loc[table["ref"] == 0, "cur"].sum() / max(table["cur"].sum(), 1))
    rare = table.sum(axis=1) < MIN_CATEGORY_COUNT
    if rare.any():
        table = pd.concat([table[~rare], table[rare].sum().to_frame("(rare)").T])
    detail = {"new_value_share": new_share, "categories": len(table)}
    if len(table) < 2:
        return Test("categorical", feature, "chi_square", 0.0, 1.0, 0.0, "jensen_shannon",
                    detail=detail)
    chi2, p_value, _, _ = stats.chi2_contingency(table.to_numpy().T)
    ref_p = table["ref"] / table["ref"].sum()
    cur_p = table["cur"] / table["cur"].sum()
    return Test("categorical", feature, "chi_square", float(chi2), float(p_value),
                float(jensenshannon(ref_p, cur_p, base=2)), "jensen_shannon", detail=detail)


def missing_rate_test(feature: str, ref: WindowSummary, cur: WindowSummary) -> Test:
    x1, n1 = ref.missing[feature], ref.units(feature)
    x2, n2 = cur.missing[feature], cur.units(feature)
    z, p_value = two_proportion_test(x1, n1, x2, n2)
    p1, p2 = x1 / max(n1, 1), x2 / max(n2, 1)
    return Test("missing_rate", feature, "two_proportion_z", z, p_value, cohens_h(p1, p2),
                "cohens_h", p1, p2)


def item_share_tests(ref: Baskets, cur: Baskets, min_baskets: int) -> list[Test]:
    """Per item, the share of baskets holding it; items rarer than ``min_baskets`` in both
    windows are skipped (too few to test)."""
    ref_counts = pd.Series(ref.item_counts(), index=ref.items)
    cur_counts = pd.Series(cur.item_counts(), index=cur.items)
    both = pd.concat([ref_counts.rename("ref"), cur_counts.rename("cur")], axis=1).fillna(0)
    both = both[(both["ref"] >= min_baskets) | (both["cur"] >= min_baskets)]
    tests = []
    for item, (x1, x2) in both.astype(int).iterrows():
        z, p_value = two_proportion_test(x1, ref.n_baskets, x2, cur.n_baskets)
        p1, p2 = x1 / ref.n_baskets, x2 / cur.n_baskets
        tests.append(Test("item_share", str(item), "two_proportion_z", z, p_value,
                          cohens_h(p1, p2), "cohens_h", p1, p2))
    return tests


def _holding(baskets: Baskets, items: list[str]) -> np.ndarray:
    """Boolean mask of baskets holding every one of ``items``."""
    columns = np.searchsorted(baskets.items, items)
    if any(c >= len(baskets.items) or baskets.items[c] != i for c, i in zip(columns, items)):
        return np.zeros(baskets.n_baskets, dtype=bool)
    hits = np.asarray(baskets.matrix[:, columns].sum(axis=1)).ravel()
    return hits == len(items)


def rule_tests(rules: pd.DataFrame, cur: Baskets, min_baskets: int) -> list[Test]:
    """Each rule's confidence as trained against its confidence re-measured on ``cur``;
    rules whose antecedent occurs in fewer than ``min_baskets`` current baskets are skipped."""
    tests = []
    for rule in rules.itertuples(index=False):
        antecedent = sorted(str(a) for a in rule.antecedent)
        has_antecedent = _holding(cur, antecedent)
        n2 = int(has_antecedent.sum())
        if n2 < min_baskets:
            continue
        x2 = int((has_antecedent & _holding(cur, [str(rule.consequent)])).sum())
        z, p_value = two_proportion_test(rule.count, rule.antecedent_count, x2, n2)
        p1, p2 = rule.count / rule.antecedent_count, x2 / n2
        tests.append(Test("rule_confidence", f"{{{', '.join(antecedent)}}} -> {rule.consequent}",
                          "two_proportion_z", z, p_value, abs(p2 - p1), "confidence_change",
                          p1, p2, detail={"current_antecedent_baskets": n2}))
    return tests


def no_recommendation_share(recommender: RuleRecommender, baskets: Baskets) -> tuple[int, int]:
    """(baskets the model has nothing to recommend for, baskets)."""
    empty = sum(1 for basket in baskets.as_lists() if not recommender.recommend(basket, 1))
    return empty, baskets.n_baskets


def no_recommendation_test(rules: pd.DataFrame, holdout: Baskets, cur: Baskets) -> Test:
    recommender = RuleRecommender(rules)
    x1, n1 = no_recommendation_share(recommender, holdout)
    x2, n2 = no_recommendation_share(recommender, cur)
    z, p_value = two_proportion_test(x1, n1, x2, n2)
    p1, p2 = x1 / max(n1, 1), x2 / max(n2, 1)
    return Test("no_recommendation_share", "baskets without a recommendation",
                "two_proportion_z", z, p_value, cohens_h(p1, p2), "cohens_h", p1, p2)


def top_k_test(holdout_metrics: dict, current: Baskets, rules: pd.DataFrame,
               items: pd.DataFrame, params: EvaluateParams) -> Test:
    """The served model's hit rate@k on the current window against the holdout's, as
    written by the evaluate stage (each case is a hit or a miss: a two-proportion test)."""
    k = params.primary_k
    metric = f"hit_rate@{k}"
    n1 = int(holdout_metrics["cases"])
    x1 = round(holdout_metrics[metric] * n1)
    model = FallbackRecommender(RuleRecommender(rules), PopularityRecommender(
        items.set_index("item_code")["baskets"]))
    cases = leave_one_out(current.as_lists(), params.seed)
    flat, _ = evaluate(model, cases, [k], n_catalog=len(items))
    n2 = len(cases)
    x2 = round(flat[metric] * n2)
    z, p_value = two_proportion_test(x1, n1, x2, n2)
    p1, p2 = x1 / max(n1, 1), x2 / max(n2, 1)
    return Test("top_k_metric", metric, "two_proportion_z", z, p_value, cohens_h(p1, p2),
                "cohens_h", p1, p2, detail={"holdout_cases": n1, "current_cases": n2})


def _floor(test: Test, params: DriftParams) -> float:
    return {
        "numeric": params.min_effect_numeric,
        "categorical": params.min_effect_categorical,
        "rule_confidence": params.min_effect_confidence,
    }.get(test.kind, params.min_effect_share)


def decide(tests: list[Test], params: DriftParams) -> list[Test]:
    """Correct all p-values together (Benjamini-Hochberg) and set each test's verdict."""
    if not tests:
        return tests
    p_values = np.array([t.p_value for t in tests], dtype=float)
    adjusted = stats.false_discovery_control(np.clip(p_values, 0.0, 1.0), method="bh")
    for test, p_adj in zip(tests, adjusted):
        test.p_adjusted = float(p_adj)
        test.drifted = bool(p_adj < params.fdr and test.effect >= _floor(test, params))
    return tests


def check_drift(reference: pd.DataFrame, holdout: pd.DataFrame, current: pd.DataFrame,
                rules: pd.DataFrame, items: pd.DataFrame, holdout_metrics: dict,
                evaluate_params: EvaluateParams, params: DriftParams) -> dict:
    """Run every drift test of ``current`` against ``reference`` (the training window).

    ``holdout`` is the evaluation window, the baseline for the share of baskets without a
    recommendation; ``holdout_metrics`` are the served model's metrics on it from the
    evaluate stage. Returns the report written to ``metrics/drift.json``.
    """
    ref, cur = summarize(reference), summarize(current)
    tests = [numeric_test(f, ref.numeric[f], cur.numeric[f]) for f in NUMERIC_FEATURES]
    tests += [categorical_test(f, ref.categories[f], cur.categories[f])
              for f in CATEGORICAL_FEATURES]
    tests += [missing_rate_test(f, ref, cur) for f in MISSING_FEATURES]
    tests += item_share_tests(ref.baskets, cur.baskets, params.min_rule_baskets)
    tests += rule_tests(rules, cur.baskets, params.min_rule_baskets)
    tests.append(no_recommendation_test(rules, baskets_from_lines(holdout), cur.baskets))
    tests.append(top_k_test(holdout_metrics, cur.baskets, rules, items, evaluate_params))
    decide(tests, params)

    drifted = [t for t in tests if t.drifted]
    drifted.sort(key=lambda t: (-t.effect, t.p_adjusted, t.feature))
    data_drift = any(t.kind in DATA_KINDS for t in drifted)
    concept_drift = any(t.kind in CONCEPT_KINDS for t in drifted)
    return {
        "drift_detected": data_drift or concept_drift,
        "data_drift": data_drift,
        "concept_drift": concept_drift,
        "retrain_recommended": data_drift or concept_drift,
        "windows": {"reference_rows": ref.n_rows, "current_rows": cur.n_rows,
                    "reference_baskets": ref.baskets.n_baskets,
                    "current_baskets": cur.baskets.n_baskets},
        "tests_run": len(tests),
        "tests_drifted": len(drifted),
        "top_drifted": [f"{t.kind}: {t.feature}" for t in drifted[:10]],
        "tests": [asdict(t) for t in sorted(tests, key=lambda t: (t.kind, t.feature))],
    }
