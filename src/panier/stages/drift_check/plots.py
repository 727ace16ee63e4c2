"""Plot data for drift-check: the distribution overlays (reference against current window)
that ``dvc plots show`` renders from ``metrics/plots/drift/``, and the report and dashboard
chart. Pure functions of the report and the window summaries: equal inputs, equal tables.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from panier.core import schema as S
from panier.stages.drift_check.result import DriftResult
from panier.stages.drift_check.summary import NUMERIC_FEATURES, WindowSummary

# Plot file stem -> what it shows; dvc.yaml declares one plot per file.
PLOTS = {
    "unit_price": "share of rows by unit price",
    "quantity": "share of rows by quantity",
    "basket_size": "share of baskets by number of items",
    "basket_value": "share of baskets by value",
    "country": "share of invoices by country",
    "items": "share of baskets holding each of the most changed items",
    "rules": "confidence of each tested rule: as trained and on the current window",
}
_BINS = 30  # bins of a continuous feature; a whole-number one gets at most _MAX_BINS
_MAX_BINS = 40
_TOP_ITEMS = 20
_DISCRETE = ("quantity", "basket_size")
FEATURE_OF_PLOT = {f: ("numeric", f) for f in NUMERIC_FEATURES}
FEATURE_OF_PLOT["country"] = ("categorical", S.COUNTRY)


def _edges(feature: str, ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """Bin edges covering both windows (so a shift past the reference range still shows),
    cut at the 0.5th and 99.5th percentiles so that a few extreme values do not squash the
    plot; whole-number features get bins of whole numbers, one value per bin while at most
    ``_MAX_BINS`` are needed, else as many values per bin as keep them within it."""
    both = np.concatenate([ref, cur]) if cur.size else ref
    low, high = np.quantile(both, [0.005, 0.995])
    if feature in _DISCRETE:
        low, high = math.floor(low), max(math.ceil(high), math.floor(low) + 1)
        width = max(1, math.ceil((high - low + 1) / _MAX_BINS))
        return np.arange(low, high + width + 1, width) - 0.5
    if high <= low:
        high = low + 1.0
    return np.linspace(low, high, _BINS + 1)


def _histogram(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    if values.size == 0:
        return np.full(len(edges) - 1, np.nan)
    counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
    return counts / values.size


def numeric_table(feature: str, ref: WindowSummary, cur: WindowSummary) -> pd.DataFrame:
    """Share of units per bin in each window (current empty when it lacks the feature)."""
    ref_values = ref.numeric[feature]
    ref_values = ref_values[~np.isnan(ref_values)]
    cur_values = cur.numeric.get(feature, np.array([]))
    cur_values = cur_values[~np.isnan(cur_values)]
    if ref_values.size == 0:
        return pd.DataFrame({"value": [], "reference": [], "current": []})
    edges = _edges(feature, ref_values, cur_values)
    centers = (edges[:-1] + edges[1:]) / 2
    if feature in _DISCRETE:
        low, high = np.ceil(edges[:-1]).astype(int), np.floor(edges[1:]).astype(int)
    else:
        low, high = edges[:-1], edges[1:]
    bins = [f"{a:.4g}" if a == b else f"{a:.4g} to {b:.4g}" for a, b in zip(low, high)]
    # The first and last bins also hold the values beyond them (the plot's 0.5% tails).
    bins[0], bins[-1] = f"up to {high[0]:.4g}", f"{low[-1]:.4g} or more"
    return pd.DataFrame(
        {
            "value": np.round(centers, 4),
            "bin": bins,
            "reference": _histogram(ref_values, edges),
            "current": _histogram(cur_values, edges),
        }
    )


def country_table(ref: WindowSummary, cur: WindowSummary) -> pd.DataFrame:
    ref_counts = ref.categories.get(S.COUNTRY, pd.Series(dtype=float))
    cur_counts = cur.categories.get(S.COUNTRY)
    table = pd.DataFrame({"reference": ref_counts / max(ref_counts.sum(), 1)})
    if cur_counts is not None:
        table = table.join(
            (cur_counts / max(cur_counts.sum(), 1)).rename("current"), how="outer"
        ).fillna(0.0)
    else:
        table["current"] = np.nan
    table.index.name = "country"
    table = table.reset_index().sort_values(["reference", "country"], ascending=[False, True])
    return table.reset_index(drop=True)


_ITEM_KINDS = ("item_share", "new_item", "lost_item")


def items_table(result: DriftResult) -> pd.DataFrame:
    """The items whose share of baskets moved most: drifted ones first, then by effect;
    new and discontinued products included. ``item`` names the product by description with
    the code beside; ``kind`` is item_share, new_item or lost_item."""
    tests = [t for t in result.tests if t.kind in _ITEM_KINDS]
    tests.sort(key=lambda t: (not t.drifted, -t.effect, t.feature))
    rows = [
        {
            "item": t.subject or t.feature,
            "code": t.feature,
            "kind": t.kind,
            "reference": t.reference,
            "current": t.current,
            "drifted": int(t.drifted),
        }
        for t in tests[:_TOP_ITEMS]
    ]
    return pd.DataFrame(rows, columns=["item", "code", "kind", "reference", "current", "drifted"])


def rules_table(result: DriftResult) -> pd.DataFrame:
    """Every tested rule's confidence as trained and on the current window; ``rule`` names
    its products by description with the codes beside, ``codes`` by code alone."""
    tests = sorted(
        (t for t in result.tests if t.kind == "rule_confidence"), key=lambda t: t.feature
    )
    rows = [
        {
            "rule": t.subject or t.feature,
            "codes": t.feature,
            "reference": t.reference,
            "current": t.current,
            "drifted": int(t.drifted),
        }
        for t in tests
    ]
    return pd.DataFrame(rows, columns=["rule", "codes", "reference", "current", "drifted"])


def plot_tables(
    result: DriftResult, ref: WindowSummary, cur: WindowSummary
) -> dict[str, pd.DataFrame]:
    """Plot data, one table per entry of ``PLOTS``."""
    tables = {f: numeric_table(f, ref, cur) for f in NUMERIC_FEATURES}
    tables["country"] = country_table(ref, cur)
    tables["items"] = items_table(result)
    tables["rules"] = rules_table(result)
    return tables
