"""``metrics/drift.md``: the drift-check report a person reads in a minute, rendered from
``templates/drift.md``; tables by ``core.markdown.table``, Mermaid charts of the plot data.

A pure function of the drift result and the plot tables, formatted with fixed precision, so that
equal inputs give byte-identical files.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from panier.core import markdown
from panier.stages.drift_check.plots import FEATURE_OF_PLOT, PLOTS
from panier.stages.drift_check.result import DriftResult


def _p(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if value < 1e-4:
        return "<1e-4"
    return f"{value:.4f}" if value < 0.01 else f"{value:.3f}"


def _day(value) -> str:
    return str(value)[:10] if value is not None else "?"


_EFFECT_UNITS = {
    "wasserstein_std": "std",
    "jensen_shannon_excess": "JS",
    "cohens_h": "h",
    "confidence_change": "conf.",
}


def _chart(name: str, table: pd.DataFrame, label: str) -> str:
    """A Mermaid chart: reference window as bars, current window as a line; empty when the
    current window lacks the feature."""
    if table.empty or table["current"].isna().all():
        return ""
    x = table.iloc[:, 0]
    labels = ", ".join(
        f'"{v:.3g}"'
        if isinstance(v, float | int | np.number)
        else '"' + str(v).replace('"', "'") + '"'
        for v in x
    )
    top = float(np.nanmax(table[["reference", "current"]].to_numpy()))

    def series(column: str) -> str:
        return ", ".join(f"{v:.4f}" for v in table[column].fillna(0.0))

    lines = [
        "```mermaid",
        "xychart-beta",
        f'    title "{name}: {label}"',
        f"    x-axis [{labels}]",
        f'    y-axis "share" 0 --> {top * 1.1:.4f}',
        f"    bar [{series('reference')}]",
        f"    line [{series('current')}]",
        "```",
    ]
    return "\n".join(lines)


def _top_rows(result: DriftResult) -> list[list[object]]:
    """The top drifted tests as rows: rank, test, what changed, effect (floor), adjusted p."""
    by_name = {t.name: t for t in result.tests}
    rows = []
    for rank, (name, plain) in enumerate(
        zip(result.top_drifted, result.top_drifted_plain), start=1
    ):
        t = by_name[name]
        unit = _EFFECT_UNITS.get(t.effect_name, "")
        rows.append(
            [
                rank,
                f"`{name}`",
                plain,
                f"{t.effect:.3f} {unit} ({t.floor:.3g})",
                _p(t.p_adjusted),
            ]
        )
    return rows


def _closest(result: DriftResult, n: int = 3) -> list[str]:
    """For a quiet report, the tests with the smallest adjusted p-values, and how their
    effect compares with its floor: both must pass for a test to count."""
    tests = sorted(result.tests, key=lambda t: (t.p_adjusted, t.kind, t.feature))
    return [
        f"- `{t.name}`: adjusted p {_p(t.p_adjusted)} "
        f"(must be below {result.decision['fdr']:g}), effect {t.effect:.3f} "
        f"({t.effect / t.floor:.0%} of its floor)"
        for t in tests[:n]
        if t.floor
    ]


_SHOWN = 10  # entries of a list or table; the rest are counted and left to drift.json


def _changes(entries: list[dict], what: str, fmt: str) -> str:
    """The first ``_SHOWN`` entries of an items or rules list as a table; empty for none."""
    if not entries:
        return ""
    rows = [
        [
            e.get("subject") or e["name"],
            format(e["reference"], fmt),
            format(e["current"], fmt),
            f"{e['effect']:.3f}",
            _p(e["p_adjusted"]),
        ]
        for e in entries[:_SHOWN]
    ]
    text = markdown.table([what, "before", "now", "effect", "adjusted p"], rows)
    if len(entries) > _SHOWN:
        text += f"\n| ... {len(entries) - _SHOWN} more in metrics/drift.json | | | | |"
    return text


def _listed(lines: list[str], more: int) -> list[str]:
    """The first ``_SHOWN`` lines, and a line counting the ``more`` left out."""
    return [*lines[:_SHOWN], *([f"... {more} more in metrics/drift.json"] if more > 0 else [])]


GROUP_TITLES = {
    "catalogue": "Catalogue: products and their popularity",
    "price": "Price",
    "basket_shape": "Basket shape",
    "rules": "Rules",
    "model_quality": "The served model",
    "data_quality": "Data quality and origin",
}
_PER_GROUP = 5


def _groups(result: DriftResult) -> dict | None:
    """Drifted findings by group, a few each, so that one kind cannot crowd out the others:
    the count table's rows and, per group with findings, its title and lines."""
    groups = result.groups
    if not groups:
        return None
    rows = [
        [GROUP_TITLES.get(g, g), f"{v['tests']:,}", f"{v['drifted']:,}"] for g, v in groups.items()
    ]
    sections = []
    for group in groups:
        chosen = [f for f in result.findings if f.group == group]
        if not chosen:
            continue
        lines = [
            f.label
            + (f" (moved with {', '.join(e)})" if (e := f.detail.get("explained_by")) else "")
            for f in chosen[:_PER_GROUP]
        ]
        if len(chosen) > _PER_GROUP:
            lines.append(f"... {len(chosen) - _PER_GROUP} more in metrics/drift.json")
        sections.append((GROUP_TITLES.get(group, group), lines))
    return {"rows": rows, "sections": sections}


def _products(result: DriftResult) -> list[tuple[str, list[str]]]:
    """New and discontinued products listed as such, after the findings by group."""
    if not result.groups:
        return []
    items = result.items
    out = []
    for key, title in (("new", "New products"), ("discontinued", "Discontinued products")):
        entries = items.get(key) or []
        if entries:
            out.append((title, _listed([e["label"] for e in entries], len(entries) - _SHOWN)))
    return out


def _model_rows(result: DriftResult) -> list[list[str]]:
    """The served model's primary top-k metrics, holdout against current, and the share of
    baskets no rule answers."""
    top_k = result.top_k
    rows = []
    for name, m in top_k["metrics"].items():
        if not name.endswith(f"@{top_k['k']}"):
            continue
        low, high = m["difference_ci"]
        rows.append(
            [
                name,
                f"{m['holdout']:.3f}",
                f"{m['current']:.3f}",
                f"{m['difference']:+.3f}",
                f"{low:+.3f} to {high:+.3f}",
            ]
        )
    no_rec = next((t for t in result.tests if t.kind == "no_recommendation_share"), None)
    if no_rec:
        # measure_model_quality's test compares two shares: both are set
        assert no_rec.reference is not None and no_rec.current is not None
        rows.append(
            [
                "baskets no rule answers",
                f"{no_rec.reference:.3f}",
                f"{no_rec.current:.3f}",
                f"{no_rec.current - no_rec.reference:+.3f}",
                f"adjusted p {_p(no_rec.p_adjusted)}",
            ]
        )
    return rows


def _verdict(result: DriftResult) -> str:
    if not result.drift_detected:
        return "no drift"
    if result.retrain_recommended:
        return "drift found, retraining recommended"
    return "drift found, retraining would not help"


def _where(current: dict) -> str:
    if current["source"] == "window":
        return "the latest period of validated data"
    if current["source"] == "requests":
        return f"request logs `{current.get('path')}`"
    return f"line items `{current.get('path')}`"


def render_markdown(result: DriftResult, tables: dict[str, pd.DataFrame]) -> str:
    """``metrics/drift.md`` from the drift ``result`` and its plot ``tables``: the verdict
    first, then what changed in plain words, then the evidence (``templates/drift.md``)."""
    items, rules = result.items, result.rules
    changes_of_items = [
        _changes(items["gained"], "gained popularity (share of baskets)", ".1%"),
        _changes(items["lost"], "lost popularity (share of baskets)", ".1%"),
    ]
    changes_of_rules = [
        _changes(rules["weakened"], "rule weakened (confidence)", ".2f"),
        _changes(rules["strengthened"], "rule strengthened (confidence)", ".2f"),
        _changes(
            rules["less_frequent"], "rule applies less often (support: share of baskets)", ".1%"
        ),
        _changes(
            rules["more_frequent"], "rule applies more often (support: share of baskets)", ".1%"
        ),
    ]
    cur = result.windows["current"]
    charts = [_chart(stem, tables[stem], PLOTS[stem]) for stem in _plots_to_show(result)]
    return markdown.render(
        "panier.stages.drift_check",
        "drift.md",
        result=result,
        verdict=_verdict(result),
        flags=["**yes**" if getattr(result, k) else "no" for k in _FLAGS],
        where=_where(cur),
        unit="basket items" if cur["source"] == "requests" else "rows",
        cur=cur,
        ref=result.windows["reference"],
        day=_day,
        groups=_groups(result),
        products=_products(result),
        top_rows=_top_rows(result),
        closest=_closest(result),
        item_changes=[c for c in changes_of_items if c],
        rule_changes=[c for c in changes_of_rules if c],
        top_k=result.top_k,
        model_rows=_model_rows(result),
        charts=[c for c in charts if c],
    )


_FLAGS = ("data_drift", "concept_drift", "retrain_recommended")


def _plots_to_show(result: DriftResult, n: int = 3) -> list[str]:
    """The distribution plots of the top drifted features, else of the largest effects."""
    scored = []
    for stem, (kind, feature) in FEATURE_OF_PLOT.items():
        test = next((t for t in result.tests if t.kind == kind and t.feature == feature), None)
        if test is None:
            continue
        score = test.effect / test.floor if test.floor else test.effect
        scored.append((not test.drifted, -score, stem))
    if any(t.kind == "item_share" and t.drifted for t in result.tests):
        scored.append((False, -math.inf, "items"))
    return [stem for _, _, stem in sorted(scored)[:n]]
