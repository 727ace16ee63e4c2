"""Ranking a basket's recommendations from association rules, with a popularity fallback.

The ranking is the pipeline's served-model behaviour, re-implemented here because the
service does not import the pipeline (a test compares the two on the same model files):

1. every rule whose antecedent the basket holds and whose consequent it does not *applies*;
2. each consequent is scored by its best applicable rule: confidence, then lift;
3. consequents are ranked by that score, ties broken by item code;
4. slots left when the rules run out are filled with the most popular items (baskets
   holding them in the training window, ties by item code) that the basket does not hold.

Lookups never scan the rule table: rules are indexed by their exact antecedent, and the
antecedents a basket can match are found from the basket's own items (see ``RuleIndex``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule ``antecedent -> consequent``. ``rank`` is its position in the model's best-first
    order (confidence, lift, count descending; then antecedent and consequent): among rules
    with the same consequent the lowest rank is the evidence shown."""

    rank: int
    antecedent: tuple[str, ...]  # sorted item codes
    consequent: str
    confidence: float
    lift: float
    support: float
    count: int


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One recommended item; ``rule`` is the evidence, None for a popularity fallback."""

    item_code: str
    rule: Rule | None

    @property
    def source(self) -> str:
        return "popularity" if self.rule is None else "rule"


@dataclass(frozen=True, slots=True)
class Answer:
    """The ranked suggestions for one basket."""

    suggestions: tuple[Suggestion, ...]
    rule_count: int  # how many suggestions came from rules

    @property
    def fallback(self) -> bool:
        """True when no rule applied: every suggestion is a popularity fallback."""
        return self.rule_count == 0

    @property
    def outcome(self) -> str:
        """``rules`` (rules only), ``mixed`` (rules, then popularity), ``fallback``
        (popularity only) or ``empty`` (nothing left to recommend)."""
        if not self.suggestions:
            return "empty"
        if self.rule_count == 0:
            return "fallback"
        return "rules" if self.rule_count == len(self.suggestions) else "mixed"


class RuleIndex:
    """Rules indexed by antecedent.

    A basket can only match antecedents made of its own items, so a lookup starts from the
    basket: one-item antecedents are found by item; two-item antecedents through each item's
    set of partners (the second items of the antecedents it starts), intersected with the
    basket; larger ones by looking up every combination of the basket's items or walking the
    antecedents that start with one of them, whichever is fewer. The work depends on the
    basket and the rules that apply, never on the size of the whole table.
    """

    def __init__(self, rules: Sequence[Rule]):
        """``rules`` best first (by confidence, then lift, descending), with ``rules[i].rank
        == i`` and antecedents sorted."""
        if any(rule.rank != i for i, rule in enumerate(rules)):
            raise ValueError("rules must be given best first, rule i with rank i")
        by_antecedent: dict[tuple[str, ...], list[Rule]] = {}
        for rule in rules:
            by_antecedent.setdefault(rule.antecedent, []).append(rule)
        self._by_antecedent = {a: tuple(rs) for a, rs in by_antecedent.items()}
        # The hot path reads plain tuples: the ranks of each antecedent's rules, and the
        # consequent of each rank.
        self._ranks = {a: tuple(r.rank for r in rs) for a, rs in by_antecedent.items()}
        self._rules = tuple(rules)
        self._consequent_of = tuple(r.consequent for r in rules)
        # Dense rank of each rule's (confidence, lift): the ranking key with ties kept tied,
        # so that tied consequents are ordered by item code, not by the rules' other columns.
        self._score = []
        previous, dense = None, -1
        for rule in rules:
            key = (rule.confidence, rule.lift)
            if key != previous:
                previous, dense = key, dense + 1
            self._score.append(dense)
        self._sizes = sorted({len(a) for a in by_antecedent})
        self._larger = [size for size in self._sizes if size > 2]
        by_first: dict[int, dict[str, list[tuple[str, ...]]]] = {s: {} for s in self._sizes}
        for antecedent in by_antecedent:
            by_first[len(antecedent)].setdefault(antecedent[0], []).append(antecedent)
        self._by_first = {s: {i: tuple(a) for i, a in m.items()} for s, m in by_first.items()}
        self._partners = {
            first: frozenset(a[1] for a in antecedents)
            for first, antecedents in by_first.get(2, {}).items()
        }
        self._items = frozenset(i for a in by_antecedent for i in a)
        self.n_rules = len(rules)
        self.n_antecedents = len(by_antecedent)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule, best first."""
        return self._rules

    def _antecedents(self, basket: frozenset[str]) -> list[tuple[str, ...]]:
        """The indexed antecedents that ``basket`` holds."""
        groups, partners = self._ranks, self._partners
        found: list[tuple[str, ...]] = []
        for item in basket:
            if (item,) in groups:
                found.append((item,))
            seconds = partners.get(item)
            if seconds:
                found.extend((item, second) for second in seconds.intersection(basket))
        if self._larger:
            found.extend(self._larger_antecedents(basket))
        return found

    def _larger_antecedents(self, basket: frozenset[str]) -> Iterator[tuple[str, ...]]:
        held = sorted(i for i in basket if i in self._items)
        groups = self._ranks
        for size in self._larger:
            if size > len(held):
                break
            by_first = self._by_first[size]
            listed = sum(len(by_first.get(i, ())) for i in held)
            if math.comb(len(held), size) <= listed:
                for combo in combinations(held, size):
                    if combo in groups:
                        yield combo
            else:
                for item in held:
                    for antecedent in by_first.get(item, ()):
                        if basket.issuperset(antecedent):
                            yield antecedent

    def applicable(self, basket: frozenset[str]) -> Iterator[tuple[Rule, ...]]:
        """The rule groups (one per antecedent, best rule first) whose antecedent
        ``basket`` holds."""
        for antecedent in self._antecedents(basket):
            yield self._by_antecedent[antecedent]

    def best_rules(self, basket: frozenset[str]) -> dict[str, Rule]:
        """For each item the basket does not hold, the best rule recommending it."""
        best: dict[str, Rule] = {}
        for group in self.applicable(basket):
            for rule in group:
                current = best.get(rule.consequent)
                if rule.consequent not in basket and (current is None or rule.rank < current.rank):
                    best[rule.consequent] = rule
        return best

    def top(self, basket: frozenset[str], k: int) -> list[Rule]:
        """The best rules of the best ``k`` consequents, ranked by confidence, then lift,
        then item code (the same as ranking ``best_rules`` by that key, but faster).

        All applicable ranks are sorted at once (in C); walking them best first, the first
        rule seen for a consequent is its best. The walk stops at the first rule whose score
        is worse than the k-th chosen consequent's: everything after it ranks lower. Ties on
        that score are collected, then ordered by item code.
        """
        ranks: list[int] = []
        groups = self._ranks
        for antecedent in self._antecedents(basket):
            ranks.extend(groups[antecedent])
        ranks.sort()
        consequent_of, score = self._consequent_of, self._score
        chosen: dict[str, int] = {}
        last = -1
        for rank in ranks:
            consequent = consequent_of[rank]
            if consequent in chosen or consequent in basket:
                continue
            if len(chosen) >= k and score[rank] != last:
                break
            chosen[consequent] = rank
            last = score[rank]
        ranked = sorted(chosen.items(), key=lambda cr: (score[cr[1]], cr[0]))[:k]
        return [self._rules[rank] for _, rank in ranked]


def recommend(index: RuleIndex, popular: Sequence[str], basket: Iterable[str], k: int) -> Answer:
    """Up to ``k`` items for ``basket``: rule consequents first (best rule first), then the
    most popular items (``popular`` is the item codes, most popular first) not yet held or
    chosen."""
    held = frozenset(basket)
    ranked = index.top(held, k)
    suggestions = [Suggestion(rule.consequent, rule) for rule in ranked]
    if len(suggestions) < k:
        # Fewer than k rule candidates: all of them are suggested already.
        taken = held.union(s.item_code for s in suggestions)
        for item in popular:
            if item not in taken:
                suggestions.append(Suggestion(item, None))
                if len(suggestions) == k:
                    break
    return Answer(tuple(suggestions), len(ranked))
