"""The dashboard's findings: each drifted test's group and label, products and rules named
by description, tests counted by group, and the verdict. Works on reports with and without
the newer ``group``, ``label``, ``findings`` and ``groups`` fields (see ``dashboard``)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from panier.core import schema as S

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


def group_of(test: Mapping) -> str:
    """The test's group: its own ``group`` field, else derived from kind and feature."""
    given = test.get("group")
    if given:
        return str(given)
    kind, feature = test["kind"], test["feature"]
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


def effect_ratio(test: Mapping) -> float:
    effect, floor = test.get("effect") or 0.0, test.get("floor") or 0.0
    return effect / floor if floor else effect


def format_number(value, share: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.1%}" if share else f"{value:.3g}"


def _fallback_label(test: Mapping, plain: Mapping[str, str]) -> str:
    name = f"{test['kind']}: {test['feature']}"
    if name in plain:
        return plain[name]
    share = test["kind"] in (
        "item_share",
        "rule_support",
        "missing_rate",
        "no_recommendation_share",
    )
    what = f"{test['kind'].replace('_', ' ')} {test['feature']}"
    if test.get("reference") is None and test.get("current") is None:
        return f"{what} changed"
    before = format_number(test.get("reference"), share)
    after = format_number(test.get("current"), share)
    return f"{what}: {before} -> {after}"


def _named(label: str, test: Mapping, descriptions: Mapping[str, str]) -> str:
    """A label derived from codes, with the item or rule named by description."""
    kind, feature = test["kind"], str(test["feature"])
    if not descriptions:
        return label
    if kind == "item_share":
        return label.replace(f"item {feature}", f"item {named_item(feature, descriptions)}", 1)
    if kind.startswith("rule"):
        return label.replace(feature, named_rule(feature, descriptions), 1)
    return label


def findings(report: Mapping, descriptions: Mapping[str, str] | None = None) -> list[dict]:
    """The drifted findings, most important first: the report's own ``findings`` when it has
    them, else its drifted tests (the report's top-ten order first, then by effect over
    floor). Each: group, kind, feature, label, effect, p_adjusted. Labels the report does not
    give are built from its plain lines or numbers, items named by ``descriptions``."""
    descriptions = descriptions or {}
    plain = dict(zip(report.get("top_drifted", []), report.get("top_drifted_plain", [])))
    if report.get("findings") is not None:
        out = []
        for f in report["findings"]:
            entry = {
                "kind": f.get("kind", ""),
                "feature": f.get("feature", ""),
                "effect": f.get("effect"),
                "p_adjusted": f.get("p_adjusted"),
            }
            entry["group"] = group_of({**entry, "group": f.get("group")})
            entry["label"] = (
                f.get("label")
                or plain.get(f"{entry['kind']}: {entry['feature']}")
                or f"{entry['kind']} {entry['feature']}"
            )
            out.append(entry)
        return out
    rank = {name: i for i, name in enumerate(report.get("top_drifted", []))}
    drifted = [t for t in report["tests"] if t["drifted"]]
    drifted.sort(
        key=lambda t: (
            rank.get(f"{t['kind']}: {t['feature']}", len(rank)),
            -effect_ratio(t),
            t["kind"],
            t["feature"],
        )
    )
    return [
        {
            "group": group_of(t),
            "kind": t["kind"],
            "feature": t["feature"],
            "label": t.get("label") or _named(_fallback_label(t, plain), t, descriptions),
            "effect": t.get("effect"),
            "p_adjusted": t.get("p_adjusted"),
        }
        for t in drifted
    ]


def group_counts(report: Mapping) -> dict[str, dict[str, int]]:
    """Tests run and drifted by group: the report's ``groups`` when present, else counted."""
    if report.get("groups"):
        return {
            g: {"tests": int(v.get("tests", 0)), "drifted": int(v.get("drifted", 0))}
            for g, v in report["groups"].items()
        }
    counts: dict[str, dict[str, int]] = {}
    for test in report["tests"]:
        entry = counts.setdefault(group_of(test), {"tests": 0, "drifted": 0})
        entry["tests"] += 1
        entry["drifted"] += int(bool(test["drifted"]))
    return counts


def verdict(report: Mapping) -> str:
    if not report["drift_detected"]:
        return "no drift"
    if report["retrain_recommended"]:
        return "drift found, retraining recommended"
    return "drift found, retraining would not help"


def named_item(code: str, descriptions: Mapping[str, str]) -> str:
    described = descriptions.get(str(code))
    return f"{described} ({code})" if described and described != "nan" else str(code)


def named_rule(rule: str, descriptions: Mapping[str, str]) -> str:
    if not descriptions:
        return rule
    return _CODE.sub(lambda m: named_item(m.group(0), descriptions), rule)
