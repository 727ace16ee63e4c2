"""Product affinity groups: which products are bought together, so should stand together.

The model's items become the nodes of a graph; two items are joined when they share enough
baskets of the training window and are positively correlated; the graph is cut into groups
with the Louvain method (networkx, seeded). Every function here is pure: frames and baskets
in, frames and dicts out; the ``affinity`` stage reads and writes the files.

Edge weight: the phi coefficient (Pearson correlation of the two items' 0/1 basket columns),
kept only for pairs held by at least ``min_pair_count`` baskets. Lift rewards rare items (two
items seen once, together, have lift ``n``), so a lift-weighted graph is dominated by noise
among the rarest products; phi is bounded by 1, and for rare items it shrinks with the square
root of their supports, so a strong edge needs both a strong association and enough baskets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy import sparse

from panier.core.baskets import Baskets

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
#: One row per edge of the graph.
EDGE_COLUMNS = ["source", "target", "count", "phi"]
#: Group number of products in no group (too small a community, or no edge at all).
UNGROUPED = 0


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


def affinity_edges(
    baskets: Baskets, nodes: list[str], min_pair_count: int, min_phi: float
) -> pd.DataFrame:
    """Edges between the items ``nodes`` (codes present in ``baskets``): every pair held by
    at least ``min_pair_count`` baskets whose phi coefficient is at least ``min_phi`` (and
    above 0). Returns EDGE_COLUMNS with ``source < target`` (codes), sorted by them."""
    n = baskets.n_baskets
    columns = np.searchsorted(baskets.items, np.asarray(nodes, dtype=object))
    matrix = baskets.matrix[:, columns].astype(np.int32)
    item_counts = np.asarray(matrix.sum(axis=0)).ravel().astype(np.float64)
    pairs = sparse.triu(matrix.T @ matrix, k=1).tocoo()
    keep = pairs.data >= min_pair_count
    rows, cols, counts = pairs.row[keep], pairs.col[keep], pairs.data[keep].astype(np.int64)
    a, b = item_counts[rows], item_counts[cols]
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = (n * counts - a * b) / np.sqrt(a * b * (n - a) * (n - b))
    phi = np.nan_to_num(phi, nan=0.0)
    keep = (phi > 0) & (phi >= min_phi)
    codes = np.asarray(nodes, dtype=object)
    edges = pd.DataFrame(
        {
            "source": codes[rows[keep]],
            "target": codes[cols[keep]],
            "count": counts[keep],
            "phi": phi[keep],
        }
    )
    # Node order follows sorted codes, so source < target already; sort for a stable file.
    return edges.sort_values(["source", "target"], ignore_index=True)[EDGE_COLUMNS]


def louvain_groups(
    nodes: list[str], edges: pd.DataFrame, resolution: float, seed: int
) -> list[list[str]]:
    """Louvain communities (networkx) of the graph ``nodes`` + ``edges`` weighted by phi.
    The graph is built in sorted order and the method seeded, so equal inputs give equal
    groups. Returns each community's sorted codes; isolated items are communities of one."""
    graph = nx.Graph()
    graph.add_nodes_from(sorted(nodes))
    graph.add_weighted_edges_from(
        zip(edges["source"], edges["target"], edges["phi"].astype(float)), weight="weight"
    )
    found = nx.community.louvain_communities(
        graph, weight="weight", resolution=resolution, seed=seed
    )
    return [sorted(community) for community in found]


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
    big = [c for c in communities if len(c) >= settings.min_group_size]
    big.sort(key=lambda c: (-len(c), -sum(item_baskets[i] for i in c), c[0]))
    group_of = {code: UNGROUPED for code in nodes}
    for number, community in enumerate(big, start=1):
        for code in community:
            group_of[code] = number

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
        "modularity": _modularity(nodes, edges, communities),
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


def rule_text(antecedent: Any, consequent: str) -> str:
    """``a + b -> c``: how a rule is written in tables and reports."""
    return f"{' + '.join(map(str, antecedent))} -> {consequent}"


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
            _name(code, text) for code, text in zip(members["item_code"], members["description"])
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
                "label": _label(descriptions),
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


def _name(code: str, description: Any) -> str:
    text = str(description) if description is not None and str(description) != "nan" else ""
    return text.strip() or code


def _label(descriptions: list[str], shown: int = 3) -> str:
    """The group's name: its strongest products, then how many more."""
    label = ", ".join(descriptions[:shown])
    rest = len(descriptions) - shown
    return f"{label} (+{rest})" if rest > 0 else label


def _modularity(nodes: list[str], edges: pd.DataFrame, communities: list[list[str]]) -> float:
    """Newman's modularity of the partition (0 for a graph with no edge)."""
    if edges.empty:
        return 0.0
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_weighted_edges_from(
        zip(edges["source"], edges["target"], edges["phi"].astype(float)), weight="weight"
    )
    value = nx.community.modularity(graph, [set(c) for c in communities], weight="weight")
    return round(float(value), 6)


# ---------------------------------------------------------------------------------------------
# Files and reports


def groups_json(result: AffinityGroups, settings: AffinitySettings) -> dict[str, Any]:
    """The groups as one JSON document (settings, summary, groups with their products)."""
    return {
        "settings": {
            "min_pair_count": settings.min_pair_count,
            "min_phi": settings.min_phi,
            "resolution": settings.resolution,
            "seed": settings.seed,
            "min_group_size": settings.min_group_size,
            "method": "louvain (networkx), edges weighted by phi",
        },
        "summary": result.summary,
        "groups": result.groups.to_dict(orient="records"),
        "ungrouped": result.items.loc[result.items["group"] == UNGROUPED, "item_code"].tolist(),
    }


def group_sets(items: pd.DataFrame) -> dict[int, frozenset[str]]:
    """Group number -> its item codes, from a GROUP_ITEM_COLUMNS table (group 0 left out)."""
    grouped = items[items["group"] != UNGROUPED]
    return {
        int(number): frozenset(frame["item_code"].astype(str))
        for number, frame in grouped.groupby("group", sort=True)
    }


@dataclass(frozen=True)
class GroupChanges:
    """Groups of two revisions, matched by their products. ``matched`` pairs base and head
    group numbers with their Jaccard similarity; ``gained``/``lost`` are unmatched numbers."""

    base: dict[int, frozenset[str]]
    head: dict[int, frozenset[str]]
    matched: list[tuple[int, int, float]]
    gained: list[int]
    lost: list[int]

    @property
    def changed(self) -> list[tuple[int, int, float]]:
        return [m for m in self.matched if self.base[m[0]] != self.head[m[1]]]


def compare_groups(
    base: pd.DataFrame, head: pd.DataFrame, min_jaccard: float = 0.5
) -> GroupChanges:
    """Match the groups of two item tables (GROUP_ITEM_COLUMNS). Group numbers mean nothing
    across revisions, so groups are paired greedily by Jaccard similarity of their item sets
    (highest first; ties by group numbers); a pair needs at least ``min_jaccard``. Head groups
    left over are gained, base groups left over are lost."""
    old, new = group_sets(base), group_sets(head)
    candidates = []
    for a, items_a in old.items():
        for b, items_b in new.items():
            shared = len(items_a & items_b)
            if shared:
                jaccard = shared / len(items_a | items_b)
                if jaccard >= min_jaccard:
                    candidates.append((-jaccard, a, b))
    candidates.sort()
    used_a: set[int] = set()
    used_b: set[int] = set()
    matched = []
    for negative, a, b in candidates:
        if a not in used_a and b not in used_b:
            used_a.add(a)
            used_b.add(b)
            matched.append((a, b, -negative))
    matched.sort(key=lambda m: m[1])
    return GroupChanges(old, new, matched, sorted(set(new) - used_b), sorted(set(old) - used_a))


def _codes(codes: frozenset[str] | set[str], shown: int = 8) -> str:
    ordered = sorted(codes)
    text = ", ".join(f"`{c}`" for c in ordered[:shown])
    return text + (f" and {len(ordered) - shown} more" if len(ordered) > shown else "")


def changes_markdown(
    changes: GroupChanges, base_label: str = "base", head_label: str = "this branch", top: int = 5
) -> str:
    """Markdown for the PR comment: how many groups each side has, then the groups gained,
    lost and changed (products moved in and out), at most ``top`` of each."""
    lines = [
        f"{len(changes.base)} affinity groups on `{base_label}`, {len(changes.head)} on "
        f"{head_label}: {len(changes.gained)} gained, {len(changes.lost)} lost, "
        f"{len(changes.changed)} changed, "
        f"{len(changes.matched) - len(changes.changed)} unchanged."
    ]
    sections = (
        (
            "Gained",
            [(f"{b}", f"{len(changes.head[b])}", _codes(changes.head[b])) for b in changes.gained],
        ),
        (
            "Lost",
            [(f"{a}", f"{len(changes.base[a])}", _codes(changes.base[a])) for a in changes.lost],
        ),
    )
    for title, rows in sections:
        if rows:
            lines += [
                "",
                f"**{title}** ({min(top, len(rows))} of {len(rows)})",
                "",
                "| group | products | items |",
                "|--:|--:|---|",
            ]
            lines += [f"| {g} | {n} | {codes} |" for g, n, codes in rows[:top]]
    changed = sorted(changes.changed, key=lambda m: (m[2], m[1]))
    if changed:
        lines += [
            "",
            f"**Changed** ({min(top, len(changed))} of {len(changed)}, least similar first)",
            "",
            "| group (base -> head) | similarity | products in | products out |",
            "|---|--:|---|---|",
        ]
        for a, b, jaccard in changed[:top]:
            moved_in = changes.head[b] - changes.base[a]
            moved_out = changes.base[a] - changes.head[b]
            lines.append(
                f"| {a} -> {b} | {jaccard:.2f} | {_codes(moved_in) or '-'} | "
                f"{_codes(moved_out) or '-'} |"
            )
    return "\n".join(lines) + "\n"


def summary_markdown(result: AffinityGroups, top: int = 10) -> str:
    """This revision's groups as Markdown: a headline and the largest ``top`` groups."""
    s = result.summary
    lines = [
        "# Affinity groups",
        "",
        f"{s['groups']} groups hold {s['grouped_items']} of {s['nodes']} products "
        f"({s['ungrouped_items']} ungrouped); {s['rules_inside_groups']} of "
        f"{s['model_rules']} rules lie inside one group and "
        f"{s['rules_anchored_in_groups']} have their consequent in the group of an "
        f"antecedent item; {s['edges']} edges, modularity {s['modularity']:.3f}.",
        "",
    ]
    if result.groups.empty:
        return "\n".join(lines)
    lines += [
        "| group | products | baskets touched | rules inside | strongest rule | nearest groups |",
        "|--:|---|--:|--:|---|---|",
    ]
    for row in result.groups.head(top).itertuples():
        rule = row.top_rules[0]["rule"] if row.top_rules else "-"
        near = ", ".join(str(n["group"]) for n in row.neighbours) or "-"
        lines.append(
            f"| {row.group} | {_md(row.label)} ({row.size}) | "
            f"{row.basket_share:.1%} | {row.rules_inside} | `{rule}` | {near} |"
        )
    if len(result.groups) > top:
        lines.append(f"\n{len(result.groups) - top} smaller groups are in the explorer.")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")
