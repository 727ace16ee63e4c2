"""The comment's plots, as text charts (``core.markdown.bar_chart``) so that no image is
uploaded anywhere: a metric by k, and the rules by confidence, base and branch bars side by
side. Only the figures that moved by ``MIN_PLOTTED_CHANGE`` or more are drawn. Pure: tables in,
text out (empty when nothing moved)."""

from __future__ import annotations

import pandas as pd

from panier.core.markdown import bar_chart
from panier.ops.pr_report.formatting import short
from panier.ops.pr_report.model import RECOMMENDERS

#: Bars are drawn only for figures that moved by at least this share of the base's value.
MIN_PLOTTED_CHANGE = 0.01


def moved_enough(
    old: float | None, new: float | None, threshold: float = MIN_PLOTTED_CHANGE
) -> bool:
    """Whether a plotted figure moved enough to draw: by at least ``threshold`` of the base's
    value, or appeared, or left zero. A missing new value is never drawn."""
    if new is None:
        return False
    if old is None:
        return True
    if old == 0:
        return new != 0
    return abs(new - old) / abs(old) >= threshold


def metric_by_k_chart(
    base: pd.DataFrame | None, head: pd.DataFrame | None, metric: str, base_label: str
) -> str:
    """``metric`` by k for each recommender, base and branch bars next to each other; only
    the (k, recommender) pairs that moved by ``MIN_PLOTTED_CHANGE`` or more. In: each side's
    ``metrics/plots/metrics_by_k.csv``. Empty when none moved."""
    if head is None:
        return ""
    rows: list[tuple[str, float | None]] = []
    base_by_k = base.set_index("k") if base is not None else None
    for k in head["k"]:
        for recommender in RECOMMENDERS:
            column = f"{recommender}_{metric}"
            if column not in head.columns:
                continue
            old = None
            if base_by_k is not None and column in base_by_k.columns and k in base_by_k.index:
                old = float(base_by_k.loc[k, column])
            new = float(head.loc[head["k"] == k, column].iloc[0])
            if not moved_enough(old, new):
                continue
            rows.append((f"k={k:<2} {recommender:<10} {short(base_label)}", old))
            rows.append((f"{'':4} {'':<10} {short('branch')}", new))
    return bar_chart(rows) if rows else ""


def confidence_histogram(
    base: pd.DataFrame | None, head: pd.DataFrame | None, base_label: str, bins: int = 10
) -> str:
    """How many rules fall in each tenth of confidence, base and branch side by side; only
    the bins whose count moved by ``MIN_PLOTTED_CHANGE`` or more. In: each side's rule
    table. Empty when none moved."""
    if head is None:
        return ""
    edges = [i / bins for i in range(bins + 1)]

    def counts(frame: pd.DataFrame) -> list[int]:
        cut = pd.cut(frame["confidence"].clip(0, 1), edges, include_lowest=True, right=False)
        # The last bin is closed on the right: a confidence of 1.0 belongs to 0.9-1.0.
        cut = cut.fillna(pd.Interval(edges[-2], edges[-1], closed="left"))
        return cut.value_counts(sort=False).reindex(cut.cat.categories, fill_value=0).tolist()

    old, new = (counts(base) if base is not None else None), counts(head)
    rows: list[tuple[str, float | None]] = []
    for i in range(bins):
        before = float(old[i]) if old else None
        if not moved_enough(before, float(new[i])):
            continue
        span = f"{edges[i]:.1f}-{edges[i + 1]:.1f}"
        rows.append((f"{span} {short(base_label)}", before))
        rows.append((f"{'':7} {short('branch')}", float(new[i])))
    return bar_chart(rows, digits=0) if rows else ""
