"""The rules of both sides: one key per rule whichever file they come from, what was gained,
lost and kept, and a rule in words. Pure: tables in, tables or text out."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from panier.ops.pr_report.formatting import code
from panier.ops.pr_report.model import RuleChanges


def rule_key(antecedent: Iterable[str], consequent: str) -> str:
    """The key of a rule, "A + B -> C" with the antecedent's items sorted."""
    return f"{' + '.join(sorted(map(str, antecedent)))} -> {consequent}"


def rules_from_model(frame: pd.DataFrame) -> pd.DataFrame:
    """``models/rules.parquet`` -> the rule table (``rule``, support, confidence, lift)."""
    keys = [rule_key(a, c) for a, c in zip(frame["antecedent"], frame["consequent"])]
    table = pd.DataFrame(
        {
            "rule": keys,
            "support": frame["support"].astype(float),
            "confidence": frame["confidence"].astype(float),
            "lift": frame["lift"].astype(float),
        }
    )
    return table.drop_duplicates("rule").reset_index(drop=True)


def rules_from_plot(frame: pd.DataFrame) -> pd.DataFrame:
    """``metrics/plots/rules.csv`` ("A + B -> C" strings) -> the same rule table."""

    def normalise(text: str) -> str:
        antecedent, consequent = str(text).split(" -> ")
        return rule_key(antecedent.split(" + "), consequent)

    table = frame[["rule", "support", "confidence", "lift"]].copy()
    table["rule"] = table["rule"].map(normalise)
    return table.drop_duplicates("rule").reset_index(drop=True)


def compare_rules(base: pd.DataFrame, head: pd.DataFrame) -> RuleChanges:
    """Rules gained, lost and kept between two rule tables. Gained and lost are ordered by
    support (the rules that touch most baskets first), kept by rule."""
    merged = base.merge(head, on="rule", how="outer", suffixes=("_base", "_head"), indicator=True)
    gained = merged[merged["_merge"] == "right_only"]
    lost = merged[merged["_merge"] == "left_only"]
    kept = merged[merged["_merge"] == "both"].copy()
    kept["delta"] = kept["confidence_head"] - kept["confidence_base"]

    def by_support(frame: pd.DataFrame, side: str) -> pd.DataFrame:
        frame = frame.rename(columns={f"{c}_{side}": c for c in ("support", "confidence", "lift")})
        return frame.sort_values(["support", "rule"], ascending=[False, True], ignore_index=True)[
            ["rule", "support", "confidence", "lift"]
        ]

    return RuleChanges(
        gained=by_support(gained, "head"),
        lost=by_support(lost, "base"),
        kept=kept.sort_values("rule", ignore_index=True),
    )


def item_names(*tables: pd.DataFrame | None) -> dict[str, str]:
    """Item code -> description from ``models/items.parquet`` tables; earlier tables win."""
    names: dict[str, str] = {}
    for table in tables:
        if table is None or "description" not in table.columns:
            continue
        for item, text in zip(table["item_code"].astype(str), table["description"]):
            if isinstance(text, str) and text.strip():
                names.setdefault(item, text.strip())
    return names


def describe_rule(rule: str, names: dict[str, str]) -> str:
    """A rule key ("A + B -> C") in words: each product by its description with its code
    beside, e.g. "RED STORAGE TIN (`10001`) + ... → ...". Codes without a description stay
    bare. In: the key and a code -> description map. Out: Markdown for a table cell."""
    antecedent, consequent = rule.split(" -> ")

    def one(item: str) -> str:
        name = names.get(item)
        return f"{code(name)} (`{code(item)}`)" if name else f"`{code(item)}`"

    return " + ".join(one(c) for c in antecedent.split(" + ")) + " → " + one(consequent)
