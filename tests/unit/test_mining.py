"""Frequent itemsets and rules: exact thresholds, known results, planted truth."""

import gzip
import itertools
import math

import numpy as np
import pandas as pd
import pytest

from panier.core.baskets import baskets_from_lines, baskets_from_lists, min_count
from panier.core.config import GeneratorParams, PlantedRule, ValidateParams
from panier.stages.ingest.generate import generate_line_items
from panier.stages.train.mining import association_rules, frequent_itemsets
from panier.stages.validate.validation import validate_line_items


def brute_force_counts(transactions, threshold, max_len):
    counts = {}
    for basket in transactions:
        items = sorted(set(basket))
        for size in range(1, min(len(items), max_len) + 1):
            for combo in itertools.combinations(items, size):
                counts[combo] = counts.get(combo, 0) + 1
    return {k: v for k, v in counts.items() if v >= threshold}


@pytest.mark.parametrize(
    ("support", "n", "expected"),
    [
        (0.07, 100, 7),  # 0.07 * 100 is 7.000000000000001 in floats
        (0.01, 100_000, 1000),
        (0.001, 9835, 10),
        (0.0001, 10, 1),  # never below one basket
    ],
)
def test_min_count_is_the_exact_ceiling(support, n, expected):
    assert min_count(support, n) == expected


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_itemsets_match_brute_force_enumeration(seed):
    rng = np.random.default_rng(seed)
    transactions = [
        list(rng.choice(list("abcdefgh"), size=rng.integers(1, 6), replace=False))
        for _ in range(300)
    ]
    baskets = baskets_from_lists(transactions)
    found = frequent_itemsets(baskets, 0.05, max_len=3)
    expected = brute_force_counts(transactions, min_count(0.05, 300), 3)
    assert dict(zip(found["itemset"], found["count"])) == expected
    assert (found["support"] == found["count"] / 300).all()


def test_an_itemset_exactly_on_the_support_threshold_is_kept():
    # 7 of 100 baskets hold {a, b}; support 0.07 must keep it (a float ceil would ask for 8).
    transactions = [["a", "b"]] * 7 + [["c"]] * 93
    found = frequent_itemsets(baskets_from_lists(transactions), 0.07)
    assert ("a", "b") in set(found["itemset"])
    fewer = [["a", "b"]] * 6 + [["c"]] * 94
    assert ("a", "b") not in set(frequent_itemsets(baskets_from_lists(fewer), 0.07)["itemset"])


def test_a_rule_exactly_on_the_confidence_threshold_is_kept():
    # count(a) = 180 and count(a, b) = 144 in 200 baskets: confidence is 0.8 exactly, but
    # the usual ratio of float supports, (144/200) / (180/200), is 0.7999999999999999.
    transactions = [["a", "b"]] * 144 + [["a"]] * 36 + [["b"]] * 20
    baskets = baskets_from_lists(transactions)
    rules = association_rules(frequent_itemsets(baskets, 0.01), baskets.n_baskets, 0.8)
    kept = {(tuple(a), c) for a, c in zip(rules["antecedent"], rules["consequent"])}
    assert (("a",), "b") in kept
    assert (144 / 200) / (180 / 200) < 0.8  # the float trap this guards against


def test_rule_measures_follow_their_definitions():
    transactions = [["a", "b"]] * 30 + [["a"]] * 10 + [["b"]] * 20 + [["c"]] * 40
    baskets = baskets_from_lists(transactions)
    rules = association_rules(frequent_itemsets(baskets, 0.1), baskets.n_baskets, 0.5)
    rule = rules[(rules["consequent"] == "b")].iloc[0]
    assert list(rule["antecedent"]) == ["a"]
    assert (rule["count"], rule["antecedent_count"], rule["consequent_count"]) == (30, 40, 50)
    assert rule["support"] == pytest.approx(0.30)
    assert rule["confidence"] == pytest.approx(0.75)
    assert rule["lift"] == pytest.approx(0.75 / 0.5)
    assert rule["leverage"] == pytest.approx(0.30 - 0.40 * 0.50)
    assert rule["conviction"] == pytest.approx((1 - 0.5) / (1 - 0.75))


def test_rules_are_ordered_by_confidence_then_lift():
    transactions = [["a", "b"]] * 30 + [["a"]] * 10 + [["b"]] * 20 + [["c", "a"]] * 40
    baskets = baskets_from_lists(transactions)
    rules = association_rules(frequent_itemsets(baskets, 0.1), baskets.n_baskets, 0.1)
    keys = list(zip(-rules["confidence"], -rules["lift"]))
    assert keys == sorted(keys)


def test_max_len_bounds_rule_size():
    transactions = [["a", "b", "c", "d"]] * 10
    found = frequent_itemsets(baskets_from_lists(transactions), 0.5, max_len=2)
    assert found["size"].max() == 2


def test_no_frequent_item_gives_empty_frames_with_the_right_columns():
    baskets = baskets_from_lists([["a"], ["b"], ["c"]])
    itemsets = frequent_itemsets(baskets, 0.9)
    rules = association_rules(itemsets, baskets.n_baskets, 0.5)
    assert itemsets.empty and rules.empty
    assert "confidence" in rules.columns


def test_planted_rules_are_found_with_their_confidence():
    planted = [
        PlantedRule(
            antecedent=["10040"], consequent="10055", confidence=0.8, antecedent_share=0.05
        ),
        PlantedRule(
            antecedent=["10070", "10085"], consequent="10100", confidence=0.7, antecedent_share=0.04
        ),
    ]
    lines = generate_line_items(GeneratorParams(n_invoices=8000, planted_rules=planted))
    clean = validate_line_items(lines, ValidateParams()).clean
    baskets = baskets_from_lines(clean)
    rules = association_rules(frequent_itemsets(baskets, 0.005, 3), baskets.n_baskets, 0.3)
    by_key = {
        (tuple(a), c): conf
        for a, c, conf in zip(rules["antecedent"], rules["consequent"], rules["confidence"])
    }
    for rule in planted:
        assert by_key[(tuple(rule.antecedent), rule.consequent)] == pytest.approx(
            rule.confidence, abs=0.05
        )


@pytest.fixture(scope="module")
def groceries(shared_data):
    with gzip.open(shared_data / "groceries.csv.gz", "rt", encoding="utf-8") as handle:
        transactions = [line.rstrip("\n").split(",") for line in handle]
    return baskets_from_lists(transactions)


def test_groceries_has_its_documented_shape(groceries):
    assert groceries.n_baskets == 9835
    assert len(groceries.items) == 169
    assert groceries.matrix.nnz == 43367
    assert "cream cheese " in set(groceries.items)  # the trailing space is data


def test_groceries_itemset_counts_match_the_published_ones(groceries):
    found = frequent_itemsets(groceries, 0.001)
    assert len(found) == 13492
    assert found.groupby("size").size().tolist() == [157, 2981, 6831, 3137, 376, 10]
    assert len(frequent_itemsets(groceries, 0.01)) == 333
    assert len(frequent_itemsets(groceries, 0.005)) == 1001


def test_groceries_gives_the_published_410_rules(groceries):
    rules = association_rules(frequent_itemsets(groceries, 0.001), groceries.n_baskets, 0.8)
    assert len(rules) == 410
    # arules' summary of this result: rule lengths (antecedent + consequent) 3/4/5/6.
    lengths = (rules["antecedent_size"] + 1).value_counts().sort_index()
    assert lengths.to_dict() == {3: 29, 4: 229, 5: 140, 6: 12}
    assert int((rules["lift"] > 5).sum()) == 32


def test_groceries_463_rules_of_two_or_more_items_at_count_60(groceries):
    itemsets = frequent_itemsets(groceries, 0.006)
    assert math.ceil(0.006 * groceries.n_baskets) == 60
    rules = association_rules(itemsets, groceries.n_baskets, 0.25)
    assert len(rules) == 463


def test_baskets_ignore_an_item_listed_twice_on_one_invoice():
    lines = pd.DataFrame({"invoice_id": ["1", "1", "1", "2"], "item_code": ["a", "a", "b", "a"]})
    baskets = baskets_from_lines(lines)
    assert baskets.as_lists() == [["a", "b"], ["a"]]
    assert baskets.item_counts().tolist() == [2, 1]
