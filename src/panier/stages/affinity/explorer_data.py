"""What the rules explorer embeds: the model's rules, products, groups and the edges inside
them as compact JSON-ready rows, and the overview graph's layout.

Pure functions of the rules table and the affinity result; floats are rounded so the page
built from them (``explorer``) is identical for equal inputs.
"""

from __future__ import annotations

import math
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from panier.stages.affinity.graph import UNGROUPED
from panier.stages.affinity.groups import AffinityGroups

#: Most edges drawn inside one group's page (the strongest by phi).
MAX_GROUP_EDGES = 300
GRAPH_SIZE = 640


def _num(value: float, digits: int = 6) -> float | None:
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def group_layout(result: AffinityGroups, seed: int) -> dict[str, list[float]]:
    """Positions (pixels in a GRAPH_SIZE square) of the groups in the overview graph: a
    seeded spring layout of the groups, joined by their summed between-group phi."""
    graph = nx.Graph()
    numbers = result.groups["group"].astype(int).tolist()
    graph.add_nodes_from(numbers)
    for row in result.groups.itertuples():
        for neighbour in row.neighbours:
            graph.add_edge(
                int(row.group), int(neighbour["group"]), weight=float(neighbour["weight"])
            )
    if not numbers:
        return {}
    if len(numbers) == 1:
        return {str(numbers[0]): [GRAPH_SIZE / 2, GRAPH_SIZE / 2]}
    # k: the springs' rest length, longer than networkx's default so that circles keep apart.
    raw = nx.spring_layout(graph, seed=seed, weight="weight", k=3 / math.sqrt(len(numbers)))
    xy = np.array([raw[n] for n in numbers])
    low, high = xy.min(axis=0), xy.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    margin = 110  # room for the labels under the circles
    scaled = margin + (xy - low) / span * (GRAPH_SIZE - 2 * margin)
    return {str(n): [round(float(x), 1), round(float(y), 1)] for n, (x, y) in zip(numbers, scaled)}


def explorer_data(
    rules: pd.DataFrame, result: AffinityGroups, title: str, seed: int
) -> dict[str, Any]:
    """What the page embeds: rules as compact rows, products, groups, edges inside groups
    and the overview layout. Floats rounded to 6 digits, so the JSON is stable."""
    rule_rows = [
        [list(map(str, a)), str(c), _num(s), _num(cf), _num(lf), int(n), int(g), int(h)]
        for a, c, s, cf, lf, n, g, h in zip(
            rules["antecedent"],
            rules["consequent"],
            rules["support"],
            rules["confidence"],
            rules["lift"],
            rules["count"],
            result.rule_groups,
            result.rule_anchors,
        )
    ]
    items = {
        str(code): [str(text) if text is not None else "", int(group), int(baskets)]
        for code, text, group, baskets in zip(
            result.items["item_code"],
            result.items["description"],
            result.items["group"],
            result.items["baskets"],
        )
    }
    group_of = dict(zip(result.items["item_code"], result.items["group"]))
    inside = result.edges[
        np.array(
            [
                group_of.get(s) == group_of.get(t) != UNGROUPED
                for s, t in zip(result.edges["source"], result.edges["target"])
            ],
            dtype=bool,
        )
    ]
    inside = inside.assign(_g=inside["source"].map(group_of))
    edges: dict[str, list[list[Any]]] = {}
    for number, frame in inside.groupby("_g", sort=True):
        frame = frame.sort_values(
            ["phi", "source", "target"], ascending=[False, True, True], kind="stable"
        ).head(MAX_GROUP_EDGES)
        edges[str(int(number))] = [
            [s, t, _num(p, 4)] for s, t, p in zip(frame["source"], frame["target"], frame["phi"])
        ]
    groups = []
    for row in result.groups.to_dict(orient="records"):
        row = dict(row)
        row["basket_share"] = _num(row["basket_share"])
        row["volume_share"] = _num(row["volume_share"])
        row["items"] = [item["item_code"] for item in row["items"]]
        row["top_rules"] = [
            {k: (_num(v) if isinstance(v, float) else v) for k, v in r.items()}
            for r in row["top_rules"]
        ]
        groups.append(row)
    return {
        "title": title,
        "summary": result.summary,
        "rules": rule_rows,
        "items": items,
        "groups": groups,
        "edges": edges,
        "layout": group_layout(result, seed),
        "size": GRAPH_SIZE,
    }
