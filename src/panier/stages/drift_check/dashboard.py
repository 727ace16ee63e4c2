"""The drift dashboard: one self-contained HTML page a person opens from the drift-check
stage's outputs (``metrics/drift.html``), offline, with nothing to install.

In: the drift-check report (the dict written to ``metrics/drift.json``), the plot tables of
``drift_report.plot_tables`` and, optionally, item descriptions (code -> description). Out:
HTML text. The page holds the verdict, the findings by group (catalogue, price, basket shape,
rules, model quality, data quality: one kind cannot crowd out the others), reference-vs-current
charts of every feature the current window has (side-by-side bars on binned axes, never
stacked), the items and rules that moved, the served model's results, and what was not
tested.

The charts are inline SVG drawn here; the page has no script and its Content-Security-Policy
forbids every fetch, so it cannot depend on the network. Everything is a pure function of its
inputs with fixed number formats and orderings: equal inputs give byte-identical pages.

The report may carry, per test, ``group`` and ``label`` (a sentence naming products by
description) and, at the top level, ``findings`` (ranked drifted findings) and ``groups``
(``{group: {"tests": n, "drifted": m}}``). When they are absent (older reports) the group is
derived from the test's kind and feature, and the label from the Markdown report's plain lines
or the test's numbers.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping

import pandas as pd

from panier.core import schema as S

GROUPS = {
    "catalogue": "Catalogue: items, new and discontinued products",
    "price": "Price",
    "basket_shape": "Basket shape",
    "rules": "Rules",
    "model_quality": "Model quality",
    "data_quality": "Data quality",
}
NUMERIC_CHARTS = {
    "unit_price": ("Unit price", "share of rows"),
    "quantity": ("Quantity per row", "share of rows"),
    "basket_size": ("Items per basket", "share of baskets"),
    "basket_value": ("Basket value", "share of baskets"),
}
MAX_BINS = 30  # a histogram shows at most this many bars (bins are merged, not dropped)
MAX_TICKS = 8  # x-axis labels per chart
TOP_CATEGORIES = 10
FINDINGS_PER_GROUP = 10
MAX_RULE_POINTS = 2000  # points of the rule scatter; the page stays light with 10^4 rules
REFERENCE, CURRENT = "#4c72b0", "#dd8452"
DOT = "\u25cf "  # marks a drifted item
_NUMERIC_GROUP = {
    "unit_price": "price",
    "basket_value": "price",
    "quantity": "basket_shape",
    "basket_size": "basket_shape",
}
_CODE = re.compile(r"[^{},\s>-][^{},\s]*")


def group_of(test: Mapping) -> str:
    """The test's group: its own ``group`` field, else derived from kind and feature."""
    given = test.get("group")
    if given:
        return str(given)
    kind, feature = test["kind"], test["feature"]
    if kind.startswith("rule"):
        return "rules"
    if kind in ("no_recommendation_share", "top_k_metric"):
        return "model_quality"
    if kind == "numeric":
        return _NUMERIC_GROUP.get(feature, "data_quality")
    if kind in ("item_share", "new_product", "new_item", "discontinued_product") or (
        kind == "categorical" and feature == S.ITEM
    ):
        return "catalogue"
    return "data_quality"


def _ratio(test: Mapping) -> float:
    effect, floor = test.get("effect") or 0.0, test.get("floor") or 0.0
    return effect / floor if floor else effect


def _number(value, share: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.1%}" if share else f"{value:.3g}"


def _fallback_label(test: Mapping, plain: Mapping[str, str]) -> str:
    name = f"{test['kind']}: {test['feature']}"
    if name in plain:
        return plain[name]
    share = test["kind"] in (
        "item_share",
        "rule_support",
        "missing_rate",
        "no_recommendation_share",
    )
    what = f"{test['kind'].replace('_', ' ')} {test['feature']}"
    if test.get("reference") is None and test.get("current") is None:
        return f"{what} changed"
    return (
        f"{what}: {_number(test.get('reference'), share)} -> {_number(test.get('current'), share)}"
    )


def _named(label: str, test: Mapping, descriptions: Mapping[str, str]) -> str:
    """A label derived from codes, with the item or rule named by description."""
    kind, feature = test["kind"], str(test["feature"])
    if not descriptions:
        return label
    if kind == "item_share":
        return label.replace(f"item {feature}", f"item {_item_name(feature, descriptions)}", 1)
    if kind.startswith("rule"):
        return label.replace(feature, _rule_name(feature, descriptions), 1)
    return label


def findings(report: Mapping, descriptions: Mapping[str, str] | None = None) -> list[dict]:
    """The drifted findings, most important first: the report's own ``findings`` when it has
    them, else its drifted tests (the report's top-ten order first, then by effect over
    floor). Each: group, kind, feature, label, effect, p_adjusted. Labels the report does not
    give are built from its plain lines or numbers, items named by ``descriptions``."""
    descriptions = descriptions or {}
    plain = dict(zip(report.get("top_drifted", []), report.get("top_drifted_plain", [])))
    if report.get("findings") is not None:
        out = []
        for f in report["findings"]:
            entry = {
                "kind": f.get("kind", ""),
                "feature": f.get("feature", ""),
                "effect": f.get("effect"),
                "p_adjusted": f.get("p_adjusted"),
            }
            entry["group"] = group_of({**entry, "group": f.get("group")})
            entry["label"] = (
                f.get("label")
                or plain.get(f"{entry['kind']}: {entry['feature']}")
                or f"{entry['kind']} {entry['feature']}"
            )
            out.append(entry)
        return out
    rank = {name: i for i, name in enumerate(report.get("top_drifted", []))}
    drifted = [t for t in report["tests"] if t["drifted"]]
    drifted.sort(
        key=lambda t: (
            rank.get(f"{t['kind']}: {t['feature']}", len(rank)),
            -_ratio(t),
            t["kind"],
            t["feature"],
        )
    )
    return [
        {
            "group": group_of(t),
            "kind": t["kind"],
            "feature": t["feature"],
            "label": t.get("label") or _named(_fallback_label(t, plain), t, descriptions),
            "effect": t.get("effect"),
            "p_adjusted": t.get("p_adjusted"),
        }
        for t in drifted
    ]


def group_counts(report: Mapping) -> dict[str, dict[str, int]]:
    """Tests run and drifted by group: the report's ``groups`` when present, else counted."""
    if report.get("groups"):
        return {
            g: {"tests": int(v.get("tests", 0)), "drifted": int(v.get("drifted", 0))}
            for g, v in report["groups"].items()
        }
    counts: dict[str, dict[str, int]] = {}
    for test in report["tests"]:
        entry = counts.setdefault(group_of(test), {"tests": 0, "drifted": 0})
        entry["tests"] += 1
        entry["drifted"] += int(bool(test["drifted"]))
    return counts


def verdict(report: Mapping) -> str:
    if not report["drift_detected"]:
        return "no drift"
    if report["retrain_recommended"]:
        return "drift found, retraining recommended"
    return "drift found, retraining would not help"


# ---------------------------------------------------------------------------------------------
# Charts: inline SVG, fixed sizes, coordinates with one decimal


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _f(value: float) -> str:
    return f"{value:.1f}"


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def _y_ticks(top: float, left: float, right: float, y0: float, height: float) -> list[str]:
    """Four horizontal grid lines with share labels, 0 to ``top``."""
    out = []
    for i in range(5):
        value = top * i / 4
        y = y0 - height * i / 4
        out.append(
            f'<line x1="{_f(left)}" x2="{_f(right)}" y1="{_f(y)}" y2="{_f(y)}" class="grid"/>'
        )
        out.append(f'<text x="{_f(left - 4)}" y="{_f(y + 3)}" text-anchor="end">{value:.1%}</text>')
    return out


def paired_bars_svg(
    title: str, labels: list[str], reference: list[float], current: list[float], y_label: str
) -> str:
    """Vertical bars, reference and current side by side for each category or bin; at most
    ``MAX_TICKS`` x labels (every k-th) so that many bins stay readable."""
    width, height, left, right, top, bottom = 580, 270, 60, 12, 14, 64
    n = max(len(labels), 1)
    plot_w, plot_h = width - left - right, height - top - bottom
    y0 = top + plot_h
    peak = max([v for v in (*reference, *current) if not math.isnan(v)] or [0.0]) or 1.0
    peak *= 1.1
    step = plot_w / n
    bar = step * 0.4
    out = [
        f'<svg class="chart" role="img" aria-label="{_e(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        *_y_ticks(peak, left, width - right, y0, plot_h),
    ]
    every = max(1, math.ceil(n / MAX_TICKS))
    for i, (label, ref, cur) in enumerate(zip(labels, reference, current)):
        x = left + i * step + step * 0.1
        for offset, value, colour, name in (
            (0.0, ref, REFERENCE, "reference"),
            (bar, cur, CURRENT, "current"),
        ):
            value = 0.0 if math.isnan(value) else value
            h = plot_h * value / peak
            out.append(
                f'<rect x="{_f(x + offset)}" y="{_f(y0 - h)}" width="{_f(bar)}" '
                f'height="{_f(h)}" fill="{colour}"><title>{_e(label)}: {name} '
                f"{value:.2%}</title></rect>"
            )
        if i % every == 0:
            cx = left + (i + 0.5) * step
            out.append(
                f'<text x="{_f(cx)}" y="{_f(y0 + 12)}" text-anchor="end" '
                f'transform="rotate(-30 {_f(cx)} {_f(y0 + 12)})">'
                f"{_e(_short(label, 18))}</text>"
            )
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{_f(y0)}" y2="{_f(y0)}" class="axis"/>')
    out.append(
        f'<text x="12" y="{_f(top + plot_h / 2)}" text-anchor="middle" '
        f'transform="rotate(-90 12 {_f(top + plot_h / 2)})">{_e(y_label)}</text>'
    )
    out.append("</svg>")
    return "".join(out)


def horizontal_bars_svg(
    title: str, labels: list[str], reference: list[float], current: list[float], marked: list[bool]
) -> str:
    """One row per item: its label, then reference and current bars one under the other
    (side by side, not stacked); marked rows (drifted) get a dot."""
    label_w, bar_w, row = 300, 300, 26
    width, height = label_w + bar_w + 70, row * len(labels) + 24
    peak = max([*reference, *current, 0.0]) * 1.05 or 1.0
    out = [
        f'<svg class="chart" role="img" aria-label="{_e(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, ref, cur, mark) in enumerate(zip(labels, reference, current, marked)):
        y = 8 + i * row
        out.append(
            f'<text x="{label_w - 8}" y="{_f(y + 14)}" text-anchor="end">'
            f"{DOT if mark else ''}{_e(_short(label, 44))}</text>"
        )
        for offset, value, colour, name in (
            (0, ref, REFERENCE, "reference"),
            (10, cur, CURRENT, "current"),
        ):
            w = bar_w * value / peak
            out.append(
                f'<rect x="{label_w}" y="{_f(y + offset + 2)}" width="{_f(w)}" '
                f'height="9" fill="{colour}"><title>{_e(label)}: {name} {value:.2%}'
                f"</title></rect>"
            )
        out.append(
            f'<text x="{_f(label_w + bar_w * max(ref, cur) / peak + 4)}" '
            f'y="{_f(y + 15)}">{ref:.1%} \u2192 {cur:.1%}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def scatter_svg(
    title: str, names: list[str], reference: list[float], current: list[float], marked: list[bool]
) -> str:
    """Rule confidence as trained (x) against the current window (y), 0 to 1 on both axes,
    with the diagonal of no change; marked points (drifted) in the current colour."""
    size, left, bottom, pad = 300, 48, 40, 10
    width, height = left + size + pad, size + bottom + pad
    out = [
        f'<svg class="chart" role="img" aria-label="{_e(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    y0 = pad + size
    for i in range(5):
        v = i / 4
        x, y = left + size * v, y0 - size * v
        out.append(f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{pad}" y2="{_f(y0)}" class="grid"/>')
        out.append(f'<line x1="{left}" x2="{left + size}" y1="{_f(y)}" y2="{_f(y)}" class="grid"/>')
        out.append(f'<text x="{_f(x)}" y="{_f(y0 + 14)}" text-anchor="middle">{v:.2f}</text>')
        out.append(f'<text x="{left - 4}" y="{_f(y + 3)}" text-anchor="end">{v:.2f}</text>')
    out.append(f'<line x1="{left}" y1="{_f(y0)}" x2="{left + size}" y2="{pad}" class="diagonal"/>')
    order = sorted(range(len(names)), key=lambda i: (marked[i], names[i]))  # drifted on top
    for i in order:
        x = left + size * min(max(reference[i], 0.0), 1.0)
        y = y0 - size * min(max(current[i], 0.0), 1.0)
        colour, r = (CURRENT, 5) if marked[i] else (REFERENCE, 3)
        out.append(
            f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{r}" fill="{colour}" '
            f'fill-opacity="0.75"><title>{_e(names[i])}: {reference[i]:.2f} \u2192 '
            f"{current[i]:.2f}</title></circle>"
        )
    out.append(
        f'<text x="{_f(left + size / 2)}" y="{_f(y0 + 32)}" text-anchor="middle">'
        "confidence as trained</text>"
    )
    out.append(
        f'<text x="12" y="{_f(pad + size / 2)}" text-anchor="middle" '
        f'transform="rotate(-90 12 {_f(pad + size / 2)})">confidence now</text>'
    )
    out.append("</svg>")
    return "".join(out)


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


def _chart_order(report: Mapping, tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """The numeric and country charts to draw, drifted features first, then by effect over
    floor (the top features first)."""
    tests = {(t["kind"], t["feature"]): t for t in report["tests"]}
    scored = []
    for stem in (*NUMERIC_CHARTS, "country"):
        if not has_current(tables.get(stem)):
            continue
        test = tests.get(("categorical", S.COUNTRY) if stem == "country" else ("numeric", stem))
        drifted, ratio = (bool(test["drifted"]), _ratio(test)) if test else (False, 0.0)
        scored.append((not drifted, -ratio, stem))
    return [stem for *_, stem in sorted(scored)]


def _figure(stem: str, title: str, caption: str, svg: str) -> str:
    return (
        f'<figure class="figure" data-chart="{_e(stem)}"><figcaption><b>{_e(title)}</b> '
        f"{caption}</figcaption>{svg}</figure>"
    )


_LEGEND = (
    f'<span class="key" style="background:{REFERENCE}"></span> reference (training '
    f'window) <span class="key" style="background:{CURRENT}"></span> current window'
)


def feature_charts(report: Mapping, tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """One figure per numeric feature and for countries, when the current window has it."""
    tests = {(t["kind"], t["feature"]): t for t in report["tests"]}
    out = []
    for stem in _chart_order(report, tables):
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
                if test["drifted"]
                else "<span class='tag'>no drift</span>"
            )
            state += f" effect {test.get('effect') or 0.0:.3f} (floor {test.get('floor') or 0:g})"
        out.append(
            _figure(
                stem, title, f"{state}<br>{_LEGEND}", paired_bars_svg(title, labels, ref, cur, unit)
            )
        )
    return out


def _item_name(code: str, descriptions: Mapping[str, str]) -> str:
    described = descriptions.get(str(code))
    return f"{described} ({code})" if described and described != "nan" else str(code)


def _rule_name(rule: str, descriptions: Mapping[str, str]) -> str:
    if not descriptions:
        return rule
    return _CODE.sub(lambda m: _item_name(m.group(0), descriptions), rule)


def items_chart(tables: Mapping[str, pd.DataFrame], descriptions: Mapping[str, str]) -> list[str]:
    table = tables.get("items")
    if table is None or table.empty:
        return []
    labels = [_item_name(code, descriptions) for code in table["item"].astype(str)]
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
        [_rule_name(r, descriptions) for r in table["rule"].astype(str)],
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
    report: Mapping,
    tables: Mapping[str, pd.DataFrame],
    descriptions: Mapping[str, str] | None = None,
) -> list[str]:
    """Every chart of the page, in order (the count a reader, or a test, should see)."""
    descriptions = descriptions or {}
    return [
        *feature_charts(report, tables),
        *items_chart(tables, descriptions),
        *rules_chart(tables, descriptions),
    ]


# ---------------------------------------------------------------------------------------------
# The page

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


def _header(report: Mapping) -> str:
    windows = report["windows"]
    ref, cur = windows["reference"], windows["current"]
    source = {
        "window": "the latest period of validated data",
        "requests": f"request logs {cur.get('path') or ''}".strip(),
        "lines": f"line items {cur.get('path') or ''}".strip(),
    }.get(cur.get("source"), str(cur.get("source")))
    drift = bool(report["drift_detected"])

    def flag(name: str, key: str) -> str:
        return f"<span>{name}: <b>{'yes' if report[key] else 'no'}</b></span>"

    return (
        f'<header id="verdict" class="verdict{" drift" if drift else ""}" '
        f'data-drift="{str(drift).lower()}" '
        f'data-retrain="{str(bool(report["retrain_recommended"])).lower()}">'
        f"<h1>Drift check: {_e(verdict(report))}</h1>"
        f'<p class="flags">{flag("data drift", "data_drift")}'
        f"{flag('concept drift', 'concept_drift')}"
        f"{flag('retrain recommended', 'retrain_recommended')}</p>"
        f"<p>Current window: {_e(source)}, {_day(cur.get('first'))} to "
        f"{_day(cur.get('last'))} ({cur.get('baskets', 0):,} baskets); reference: the "
        f"training window, {_day(ref.get('first'))} to {_day(ref.get('last'))} "
        f"({ref.get('baskets', 0):,} baskets). {report['tests_run']:,} tests, "
        f"{report['tests_drifted']:,} drifted (false-discovery rate "
        f"{report['decision']['fdr']:g}, each effect past its floor).</p></header>"
    )


def _group_sections(report: Mapping, descriptions: Mapping[str, str]) -> str:
    found = findings(report, descriptions)
    counts = group_counts(report)
    names = [*GROUPS, *sorted(set(counts) - set(GROUPS))]
    out = ['<div class="groups">']
    for group in names:
        count = counts.get(group, {"tests": 0, "drifted": 0})
        mine = [f for f in found if f["group"] == group]
        drifted = max(count["drifted"], len(mine))
        out.append(
            f'<section class="group{" has-drift" if drifted else ""}" '
            f'data-group="{_e(group)}"><h3>{_e(GROUPS.get(group, group))} '
            f"<small>{drifted:,} of {count['tests']:,} tests drifted</small></h3>"
        )
        if mine:
            out.append("<ol>")
            for f in mine[:FINDINGS_PER_GROUP]:
                effect = "" if f["effect"] is None else f"effect {f['effect']:.3f}, "
                out.append(
                    f"<li>{_e(f['label'])} <small>({effect}adjusted p "
                    f"{_p(f['p_adjusted'])})</small></li>"
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


def _reasons(report: Mapping) -> str:
    out = []
    for key, title in (
        ("retrain_reasons", "Why retrain"),
        ("investigate", "To investigate (retraining would not change this)"),
    ):
        if report.get(key):
            out.append(f"<h2>{title}</h2><ul>")
            out += [f"<li>{_e(r)}</li>" for r in report[key][:10]]
            out.append("</ul>")
    return "".join(out)


def _changes_table(
    title: str, entries: list[dict], share: bool, descriptions: Mapping[str, str], rule: bool
) -> str:
    if not entries:
        return ""
    rows = []
    for e in entries[:10]:
        name = _rule_name(e["name"], descriptions) if rule else _item_name(e["name"], descriptions)
        rows.append(
            f"<tr><td>{_e(name)}</td><td class='n'>"
            f"{_number(e['reference'], share)}</td><td class='n'>"
            f"{_number(e['current'], share)}</td><td class='n'>{_p(e['p_adjusted'])}"
            "</td></tr>"
        )
    more = (
        f"<tr><td colspan='4' class='muted'>{len(entries) - 10:,} more in "
        "metrics/drift.json</td></tr>"
        if len(entries) > 10
        else ""
    )
    return (
        f"<h3>{_e(title)}</h3><table><tr><th></th><th>before</th><th>now</th>"
        f"<th>adjusted p</th></tr>{''.join(rows)}{more}</table>"
    )


def _model_table(report: Mapping) -> str:
    top_k = report.get("top_k") or {}
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
            f"<tr><td>{_e(name)}</td><td class='n'>{m['holdout']:.3f}</td>"
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
    report: Mapping,
    tables: Mapping[str, pd.DataFrame],
    descriptions: Mapping[str, str] | None = None,
) -> str:
    """The dashboard page for a drift-check ``report`` and its plot ``tables``;
    ``descriptions`` maps item codes to product descriptions (codes alone when absent)."""
    descriptions = {str(k): str(v) for k, v in (descriptions or {}).items()}
    items, rules = report.get("items", {}), report.get("rules", {})
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
    features = feature_charts(report, tables)
    missing = [NUMERIC_CHARTS[s][0] for s in NUMERIC_CHARTS if not has_current(tables.get(s))]
    not_drawn = (
        f"<p class='muted'>Not in the current window, so not drawn: {_e(', '.join(missing))}.</p>"
        if missing
        else ""
    )
    untested = "".join(
        f"<li><code>{_e(s['test'])}</code>: {_e(s['reason'])}</li>"
        for s in report.get("skipped", [])
    )
    untested_counts = []
    if items.get("untested"):
        untested_counts.append(f"{items['untested']:,} items too rare to test")
    if rules.get("untested"):
        untested_counts.append(f"{rules['untested']:,} rules too rare to test")
    body = [
        _header(report),
        "<main>",
        "<h2>Findings by group</h2>",
        _group_sections(report, descriptions),
        _reasons(report),
        "<h2>Reference against current: top features</h2>",
        f'<div class="figures">{"".join(features)}</div>{not_drawn}',
        "<h2>Items</h2>",
        f'<div class="figures">{"".join(items_chart(tables, descriptions))}</div>',
        item_tables or "<p class='muted'>No item's share of baskets changed significantly.</p>",
        "<h2>Rules</h2>",
        f'<div class="figures">{"".join(rules_chart(tables, descriptions))}</div>',
        rule_tables
        or "<p class='muted'>No rule's confidence or support changed significantly.</p>",
        _model_table(report),
        "<h2>Not tested</h2>" if untested or untested_counts else "",
        f"<ul>{untested}</ul>" if untested else "",
        f"<p class='muted'>{_e('; '.join(untested_counts))}.</p>" if untested_counts else "",
        "<p class='muted'>Written by the drift-check stage (dvc repro) with metrics/drift.json "
        "and metrics/drift.md; docs/how-to/drift-dashboard.md says how to read it.</p>",
        "</main>",
    ]
    title = f"Drift check: {verdict(report)}"
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>\n"
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
