"""The dashboard's findings: each drifted finding's group and label, products and rules named
by description, tests counted by group, and the verdict. Works on the typed result; a report
from before tests had a ``group`` and ``label`` and the report listed ``findings`` and
``groups`` is filled in by ``DriftResult.from_dict`` (see ``dashboard``)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace

from panier.core import schema as S
from panier.stages.drift_check.result import DriftResult, DriftTest, Finding

GROUPS = {
    "catalogue": "Catalogue: items, new and discontinued products",
    "price": "Price",
    "basket_shape": "Basket shape",
    "rules": "Rules",
    "model_quality": "Model quality",
    "data_quality": "Data quality",
}
_NUMERIC_GROUP = {
    "unit_price": "price",
    "basket_value": "price",
    "quantity": "basket_shape",
    "basket_size": "basket_shape",
}
_CODE = re.compile(r"[^{},\s>-][^{},\s]*")


def group_of(test: DriftTest | Finding) -> str:
    """The test's (or finding's) group: its own ``group``, else derived from kind and
    feature (older reports have none)."""
    if test.group:
        return str(test.group)
    kind, feature = test.kind, test.feature
    if kind.startswith("rule"):
        return "rules"
    if kind in ("no_recommendation_share", "top_k_metric"):
        return "model_quality"
    if kind == "numeric":
        return _NUMERIC_GROUP.get(feature, "data_quality")
    if kind in ("item_share", "new_product", "new_item", "discontinued_product") or (
        kind == "categorical" and feature == S.ITEM
    ):
        return "catalogue"
    return "data_quality"


def effect_ratio(test: DriftTest | Finding) -> float:
    effect, floor = test.effect or 0.0, test.floor or 0.0
    return effect / floor if floor else effect


def format_number(value, share: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.1%}" if share else f"{value:.3g}"


def _fallback_label(finding: Finding, plain: Mapping[str, str]) -> str:
    name = f"{finding.kind}: {finding.feature}"
    if name in plain:
        return plain[name]
    share = finding.kind in (
        "item_share",
        "rule_support",
        "missing_rate",
        "no_recommendation_share",
    )
    what = f"{finding.kind.replace('_', ' ')} {finding.feature}"
    if finding.reference is None and finding.current is None:
        return f"{what} changed"
    before = format_number(finding.reference, share)
    after = format_number(finding.current, share)
    return f"{what}: {before} -> {after}"


def _named(label: str, finding: Finding, descriptions: Mapping[str, str]) -> str:
    """A label derived from codes, with the item or rule named by description."""
    kind, feature = finding.kind, str(finding.feature)
    if not descriptions:
        return label
    if kind == "item_share":
        return label.replace(f"item {feature}", f"item {named_item(feature, descriptions)}", 1)
    if kind.startswith("rule"):
        return label.replace(feature, named_rule(feature, descriptions), 1)
    return label


def findings(result: DriftResult, descriptions: Mapping[str, str] | None = None) -> list[Finding]:
    """The result's findings, most important first, each with its group and label: those
    it lacks (older reports) derived from its kind and feature, and from the Markdown
    report's plain lines or its numbers, items named by ``descriptions``."""
    descriptions = descriptions or {}
    plain = dict(zip(result.top_drifted, result.top_drifted_plain))
    return [
        replace(
            f,
            group=group_of(f),
            label=f.label or _named(_fallback_label(f, plain), f, descriptions),
        )
        for f in result.findings
    ]


def group_counts(result: DriftResult) -> dict[str, dict[str, int]]:
    """Tests run and drifted by group: the result's ``groups`` when it has them, else
    counted (older reports)."""
    if result.groups:
        return result.groups
    counts: dict[str, dict[str, int]] = {}
    for test in result.tests:
        entry = counts.setdefault(group_of(test), {"tests": 0, "drifted": 0})
        entry["tests"] += 1
        entry["drifted"] += int(bool(test.drifted))
    return counts


def verdict(result: DriftResult) -> str:
    if not result.drift_detected:
        return "no drift"
    if result.retrain_recommended:
        return "drift found, retraining recommended"
    return "drift found, retraining would not help"


def named_item(code: str, descriptions: Mapping[str, str]) -> str:
    described = descriptions.get(str(code))
    return f"{described} ({code})" if described and described != "nan" else str(code)


def named_rule(rule: str, descriptions: Mapping[str, str]) -> str:
    if not descriptions:
        return rule
    return _CODE.sub(lambda m: named_item(m.group(0), descriptions), rule)
