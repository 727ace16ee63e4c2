"""Recommendations from association rules: for a basket, the consequents of the rules whose
antecedent it holds, best rule first."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pandas as pd


class RuleRecommender:
    """Ranks items for a basket by the best applicable rule: confidence, then lift, then
    item code (so ties break the same way every run).

    Rules are indexed by their antecedent's smallest item code, so a lookup reads only the rules
    that can apply, never the whole table.
    """

    def __init__(self, rules: pd.DataFrame):
        self._by_item: dict[str, list[tuple[frozenset, str, float, float]]] = defaultdict(list)
        for antecedent, consequent, confidence, lift in zip(
            rules["antecedent"], rules["consequent"], rules["confidence"], rules["lift"]
        ):
            antecedent = [str(a) for a in antecedent]
            self._by_item[min(antecedent)].append(
                (frozenset(antecedent), str(consequent), float(confidence), float(lift))
            )
        self.n_rules = len(rules)

    def recommend(self, basket: Iterable[str], k: int) -> list[str]:
        """Up to ``k`` items not in ``basket``, best first; empty when no rule applies."""
        held = set(basket)
        best: dict[str, tuple[float, float]] = {}
        for item in held:
            for antecedent, consequent, confidence, lift in self._by_item.get(item, ()):
                if consequent in held or not antecedent <= held:
                    continue
                score = (confidence, lift)
                if score > best.get(consequent, (-1.0, -1.0)):
                    best[consequent] = score
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        return [item for item, _ in ranked[:k]]


class PopularityRecommender:
    """The baseline: the most popular items the basket does not hold yet."""

    def __init__(self, item_counts: pd.Series):
        ordered = item_counts.sort_index().sort_values(ascending=False, kind="stable")
        self._ranked = [str(i) for i in ordered.index]

    def recommend(self, basket: Iterable[str], k: int) -> list[str]:
        held = set(basket)
        out = []
        for item in self._ranked:
            if item not in held:
                out.append(item)
                if len(out) == k:
                    break
        return out


class FallbackRecommender:
    """Rules first; the remaining slots filled with the most popular items. This is what a
    serving application answers, so it is the model the primary metric describes."""

    def __init__(self, rules: RuleRecommender, popular: PopularityRecommender):
        self._rules = rules
        self._popular = popular

    def recommend(self, basket: Iterable[str], k: int) -> list[str]:
        held = list(basket)
        ranked = self._rules.recommend(held, k)
        if len(ranked) < k:
            ranked += self._popular.recommend([*held, *ranked], k - len(ranked))
        return ranked
