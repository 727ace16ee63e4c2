"""The served model on a window: its answers (rules first, then the most popular items) and
its top-k metrics, holdout against current, with bootstrap intervals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from panier.core.baskets import Baskets
from panier.core.evaluation import leave_one_out, rank_hidden
from panier.core.recommend import FallbackRecommender, PopularityRecommender, RuleRecommender

TOP_K_METRICS = ("hit_rate", "ndcg", "mrr")


def serving_model(rules: pd.DataFrame, items: pd.DataFrame) -> FallbackRecommender:
    """What the serving application answers: rules first, then the most popular items."""
    return FallbackRecommender(
        RuleRecommender(rules), PopularityRecommender(items.set_index("item_code")["baskets"])
    )


def hidden_ranks(model: FallbackRecommender, baskets: Baskets, seed: int, k: int) -> np.ndarray:
    """Leave-one-out, as the evaluate stage does: per basket of two or more items, the rank
    (1..k, 0 = missed) of one hidden item among the model's top ``k`` for the rest."""
    ranks, _ = rank_hidden(model, leave_one_out(baskets.as_lists(), seed), k)
    return ranks


def _metric_weights(ks: list[int]) -> tuple[list[str], np.ndarray]:
    """Each top-k metric as a weight per rank 0..max(ks): a metric is then the mean weight
    of the cases' ranks, and a bootstrap resample is a draw of rank counts."""
    top = max(ks)
    rank = np.arange(top + 1)
    safe = np.maximum(rank, 1)
    names, rows = [], []
    for k in sorted(ks):
        hit = (rank >= 1) & (rank <= k)
        for metric, weights in (
            ("hit_rate", hit * 1.0),
            ("ndcg", hit / np.log2(safe + 1.0)),
            ("mrr", hit / safe),
        ):
            names.append(f"{metric}@{k}")
            rows.append(weights)
    return names, np.array(rows).T  # (ranks x metrics)


def top_k_comparison(
    holdout_ranks: np.ndarray,
    current_ranks: np.ndarray,
    ks: list[int],
    samples: int,
    seed: int,
    level: float,
) -> dict[str, dict]:
    """Top-k metrics on the holdout and the current window, their difference, and a
    percentile bootstrap interval of each and of the difference.

    Every metric is a mean over cases of a function of the hidden item's rank, so resampling
    cases with replacement is the same as drawing the count of each rank from a multinomial:
    exact, and cheap at any number of cases.
    """
    names, weights = _metric_weights(ks)
    top = max(ks)
    rng = np.random.default_rng(seed)
    alpha = (1 - level) / 2
    out = {}
    draws, points = {}, {}
    for window, ranks in (("holdout", holdout_ranks), ("current", current_ranks)):
        n = max(len(ranks), 1)
        counts = np.bincount(np.minimum(ranks, top), minlength=top + 1).astype(float)
        points[window] = counts @ weights / n
        if len(ranks):
            draws[window] = (
                rng.multinomial(len(ranks), counts / len(ranks), size=samples) @ weights / n
            )
        else:
            draws[window] = np.zeros((samples, len(names)))
    difference = draws["current"] - draws["holdout"]
    for j, name in enumerate(names):
        entry: dict[str, Any] = {}
        for window in ("holdout", "current"):
            low, high = np.quantile(draws[window][:, j], [alpha, 1 - alpha])
            entry[window] = float(points[window][j])
            entry[f"{window}_ci"] = [float(low), float(high)]
        low, high = np.quantile(difference[:, j], [alpha, 1 - alpha])
        entry["difference"] = entry["current"] - entry["holdout"]
        entry["difference_ci"] = [float(low), float(high)]
        out[name] = entry
    return out
