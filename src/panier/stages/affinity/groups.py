"""Product affinity groups: which products are bought together, so should stand together.

The model's items become the nodes of a graph; two items are joined when they share enough
baskets of the training window and are positively correlated; the graph is cut into groups
with the Louvain method (networkx, seeded): see ``graph``. Here the groups become tables:
each product's group and strength in it, each group's products, share of baskets, rules and
nearest groups. Every function is pure: frames and baskets in, frames and dicts out; the
``affinity`` stage reads and writes the files (``summaries`` shapes them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from panier.core.baskets import Baskets
from panier.stages.affinity.graph import (
    UNGROUPED,
    affinity_edges,
    louvain_groups,
    modularity,
    number_groups,
)
from panier.stages.affinity.naming import group_label, item_name, rule_text

#: One row per product of the graph: its group (0: ungrouped), its strength in the group.
GROUP_ITEM_COLUMNS = ["group", "item_code", "description", "baskets", "support", "strength"]
#: One row per group.
GROUP_COLUMNS = [
    "group",
    "label",
    "size",
    "items",
    "rules_inside",
    "rules_anchored",
    "basket_share",
    "volume_share",
    "neighbours",
    "top_rules",
]


@dataclass(frozen=True)
class AffinitySettings:
    """What shapes the groups (the ``affinity`` section of params.yaml, thresholds resolved)."""

    min_pair_count: int
    min_phi: float
    resolution: float
    seed: int
    min_group_size: int
    top_rules: int
    neighbours: int


@dataclass(frozen=True)
class AffinityGroups:
    """The result: ``items`` (GROUP_ITEM_COLUMNS), ``groups`` (GROUP_COLUMNS), ``edges``
    (EDGE_COLUMNS, every edge of the graph), ``rule_groups`` (one group number per rule of the
    model, aligned with it; 0 when its items span groups), ``rule_anchors`` (the consequent's
    group when an antecedent item shares it, else 0) and ``summary`` (counts)."""

    items: pd.DataFrame
    groups: pd.DataFrame
    edges: pd.DataFrame
    rule_groups: np.ndarray
    rule_anchors: np.ndarray
    summary: dict[str, Any]


def build_groups(
    baskets: Baskets,
    items: pd.DataFrame,
    rules: pd.DataFrame,
    settings: AffinitySettings,
    min_item_count: int,
) -> AffinityGroups:
    """Affinity groups of the model's products.

    ``baskets`` are the training window's; ``items`` and ``rules`` the model's tables
    (``models/items.parquet``, ``models/rules.parquet``). The graph's nodes are the items held
    by at least ``min_item_count`` baskets (the model's frequent items). Groups are numbered
    1, 2, ... from the largest (ties: more baskets, then first code); communities smaller than
    ``settings.min_group_size`` go to group 0 (ungrouped), so every node keeps a row.
    """
    items = items.reset_index(drop=True)
    known = set(baskets.items.tolist())
    nodes = sorted(
        code
        for code in items.loc[items["baskets"] >= min_item_count, "item_code"].astype(str)
        if code in known
    )
    edges = affinity_edges(baskets, nodes, settings.min_pair_count, settings.min_phi)
    communities = louvain_groups(nodes, edges, settings.resolution, settings.seed)

    item_baskets = dict(zip(items["item_code"].astype(str), items["baskets"].astype(int)))
    group_of = number_groups(nodes, communities, item_baskets, settings.min_group_size)

    strength = _strength(edges, group_of)
    table = items[items["item_code"].astype(str).isin(group_of)].copy()
    table["item_code"] = table["item_code"].astype(str)
    table["group"] = table["item_code"].map(group_of).astype("int64")
    table["strength"] = table["item_code"].map(strength).fillna(0.0).astype("float64")
    table = table.sort_values(
        ["group", "strength", "baskets", "item_code"],
        ascending=[True, False, False, True],
        kind="stable",
        ignore_index=True,
    )
    # Ungrouped last: group 0 sorts first numerically, so move it.
    table = pd.concat(
        [table[table["group"] != UNGROUPED], table[table["group"] == UNGROUPED]], ignore_index=True
    )[GROUP_ITEM_COLUMNS]

    rule_groups = rule_group_numbers(rules, group_of)
    rule_anchors = rule_anchor_groups(rules, group_of)
    groups = _group_rows(baskets, table, rules, rule_groups, edges, group_of, settings)
    summary = {
        "nodes": len(nodes),
        "edges": len(edges),
        "groups": len(groups),
        "grouped_items": int((table["group"] != UNGROUPED).sum()),
        "ungrouped_items": int((table["group"] == UNGROUPED).sum()),
        # Not "rules": metrics/train.json has that name, and `dvc exp show` would drop both.
        "model_rules": len(rules),
        "rules_inside_groups": int((rule_groups != UNGROUPED).sum()),
        "rules_anchored_in_groups": int((rule_anchors != UNGROUPED).sum()),
        "modularity": modularity(nodes, edges, communities),
    }
    return AffinityGroups(table, groups, edges, rule_groups, rule_anchors, summary)


def _strength(edges: pd.DataFrame, group_of: dict[str, int]) -> dict[str, float]:
    """Each item's summed phi to the other items of its own group."""
    inside = [
        group_of[s] == group_of[t] != UNGROUPED for s, t in zip(edges["source"], edges["target"])
    ]
    kept = edges[np.asarray(inside, dtype=bool)] if len(edges) else edges
    both = pd.concat(
        [
            kept[["source", "phi"]].rename(columns={"source": "item"}),
            kept[["target", "phi"]].rename(columns={"target": "item"}),
        ]
    )
    return both.groupby("item")["phi"].sum().to_dict()


def rule_group_numbers(rules: pd.DataFrame, group_of: dict[str, int]) -> np.ndarray:
    """For each rule, the group holding all its items (antecedent and consequent), else 0."""
    numbers = np.zeros(len(rules), dtype=np.int64)
    for position, (antecedent, consequent) in enumerate(
        zip(rules["antecedent"], rules["consequent"])
    ):
        found = {group_of.get(str(code), UNGROUPED) for code in antecedent}
        found.add(group_of.get(str(consequent), UNGROUPED))
        if len(found) == 1:
            numbers[position] = found.pop()
    return numbers


def rule_anchor_groups(rules: pd.DataFrame, group_of: dict[str, int]) -> np.ndarray:
    """For each rule, its consequent's group when at least one antecedent item shares it
    (the rule's products can stand on one shelf with its consequent), else 0."""
    numbers = np.zeros(len(rules), dtype=np.int64)
    for position, (antecedent, consequent) in enumerate(
        zip(rules["antecedent"], rules["consequent"])
    ):
        target = group_of.get(str(consequent), UNGROUPED)
        if target != UNGROUPED and any(group_of.get(str(a)) == target for a in antecedent):
            numbers[position] = target
    return numbers


def _group_rows(
    baskets: Baskets,
    table: pd.DataFrame,
    rules: pd.DataFrame,
    rule_groups: np.ndarray,
    edges: pd.DataFrame,
    group_of: dict[str, int],
    settings: AffinitySettings,
) -> pd.DataFrame:
    grouped = table[table["group"] != UNGROUPED]
    numbers = sorted(grouped["group"].unique().tolist())
    if not numbers:
        return pd.DataFrame({c: [] for c in GROUP_COLUMNS})

    # Baskets touching each group and item occurrences of each group, in one product.
    column_of = {code: i for i, code in enumerate(baskets.items.tolist())}
    cols = np.array([column_of[c] for c in grouped["item_code"]], dtype=np.int64)
    membership = sparse.csr_matrix(
        (np.ones(len(cols), dtype=np.int32), (cols, grouped["group"].to_numpy() - 1)),
        shape=(len(baskets.items), len(numbers)),
    )
    per_basket = baskets.matrix.astype(np.int32) @ membership
    n = max(baskets.n_baskets, 1)
    occurrences = max(int(baskets.matrix.nnz), 1)
    basket_share = np.asarray((per_basket > 0).sum(axis=0)).ravel() / n
    volume_share = np.asarray(per_basket.sum(axis=0)).ravel() / occurrences

    # Phi summed over the edges between two groups: how near their shelves should be.
    between: dict[tuple[int, int], float] = {}
    for s, t, phi in zip(edges["source"], edges["target"], edges["phi"]):
        a, b = group_of[s], group_of[t]
        if a != b and a != UNGROUPED and b != UNGROUPED:
            key = (min(a, b), max(a, b))
            between[key] = between.get(key, 0.0) + float(phi)

    anchored = rule_anchor_groups(rules, group_of)
    strongest = rules.assign(_group=rule_groups, _rank=np.arange(len(rules)))
    strongest = strongest[strongest["_group"] != UNGROUPED].sort_values(
        ["_group", "lift", "confidence", "support", "_rank"],
        ascending=[True, False, False, False, True],
        kind="stable",
    )
    rows = []
    for number in numbers:
        members = grouped[grouped["group"] == number]
        descriptions = [
            item_name(code, text)
            for code, text in zip(members["item_code"], members["description"])
        ]
        near = sorted(
            (
                (weight, other)
                for (a, b), weight in between.items()
                for other in ((b,) if a == number else (a,) if b == number else ())
            ),
            key=lambda pair: (-pair[0], pair[1]),
        )[: settings.neighbours]
        inside = strongest[strongest["_group"] == number]
        top = [
            {
                "rule": rule_text(r.antecedent, r.consequent),
                "support": float(r.support),
                "confidence": float(r.confidence),
                "lift": float(r.lift),
            }
            for r in inside.head(settings.top_rules).itertuples()
        ]
        rows.append(
            {
                "group": number,
                "label": group_label(descriptions),
                "size": len(members),
                "items": [
                    {"item_code": code, "description": text}
                    for code, text in zip(members["item_code"], members["description"].astype(str))
                ],
                "rules_inside": len(inside),
                "rules_anchored": int((anchored == number).sum()),
                "basket_share": float(basket_share[number - 1]),
                "volume_share": float(volume_share[number - 1]),
                "neighbours": [
                    {"group": other, "weight": round(weight, 6)} for weight, other in near
                ],
                "top_rules": top,
            }
        )
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)
