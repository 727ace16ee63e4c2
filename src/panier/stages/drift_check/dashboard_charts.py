"""The dashboard's figures: reference-against-current charts of every feature the current
window has (binned, drifted features first), the most changed items and the rule-confidence
scatter, each in a captioned figure."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from panier.core import schema as S
from panier.stages.drift_check.dashboard_findings import effect_ratio, named_item, named_rule
from panier.stages.drift_check.dashboard_svg import (
    CURRENT,
    REFERENCE,
    escape,
    horizontal_bars_svg,
    paired_bars_svg,
    scatter_svg,
)
from panier.stages.drift_check.result import DriftResult, DriftTest

NUMERIC_CHARTS = {
    "unit_price": ("Unit price", "share of rows"),
    "quantity": ("Quantity per row", "share of rows"),
    "basket_size": ("Items per basket", "share of baskets"),
    "basket_value": ("Basket value", "share of baskets"),
}
MAX_BINS = 30  # a histogram shows at most this many bars (bins are merged, not dropped)
TOP_CATEGORIES = 10
MAX_RULE_POINTS = 2000  # points of the rule scatter; the page stays light with 10^4 rules


def _bin_label(low: float, high: float, discrete: bool) -> str:
    if discrete:
        lo, hi = math.ceil(low), math.floor(high)
        return f"{lo}" if lo >= hi else f"{lo}\u2013{hi}"
    return f"{low:.3g}\u2013{high:.3g}"


def binned(table: pd.DataFrame, discrete: bool) -> tuple[list[str], list[float], list[float]]:
    """A histogram table (bin centres, reference and current shares) merged into at most
    ``MAX_BINS`` bins of equal width, each labelled by the range it covers."""
    centres = table["value"].to_numpy(dtype=float)
    ref = table["reference"].to_numpy(dtype=float)
    cur = table["current"].fillna(0.0).to_numpy(dtype=float)
    width = float(centres[1] - centres[0]) if len(centres) > 1 else 1.0
    group = max(1, math.ceil(len(centres) / MAX_BINS))
    labels, refs, curs = [], [], []
    for start in range(0, len(centres), group):
        stop = min(start + group, len(centres))
        low, high = centres[start] - width / 2, centres[stop - 1] + width / 2
        labels.append(_bin_label(low, high, discrete))
        refs.append(float(ref[start:stop].sum()))
        curs.append(float(cur[start:stop].sum()))
    return labels, refs, curs


def has_current(table: pd.DataFrame | None) -> bool:
    """Whether a plot table has something to compare (rows, and current values)."""
    return table is not None and not table.empty and not table["current"].isna().all()


def _tests_by_name(result: DriftResult) -> dict[tuple[str, str], DriftTest]:
    return {(t.kind, t.feature): t for t in result.tests}


def _chart_order(result: DriftResult, tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """The numeric and country charts to draw, drifted features first, then by effect over
    floor (the top features first)."""
    tests = _tests_by_name(result)
    scored = []
    for stem in (*NUMERIC_CHARTS, "country"):
        if not has_current(tables.get(stem)):
            continue
        test = tests.get(("categorical", S.COUNTRY) if stem == "country" else ("numeric", stem))
        drifted, ratio = (bool(test.drifted), effect_ratio(test)) if test else (False, 0.0)
        scored.append((not drifted, -ratio, stem))
    return [stem for *_, stem in sorted(scored)]


def _figure(stem: str, title: str, caption: str, svg: str) -> str:
    return (
        f'<figure class="figure" data-chart="{escape(stem)}"><figcaption><b>{escape(title)}</b> '
        f"{caption}</figcaption>{svg}</figure>"
    )


_LEGEND = (
    f'<span class="key" style="background:{REFERENCE}"></span> reference (training '
    f'window) <span class="key" style="background:{CURRENT}"></span> current window'
)


def feature_charts(result: DriftResult, tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """One figure per numeric feature and for countries, when the current window has it."""
    tests = _tests_by_name(result)
    out = []
    for stem in _chart_order(result, tables):
        table = tables[stem]
        if stem == "country":
            top = table.head(TOP_CATEGORIES)
            labels = top["country"].astype(str).tolist()
            ref, cur = top["reference"].tolist(), top["current"].tolist()
            if len(table) > TOP_CATEGORIES:
                labels.append("other")
                ref.append(float(table["reference"].iloc[TOP_CATEGORIES:].sum()))
                cur.append(float(table["current"].iloc[TOP_CATEGORIES:].sum()))
            title, unit = "Country", "share of invoices"
            test = tests.get(("categorical", S.COUNTRY))
        else:
            labels, ref, cur = binned(table, stem in ("quantity", "basket_size"))
            title, unit = NUMERIC_CHARTS[stem]
            test = tests.get(("numeric", stem))
        state = ""
        if test:
            state = (
                "<span class='tag drift'>drifted</span>"
                if test.drifted
                else "<span class='tag'>no drift</span>"
            )
            state += f" effect {test.effect or 0.0:.3f} (floor {test.floor or 0:g})"
        out.append(
            _figure(
                stem, title, f"{state}<br>{_LEGEND}", paired_bars_svg(title, labels, ref, cur, unit)
            )
        )
    return out


def items_chart(tables: Mapping[str, pd.DataFrame], descriptions: Mapping[str, str]) -> list[str]:
    table = tables.get("items")
    if table is None or table.empty:
        return []
    labels = [named_item(code, descriptions) for code in table["item"].astype(str)]
    svg = horizontal_bars_svg(
        "Share of baskets of the most changed items",
        labels,
        table["reference"].astype(float).tolist(),
        table["current"].astype(float).tolist(),
        table["drifted"].astype(bool).tolist(),
    )
    return [
        _figure(
            "items",
            "Most changed items",
            f"share of baskets holding each; \u25cf drifted<br>{_LEGEND}",
            svg,
        )
    ]


def rules_chart(tables: Mapping[str, pd.DataFrame], descriptions: Mapping[str, str]) -> list[str]:
    """The rule-confidence scatter: every tested rule up to ``MAX_RULE_POINTS``; beyond, the
    drifted ones and then the largest changes (the caption says how many are shown)."""
    table = tables.get("rules")
    if table is None or table.empty:
        return []
    tested = len(table)
    if tested > MAX_RULE_POINTS:
        order = table.assign(_change=(table["current"] - table["reference"]).abs().fillna(0))
        order = order.sort_values(
            ["drifted", "_change", "rule"], ascending=[False, False, True], kind="stable"
        )
        table = order.head(MAX_RULE_POINTS).sort_values("rule", kind="stable")
    shown = (
        f"{tested:,} tested rules"
        if tested == len(table)
        else f"{len(table):,} of {tested:,} tested rules (the drifted ones, then the largest "
        "changes)"
    )
    svg = scatter_svg(
        "Rule confidence, as trained and now",
        [named_rule(r, descriptions) for r in table["rule"].astype(str)],
        table["reference"].astype(float).tolist(),
        table["current"].astype(float).tolist(),
        table["drifted"].astype(bool).tolist(),
    )
    return [
        _figure(
            "rules",
            "Rule confidence",
            f"{shown}; on the diagonal nothing changed; "
            f"<span class='key' style='background:{CURRENT}'></span> drifted",
            svg,
        )
    ]


def charts(
    result: DriftResult,
    tables: Mapping[str, pd.DataFrame],
    descriptions: Mapping[str, str] | None = None,
) -> list[str]:
    """Every chart of the page, in order (the count a reader, or a test, should see)."""
    descriptions = descriptions or {}
    return [
        *feature_charts(result, tables),
        *items_chart(tables, descriptions),
        *rules_chart(tables, descriptions),
    ]
