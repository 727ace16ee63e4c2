"""Concept-drift tests of the rules, vectorised: every rule counted on a set of baskets at
once (``match_rules``), each rule's confidence and support as trained against the current
window, and the products a new item is bought with."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from panier.core.baskets import Baskets
from panier.stages.drift_check.data_tests import basket_share_tests
from panier.stages.drift_check.noise import detectable_change
from panier.stages.drift_check.result import DriftTest
from panier.stages.drift_check.statistics import (
    count_test,
    direction_of,
    share_of,
    two_proportion_test,
)


@dataclass(frozen=True)
class RuleMatches:
    """How the rules meet a set of baskets."""

    antecedent_baskets: np.ndarray  # per rule: baskets holding the whole antecedent
    rule_baskets: np.ndarray  # per rule: ... and the consequent
    answered: np.ndarray  # per basket: some rule applies (antecedent held, consequent not)
    # Every (basket, rule, consequent held) where the basket holds the rule's antecedent.
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def match_rules(rules: pd.DataFrame, baskets: Baskets) -> RuleMatches:
    """Count every rule on ``baskets`` at once with sparse products (no loop over baskets):
    a basket holds an antecedent when it holds as many of its items as the antecedent has."""
    n_rules, n_baskets = len(rules), baskets.n_baskets
    column = {str(item): i for i, item in enumerate(baskets.items)}
    rows, cols = [], []
    known = np.ones(n_rules, dtype=bool)
    sizes = np.zeros(n_rules, dtype=np.int64)
    for r, antecedent in enumerate(rules["antecedent"]):
        sizes[r] = len(antecedent)
        for item in antecedent:
            c = column.get(str(item))
            if c is None:
                known[r] = False
            else:
                rows.append(r)
                cols.append(c)
    empty = RuleMatches(
        np.zeros(n_rules, np.int64), np.zeros(n_rules, np.int64), np.zeros(n_baskets, dtype=bool)
    )
    if n_rules == 0 or n_baskets == 0 or not rows:
        return empty
    antecedents = sparse.csr_matrix(
        (np.ones(len(rows), np.int32), (rows, cols)), shape=(n_rules, len(baskets.items))
    )
    held = (baskets.matrix.astype(np.int32) @ antecedents.T).tocsr()  # baskets x rules
    held.sort_indices()
    basket = np.repeat(np.arange(n_baskets), np.diff(held.indptr))
    rule = held.indices
    full = (held.data == sizes[rule]) & known[rule]
    basket, rule = basket[full], rule[full]
    consequent = np.array([column.get(str(c), -1) for c in rules["consequent"]], dtype=np.int64)
    # Each (basket, item) pair of the basket matrix as one sorted key, to look pairs up.
    n_items = len(baskets.items)
    matrix = baskets.matrix
    keys = np.repeat(np.arange(n_baskets, dtype=np.int64), np.diff(matrix.indptr)) * n_items
    keys += matrix.indices
    wanted = basket.astype(np.int64) * n_items + consequent[rule]
    found = np.searchsorted(keys, wanted)
    found = np.minimum(found, max(len(keys) - 1, 0))
    has_consequent = (
        (consequent[rule] >= 0) & (keys[found] == wanted)
        if len(keys)
        else np.zeros(len(rule), dtype=bool)
    )
    answered = np.zeros(n_baskets, dtype=bool)
    answered[basket[~has_consequent]] = True
    return RuleMatches(
        np.bincount(rule, minlength=n_rules),
        np.bincount(rule[has_consequent], minlength=n_rules),
        answered,
        (basket, rule, has_consequent),
    )


def rule_label(antecedent, consequent) -> str:
    return f"{{{', '.join(sorted(str(a) for a in antecedent))}}} -> {consequent}"


def rule_tests(
    rules: pd.DataFrame, matches: RuleMatches, n_baskets: int, fdr: float
) -> tuple[list[DriftTest], int]:
    """Each rule's confidence as trained against its confidence re-measured on the current
    baskets (Fisher's exact test; effect: the absolute change of confidence), for every rule
    whose counts could be significant at all (``count_test``: the filter reads only the
    margins, so it is independent of the outcome). Each test's detail says the smallest
    change it could find half the time alone (``detectable_change``). Returns the tests and
    the number of rules left untested."""
    n2 = matches.antecedent_baskets
    x2 = matches.rule_baskets
    x1 = rules["count"].to_numpy(float)
    n1 = rules["antecedent_count"].to_numpy(float)
    p_values, best = count_test(x1, n1, x2, n2)
    keep = (best < fdr) & (n2 > 0)
    z, _ = two_proportion_test(x1, n1, x2, n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = x1 / n1, np.where(n2 > 0, x2 / np.maximum(n2, 1), 0.0)
    # Agresti-Caffo: one success and one failure added to each side, so that a confidence
    # of 0 or 1 measured on a few baskets does not get a standard error of zero.
    a1, a2 = (x1 + 1) / (n1 + 2), (x2 + 1) / (n2 + 2)
    se = np.sqrt(a1 * (1 - a1) / (n1 + 2) + a2 * (1 - a2) / (n2 + 2))
    detectable = detectable_change(p1, n1, n2, fdr)
    antecedents, consequents = list(rules["antecedent"]), list(rules["consequent"])
    support, lift = rules["support"].to_numpy(float), rules["lift"].to_numpy(float)
    tests = []
    for r in np.flatnonzero(keep):
        antecedent, consequent = antecedents[r], consequents[r]
        tests.append(
            DriftTest(
                "rule_confidence",
                rule_label(antecedent, consequent),
                "fisher_exact",
                float(z[r]),
                float(p_values[r]),
                float(abs(p2[r] - p1[r])),
                "confidence_change",
                float(p1[r]),
                float(p2[r]),
                int(n1[r]),
                int(n2[r]),
                direction_of(p1[r], p2[r]),
                float(se[r]),
                detail={
                    "antecedent": [str(a) for a in antecedent],
                    "consequent": str(consequent),
                    "reference_support": float(support[r]),
                    "current_support": share_of(x2[r], n_baskets),
                    "reference_rule_baskets": int(x1[r]),
                    "current_rule_baskets": int(x2[r]),
                    "lift": float(lift[r]),
                    "detectable_change": round(float(detectable[r]), 4),
                },
            )
        )
    return tests, int((~keep).sum())


def rule_support_tests(
    rules: pd.DataFrame, matches: RuleMatches, n_reference: int, n_current: int, fdr: float
) -> tuple[list[DriftTest], int]:
    """Each rule's support (the share of baskets holding its antecedent and consequent) as
    trained against the same share of the current baskets (two-proportion, Cohen's h): how
    often the rule applies and is right, which moves when its items gain or lose popularity
    even if its confidence holds. Tested, like item shares, when its counts could be
    significant at all. Returns the tests and the number of rules left untested."""
    x1 = rules["count"].to_numpy(float)
    x2 = matches.rule_baskets.astype(float)
    antecedents, consequents = list(rules["antecedent"]), list(rules["consequent"])
    return basket_share_tests(
        "rule_support",
        [rule_label(a, c) for a, c in zip(antecedents, consequents)],
        x1,
        n_reference,
        x2,
        n_current,
        fdr,
        lambda r: {
            "antecedent": [str(a) for a in antecedents[r]],
            "consequent": str(consequents[r]),
            "reference_rule_baskets": int(x1[r]),
            "current_rule_baskets": int(x2[r]),
        },
    )


def co_bought(baskets: Baskets, tests: list[DriftTest], top: int = 3) -> None:
    """For each new-item test, the items most often in the same current baskets: the rules
    the new product would enter (``detail["co_bought"]``: item, share of the new item's
    baskets that hold it)."""
    column = {str(item): i for i, item in enumerate(baskets.items)}
    matrix = baskets.matrix.tocsc()
    for test in tests:
        c = column.get(test.feature)
        if c is None:
            continue
        holders = matrix.indices[matrix.indptr[c] : matrix.indptr[c + 1]]
        counts = np.bincount(baskets.matrix[holders].indices, minlength=len(baskets.items))
        counts[c] = 0
        order = np.lexsort((np.arange(len(counts)), -counts))[:top]
        test.detail["co_bought"] = [
            [str(baskets.items[i]), round(counts[i] / len(holders), 4)]
            for i in order
            if counts[i] > 0
        ]
