"""Product affinity groups: what an analyst arranging shelves reads from them, on small
baskets built by hand and on the published Groceries result."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import pandas as pd
import pytest

from panier.core.baskets import Baskets, baskets_from_lists, min_count
from panier.stages.affinity.changes import changes_markdown, compare_groups
from panier.stages.affinity.explorer import render_explorer
from panier.stages.affinity.graph import affinity_edges
from panier.stages.affinity.groups import AffinitySettings, build_groups
from panier.stages.affinity.naming import rule_text
from panier.stages.affinity.summaries import groups_json, summary_markdown
from panier.stages.train.mining import association_rules, frequent_itemsets


def settings(min_pair_count: int = 1, **changes) -> AffinitySettings:
    values = dict(
        min_pair_count=min_pair_count,
        min_phi=0.0,
        resolution=1.0,
        seed=0,
        min_group_size=2,
        top_rules=5,
        neighbours=3,
    )
    values.update(changes)
    return AffinitySettings(**values)


def item_table(baskets: Baskets, names: dict[str, str] | None = None) -> pd.DataFrame:
    counts = baskets.item_counts()
    codes = baskets.items.astype(str)
    return pd.DataFrame(
        {
            "item_code": codes,
            "description": [(names or {}).get(c, c.upper()) for c in codes],
            "baskets": counts,
            "support": counts / baskets.n_baskets,
        }
    )


def model(
    baskets: Baskets, min_support: float, min_confidence: float, engine: str = "auto"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    itemsets = frequent_itemsets(baskets, min_support, None, engine=engine)
    return item_table(baskets), association_rules(itemsets, baskets.n_baskets, min_confidence)


# Breakfast and barbecue: two sets of products bought together, one basket holding both, and
# "batteries" bought alone.
SHOP = (
    [["bread", "butter", "jam"]] * 6
    + [["bread", "butter"]] * 3
    + [["butter", "jam"]] * 2
    + [["charcoal", "sausages", "mustard"]] * 5
    + [["charcoal", "sausages"]] * 3
    + [["sausages", "mustard"]] * 2
    + [["bread", "sausages"]]
    + [["batteries"]] * 4
)


@pytest.fixture(scope="module")
def shop():
    baskets = baskets_from_lists(SHOP)
    items, rules = model(baskets, 0.05, 0.5)
    return baskets, items, rules, build_groups(baskets, items, rules, settings(2), 2)


def groups_of(result) -> list[set[str]]:
    return [
        set(frame["item_code"])
        for _, frame in result.items[result.items["group"] != 0].groupby("group")
    ]


def test_products_bought_together_form_one_group_each(shop):
    _, _, _, result = shop
    assert groups_of(result) == [{"bread", "butter", "jam"}, {"charcoal", "mustard", "sausages"}]
    # Batteries share no basket with anything: listed, in no group.
    assert result.items.set_index("item_code").loc["batteries", "group"] == 0
    assert result.summary["ungrouped_items"] == 1


def test_each_group_says_what_it_holds_and_covers(shop):
    _, _, rules, result = shop
    first = result.groups.iloc[0]
    assert first["size"] == 3
    assert {i["item_code"] for i in first["items"]} == {"bread", "butter", "jam"}
    assert {i["description"] for i in first["items"]} == {"BREAD", "BUTTER", "JAM"}
    # 12 of the 26 baskets hold a breakfast product; 29 of 59 item occurrences are one.
    assert first["basket_share"] == pytest.approx(12 / 26)
    assert first["volume_share"] == pytest.approx(29 / 59)
    # No two barbecue and breakfast products are bought together more than chance has it.
    assert first["neighbours"] == []
    # Every rule among breakfast products is inside the group, strongest (by lift) first.
    inside = [r["rule"] for r in first["top_rules"]]
    expected = rules[
        [
            set([*a, c]) <= {"bread", "butter", "jam"}
            for a, c in zip(rules["antecedent"], rules["consequent"])
        ]
    ]
    assert first["rules_inside"] == len(expected) > 0
    assert inside[0] == rule_text(
        *expected.sort_values("lift", ascending=False, kind="stable").iloc[0][
            ["antecedent", "consequent"]
        ]
    )
    lifts = [r["lift"] for r in first["top_rules"]]
    assert lifts == sorted(lifts, reverse=True)


def test_edges_are_phi_of_pairs_held_by_enough_baskets():
    baskets = baskets_from_lists(SHOP)
    edges = affinity_edges(baskets, sorted(baskets.items), 2, 0.0)
    pairs = set(zip(edges["source"], edges["target"]))
    assert ("bread", "butter") in pairs
    assert ("bread", "sausages") not in pairs  # one basket only
    row = edges[(edges["source"] == "bread") & (edges["target"] == "butter")].iloc[0]
    n, a, b, ab = 26, 10, 11, 9  # baskets; with bread; with butter; with both
    assert row["count"] == ab
    assert row["phi"] == pytest.approx((n * ab - a * b) / math.sqrt(a * b * (n - a) * (n - b)))
    # A negative correlation is never an edge, whatever min_pair_count allows.
    loose = affinity_edges(baskets, sorted(baskets.items), 1, 0.0)
    assert ("bread", "sausages") not in set(zip(loose["source"], loose["target"]))
    assert (loose["phi"] > 0).all()


def test_equal_inputs_give_identical_groups_and_an_identical_page(shop):
    baskets, items, rules, result = shop
    again = build_groups(baskets, items, rules, settings(2), 2)
    pd.testing.assert_frame_equal(result.items, again.items)
    assert result.groups.to_json() == again.groups.to_json()
    assert render_explorer(rules, result) == render_explorer(rules, again)


def test_comparing_two_revisions_names_gained_lost_and_changed_groups():
    base = pd.DataFrame(
        {"group": [1, 1, 1, 2, 2, 3, 3], "item_code": ["a", "b", "c", "x", "y", "p", "q"]}
    )
    head = pd.DataFrame(
        {"group": [1, 1, 1, 1, 2, 2, 3, 3], "item_code": ["x", "y", "z", "w", "a", "b", "m", "n"]}
    )
    changes = compare_groups(base, head)
    assert changes.matched == [(2, 1, 0.5), (1, 2, 2 / 3)]
    assert changes.gained == [3] and changes.lost == [3]
    text = changes_markdown(changes, "main")
    assert text.startswith(
        "3 affinity groups on `main`, 3 on this branch: 1 gained, 1 lost, 2 changed, 0 unchanged."
    )
    assert "| 2 -> 1 | 0.50 | `w`, `z` | - |" in text
    assert "| 1 -> 2 | 0.67 | - | `c` |" in text
    assert compare_groups(base, base).changed == []


# ---------------------------------------------------------------------------------------------
# The published Groceries result: support 0.001, confidence 0.8, 410 rules.


@pytest.fixture(scope="module")
def groceries(shared_data: Path):
    with gzip.open(shared_data / "groceries.csv.gz", "rt") as lines:
        baskets = baskets_from_lists([line.rstrip("\n").split(",") for line in lines])
    items, rules = model(baskets, 0.001, 0.8)
    threshold = min_count(0.001, baskets.n_baskets)
    result = build_groups(baskets, items, rules, settings(threshold), threshold)
    return baskets, items, rules, result, threshold


def test_groceries_groups_hold_the_strongest_rules_with_their_consequent(groceries):
    _, _, rules, result, _ = groceries
    assert len(rules) == 410
    group = dict(zip(result.items["item_code"], result.items["group"]))
    # The strongest published rule lies wholly inside one group: the drinks.
    top = rules.sort_values("lift", ascending=False, kind="stable")
    first = top.iloc[0]
    assert (list(first["antecedent"]), first["consequent"]) == (
        ["liquor", "red/blush wine"],
        "bottled beer",
    )
    drinks = group["bottled beer"]
    assert group["liquor"] == group["red/blush wine"] == drinks != 0
    assert {"white wine", "canned beer", "bottled water"} <= {
        c for c, g in group.items() if g == drinks
    }
    # Each of the ten strongest rules has its consequent in the group of an antecedent item:
    # the rule can be acted on within one shelf.
    for antecedent, consequent in zip(top["antecedent"][:10], top["consequent"][:10]):
        assert any(group[a] == group[consequent] != 0 for a in antecedent), (antecedent, consequent)
    # The two consequents of 386 of the 410 rules stand together.
    assert group["whole milk"] == group["other vegetables"] != 0
    assert result.summary["rules_anchored_in_groups"] > 0.9 * len(rules)
    assert result.summary["groups"] >= 4
    # Nearest shelves: every group has neighbours, the most related first.
    for row in result.groups.itertuples():
        weights = [n["weight"] for n in row.neighbours]
        assert weights and weights == sorted(weights, reverse=True)
        assert row.group not in [n["group"] for n in row.neighbours]


def test_groceries_groups_are_the_same_on_rerun_and_with_another_engine(groceries):
    baskets, _, rules, result, threshold = groceries
    items, by_mlxtend = model(baskets, 0.001, 0.8, engine="mlxtend")
    pd.testing.assert_frame_equal(by_mlxtend, rules)
    again = build_groups(baskets, items, by_mlxtend, settings(threshold), threshold)
    pd.testing.assert_frame_equal(again.items, result.items)
    assert again.groups.to_json() == result.groups.to_json()
    assert (again.rule_groups == result.rule_groups).all()
    assert render_explorer(by_mlxtend, again) == render_explorer(rules, result)


def test_a_model_with_no_frequent_products_gives_empty_groups_not_a_failure():
    baskets = baskets_from_lists([["a", "b"], ["c"], ["a"]])
    items, rules = model(baskets, 0.9, 0.5)
    assert rules.empty
    result = build_groups(baskets, items, rules, settings(), min_item_count=100)
    assert result.items.empty and result.groups.empty
    assert result.summary["groups"] == 0
    assert groups_json(result, settings())["groups"] == []
    assert "0 groups hold 0 of 0 products" in summary_markdown(result)
    assert "explorer-data" in render_explorer(rules, result)
