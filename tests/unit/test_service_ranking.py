"""The service ranks exactly as the pipeline's served model (``panier.core.recommend``), shows the
best rule as evidence, flags the popularity fallback, and never scans the whole rule table."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

from panier.core.baskets import baskets_from_lines
from panier.core.recommend import FallbackRecommender, PopularityRecommender, RuleRecommender
from panier_service.artifact import load_model
from panier_service.ranking import Rule, RuleIndex, recommend
from support.service_support import train_lines, write_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    # Low support and max_len 4: thousands of rules with antecedents of 1 to 3 items.
    return write_model(
        tmp_path_factory.mktemp("model"),
        train_lines(4000),
        min_support=0.004,
        min_confidence=0.1,
        max_len=4,
    )


@pytest.fixture(scope="module")
def pipeline(model_dir) -> FallbackRecommender:
    rules = pd.read_parquet(model_dir / "rules.parquet")
    items = pd.read_parquet(model_dir / "items.parquet")
    return FallbackRecommender(
        RuleRecommender(rules), PopularityRecommender(items.set_index("item_code")["baskets"])
    )


@pytest.fixture(scope="module")
def baskets(model_dir) -> list[list[str]]:
    """Shopper baskets (another seed than training), plus large random baskets that send
    the index down its other lookup path."""
    shoppers = baskets_from_lines(train_lines(1500, seed=7)).as_lists()
    catalog = pd.read_parquet(model_dir / "items.parquet")["item_code"].tolist()
    rng = random.Random(3)
    large = [rng.sample(catalog[:80], rng.randint(20, 60)) for _ in range(40)]
    return shoppers + large


def test_the_model_has_rules_of_every_antecedent_size(model_dir):
    sizes = set(pd.read_parquet(model_dir / "rules.parquet")["antecedent_size"])
    assert sizes == {1, 2, 3}


@pytest.mark.parametrize("k", [1, 3, 5, 10, 25])
def test_ranking_equals_the_pipelines_served_model(model_dir, pipeline, baskets, k):
    model = load_model(model_dir)
    differ = [
        b
        for b in baskets
        if [s.item_code for s in model.recommend(b, k).suggestions] != pipeline.recommend(b, k)
    ]
    assert not differ, f"{len(differ)} baskets ranked differently, e.g. {differ[0]}"


def test_evidence_is_the_best_applicable_rule(model_dir, baskets):
    rules = pd.read_parquet(model_dir / "rules.parquet")
    model = load_model(model_dir)
    checked = 0
    for basket in baskets[:300]:
        held = set(basket)
        for suggestion in model.recommend(basket, 5).suggestions:
            if suggestion.rule is None:
                continue
            applicable = rules[
                (rules["consequent"] == suggestion.item_code)
                & rules["antecedent"].map(held.issuperset)
            ]
            best = applicable.sort_values(["confidence", "lift"], ascending=False).iloc[0]
            assert set(suggestion.rule.antecedent) <= held
            assert suggestion.rule.consequent == suggestion.item_code
            assert (suggestion.rule.confidence, suggestion.rule.lift) == (
                best["confidence"],
                best["lift"],
            )
            checked += 1
    assert checked > 100


def test_fallback_flag_and_outcomes(model_dir):
    model = load_model(model_dir)
    lonely = next(
        code for code in reversed(model.popular) if not model.index.best_rules(frozenset([code]))
    )
    answer = model.recommend([lonely], 5)
    assert answer.fallback and answer.outcome == "fallback"
    assert [s.item_code for s in answer.suggestions] == [c for c in model.popular if c != lonely][
        :5
    ]
    assert all(s.source == "popularity" and s.rule is None for s in answer.suggestions)

    best = model.index.rules[0]
    answer = model.recommend(best.antecedent, 1)
    assert not answer.fallback and answer.outcome == "rules"
    assert answer.suggestions[0].rule == best

    mixed = model.recommend(best.antecedent, len(model.items))
    assert mixed.outcome == "mixed" and not mixed.fallback

    everything = model.recommend(list(model.items), 5)
    assert everything.outcome == "empty" and everything.suggestions == ()


def test_lookup_visits_only_rules_whose_antecedent_the_basket_holds(model_dir, baskets):
    model = load_model(model_dir)
    rules = model.index.rules
    for basket in baskets:
        held = frozenset(basket)
        visited = [rule for group in model.index.applicable(held) for rule in group]
        expected = [rule for rule in rules if held.issuperset(rule.antecedent)]
        assert sorted(r.rank for r in visited) == sorted(r.rank for r in expected)


def rule(rank, antecedent, consequent, confidence, lift, count=10):
    return Rule(rank, tuple(sorted(antecedent)), consequent, confidence, lift, 0.1, count)


def test_ties_on_confidence_and_lift_break_by_item_code():
    # Same confidence and lift; the rule for "b" has the higher count and comes first in
    # rank order, but the ranking breaks ties by item code, as the pipeline does.
    index = RuleIndex(
        [
            rule(0, ["x"], "b", 0.5, 2.0, count=50),
            rule(1, ["x"], "a", 0.5, 2.0, count=10),
            rule(2, ["x"], "c", 0.4, 9.0),
        ]
    )
    answer = recommend(index, ("p", "q"), ["x"], 2)
    assert [s.item_code for s in answer.suggestions] == ["a", "b"]
    answer = recommend(index, ("p", "q"), ["x"], 5)
    assert [s.item_code for s in answer.suggestions] == ["a", "b", "c", "p", "q"]


def test_a_consequent_is_scored_by_its_best_rule_and_never_recommended_if_held():
    index = RuleIndex(
        [
            rule(0, ["x", "y"], "c", 0.9, 3.0),
            rule(1, ["x"], "d", 0.8, 5.0),
            rule(2, ["x"], "c", 0.3, 1.0),
            rule(3, ["y"], "x", 0.7, 2.0),
        ]
    )
    answer = recommend(index, (), ["x", "y"], 5)
    assert [(s.item_code, s.rule.rank) for s in answer.suggestions] == [("c", 0), ("d", 1)]
    answer = recommend(index, (), ["x"], 5)
    assert [(s.item_code, s.rule.rank) for s in answer.suggestions] == [("d", 1), ("c", 2)]
