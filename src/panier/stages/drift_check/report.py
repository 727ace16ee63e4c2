"""What drift-check shows people: a Markdown report read in a minute, and the plot data for
distribution overlays that ``dvc plots show`` renders (reference against current window).

Everything here is a pure function of the report and the window summaries, formatted with
fixed precision, so that equal inputs give byte-identical files.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from panier.core import schema as S
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
_FEATURE_OF_PLOT = {f: ("numeric", f) for f in NUMERIC_FEATURES}
_FEATURE_OF_PLOT["country"] = ("categorical", S.COUNTRY)


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


def items_table(report: dict) -> pd.DataFrame:
    """The items whose share of baskets moved most: drifted ones first, then by effect;
    new and discontinued products included. ``item`` names the product by description with
    the code beside; ``kind`` is item_share, new_item or lost_item."""
    tests = [t for t in report["tests"] if t["kind"] in _ITEM_KINDS]
    tests.sort(key=lambda t: (not t["drifted"], -t["effect"], t["feature"]))
    rows = [
        {
            "item": t.get("subject") or t["feature"],
            "code": t["feature"],
            "kind": t["kind"],
            "reference": t["reference"],
            "current": t["current"],
            "drifted": int(t["drifted"]),
        }
        for t in tests[:_TOP_ITEMS]
    ]
    return pd.DataFrame(rows, columns=["item", "code", "kind", "reference", "current", "drifted"])


def rules_table(report: dict) -> pd.DataFrame:
    """Every tested rule's confidence as trained and on the current window; ``rule`` names
    its products by description with the codes beside, ``codes`` by code alone."""
    tests = sorted(
        (t for t in report["tests"] if t["kind"] == "rule_confidence"), key=lambda t: t["feature"]
    )
    rows = [
        {
            "rule": t.get("subject") or t["feature"],
            "codes": t["feature"],
            "reference": t["reference"],
            "current": t["current"],
            "drifted": int(t["drifted"]),
        }
        for t in tests
    ]
    return pd.DataFrame(rows, columns=["rule", "codes", "reference", "current", "drifted"])


def plot_tables(report: dict, ref: WindowSummary, cur: WindowSummary) -> dict[str, pd.DataFrame]:
    """Plot data, one table per entry of ``PLOTS``."""
    tables = {f: numeric_table(f, ref, cur) for f in NUMERIC_FEATURES}
    tables["country"] = country_table(ref, cur)
    tables["items"] = items_table(report)
    tables["rules"] = rules_table(report)
    return tables


# ---------------------------------------------------------------------------------------------
# Markdown


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


def _chart(name: str, table: pd.DataFrame, label: str) -> list[str]:
    """A Mermaid chart: reference window as bars, current window as a line."""
    if table.empty or table["current"].isna().all():
        return []
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

    return [
        "```mermaid",
        "xychart-beta",
        f'    title "{name}: {label}"',
        f"    x-axis [{labels}]",
        f'    y-axis "share" 0 --> {top * 1.1:.4f}',
        f"    bar [{series('reference')}]",
        f"    line [{series('current')}]",
        "```",
        "",
    ]


def _top_table(report: dict) -> list[str]:
    by_name = {f"{t['kind']}: {t['feature']}": t for t in report["tests"]}
    lines = ["| # | test | what changed | effect (floor) | adjusted p |", "|---|---|---|---|---|"]
    for rank, (name, plain) in enumerate(
        zip(report["top_drifted"], report["top_drifted_plain"]), start=1
    ):
        t = by_name[name]
        unit = _EFFECT_UNITS.get(t["effect_name"], "")
        lines.append(
            f"| {rank} | `{name}` | {_cell(plain)} | {t['effect']:.3f} {unit} "
            f"({t['floor']:.3g}) | {_p(t['p_adjusted'])} |"
        )
    return lines


def _closest(report: dict, n: int = 3) -> list[str]:
    """For a quiet report, the tests with the smallest adjusted p-values, and how their
    effect compares with its floor: both must pass for a test to count."""
    tests = sorted(report["tests"], key=lambda t: (t["p_adjusted"], t["kind"], t["feature"]))
    return [
        f"- `{t['kind']}: {t['feature']}`: adjusted p {_p(t['p_adjusted'])} "
        f"(must be below {report['decision']['fdr']:g}), effect {t['effect']:.3f} "
        f"({t['effect'] / t['floor']:.0%} of its floor)"
        for t in tests[:n]
        if t["floor"]
    ]


def _changes(entries: list[dict], what: str, fmt: str) -> list[str]:
    if not entries:
        return []
    lines = [f"| {what} | before | now | effect | adjusted p |", "|---|---|---|---|---|"]
    for e in entries[:10]:
        name = _cell(e.get("subject") or e["name"])
        lines.append(
            f"| {name} | {format(e['reference'], fmt)} | "
            f"{format(e['current'], fmt)} | {e['effect']:.3f} | "
            f"{_p(e['p_adjusted'])} |"
        )
    if len(entries) > 10:
        lines.append(f"| ... {len(entries) - 10} more in metrics/drift.json | | | | |")
    return lines


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


GROUP_TITLES = {
    "catalogue": "Catalogue: products and their popularity",
    "price": "Price",
    "basket_shape": "Basket shape",
    "rules": "Rules",
    "model_quality": "The served model",
    "data_quality": "Data quality and origin",
}
_PER_GROUP = 5


def _groups(report: dict) -> list[str]:
    """Drifted findings by group, a few each, so that one kind cannot crowd out the
    others; then new and discontinued products listed as such."""
    groups, findings = report.get("groups"), report.get("findings")
    if not groups or findings is None:
        return []
    out = ["## Findings by group", "", "| group | tests | drifted |", "|---|---|---|"]
    out += [
        f"| {GROUP_TITLES.get(g, g)} | {v['tests']:,} | {v['drifted']:,} |"
        for g, v in groups.items()
    ]
    out.append("")
    for group in groups:
        chosen = [f for f in findings if f["group"] == group]
        if not chosen:
            continue
        out += [f"### {GROUP_TITLES.get(group, group)}", ""]
        for f in chosen[:_PER_GROUP]:
            why = f" (moved with {', '.join(f['explained_by'])})" if f.get("explained_by") else ""
            out.append(f"- {f['label']}{why}")
        if len(chosen) > _PER_GROUP:
            out.append(f"- ... {len(chosen) - _PER_GROUP} more in metrics/drift.json")
        out.append("")
    items = report.get("items", {})
    for key, title in (("new", "New products"), ("discontinued", "Discontinued products")):
        entries = items.get(key) or []
        if entries:
            out += [f"## {title}", ""]
            out += [f"- {e['label']}" for e in entries[:10]]
            if len(entries) > 10:
                out.append(f"- ... {len(entries) - 10} more in metrics/drift.json")
            out.append("")
    return out


def render_markdown(report: dict, tables: dict[str, pd.DataFrame]) -> str:
    """The report: verdict first, then what changed in plain words, then the evidence."""
    flags = report
    if flags["drift_detected"]:
        verdict = (
            "drift found, retraining recommended"
            if flags["retrain_recommended"]
            else "drift found, retraining would not help"
        )
    else:
        verdict = "no drift"
    windows = report["windows"]
    ref, cur = windows["reference"], windows["current"]
    if cur["source"] == "window":
        where = "the latest period of validated data"
    elif cur["source"] == "requests":
        where = f"request logs `{cur.get('path')}`"
    else:
        where = f"line items `{cur.get('path')}`"
    decision = report["decision"]
    unit = "basket items" if cur["source"] == "requests" else "rows"
    out = [
        f"# Drift check: {verdict}",
        "",
        "| data drift | concept drift | retrain recommended |",
        "|---|---|---|",
        f"| {'**yes**' if flags['data_drift'] else 'no'} | "
        f"{'**yes**' if flags['concept_drift'] else 'no'} | "
        f"{'**yes**' if flags['retrain_recommended'] else 'no'} |",
        "",
        f"Current window: {where}, {_day(cur['first'])} to {_day(cur['last'])} "
        f"({cur['baskets']:,} baskets, {cur['rows']:,} {unit}); "
        f"reference: the training window, {_day(ref['first'])} to {_day(ref['last'])} "
        f"({ref['baskets']:,} baskets). {report['tests_run']:,} tests, "
        f"{report['tests_drifted']:,} drifted: a test counts when its Benjamini-Hochberg "
        f"adjusted p-value (all tests together) is below {decision['fdr']:g} and its effect "
        "reaches its floor.",
        "",
    ]
    out += _groups(report)
    if report["retrain_reasons"]:
        out += ["## Why retrain", "", "What the model learned or reads has changed:", ""]
        out += [f"- {r}" for r in report["retrain_reasons"][:10]] + [""]
    if report["investigate"]:
        out += [
            "## To investigate",
            "",
            "This drift does not enter the rules; retraining would not change them. "
            "Check the data source:",
            "",
        ]
        out += [f"- {r}" for r in report["investigate"][:10]] + [""]
    if report["top_drifted"]:
        out += ["## Top drifted", "", *_top_table(report), ""]
    else:
        out += [
            "## Closest calls",
            "",
            "Nothing drifted. The strongest evidence of change was:",
            "",
            *_closest(report),
            "",
        ]

    items, rules = report["items"], report["rules"]
    out += ["## Items", ""]
    gained = _changes(items["gained"], "gained popularity (share of baskets)", ".1%")
    lost = _changes(items["lost"], "lost popularity (share of baskets)", ".1%")
    if gained or lost:
        out += gained + ([""] if gained else []) + lost + ([""] if lost else [])
    else:
        out += ["No item's share of baskets changed significantly.", ""]
    if items["untested"]:
        out += [
            f"{items['untested']:,} items were in too few baskets of both windows for any "
            "change to be significant; see Not tested.",
            "",
        ]
    out += ["## Rules", ""]
    changes = [
        _changes(rules["weakened"], "rule weakened (confidence)", ".2f"),
        _changes(rules["strengthened"], "rule strengthened (confidence)", ".2f"),
        _changes(
            rules["less_frequent"], "rule applies less often (support: share of baskets)", ".1%"
        ),
        _changes(
            rules["more_frequent"], "rule applies more often (support: share of baskets)", ".1%"
        ),
    ]
    if any(changes):
        for lines in filter(None, changes):
            out += [*lines, ""]
    else:
        out += ["No rule's confidence or support changed significantly.", ""]
    if rules["untested"]:
        out += [
            f"{rules['untested']:,} rules' antecedents were in too few baskets for any "
            "change to be significant; see Not tested.",
            "",
        ]

    top_k = report["top_k"]
    level = f"{top_k['confidence_level']:.0%}"
    out += [
        "## The served model on the current window",
        "",
        f"Leave-one-out, as the evaluate stage scores the holdout "
        f"({top_k['cases']['holdout']:,} holdout cases, {top_k['cases']['current']:,} "
        f"current); {level} bootstrap intervals ({top_k['bootstrap_samples']:,} "
        "resamples).",
        "",
        "| metric | holdout | current | difference | interval |",
        "|---|---|---|---|---|",
    ]
    for name, m in top_k["metrics"].items():
        if not name.endswith(f"@{top_k['k']}"):
            continue
        low, high = m["difference_ci"]
        out.append(
            f"| {name} | {m['holdout']:.3f} | {m['current']:.3f} | "
            f"{m['difference']:+.3f} | {low:+.3f} to {high:+.3f} |"
        )
    no_rec = next((t for t in report["tests"] if t["kind"] == "no_recommendation_share"), None)
    if no_rec:
        out.append(
            f"| baskets no rule answers | {no_rec['reference']:.3f} | "
            f"{no_rec['current']:.3f} | {no_rec['current'] - no_rec['reference']:+.3f} "
            f"| adjusted p {_p(no_rec['p_adjusted'])} |"
        )
    out.append("")
    if report["skipped"]:
        out += ["## Not tested", ""]
        out += [f"- `{s['test']}`: {s['reason']}" for s in report["skipped"]] + [""]

    out += [
        "## Plots",
        "",
        "Reference window as bars, current window as a line. `dvc plots show` draws "
        "these and the rest from `metrics/plots/drift/`.",
        "",
    ]
    for stem in _plots_to_show(report):
        out += _chart(stem, tables[stem], PLOTS[stem])
    out += ["How to read this report and why to trust it: docs/concepts/drift-check.md."]
    return "\n".join(out) + "\n"


def _plots_to_show(report: dict, n: int = 3) -> list[str]:
    """The distribution plots of the top drifted features, else of the largest effects."""
    scored = []
    for stem, (kind, feature) in _FEATURE_OF_PLOT.items():
        test = next(
            (t for t in report["tests"] if t["kind"] == kind and t["feature"] == feature), None
        )
        if test is None:
            continue
        score = test["effect"] / test["floor"] if test["floor"] else test["effect"]
        scored.append((not test["drifted"], -score, stem))
    if any(t["kind"] == "item_share" and t["drifted"] for t in report["tests"]):
        scored.append((False, -math.inf, "items"))
    return [stem for _, _, stem in sorted(scored)[:n]]
