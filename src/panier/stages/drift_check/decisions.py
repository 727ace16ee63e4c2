"""Decisions over all tests of a run: Benjamini-Hochberg over every p-value with an effect
floor per test, which drifted test explains another, and whether retraining would help."""

from __future__ import annotations

import numpy as np
from scipy import stats

from panier.core import schema as S
from panier.core.config import DriftParams
from panier.stages.drift_check.findings import plain_label
from panier.stages.drift_check.result import DriftTest
from panier.stages.drift_check.statistics import count_test

DATA_KINDS = ("numeric", "categorical", "missing_rate", "item_share", "new_item", "lost_item")
CONCEPT_KINDS = ("rule_confidence", "rule_support", "no_recommendation_share", "top_k_metric")
# What the model reads: baskets of item codes. Drift here can make the model stale.
MODEL_INPUTS = {("numeric", "basket_size"), ("categorical", S.ITEM)}


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
        moved = [
            numeric[p]
            for p in parts
            if p in numeric and numeric[p].direction == (test.direction if test else None)
        ]
        if test and moved:
            test.detail["explained_by"] = [c.name for c in moved]
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
        named = [same_rule] if same_rule else []
        named += sorted(items[(m, test.direction)] for m in members if (m, test.direction) in items)
        if named:
            test.detail["explained_by"] = named


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
    reasons: list[str] = []
    investigate: list[str] = []
    broken: list[str] = []
    for test in drifted:
        model_relevant = (
            test.kind in ("rule_confidence", "rule_support", "item_share", "new_item", "lost_item")
            or (test.kind, test.feature) in MODEL_INPUTS
            or (test.kind == "top_k_metric" and test.direction == "down")
            or (test.kind == "no_recommendation_share" and test.direction == "up")
        )
        (reasons if model_relevant else investigate).append(test.label or plain_label(test))
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
