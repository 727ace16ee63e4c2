"""The drift dashboard: one self-contained HTML page a person opens from the drift-check
stage's outputs (``metrics/drift.html``), offline, with nothing to install.

In: the drift-check result (a ``DriftResult``, or the dict of a ``metrics/drift.json``, older
ones included, which ``render_dashboard`` turns into a ``DriftResult`` first and every other
function here reads typed), the plot tables of
``plots.plot_tables`` and, optionally, item descriptions (code -> description). Out:
HTML text. The page holds the verdict, the findings by group (catalogue, price, basket shape,
rules, model quality, data quality: one kind cannot crowd out the others), reference-vs-current
charts of every feature the current window has (side-by-side bars on binned axes, never
stacked), the items and rules that moved, the served model's results, and what was not
tested.

The charts are inline SVG drawn here; the page has no script and its Content-Security-Policy
forbids every fetch, so it cannot depend on the network. Everything is a pure function of its
inputs with fixed number formats and orderings: equal inputs give byte-identical pages.

The result carries, per test and finding, ``group`` and ``label`` (a sentence naming products
by description) and, at the top level, ``findings`` (ranked drifted findings) and ``groups``
(``{group: {"tests": n, "drifted": m}}``). Older reports have none of these:
``DriftResult.from_dict`` lists their drifted tests as findings and leaves the groups empty,
and here the group is derived from the kind and feature, the label from the Markdown
report's plain lines or the finding's numbers, and the groups counted from the tests.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from panier.stages.drift_check.dashboard_charts import (
    NUMERIC_CHARTS,
    feature_charts,
    has_current,
    items_chart,
    rules_chart,
)
from panier.stages.drift_check.dashboard_findings import (
    GROUPS,
    findings,
    format_number,
    group_counts,
    named_item,
    named_rule,
    verdict,
)
from panier.stages.drift_check.dashboard_svg import escape
from panier.stages.drift_check.result import DriftResult

FINDINGS_PER_GROUP = 10

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
color:#1d2330;background:#f6f7f9}
main{max-width:1380px;margin:0 auto;padding:16px 24px 40px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}
h3{font-size:15px;margin:0 0 6px}
.verdict{padding:16px 24px;color:#fff;background:#2e7d4f}
.verdict.drift{background:#b3412e}
.verdict p{margin:4px 0;max-width:1100px}
.flags span{display:inline-block;margin-right:14px;padding:2px 8px;border-radius:10px;
background:rgba(255,255,255,.18)}
.groups{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px}
.group{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:10px 14px}
.group.has-drift{border-left:4px solid #b3412e}
.group ol{margin:4px 0;padding-left:20px}.group li{margin:2px 0}
.muted,small{color:#5c6573}
.figures{display:flex;flex-wrap:wrap;gap:12px}
.figure{background:#fff;border:1px solid #dde1e7;border-radius:6px;margin:0;padding:8px}
figcaption{margin-bottom:4px}
.key{display:inline-block;width:10px;height:10px;margin:0 3px 0 8px}
.tag{display:inline-block;padding:0 6px;border-radius:8px;background:#e4e7ec;font-size:12px}
.tag.drift{background:#b3412e;color:#fff}
svg text{font-size:11px;fill:#39414f}
svg .grid{stroke:#e4e7ec}svg .axis{stroke:#8a93a1}
svg .diagonal{stroke:#8a93a1;stroke-dasharray:4 3}
table{border-collapse:collapse;background:#fff}
td,th{border:1px solid #dde1e7;padding:3px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
"""


def _day(value) -> str:
    return str(value)[:10] if value is not None else "?"


def _p(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return "<1e-4" if value < 1e-4 else f"{value:.2g}"


def _header(result: DriftResult) -> str:
    windows = result.windows
    ref, cur = windows["reference"], windows["current"]
    source = {
        "window": "the latest period of validated data",
        "requests": f"request logs {cur.get('path') or ''}".strip(),
        "lines": f"line items {cur.get('path') or ''}".strip(),
    }.get(cur.get("source"), str(cur.get("source")))
    drift = bool(result.drift_detected)

    def flag(name: str, value: bool) -> str:
        return f"<span>{name}: <b>{'yes' if value else 'no'}</b></span>"

    return (
        f'<header id="verdict" class="verdict{" drift" if drift else ""}" '
        f'data-drift="{str(drift).lower()}" '
        f'data-retrain="{str(bool(result.retrain_recommended)).lower()}">'
        f"<h1>Drift check: {escape(verdict(result))}</h1>"
        f'<p class="flags">{flag("data drift", result.data_drift)}'
        f"{flag('concept drift', result.concept_drift)}"
        f"{flag('retrain recommended', result.retrain_recommended)}</p>"
        f"<p>Current window: {escape(source)}, {_day(cur.get('first'))} to "
        f"{_day(cur.get('last'))} ({cur.get('baskets', 0):,} baskets); reference: the "
        f"training window, {_day(ref.get('first'))} to {_day(ref.get('last'))} "
        f"({ref.get('baskets', 0):,} baskets). {result.tests_run:,} tests, "
        f"{result.tests_drifted:,} drifted (false-discovery rate "
        f"{result.decision['fdr']:g}, each effect past its floor).</p></header>"
    )


def _group_sections(result: DriftResult, descriptions: Mapping[str, str]) -> str:
    found = findings(result, descriptions)
    counts = group_counts(result)
    names = [*GROUPS, *sorted(set(counts) - set(GROUPS))]
    out = ['<div class="groups">']
    for group in names:
        count = counts.get(group, {"tests": 0, "drifted": 0})
        mine = [f for f in found if f.group == group]
        drifted = max(count["drifted"], len(mine))
        out.append(
            f'<section class="group{" has-drift" if drifted else ""}" '
            f'data-group="{escape(group)}"><h3>{escape(GROUPS.get(group, group))} '
            f"<small>{drifted:,} of {count['tests']:,} tests drifted</small></h3>"
        )
        if mine:
            out.append("<ol>")
            for f in mine[:FINDINGS_PER_GROUP]:
                effect = "" if f.effect is None else f"effect {f.effect:.3f}, "
                out.append(
                    f"<li>{escape(f.label)} <small>({effect}adjusted p "
                    f"{_p(f.p_adjusted)})</small></li>"
                )
            out.append("</ol>")
            if len(mine) > FINDINGS_PER_GROUP:
                out.append(
                    f'<p class="muted">and {len(mine) - FINDINGS_PER_GROUP:,} more '
                    "in metrics/drift.json</p>"
                )
        elif count["tests"]:
            out.append('<p class="muted">nothing changed beyond its floor</p>')
        else:
            out.append('<p class="muted">not tested on this window</p>')
        out.append("</section>")
    out.append("</div>")
    return "".join(out)


def _reasons(result: DriftResult) -> str:
    out = []
    for reasons, title in (
        (result.retrain_reasons, "Why retrain"),
        (result.investigate, "To investigate (retraining would not change this)"),
    ):
        if reasons:
            out.append(f"<h2>{title}</h2><ul>")
            out += [f"<li>{escape(r)}</li>" for r in reasons[:10]]
            out.append("</ul>")
    return "".join(out)


def _changes_table(
    title: str, entries: list[dict], share: bool, descriptions: Mapping[str, str], rule: bool
) -> str:
    if not entries:
        return ""
    rows = []
    for e in entries[:10]:
        name = named_rule(e["name"], descriptions) if rule else named_item(e["name"], descriptions)
        rows.append(
            f"<tr><td>{escape(name)}</td><td class='n'>"
            f"{format_number(e['reference'], share)}</td><td class='n'>"
            f"{format_number(e['current'], share)}</td><td class='n'>{_p(e['p_adjusted'])}"
            "</td></tr>"
        )
    more = (
        f"<tr><td colspan='4' class='muted'>{len(entries) - 10:,} more in "
        "metrics/drift.json</td></tr>"
        if len(entries) > 10
        else ""
    )
    return (
        f"<h3>{escape(title)}</h3><table><tr><th></th><th>before</th><th>now</th>"
        f"<th>adjusted p</th></tr>{''.join(rows)}{more}</table>"
    )


def _model_table(result: DriftResult) -> str:
    top_k = result.top_k or {}
    metrics = top_k.get("metrics") or {}
    if not metrics:
        return ""
    rows = []
    for name in sorted(
        metrics,
        key=lambda n: (n.split("@")[0], int(n.split("@")[1]) if n.split("@")[-1].isdigit() else 0),
    ):
        m = metrics[name]
        low, high = m.get("difference_ci", [float("nan")] * 2)
        rows.append(
            f"<tr><td>{escape(name)}</td><td class='n'>{m['holdout']:.3f}</td>"
            f"<td class='n'>{m['current']:.3f}</td><td class='n'>"
            f"{m['difference']:+.3f}</td><td class='n'>{low:+.3f} to {high:+.3f}"
            "</td></tr>"
        )
    cases = top_k.get("cases", {})
    level = top_k.get("confidence_level", 0.95)
    return (
        "<h2>The served model on the current window</h2>"
        f"<p class='muted'>Leave-one-out as the evaluate stage scores the holdout "
        f"({cases.get('holdout', 0):,} holdout cases, {cases.get('current', 0):,} current), "
        f"{level:.0%} bootstrap intervals of the difference.</p><table><tr><th>metric</th>"
        "<th>holdout</th><th>current</th><th>difference</th><th>interval</th></tr>"
        f"{''.join(rows)}</table>"
    )


def render_dashboard(
    report: DriftResult | Mapping,
    tables: Mapping[str, pd.DataFrame],
    descriptions: Mapping[str, str] | None = None,
) -> str:
    """The dashboard page for a drift-check ``report`` and its plot ``tables``;
    ``descriptions`` maps item codes to product descriptions (codes alone when absent).
    A report's dict (a ``metrics/drift.json``, older ones included) becomes a
    ``DriftResult`` here, by ``DriftResult.from_dict``, and is read typed from then on."""
    result = report if isinstance(report, DriftResult) else DriftResult.from_dict(report)
    descriptions = {str(k): str(v) for k, v in (descriptions or {}).items()}
    items, rules = result.items, result.rules
    item_tables = "".join(
        [
            _changes_table(
                "Gained popularity (share of baskets)",
                items.get("gained", []),
                True,
                descriptions,
                False,
            ),
            _changes_table(
                "Lost popularity (share of baskets)",
                items.get("lost", []),
                True,
                descriptions,
                False,
            ),
        ]
    )
    rule_tables = "".join(
        _changes_table(title, rules.get(key, []), share, descriptions, True)
        for key, title, share in (
            ("weakened", "Weakened (confidence)", False),
            ("strengthened", "Strengthened (confidence)", False),
            ("less_frequent", "Applies less often (support)", True),
            ("more_frequent", "Applies more often (support)", True),
        )
    )
    features = feature_charts(result, tables)
    missing = [NUMERIC_CHARTS[s][0] for s in NUMERIC_CHARTS if not has_current(tables.get(s))]
    not_drawn = (
        "<p class='muted'>Not in the current window, so not drawn: "
        f"{escape(', '.join(missing))}.</p>"
        if missing
        else ""
    )
    untested = "".join(
        f"<li><code>{escape(s['test'])}</code>: {escape(s['reason'])}</li>" for s in result.skipped
    )
    untested_counts = []
    if items.get("untested"):
        untested_counts.append(f"{items['untested']:,} items too rare to test")
    if rules.get("untested"):
        untested_counts.append(f"{rules['untested']:,} rules too rare to test")
    body = [
        _header(result),
        "<main>",
        "<h2>Findings by group</h2>",
        _group_sections(result, descriptions),
        _reasons(result),
        "<h2>Reference against current: top features</h2>",
        f'<div class="figures">{"".join(features)}</div>{not_drawn}',
        "<h2>Items</h2>",
        f'<div class="figures">{"".join(items_chart(tables, descriptions))}</div>',
        item_tables or "<p class='muted'>No item's share of baskets changed significantly.</p>",
        "<h2>Rules</h2>",
        f'<div class="figures">{"".join(rules_chart(tables, descriptions))}</div>',
        rule_tables
        or "<p class='muted'>No rule's confidence or support changed significantly.</p>",
        _model_table(result),
        "<h2>Not tested</h2>" if untested or untested_counts else "",
        f"<ul>{untested}</ul>" if untested else "",
        f"<p class='muted'>{escape('; '.join(untested_counts))}.</p>" if untested_counts else "",
        "<p class='muted'>Written by the drift-check stage (dvc repro) with metrics/drift.json "
        "and metrics/drift.md; docs/how-to/drift-dashboard.md says how to read it.</p>",
        "</main>",
    ]
    title = f"Drift check: {verdict(result)}"
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>\n"
        + "\n".join(part for part in body if part)
        + "\n</body></html>\n"
    )


def descriptions_of(items: pd.DataFrame | None) -> dict[str, str]:
    """Item code -> description from the model's ``items.parquet`` frame (missing ones
    left out)."""
    if items is None or items.empty or "description" not in items:
        return {}
    named = items[items["description"].notna()]
    named = named[
        named["description"].astype(str).str.strip().ne("")
        & named["description"].astype(str).ne("nan")
    ]
    return dict(zip(named["item_code"].astype(str), named["description"].astype(str), strict=True))
