"""Recommending from rules: applicable rules only, best rule first, popular items to fill."""

import pandas as pd

from panier.core.recommend import FallbackRecommender, PopularityRecommender, RuleRecommender


def rules_table(rows):
    return pd.DataFrame(rows, columns=["antecedent", "consequent", "confidence", "lift"])


RULES = rules_table(
    [
        (["milk"], "sugar", 0.8, 2.0),
        (["milk", "bread"], "butter", 0.9, 3.0),
        (["bread"], "jam", 0.8, 4.0),
        (["eggs"], "milk", 0.7, 1.5),
        (["milk"], "butter", 0.5, 1.2),
    ]
)


def test_only_rules_whose_whole_antecedent_is_held_apply():
    recommender = RuleRecommender(RULES)
    assert recommender.recommend(["milk"], 5) == ["sugar", "butter"]
    assert "butter" in recommender.recommend(["bread", "milk"], 5)
    assert recommender.recommend(["coffee"], 5) == []


def test_items_already_in_the_basket_are_never_recommended():
    assert RuleRecommender(RULES).recommend(["eggs", "milk"], 5) == ["sugar", "butter"]


def test_ranking_is_by_best_rule_confidence_then_lift():
    # butter: 0.9 via {milk, bread}; jam and sugar tie on 0.8, jam has the higher lift.
    assert RuleRecommender(RULES).recommend(["milk", "bread"], 5) == ["butter", "jam", "sugar"]


def test_k_caps_the_answer():
    assert RuleRecommender(RULES).recommend(["milk", "bread"], 1) == ["butter"]


def test_lookup_reads_only_rules_that_can_apply():
    recommender = RuleRecommender(RULES)
    indexed = {item: len(rules) for item, rules in recommender._by_item.items()}
    # Keyed by the smallest item of each antecedent: {milk, bread} is filed under bread.
    assert indexed == {"milk": 2, "bread": 2, "eggs": 1}


def test_popularity_skips_held_items():
    popular = PopularityRecommender(pd.Series({"a": 10, "b": 30, "c": 20}))
    assert popular.recommend(["b"], 2) == ["c", "a"]


def test_fallback_fills_the_remaining_slots_with_popular_items():
    popular = PopularityRecommender(pd.Series({"bread": 50, "sugar": 40, "tea": 30}))
    model = FallbackRecommender(RuleRecommender(RULES), popular)
    assert model.recommend(["milk"], 4) == ["sugar", "butter", "bread", "tea"]
    assert model.recommend(["coffee"], 2) == ["bread", "sugar"]
