"""Drifted tests as people read them: groups, products and rules named by description,
one plain sentence per test with a seasonal hint, and the order to read them in."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from panier.core import schema as S
from panier.stages.drift_check.result import DriftTest, Finding
from panier.stages.drift_check.statistics import cohens_h
from panier.stages.drift_check.summary import WindowSummary

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


def plain_label(test: DriftTest, names: dict[str, str] | None = None) -> str:
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
        assert test.current is not None  # numeric tests compare two means
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
    """``plain_label`` with the seasonal hint, when there is one."""
    text = plain_label(test, names)
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
        assert test.current is not None  # basket-share tests compare two shares
        test.detail["same_period_last_year"] = float(share)
        floor = test.floor if math.isfinite(test.floor) else 0.0
        test.detail["seasonal"] = bool(float(cohens_h(share, test.current)) < max(floor, 1e-9))


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


def finding(test: DriftTest) -> Finding:
    """A drifted test as the report lists it: group, kind, feature, label, effect, adjusted
    p-value, and what its kind adds (values before and after, direction, rule parts, the
    products a new one is bought with, the seasonal hint, what explains it)."""
    return Finding.of_test(
        test, detail={k: test.detail[k] for k in _FINDING_DETAIL if k in test.detail}
    )
