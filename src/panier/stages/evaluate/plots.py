"""The tables the evaluate stage writes for `dvc plots`: ranking quality by k, and every
rule's support, confidence and lift."""

from __future__ import annotations

import pandas as pd


def metrics_by_k_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Join per-model metric tables (one row per k) into one wide table for plotting:
    ``k``, then ``<model>_<metric>`` columns."""
    wide = None
    for name, table in tables.items():
        renamed = table.rename(columns={c: f"{name}_{c}" for c in table.columns if c != "k"})
        wide = renamed if wide is None else wide.merge(renamed, on="k")
    return wide


def rules_plot_table(rules: pd.DataFrame) -> pd.DataFrame:
    """Support, confidence and lift of every rule, for the support/confidence scatter plot."""
    table = rules[["support", "confidence", "lift"]].copy()
    table.insert(
        0,
        "rule",
        [f"{' + '.join(a)} -> {c}" for a, c in zip(rules["antecedent"], rules["consequent"])],
    )
    return table
