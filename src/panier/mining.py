"""Frequent itemsets and association rules with exact integer thresholds.

Thresholds are compared on counts, never on float ratios: an itemset is frequent when
``count >= ceil(min_support * n_baskets)`` and a rule ``A -> c`` is kept when
``count(A + c) >= min_confidence * count(A)``, evaluated with exact fractions. Float ratios
drop rules that sit exactly on a threshold (144/180 is 0.7999999999999998 in floats).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from panier import engines
from panier.baskets import Baskets

ITEMSET_COLUMNS = ["itemset", "size", "count", "support"]
RULE_COLUMNS = [
    "antecedent", "consequent", "antecedent_size", "count", "antecedent_count",
    "consequent_count", "support", "confidence", "lift", "leverage", "conviction",
]


def min_count(min_support: float, n_baskets: int) -> int:
    """The smallest basket count that meets ``min_support`` (at least 1)."""
    return max(1, math.ceil(Fraction(str(min_support)) * n_baskets))


def frequent_itemsets(baskets: Baskets, min_support: float, max_len: int | None = None,
                      engine: str = "auto", spark: Mapping[str, Any] | None = None
                      ) -> pd.DataFrame:
    """All itemsets held by at least ``min_count(min_support, n)`` baskets.

    Returns a frame with ``itemset`` (tuple of item codes, sorted), ``size``, ``count`` and
    ``support``, ordered by size then itemset. ``engine`` (``auto``, ``mlxtend``, ``pyfim`` or
    ``spark``, with ``spark`` settings ``master`` and ``conf``) chooses how, never what: see
    ``panier.engines``. Engines see a sparse matrix restricted to frequent items, so memory
    follows the data, not baskets x items.
    """
    n = baskets.n_baskets
    threshold = min_count(min_support, n)
    counts = baskets.item_counts()
    keep = np.flatnonzero(counts >= threshold)
    if keep.size == 0 or n == 0:
        return pd.DataFrame({c: [] for c in ITEMSET_COLUMNS}).astype(
            {"size": "int64", "count": "int64", "support": "float64"})
    matrix = baskets.matrix[:, keep]
    matrix = matrix[np.diff(matrix.indptr) > 0]  # baskets with no frequent item add nothing
    found, itemset_counts = engines.mine(matrix, threshold, max_len, engine, spark)
    # Columns are sorted item codes, so ascending ids give sorted code tuples.
    codes = baskets.items[keep].tolist()
    itemsets = [tuple(codes[i] for i in ids) for ids in found]
    result = pd.DataFrame({"itemset": itemsets, "count": itemset_counts})
    result["size"] = result["itemset"].map(len).astype("int64")
    result["support"] = result["count"] / n
    return result.sort_values(["size", "itemset"], ignore_index=True)[ITEMSET_COLUMNS]


def association_rules(itemsets: pd.DataFrame, n_baskets: int, min_confidence: float
                      ) -> pd.DataFrame:
    """Rules with a one-item consequent from every frequent itemset of two or more items.

    ``itemsets`` is the output of ``frequent_itemsets`` (downward closed: every subset of an
    itemset is in it). Returns one row per rule with counts and the usual measures, ordered by
    confidence, lift and count (descending), then antecedent and consequent.
    """
    bound = Fraction(str(min_confidence))
    num, den = bound.numerator, bound.denominator
    count_of = dict(zip(itemsets["itemset"], itemsets["count"]))
    rows = []
    for itemset, count in count_of.items():
        if len(itemset) < 2:
            continue
        for position, consequent in enumerate(itemset):
            antecedent = itemset[:position] + itemset[position + 1:]
            antecedent_count = count_of[antecedent]
            if count * den >= num * antecedent_count:
                rows.append((antecedent, consequent, count, antecedent_count,
                             count_of[(consequent,)]))
    rules = pd.DataFrame(rows, columns=["antecedent", "consequent", "count", "antecedent_count",
                                        "consequent_count"])
    n = float(n_baskets)
    support = rules["count"] / n
    confidence = rules["count"] / rules["antecedent_count"]
    consequent_support = rules["consequent_count"] / n
    rules["antecedent_size"] = rules["antecedent"].map(len).astype("int64")
    rules["support"] = support
    rules["confidence"] = confidence
    rules["lift"] = confidence / consequent_support
    rules["leverage"] = support - (rules["antecedent_count"] / n) * consequent_support
    with np.errstate(divide="ignore"):
        rules["conviction"] = np.where(
            confidence < 1.0, (1.0 - consequent_support) / (1.0 - confidence), np.inf)
    rules["antecedent"] = rules["antecedent"].map(list)
    rules["_key"] = rules["antecedent"].map(" ".join)
    rules = rules.sort_values(
        ["confidence", "lift", "count", "_key", "consequent"],
        ascending=[False, False, False, True, True], ignore_index=True, kind="stable",
    )
    return rules[RULE_COLUMNS].astype(
        {"count": "int64", "antecedent_count": "int64", "consequent_count": "int64",
         "consequent": "str"})
