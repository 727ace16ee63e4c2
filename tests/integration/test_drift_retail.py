"""Drift-check on what retail changes: a new product is a finding of its own, rare items are
tested by their own counts, floors come from what the training window does on its own, a
partial change of whole numbers is seen, the rule that changed is named before its
sub-rules, a short window says what it cannot see, and reports name products in words,
grouped, with a seasonal hint and binned axes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from panier.core import schema as S
from panier.core.baskets import baskets_from_lines, baskets_from_lists
from panier.stages.drift_check import noise
from panier.stages.drift_check.data_tests import item_share_tests, numeric_test
from panier.stages.drift_check.findings import GROUPS, ranked_findings, seasonal_hints
from panier.stages.drift_check.plots import items_table, numeric_table, plot_tables
from panier.stages.drift_check.reference import prepare_reference
from panier.stages.drift_check.report import render_markdown
from panier.stages.drift_check.result import DriftTest
from panier.stages.drift_check.statistics import count_test
from panier.stages.drift_check.summary import summarize_lines
from test_drift import PARAMS, World, generate

NEW = "90001"


@pytest.fixture(scope="module")
def world() -> World:
    return World(generate())


def with_new_product(lines: pd.DataFrame, share: float, seed: int = 0) -> pd.DataFrame:
    """``lines`` with a product no training basket held added to ``share`` of invoices."""
    invoices = lines.drop_duplicates(S.INVOICE)
    chosen = invoices[np.random.default_rng(seed).random(len(invoices)) < share].copy()
    chosen[S.ITEM], chosen[S.DESCRIPTION] = NEW, "RAINBOW PICNIC BLANKET"
    return pd.concat([lines, chosen], ignore_index=True)


# ---------------------------------------------------------------------------------------------
# New products and rare items


def test_a_new_product_is_a_finding_of_its_own_named_by_description(world: World):
    current = summarize_lines(with_new_product(world.windows.current, 0.03), world.rejected.current)
    report = world.check(current)
    assert report.top_drifted[0] == f"new_item: {NEW}"
    first = report.findings[0]
    assert (first.kind, first.group, first.feature) == ("new_item", "catalogue", NEW)
    assert first.label.startswith(f"new product RAINBOW PICNIC BLANKET ({NEW}): in 3.")
    assert "none in training" in first.label and first.detail["co_bought"]
    assert [e["name"] for e in report.items["new"]] == [NEW]
    assert report.retrain_recommended


def test_a_new_product_in_one_percent_of_a_small_window_is_still_tested(world: World):
    lines = world.windows.current
    last_week = lines[lines[S.TIMESTAMP] > lines[S.TIMESTAMP].max() - pd.Timedelta(days=7)]
    current = summarize_lines(with_new_product(last_week, 0.01, seed=3))
    tests, _ = item_share_tests(world.reference.train.baskets, current.baskets, 0.025)
    assert f"new_item: {NEW}" in {t.name for t in tests}


def test_counts_are_tested_exactly_and_only_when_they_could_be_significant():
    # A new item in 30 of 250 current baskets, none of 1,000 training baskets.
    p, best = count_test([0], [1000], [30], [250])
    assert p[0] < 1e-15 and best[0] < 1e-15
    # Seen in two baskets in all: no split could be significant, so it is not tested.
    _, best = count_test([2], [1000], [0], [250])
    assert best[0] > 0.025
    ref = baskets_from_lists([["a"]] * 500 + [["b"]] * 498 + [["rare"], ["rare"]])
    cur = baskets_from_lists([["a"]] * 125 + [["b"]] * 125)
    tests, untested = item_share_tests(ref, cur, 0.025)
    assert {t.feature for t in tests} == {"a", "b"} and untested == 1


def test_count_test_p_values_are_not_too_small_with_no_drift():
    rng = np.random.default_rng(0)
    share, n1, n2 = 0.01, 5000, 800
    x1, x2 = rng.binomial(n1, share, 4000), rng.binomial(n2, share, 4000)
    p, _ = count_test(x1, np.full(4000, n1), x2, np.full(4000, n2))
    for level in (0.01, 0.05, 0.2):
        assert (p < level).mean() <= level + 0.01


# ---------------------------------------------------------------------------------------------
# Floors from the training window's own variability


def test_pseudo_windows_are_runs_of_consecutive_baskets_of_the_current_size():
    times = np.random.default_rng(1).permutation(np.arange(1000)).astype("datetime64[s]")
    windows = noise.pseudo_windows(times, 1000, 150, 20)
    assert len(windows) == 20 and all(len(w) == 150 for w in windows)
    for w in windows:
        assert np.all(np.diff(times[w].astype(np.int64)) == 1)  # consecutive in time
    assert times[windows[0]].min() == times.min() and times[windows[-1]].max() == times.max()
    # Never more than half the reference; nothing to cut from a tiny one.
    assert len(noise.pseudo_windows(times, 1000, 5000, 5)[0]) == 500
    assert noise.pseudo_windows(times[:3], 3, 2, 5) == []


def test_a_window_s_numeric_noise_is_its_wasserstein_distance_to_the_rest():
    rng = np.random.default_rng(2)
    n_baskets = 400
    row_basket = np.sort(rng.integers(0, n_baskets, 3000))
    values = np.round(rng.lognormal(1.0, 0.5, 3000) + row_basket / 200, 2)
    windows = noise.pseudo_windows(None, n_baskets, 100, 6)
    expected = 0.0
    for w in windows:
        inside = np.isin(row_basket, w)
        expected = max(expected, stats.wasserstein_distance(values[inside], values[~inside]))
    got = noise.numeric_noise(values, row_basket, n_baskets, windows)
    assert got == pytest.approx(expected / np.std(values), rel=1e-9)


def test_a_seasonal_item_gets_a_floor_as_large_as_its_season(world: World):
    lines = world.windows.train
    item = "10020"
    middle = lines[S.TIMESTAMP].min() + (lines[S.TIMESTAMP].max() - lines[S.TIMESTAMP].min()) / 2
    # Out of season (not sold) in the first half of the training window.
    seasonal = lines[~((lines[S.ITEM] == item) & (lines[S.TIMESTAMP] < middle))]
    reference = World.__new__(World)
    reference.windows, reference.rejected = world.windows, world.rejected
    reference.reference = prepare_reference(
        summarize_lines(seasonal),
        baskets_from_lines(world.windows.holdout),
        world.rules,
        world.items,
        PARAMS.evaluate,
    )
    current = world.current()
    by_floor = {t.feature: t for t in reference.check(current).tests if t.kind == "item_share"}
    test = by_floor[item]
    assert test.effect > PARAMS.drift.min_effect_share  # in season now: a large change
    assert test.floor > test.effect and not test.drifted  # ... as large as usual
    without = reference.check(current, PARAMS.drift.model_copy(update={"noise_windows": 0}))
    assert f"item_share: {item}" in without.top_drifted


# ---------------------------------------------------------------------------------------------
# Whole numbers, rules, short windows


def test_a_weekend_only_basket_size_change_is_seen_in_whole_number_counts():
    rng = np.random.default_rng(4)

    def sizes(n):
        return 1 + rng.negative_binomial(1.5, 1.5 / 6.5, n).astype(float)

    ref = np.sort(sizes(15000))
    cur = sizes(3300)
    cur[: 3300 * 2 // 7] += 2  # weekend baskets two items larger
    cur = np.sort(cur)
    test = numeric_test("basket_size", ref, cur)
    assert test.test == "kolmogorov_smirnov+chi_square"
    assert test.p_value < 1e-8
    # Two views of whole numbers, corrected together: never weaker than half the better.
    assert test.p_value <= 2 * stats.ks_2samp(ref, cur).pvalue
    # With no change, not more significant than chance.
    same = [numeric_test("basket_size", ref, np.sort(sizes(3300))).p_value for _ in range(200)]
    assert np.mean(np.array(same) < 0.05) <= 0.07


def test_the_changed_two_item_rule_is_named_before_its_sub_rules(world: World):
    report = world.check(world.current(generate({"weakened_rule": 1, "weakened_confidence": 0.4})))
    changed = "rule_confidence: {10070, 10085} -> 10100"
    assert report.top_drifted[0] == changed
    for finding in report.findings:
        if finding.kind == "rule_confidence" and finding.feature != changed.split(": ")[1]:
            assert finding.detail.get("explained_by"), finding.feature


def test_a_short_window_stays_quiet_and_says_what_it_cannot_see(world: World):
    lines = world.windows.current
    last_week = lines[lines[S.TIMESTAMP] > lines[S.TIMESTAMP].max() - pd.Timedelta(days=7)]
    report = world.check(summarize_lines(last_week))
    assert not report.drift_detected
    blind = [s for s in report.skipped if "only a confidence change above" in s["reason"]]
    assert blind and "a longer current window" in blind[0]["reason"]
    assert any(
        "no split between them could reach significance" in s["reason"] for s in report.skipped
    )


# ---------------------------------------------------------------------------------------------
# Reports people read


def test_every_test_has_a_group_and_a_label_naming_products_in_words(world: World):
    report = world.check(world.current(generate({"boosted_item_rank": 50, "boost_factor": 2.0})))
    assert {t.group for t in report.tests} <= set(GROUPS)
    assert all(t.label for t in report.tests)
    assert report.groups.keys() == set(GROUPS)
    assert sum(g["tests"] for g in report.groups.values()) == report.tests_run
    assert sum(g["drifted"] for g in report.groups.values()) == report.tests_drifted
    name = world.items.set_index("item_code").loc["10050", "description"]
    first = report.findings[0]
    assert first.label.startswith(f"{name} (10050): in ")
    assert {"group", "kind", "feature", "label", "effect", "p_adjusted"} <= first.to_dict().keys()
    table = items_table(report)
    assert table.loc[0, "item"] == f"{name} (10050)" and table.loc[0, "code"] == "10050"


def _found(kind: str, feature: str, group: str, effect: float) -> DriftTest:
    return DriftTest(
        kind,
        feature,
        "t",
        0.0,
        1e-9,
        effect,
        "e",
        0.1,
        0.2,
        100,
        100,
        "up",
        floor=0.1,
        p_adjusted=1e-9,
        drifted=True,
        group=group,
    )


def test_findings_take_turns_between_groups():
    many = [_found("item_share", str(i), "catalogue", 5.0 - i / 10) for i in range(8)]
    price = _found("numeric", "unit_price", "price", 0.5)
    order = [t.feature for t in ranked_findings([*many, price])]
    assert order[:3] == ["0", "unit_price", "1"]


def test_a_change_seen_in_the_same_weeks_last_year_is_hinted_as_seasonal():
    days = pd.date_range("2023-01-01", "2024-12-31", freq="D")
    rows = []
    for i, day in enumerate(days):
        summer = day.month in (6, 7)
        for basket in range(10):
            items = ["a"] + (["sun"] if (summer and basket < 6) or basket == 0 else [])
            items += ["trend"] if day.year == 2024 and day.month in (6, 7) and basket < 5 else []
            for item in items:
                rows.append(
                    {
                        S.INVOICE: f"{i}-{basket}",
                        S.TIMESTAMP: day,
                        S.CUSTOMER: "1",
                        S.COUNTRY: "UK",
                        S.ITEM: item,
                        S.DESCRIPTION: item.upper(),
                        S.QUANTITY: 1,
                        S.PRICE: 1.0,
                    }
                )
    lines = pd.DataFrame(rows)
    current_start = pd.Timestamp("2024-06-01")
    reference = summarize_lines(lines[lines[S.TIMESTAMP] < current_start])
    current = summarize_lines(
        lines[
            (lines[S.TIMESTAMP] >= current_start)
            & (lines[S.TIMESTAMP] < pd.Timestamp("2024-08-01"))
        ]
    )
    tests = [
        DriftTest(
            "item_share", item, "t", 0.0, 1e-9, 0.5, "cohens_h", 0.1, share, 0, 0, "up", floor=0.05
        )
        for item, share in (("sun", 0.6), ("trend", 0.5))
    ]
    seasonal_hints(reference, current, tests)
    sun, trend = tests
    assert sun.detail["same_period_last_year"] == pytest.approx(0.6, abs=0.03)
    assert sun.detail["seasonal"] and not trend.detail["seasonal"]


def test_numeric_plots_have_binned_axes_and_the_report_lists_groups(world: World):
    ref = world.reference.train
    current = world.current()
    long_tail = np.sort(
        np.concatenate([current.numeric["basket_size"], np.arange(100, 450, dtype=float)])
    )
    wide = type(current)(
        **{**current.__dict__, "numeric": {**current.numeric, "basket_size": long_tail}}
    )
    table = numeric_table("basket_size", ref, wide)
    assert len(table) <= 40 and table["bin"].is_unique
    report = world.check(summarize_lines(with_new_product(world.windows.current, 0.03)))
    markdown = render_markdown(report, plot_tables(report, ref, current))
    assert "## Findings by group" in markdown and "## New products" in markdown
    assert f"RAINBOW PICNIC BLANKET ({NEW})" in markdown
