"""The model as a PMML 4.4 ``AssociationModel``: one XML file any PMML scoring engine can load.

What goes in: the model artifact as the train stage writes it (the rules table, the item table
and the model card). What comes out: the bytes of ``models/rules.pmml`` (UTF-8 XML), the same
bytes for the same inputs (no clock, no random ids, numbers written by Python's shortest
round-trip ``repr``).

How panier's model maps onto PMML (docs/reference/pmml.md says it for consumers):

- ``Header``: ``modelVersion`` is the model card's data fingerprint (sha256 of the training
  window), so two files with the same version were mined from the same data; ``Extension``
  elements carry the card's schema version, data window, parameters and library versions.
- ``Item``: every item of the training window, in the popularity order of ``items.parquet``
  (the serving fallback's order; ids 1, 2, ... follow it), with its description and basket
  count as extensions.
- ``Itemset``: every itemset a rule refers to (antecedents and one-item consequents), with its
  support; ordered by size, then item codes.
- ``AssociationRule``: every rule, with support, confidence, lift and leverage, ordered by
  confidence and lift (descending), then consequent code, count and antecedent.
  With that order a PMML ``exclusiveRecommendation`` ranked by confidence (ties kept in
  document order) lists first, for each item, its best rule, items in panier's order.
- ``Output``: the first ``RANKED_OUTPUTS`` consequents of the applicable rules, best rule
  first (``exclusiveRecommendation``, rank basis confidence).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from panier.core.errors import DataError

NAMESPACE = "http://www.dmg.org/PMML-4_4"
#: The two input fields: a basket id (transactions arrive as one row per item) and the item.
BASKET_FIELD = "basket"
ITEM_FIELD = "item"
#: How many ranked rules the file declares as output fields (``recommendation_1`` ...).
RANKED_OUTPUTS = 10
ALGORITHM = "exclusiveRecommendation"


def _number(value: float) -> str:
    """A finite float as the shortest text that reads back to the same double."""
    value = float(value)
    if not math.isfinite(value):
        raise DataError(
            f"models/rules.parquet: a rule measure is {value}; PMML numbers must "
            "be finite: retrain the model (dvc repro train)"
        )
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


#: Characters an attribute value cannot hold as they are: markup, quotes, whitespace other
#: than a space (an XML reader would normalise it), and characters XML 1.0 cannot carry at
#: all, not even escaped (those become U+FFFD, the replacement character).
_SPECIAL = re.compile('[&<>"\t\n\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
_ENTITIES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "\t": "&#9;",
    "\n": "&#10;",
    "\r": "&#13;",
}


def _quote(value: Any) -> str:
    """``value`` as a double-quoted XML attribute value."""
    text = str(value)
    if _SPECIAL.search(text) is None:  # the common case, and the fast one
        return f'"{text}"'
    return '"' + _SPECIAL.sub(lambda m: _ENTITIES.get(m.group(), "\ufffd"), text) + '"'


def _attrs(pairs: Iterable[tuple[str, Any]]) -> str:
    return "".join(f" {name}={_quote(value)}" for name, value in pairs if value is not None)


def rule_order(rules: pd.DataFrame) -> pd.DataFrame:
    """``rules`` in the order the PMML file lists them: confidence and lift descending, then
    consequent code, then count descending and antecedent codes (the model's own tie-break).
    Ranking these by confidence alone, ties in document order, gives each item its best rule
    first and items in panier's order (confidence, lift, item code). The order depends on the
    rules' content only, not on the order of the rows given."""
    keyed = rules.assign(
        _consequent=rules["consequent"].astype(str),
        _antecedent=rules["antecedent"].map(lambda a: " ".join(map(str, a))),
    )
    keyed = keyed.sort_values(
        ["confidence", "lift", "_consequent", "count", "_antecedent"],
        ascending=[False, False, True, False, True],
        kind="stable",
    )
    return keyed.drop(columns=["_consequent", "_antecedent"]).reset_index(drop=True)


def itemset_table(rules: pd.DataFrame, n_baskets: int) -> dict[tuple[str, ...], float]:
    """Every itemset the rules refer to (antecedents and one-item consequents) with its
    support, ordered by size, then item codes."""
    support: dict[tuple[str, ...], float] = {}
    for antecedent, consequent, a_count, c_count in zip(
        rules["antecedent"].tolist(),
        rules["consequent"].tolist(),
        rules["antecedent_count"].tolist(),
        rules["consequent_count"].tolist(),
    ):
        support[tuple(str(a) for a in antecedent)] = int(a_count) / n_baskets
        support[(str(consequent),)] = int(c_count) / n_baskets
    return {key: support[key] for key in sorted(support, key=lambda k: (len(k), k))}


def _header(card: Mapping[str, Any]) -> list[str]:
    data = card["data"]
    libraries = card.get("libraries", {})
    extensions = [
        ("schema_version", card["schema_version"]),
        ("data_fingerprint_sha256", data["fingerprint_sha256"]),
        ("data_rows", data["rows"]),
        ("data_first_timestamp", data["first_timestamp"]),
        ("data_last_timestamp", data["last_timestamp"]),
    ]
    for section in ("train", "windows"):
        for key, value in sorted(card["params"][section].items()):
            extensions.append((f"params.{section}.{key}", value))
    for name, value in sorted(libraries.items()):
        extensions.append((f"library.{name}", value))
    lines = [
        "  <Header"
        + _attrs(
            [
                ("copyright", "Generated by panier from its model artifact"),
                (
                    "description",
                    "Association rules mined from retail baskets (panier basket-rules)",
                ),
                ("modelVersion", data["fingerprint_sha256"]),
            ]
        )
        + ">"
    ]
    for name, value in extensions:
        text = "null" if value is None else str(value)
        lines.append(f"    <Extension{_attrs([('name', name), ('value', text)])}/>")
    lines.append(
        '    <Application name="panier"' + _attrs([("version", libraries.get("panier"))]) + "/>"
    )
    lines.append("  </Header>")
    return lines


def to_pmml(rules: pd.DataFrame, items: pd.DataFrame, card: Mapping[str, Any]) -> bytes:
    """The PMML 4.4 document of one model artifact.

    ``rules``, ``items`` and ``card`` are ``models/rules.parquet``, ``models/items.parquet``
    and ``models/model_card.json`` as read back (rules in the model's best-first order, items
    most popular first). Returns UTF-8 bytes, ending with a newline.
    """
    counts = card["counts"]
    n_baskets = int(counts["baskets"])
    train = card["params"]["train"]
    ordered = rule_order(rules)
    itemsets = itemset_table(ordered, max(n_baskets, 1))
    codes = [str(c) for c in items["item_code"]]
    item_id = {code: i for i, code in enumerate(codes, start=1)}
    missing = sorted({c for key in itemsets for c in key} - item_id.keys())
    if missing:
        raise DataError(
            f"models/rules.parquet refers to items missing from "
            f"models/items.parquet, e.g. {missing[:5]}: the two files come from "
            "different runs; retrain the model (dvc repro train)"
        )
    itemset_id = {key: i for i, key in enumerate(itemsets, start=1)}

    out = ['<?xml version="1.0" encoding="UTF-8"?>', f'<PMML xmlns="{NAMESPACE}" version="4.4">']
    out += _header(card)
    out += [
        '  <DataDictionary numberOfFields="2">',
        f'    <DataField name="{BASKET_FIELD}" optype="categorical" dataType="string"/>',
        f'    <DataField name="{ITEM_FIELD}" optype="categorical" dataType="string"/>',
        "  </DataDictionary>",
    ]
    out.append(
        "  <AssociationModel"
        + _attrs(
            [
                ("modelName", "basket-rules"),
                ("functionName", "associationRules"),
                ("algorithmName", "frequent itemsets, one-item consequents"),
                ("numberOfTransactions", n_baskets),
                ("minimumSupport", _number(train["min_support"])),
                ("minimumConfidence", _number(train["min_confidence"])),
                ("lengthLimit", train["max_len"]),
                ("numberOfItems", len(codes)),
                ("numberOfItemsets", len(itemsets)),
                ("numberOfRules", len(ordered)),
            ]
        )
        + ">"
    )
    out += [
        "    <MiningSchema>",
        f'      <MiningField name="{BASKET_FIELD}" usageType="group"/>',
        f'      <MiningField name="{ITEM_FIELD}" usageType="active"/>',
        "    </MiningSchema>",
        "    <Output>",
    ]
    for rank in range(1, RANKED_OUTPUTS + 1):
        out.append(
            "      <OutputField"
            + _attrs(
                [
                    ("name", f"recommendation_{rank}"),
                    ("optype", "categorical"),
                    ("dataType", "string"),
                    ("feature", "ruleValue"),
                    ("ruleFeature", "consequent"),
                    ("algorithm", ALGORITHM),
                    ("rank", rank),
                    ("rankBasis", "confidence"),
                    ("rankOrder", "descending"),
                ]
            )
            + "/>"
        )
    out.append("    </Output>")
    descriptions = items["description"].tolist() if "description" in items else [None] * len(codes)
    for code, description, baskets in zip(codes, descriptions, items["baskets"].tolist()):
        out.append(f'    <Item id="{item_id[code]}" value={_quote(code)}>')
        if description is not None and description == description:  # not missing (NaN)
            out.append(f'      <Extension name="description" value={_quote(description)}/>')
        out.append(f'      <Extension name="baskets" value="{int(baskets)}"/>')
        out.append("    </Item>")
    for key, support in itemsets.items():
        out.append(
            f'    <Itemset id="{itemset_id[key]}" support="{_number(support)}"'
            f' numberOfItems="{len(key)}">'
        )
        out += [f'      <ItemRef itemRef="{item_id[c]}"/>' for c in key]
        out.append("    </Itemset>")
    for i, (antecedent, consequent, support, confidence, lift, leverage) in enumerate(
        zip(
            *(
                ordered[c].tolist()
                for c in ("antecedent", "consequent", "support", "confidence", "lift", "leverage")
            )
        ),
        start=1,
    ):
        a = itemset_id[tuple(str(x) for x in antecedent)]
        c = itemset_id[(str(consequent),)]
        out.append(
            f'    <AssociationRule id="{i}" antecedent="{a}" consequent="{c}"'
            f' support="{_number(support)}" confidence="{_number(confidence)}"'
            f' lift="{_number(lift)}" leverage="{_number(leverage)}"/>'
        )
    out += ["  </AssociationModel>", "</PMML>", ""]
    return "\n".join(out).encode("utf-8")
