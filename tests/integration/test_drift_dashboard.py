"""The drift dashboard (metrics/drift.html): one page that opens offline in a real headless
Chromium with no console error, shows the verdict and one chart per feature the data has,
groups findings so one kind cannot crowd out the others, names products by description, and
is byte-identical for equal inputs. Works on reports with and without the newer ``group``,
``label``, ``findings`` and ``groups`` fields."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from panier.core.baskets import baskets_from_lines, split_windows
from panier.core.config import load_params
from panier.stages.drift_check.check import check_drift
from panier.stages.drift_check.dashboard import descriptions_of, render_dashboard
from panier.stages.drift_check.dashboard_charts import MAX_BINS, MAX_RULE_POINTS, binned
from panier.stages.drift_check.dashboard_findings import GROUPS, findings, group_of
from panier.stages.drift_check.plots import plot_tables
from panier.stages.drift_check.reference import prepare_reference
from panier.stages.drift_check.result import DriftResult, Finding
from panier.stages.drift_check.summary import summarize_lines
from panier.stages.drift_check.window import split_rejected
from panier.stages.ingest.generate import generate_line_items
from panier.stages.train.mining import association_rules, frequent_itemsets
from panier.stages.train.model import describe_items
from panier.stages.validate.validation import validate_line_items
from support.repos import make_pipeline_repo, run

ROOT = Path(__file__).resolve().parents[2]
PARAMS = load_params(ROOT / "params.yaml")
TODAY = pd.Timestamp("2030-01-01").date()
# Several planted changes at once, in a world small enough to build in seconds.
DRIFT = {
    "price_shift": 0.10,
    "boosted_item_rank": 5,
    "boost_factor": 2.0,
    "weakened_rule": 0,
    "weakened_confidence": 0.6,
    "basket_size_shift": 1.0,
}


def windows_of(drift: dict | None):
    generator = PARAMS.ingest.generator
    raw = generate_line_items(
        generator.model_copy(
            update={
                "n_invoices": 10_000,
                "seed": 5,
                "drift": generator.drift.model_copy(update=drift or {}),
            }
        )
    )
    validated = validate_line_items(raw, PARAMS.validate_, today=TODAY)
    windows = split_windows(validated.clean, PARAMS.windows)
    rejected = split_rejected(validated.rejected, windows.holdout_start, windows.current_start)
    return windows, rejected


@dataclass
class Checked:
    report: DriftResult
    tables: dict[str, pd.DataFrame]
    descriptions: dict[str, str]

    def html(self) -> str:
        return render_dashboard(self.report, self.tables, self.descriptions)


@pytest.fixture(scope="module")
def checked() -> dict[str, Checked]:
    """Drift-check of one small world against its own current window (no drift) and against
    the same world with the planted changes."""
    windows, rejected = windows_of(None)
    baskets = baskets_from_lines(windows.train)
    train = PARAMS.train
    rules = association_rules(
        frequent_itemsets(baskets, train.min_support, train.max_len),
        baskets.n_baskets,
        train.min_confidence,
    )
    items = describe_items(windows.train, baskets)
    reference = prepare_reference(
        summarize_lines(windows.train, rejected.train),
        baskets_from_lines(windows.holdout),
        rules,
        items,
        PARAMS.evaluate,
    )
    out = {}
    for name, drift in (("quiet", None), ("drifted", DRIFT)):
        current_windows, current_rejected = (
            (windows, rejected) if drift is None else windows_of(drift)
        )
        current = summarize_lines(current_windows.current, current_rejected.current)
        report = check_drift(reference, current, PARAMS.drift, PARAMS.evaluate)
        out[name] = Checked(
            report, plot_tables(report, reference.train, current), descriptions_of(items)
        )
    return out


def charts_implied(tables: dict[str, pd.DataFrame]) -> int:
    """One chart per distribution the current window has, plus items and rules if tested."""
    distributions = ["unit_price", "quantity", "basket_size", "basket_value", "country"]
    return (
        sum(not tables[s].empty and tables[s]["current"].notna().any() for s in distributions)
        + int(not tables["items"].empty)
        + int(not tables["rules"].empty)
    )


def open_page(browser_page, tmp_path: Path, html: str):
    page_file = tmp_path / "drift.html"
    page_file.write_text(html, encoding="utf-8")
    return browser_page.open(page_file)


def test_a_drifted_world_opens_with_its_verdict_findings_and_every_chart(
    checked, browser_page, tmp_path: Path
):
    case = checked["drifted"]
    assert case.report.drift_detected and case.report.retrain_recommended
    page = open_page(browser_page, tmp_path, case.html())
    verdict = page.locator("#verdict")
    assert verdict.get_attribute("data-drift") == "true"
    assert "drift found, retraining recommended" in verdict.inner_text()
    assert page.locator("svg.chart").count() == charts_implied(case.tables) == 7
    for svg in page.locator("svg.chart").all():  # drawn, not empty boxes
        assert svg.bounding_box()["height"] > 100
        assert svg.locator("rect, circle").count() > 0
    drifted_groups = {
        g.get_attribute("data-group") for g in page.locator("section.group.has-drift").all()
    }
    assert {"price", "basket_shape", "catalogue", "rules"} <= drifted_groups
    assert browser_page.errors == []


def test_a_quiet_world_opens_with_no_drift_and_the_same_charts(
    checked, browser_page, tmp_path: Path
):
    case = checked["quiet"]
    assert not case.report.drift_detected
    page = open_page(browser_page, tmp_path, case.html())
    assert page.locator("#verdict").get_attribute("data-drift") == "false"
    assert page.locator("h1").inner_text() == "Drift check: no drift"
    assert page.locator("svg.chart").count() == charts_implied(case.tables)
    assert page.locator("section.group.has-drift").count() == 0
    assert browser_page.errors == []


def test_the_page_needs_no_network_and_runs_no_script(checked):
    html = checked["drifted"].html()
    assert "default-src 'none'" in html
    assert (
        "<script" not in html
        and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
        and "https://" not in html
    )


def test_equal_inputs_give_a_byte_identical_page(checked):
    case = checked["drifted"]
    again = render_dashboard(
        copy.deepcopy(case.report),
        {k: v.copy() for k, v in case.tables.items()},
        dict(case.descriptions),
    )
    assert again.encode() == case.html().encode()


def test_products_are_named_by_description_with_their_code(checked):
    case = checked["drifted"]
    boosted = next(t for t in case.report.tests if t.kind == "item_share" and t.drifted).feature
    assert f"{case.descriptions[boosted]} ({boosted})" in case.html()


def _legacy(result: DriftResult) -> dict:
    """The report as drift-check wrote it before findings, groups and labels existed."""
    report = copy.deepcopy(result.to_dict())
    for key in ("findings", "groups"):
        report.pop(key, None)
    report["tests"] = [
        {k: v for k, v in t.items() if k not in {"group", "label"}} for t in report["tests"]
    ]
    return report


def test_every_group_is_shown_even_when_one_kind_has_hundreds_of_findings(checked):
    report = _legacy(checked["drifted"].report)
    many = [{**t, "drifted": True} for t in report["tests"] if t["kind"] == "item_share"]
    for test in many:
        test["drifted"] = True
    report["tests"] = [t for t in report["tests"] if t["kind"] != "item_share"] + many
    html = render_dashboard(report, checked["drifted"].tables)
    sections = re.findall(r'data-group="([a-z_]+)"', html)
    assert sections[: len(GROUPS)] == list(GROUPS)
    price = html[html.index('data-group="price"') :]
    assert "unit_price shifted" in price[: price.index("</section>")]
    assert "more in metrics/drift.json" in html


def _kind(kind: str, feature: str) -> Finding:
    return Finding.from_dict({"kind": kind, "feature": feature})


def test_without_the_newer_fields_groups_and_labels_are_derived(checked):
    report = _legacy(checked["drifted"].report)
    assert "findings" not in report and all("group" not in t for t in report["tests"])
    older = DriftResult.from_dict(report)  # the one place an older report's dict is upgraded
    assert all(f.group == f.label == "" for f in older.findings) and older.groups == {}
    derived = {(f.kind, f.feature): f.group for f in findings(older)}
    assert derived[("numeric", "unit_price")] == "price"
    assert derived[("numeric", "basket_size")] == "basket_shape"
    assert group_of(_kind("rule_confidence", "{1} -> 2")) == "rules"
    assert group_of(_kind("top_k_metric", "hit_rate@5")) == "model_quality"
    assert group_of(_kind("missing_rate", "description")) == "data_quality"
    assert findings(older)[0].label.startswith(report["top_drifted_plain"][0][:4])


def test_an_older_report_and_its_result_give_the_same_page_as_drift_check_wrote(checked):
    """An older report's dict renders as the result it becomes; a current report's dict (as
    written to metrics/drift.json and as ``to_dict``) as drift-check's own result."""
    case = checked["drifted"]
    older = _legacy(case.report)
    assert render_dashboard(older, case.tables, case.descriptions) == render_dashboard(
        DriftResult.from_dict(older), case.tables, case.descriptions
    )
    assert render_dashboard(case.report.to_dict(), case.tables, case.descriptions) == case.html()
    text = case.report.to_json()
    assert render_dashboard(json.loads(text), case.tables, case.descriptions) == (
        render_dashboard(DriftResult.from_json(text), case.tables, case.descriptions)
    )


def test_the_newer_fields_are_used_when_present(checked):
    report = copy.deepcopy(checked["drifted"].report.to_dict())
    report["findings"] = [
        {
            "group": "catalogue",
            "kind": "new_product",
            "feature": "99001",
            "label": "new product GLASS STAR LANTERN (99001): in 3.1% of current baskets",
            "effect": 0.35,
            "p_adjusted": 1e-6,
        }
    ]
    report["groups"] = {
        "catalogue": {"tests": 140, "drifted": 1},
        "price": {"tests": 2, "drifted": 0},
    }
    html = render_dashboard(report, checked["drifted"].tables)
    catalogue = html[html.index('data-group="catalogue"') :]
    catalogue = catalogue[: catalogue.index("</section>")]
    assert "new product GLASS STAR LANTERN (99001)" in catalogue
    assert "1 of 140 tests drifted" in catalogue
    assert "unit_price shifted" not in html[: html.index("<h2>Why retrain")]


def test_a_histogram_with_hundreds_of_values_gets_at_most_thirty_labelled_bins():
    table = pd.DataFrame(
        {"value": range(1, 351), "reference": [1 / 350] * 350, "current": [1 / 350] * 350}
    )
    labels, ref, cur = binned(table, discrete=True)
    assert len(labels) <= MAX_BINS and labels[0] == "1\u201312" and labels[-1].endswith("350")
    assert sum(ref) == pytest.approx(1.0) and sum(cur) == pytest.approx(1.0)


def test_text_from_the_data_is_escaped(checked):
    case = checked["drifted"]
    code = next(iter(case.descriptions))
    html = render_dashboard(
        case.report, case.tables, {**case.descriptions, code: "<script>alert(1)</script>"}
    )
    assert "<script>alert" not in html


def test_request_log_windows_draw_only_what_they_hold(checked):
    """A request-log window has baskets but no prices, quantities or countries."""
    case = checked["drifted"]
    tables = dict(case.tables)
    for stem in ("unit_price", "quantity", "basket_value", "country"):
        tables[stem] = tables[stem].assign(current=float("nan"))
    html = render_dashboard(case.report, tables, case.descriptions)
    assert html.count('<svg class="chart"') == charts_implied(tables) == 3  # size, items, rules
    assert (
        "Not in the current window, so not drawn: Unit price, Quantity per row, "
        "Basket value." in html
    )


@pytest.mark.slow
def test_dvc_repro_writes_the_dashboard_as_an_output_of_drift_check(tmp_path: Path, browser_page):
    repo = make_pipeline_repo(
        tmp_path,
        {
            "ingest": {
                "generator": {"n_invoices": 3000, "n_customers": 600, "drift": {"price_shift": 0.3}}
            },
            "train": {"min_support": 0.01},
        },
    )
    run(["dvc", "repro", "drift-check"], repo)
    dashboard = repo / "metrics" / "drift.html"
    status = run(["dvc", "status", "drift-check"], repo).stdout
    assert "up to date" in status or "changed" not in status
    assert "metrics/drift.html" in (repo / "dvc.lock").read_text()
    page = browser_page.open(dashboard)
    assert page.locator("#verdict").get_attribute("data-drift") == "true"
    assert "unit_price shifted" in page.locator('section[data-group="price"]').inner_text()
    plots = {csv.stem: pd.read_csv(csv) for csv in (repo / "metrics/plots/drift").glob("*.csv")}
    assert page.locator("svg.chart").count() == charts_implied(plots) >= 5
    assert browser_page.errors == []


def test_ten_thousand_tested_rules_keep_the_page_light_and_show_every_drifted_one(checked):
    case = checked["drifted"]
    n = 10_000
    rules = pd.DataFrame(
        {
            "rule": [f"{{{i}}} -> {i + 1}" for i in range(n)],
            "reference": [0.5] * n,
            "current": [0.5 + (i % 100) / 1000 for i in range(n)],
            "drifted": [int(i % 997 == 0) for i in range(n)],
        }
    )
    html = render_dashboard(case.report, {**case.tables, "rules": rules}, case.descriptions)
    scatter = html[html.index('data-chart="rules"') :]
    scatter = scatter[: scatter.index("</figure>")]
    assert scatter.count("<circle") == MAX_RULE_POINTS
    assert f"{MAX_RULE_POINTS:,} of 10,000 tested rules" in scatter
    assert scatter.count('r="5"') == rules["drifted"].sum()  # every drifted rule drawn
    assert len(html) < 1_500_000
