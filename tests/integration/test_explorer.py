"""The rules explorer in a real headless Chromium: it opens offline with no error, and an
analyst can search, sort and page thousands of rules, see the scatter, the group graph and
each group's page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from panier.core.baskets import baskets_from_lists, min_count
from panier.stages.affinity.explorer import render_explorer
from panier.stages.affinity.groups import AffinitySettings, build_groups
from panier.stages.train.mining import association_rules, frequent_itemsets
from support.browser import BrowserPage
from test_affinity import item_table

# Five departments of twelve products; a basket visits one or two departments and takes
# each of their products with probability one half.
DEPARTMENTS = 5
PER_DEPARTMENT = 12


def shop_baskets(n: int = 3000, seed: int = 3) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    baskets = []
    for _ in range(n):
        visited = rng.choice(DEPARTMENTS, size=rng.integers(1, 3), replace=False)
        basket = [
            f"P{d}{i:02d}"
            for d in sorted(visited)
            for i in range(PER_DEPARTMENT)
            if rng.random() < 0.5
        ]
        baskets.append(basket or ["P000"])
    return baskets


@pytest.fixture(scope="module")
def explorer_file(tmp_path_factory) -> tuple[Path, int, int]:
    baskets = baskets_from_lists(shop_baskets())
    items = item_table(baskets, {code: f"product {code[1]}-{code[2:]}" for code in baskets.items})
    threshold = min_count(0.02, baskets.n_baskets)
    rules = association_rules(frequent_itemsets(baskets, 0.02, 3), baskets.n_baskets, 0.5)
    result = build_groups(
        baskets, items, rules, AffinitySettings(threshold, 0.0, 1.0, 0, 2, 5, 3), threshold
    )
    path = tmp_path_factory.mktemp("explorer") / "explorer.html"
    path.write_text(render_explorer(rules, result, title="Test shop"), encoding="utf-8")
    return path, len(rules), len(result.groups)


def shown_rules(page) -> list[str]:
    return page.locator("#rules-table tbody tr").all_inner_texts()


def test_the_explorer_opens_offline_with_every_rule_paginated(
    browser_page: BrowserPage, explorer_file
):
    path, n_rules, _ = explorer_file
    assert n_rules > 2000
    page = browser_page.open(path)
    assert page.title() == "Test shop"
    assert len(shown_rules(page)) == 50
    assert page.locator("#match-count").inner_text() == f"{n_rules} of {n_rules} rules"
    page.click("#next")
    assert page.locator("#page-info").inner_text().startswith("page 2 of ")
    assert browser_page.errors == []
    # Nothing is fetched: no script, style or image comes from elsewhere.
    text = path.read_text()
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in text


def test_typing_in_the_search_box_filters_the_table(browser_page: BrowserPage, explorer_file):
    path, n_rules, _ = explorer_file
    page = browser_page.open(path)
    page.fill("#search", "P311")
    rows = shown_rules(page)
    assert 0 < len(rows) <= 50
    assert all("P311" in row for row in rows)
    count = int(page.locator("#match-count").inner_text().split(" of ")[0])
    assert 0 < count < n_rules
    # Descriptions are searched too, and a search nothing matches empties the table.
    page.fill("#search", "product 3-11")
    assert all("P311" in row for row in shown_rules(page))
    page.fill("#search", "no such product")
    assert shown_rules(page) == []
    assert browser_page.errors == []


def test_thresholds_and_sorting_apply_to_the_table(browser_page: BrowserPage, explorer_file):
    path, n_rules, _ = explorer_file
    page = browser_page.open(path)
    page.fill("#min-confidence", "0.55")
    confidences = [float(row.split("\t")[3]) for row in shown_rules(page)]
    assert confidences and min(confidences) >= 0.55
    assert int(page.locator("#match-count").inner_text().split(" of ")[0]) < n_rules
    page.fill("#min-confidence", "0")
    page.click("#rules-table th[data-key='2']")  # support, highest first
    supports = [float(row.split("\t")[2]) for row in shown_rules(page)]
    assert supports == sorted(supports, reverse=True)
    page.click("#rules-table th[data-key='2']")  # and lowest first
    supports = [float(row.split("\t")[2]) for row in shown_rules(page)]
    assert supports == sorted(supports)
    assert browser_page.errors == []


def test_the_scatter_graph_and_group_pages_render(
    browser_page: BrowserPage, explorer_file, tmp_path: Path
):
    path, n_rules, n_groups = explorer_file
    page = browser_page.open(path)
    # Views draw after the click: wait for what they must show, not for a fixed time.
    page.click("nav a[data-view='scatter']")
    expect(page.locator("#scatter circle.dot")).to_have_count(n_rules)
    page.click("nav a[data-view='graph']")
    nodes = page.locator("#graph svg circle.node")
    # The five departments come out as the five groups.
    assert n_groups == DEPARTMENTS
    expect(nodes).to_have_count(n_groups)
    nodes.first.click()
    expect(page.locator("#view-group h2")).to_contain_text("Group 1: ")
    expect(page.locator("#view-group svg.group-graph circle.node")).to_have_count(PER_DEPARTMENT)
    page.click("#show-group-rules")
    assert page.locator("#group-filter").input_value() == "1"
    assert len(shown_rules(page)) == 50
    browser_page.screenshot(tmp_path / "group.png")
    assert browser_page.errors == []


def test_an_empty_model_opens_without_errors(browser_page: BrowserPage, tmp_path: Path):
    baskets = baskets_from_lists([["a", "b"], ["c"], ["a"]])
    rules = association_rules(frequent_itemsets(baskets, 0.9, 3), baskets.n_baskets, 0.5)
    result = build_groups(
        baskets, item_table(baskets), rules, AffinitySettings(1, 0.0, 1.0, 0, 2, 5, 3), 100
    )
    path = tmp_path / "empty.html"
    path.write_text(render_explorer(rules, result), encoding="utf-8")
    page = browser_page.open(path)
    assert page.locator("#match-count").inner_text() == "0 of 0 rules"
    page.click("nav a[data-view='scatter']")
    page.click("nav a[data-view='graph']")
    expect(page.locator("#graph")).to_have_text("No affinity groups.")
    assert browser_page.errors == []
