"""The affinity graph: products joined by the baskets they share, cut into communities, and
the communities numbered as groups.

Edge weight: the phi coefficient (Pearson correlation of the two items' 0/1 basket columns),
kept only for pairs held by at least ``min_pair_count`` baskets. Lift rewards rare items (two
items seen once, together, have lift ``n``), so a lift-weighted graph is dominated by noise
among the rarest products; phi is bounded by 1, and for rare items it shrinks with the square
root of their supports, so a strong edge needs both a strong association and enough baskets.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
from scipy import sparse

from panier.core.baskets import Baskets

#: One row per edge of the graph.
EDGE_COLUMNS = ["source", "target", "count", "phi"]
#: Group number of products in no group (too small a community, or no edge at all).
UNGROUPED = 0


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


def _weighted_graph(nodes: list[str], edges: pd.DataFrame) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_weighted_edges_from(
        zip(edges["source"], edges["target"], edges["phi"].astype(float)), weight="weight"
    )
    return graph


def louvain_groups(
    nodes: list[str], edges: pd.DataFrame, resolution: float, seed: int
) -> list[list[str]]:
    """Louvain communities (networkx) of the graph ``nodes`` + ``edges`` weighted by phi.
    The graph is built in sorted order and the method seeded, so equal inputs give equal
    groups. Returns each community's sorted codes; isolated items are communities of one."""
    graph = _weighted_graph(sorted(nodes), edges)
    found = nx.community.louvain_communities(
        graph, weight="weight", resolution=resolution, seed=seed
    )
    return [sorted(community) for community in found]


def number_groups(
    nodes: list[str],
    communities: list[list[str]],
    item_baskets: dict[str, int],
    min_group_size: int,
) -> dict[str, int]:
    """Each of ``nodes`` -> its group number. Communities of at least ``min_group_size``
    products are numbered 1, 2, ... from the largest (ties: more baskets, from
    ``item_baskets``, then first code); the others' products are UNGROUPED."""
    big = [c for c in communities if len(c) >= min_group_size]
    big.sort(key=lambda c: (-len(c), -sum(item_baskets[i] for i in c), c[0]))
    group_of = {code: UNGROUPED for code in nodes}
    for number, community in enumerate(big, start=1):
        for code in community:
            group_of[code] = number
    return group_of


def modularity(nodes: list[str], edges: pd.DataFrame, communities: list[list[str]]) -> float:
    """Newman's modularity of the partition, rounded to 6 digits (0 for a graph with no
    edge)."""
    if edges.empty:
        return 0.0
    graph = _weighted_graph(nodes, edges)
    value = nx.community.modularity(graph, [set(c) for c in communities], weight="weight")
    return round(float(value), 6)
