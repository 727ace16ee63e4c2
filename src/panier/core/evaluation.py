"""Offline evaluation of a recommender by leave-one-out on held-out baskets.

For each test basket with at least two items, one item drawn at random is hidden and the
recommender is asked for ``k`` items given the rest. With one hidden item per basket,
recall@k equals hit rate@k and precision@k is hit rate@k divided by k.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd


class Recommender(Protocol):
    def recommend(self, basket: Sequence[str], k: int) -> list[str]: ...


@dataclass(frozen=True)
class Cases:
    """Leave-one-out cases: the visible part of each basket and the hidden item."""

    visible: list[list[str]]
    hidden: list[str]

    def __len__(self) -> int:
        return len(self.hidden)


def leave_one_out(baskets: Sequence[Sequence[str]], seed: int) -> Cases:
    """Hide one random item of every basket that has at least two."""
    rng = np.random.default_rng(seed)
    visible, hidden = [], []
    for basket in baskets:
        if len(basket) < 2:
            continue
        items = sorted(basket)
        position = int(rng.integers(len(items)))
        hidden.append(items[position])
        visible.append(items[:position] + items[position + 1 :])
    return Cases(visible, hidden)


def rank_hidden(recommender: Recommender, cases: Cases, k: int) -> tuple[np.ndarray, list]:
    """For each case, the 1-based rank of the hidden item in the top ``k`` (0 if absent),
    and the recommendation lists."""
    ranks = np.zeros(len(cases), dtype=np.int64)
    lists = []
    for i, (visible, hidden) in enumerate(zip(cases.visible, cases.hidden)):
        recommended = recommender.recommend(visible, k)
        lists.append(recommended)
        if hidden in recommended:
            ranks[i] = recommended.index(hidden) + 1
    return ranks, lists


def ranking_metrics(ranks: np.ndarray, k: int) -> dict[str, float]:
    """Hit rate, precision, recall, MRR and NDCG at ``k`` from 1-based ranks (0 = miss)."""
    if ranks.size == 0:
        return {m: 0.0 for m in ("hit_rate", "precision", "recall", "mrr", "ndcg")}
    hit = (ranks > 0) & (ranks <= k)
    safe = np.where(hit, ranks, 1)
    return {
        "hit_rate": float(hit.mean()),
        "precision": float(hit.mean() / k),
        "recall": float(hit.mean()),
        "mrr": float(np.where(hit, 1.0 / safe, 0.0).mean()),
        "ndcg": float(np.where(hit, 1.0 / np.log2(safe + 1.0), 0.0).mean()),
    }


def evaluate(
    recommender: Recommender, cases: Cases, ks: Sequence[int], n_catalog: int
) -> tuple[dict[str, float], pd.DataFrame]:
    """Metrics at every k in ``ks`` plus coverage and the share of empty answers.

    Returns a flat dict (``hit_rate@5``, ``coverage@5``, ..., ``no_recommendation_share``)
    and a long table with one row per k for plotting.
    """
    top = max(ks)
    ranks, lists = rank_hidden(recommender, cases, top)
    flat: dict[str, float] = {}
    rows = []
    for k in sorted(ks):
        metrics = ranking_metrics(ranks, k)
        recommended = {item for items in lists for item in items[:k]}
        metrics["coverage"] = len(recommended) / n_catalog if n_catalog else 0.0
        rows.append({"k": k, **metrics})
        flat.update({f"{name}@{k}": value for name, value in metrics.items()})
    flat["no_recommendation_share"] = (
        float(np.mean([not items for items in lists])) if lists else 0.0
    )
    flat["cases"] = len(cases)
    return flat, pd.DataFrame(rows)
