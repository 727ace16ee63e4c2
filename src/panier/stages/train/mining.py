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

from panier.core.baskets import Baskets, min_count
from panier.core.errors import ConfigError
from panier.stages.train import engines

ITEMSET_COLUMNS = ["itemset", "size", "count", "support"]
RULE_COLUMNS = [
    "antecedent",
    "consequent",
    "antecedent_size",
    "count",
    "antecedent_count",
    "consequent_count",
    "support",
    "confidence",
    "lift",
    "leverage",
    "conviction",
]


def _sum_combinations(n: int, largest: int, cap: int) -> int:
    """``C(n, 1) + ... + C(n, largest)``, or a number above ``cap`` as soon as it passes it."""
    total = 0
    for k in range(1, min(n, largest) + 1):
        total += math.comb(n, k)
        if total > cap:
            return total
    return total


def itemset_bound(
    sizes: np.ndarray, n_frequent: int, threshold: int, max_len: int | None, cap: int
) -> tuple[int, int]:
    """A cheap upper bound on the number of frequent itemsets, from item supports alone.

    ``sizes`` holds, per basket, its number of frequent items (items held by at least
    ``threshold`` baskets; there are ``n_frequent``). Returns ``(longest, bound)``:
    ``longest`` is the most items a frequent itemset can have (the ``threshold``-th largest
    basket, capped by ``max_len``), ``bound`` the least of two upper bounds on the count of
    frequent itemsets of at most ``longest`` items: every such subset of the frequent items,
    and the basket-itemset incidences divided by ``threshold`` (each frequent itemset of two
    or more items lies in at least ``threshold`` baskets). Sums stop once past ``cap``.
    Costs one sort of the basket sizes, whatever the data.
    """
    if n_frequent == 0 or len(sizes) < threshold:
        return 0, 0
    longest = int(np.sort(sizes)[::-1][threshold - 1])
    if max_len is not None:
        longest = min(longest, max_len)
    subsets = _sum_combinations(n_frequent, longest, cap)
    incidences = 0
    values, multiplicity = np.unique(sizes[sizes >= 2], return_counts=True)
    for size, times in zip(values.tolist(), multiplicity.tolist()):
        incidences += times * (_sum_combinations(size, longest, cap * threshold) - size)
        if incidences // threshold > cap:
            break
    return longest, min(subsets, n_frequent + incidences // threshold)


class MiningTooLarge(ConfigError):
    """Mining would find more frequent itemsets than ``train.max_itemsets``."""


def _too_large(
    what: str,
    n_baskets: int,
    threshold: int,
    min_support: float,
    max_len: int | None,
    max_itemsets: int,
) -> MiningTooLarge:
    length = (
        "set train.max_len (now null: no limit; 3 is usual)"
        if max_len is None
        else f"lower train.max_len ({max_len})"
    )
    return MiningTooLarge(
        f"train: mining would find {what}, more than train.max_itemsets ({max_itemsets:,}): "
        f"at train.min_support {min_support:g} an itemset needs only {threshold:,} of "
        f"{n_baskets:,} baskets. Raise train.min_support, or {length}; or raise "
        "train.max_itemsets if the machine can hold that many."
    )


def guard_mining(
    matrix: Any,
    n_baskets: int,
    threshold: int,
    min_support: float,
    max_len: int | None,
    max_itemsets: int,
) -> None:
    """Raise ``MiningTooLarge`` (naming ``train.min_support`` and ``train.max_len``) when
    mining ``matrix`` (baskets x frequent items, CSR) would find more than ``max_itemsets``
    frequent itemsets; return when it will find at most that many, or when only mining
    itself can tell (then ``frequent_itemsets`` checks the count it found).

    First the cheap bound of ``itemset_bound`` (enough for the shipped data). When it is
    inconclusive: with a ``max_len``, the itemsets are counted without being kept
    (``engines.count_itemsets``); without one, the sizes of the maximal frequent itemsets
    are found, and a maximal set of ``m`` items alone means ``2^m - 1`` frequent itemsets.
    """
    sizes = np.diff(matrix.indptr)
    _, bound = itemset_bound(sizes, matrix.shape[1], threshold, max_len, max_itemsets)
    if bound <= max_itemsets:
        return
    if max_len is not None:
        # At most max_len items: the count is polynomial, and counting is cheaper than keeping.
        count = engines.count_itemsets(matrix, threshold, max_len, max_itemsets)
        if count > max_itemsets:
            raise _too_large(
                f"{'at least ' if count == max_itemsets + 1 else ''}{count:,} frequent itemsets",
                n_baskets,
                threshold,
                min_support,
                max_len,
                max_itemsets,
            )
        return
    maximal = engines.maximal_itemset_sizes(matrix, threshold)
    counts = [2 ** int(m) - 1 for m in maximal]
    if counts and max(counts) > max_itemsets:
        biggest = int(maximal[int(np.argmax(counts))])
        raise _too_large(
            f"at least {max(counts):,} frequent itemsets (a set of {biggest} items is held by "
            f"at least {threshold:,} baskets, and every part of it is frequent too)",
            n_baskets,
            threshold,
            min_support,
            max_len,
            max_itemsets,
        )


def frequent_itemsets(
    baskets: Baskets,
    min_support: float,
    max_len: int | None = None,
    engine: str = "auto",
    spark: Mapping[str, Any] | None = None,
    max_itemsets: int | None = None,
) -> pd.DataFrame:
    """All itemsets held by at least ``min_count(min_support, n)`` baskets.

    Returns a frame with ``itemset`` (tuple of item codes, sorted), ``size``, ``count`` and
    ``support``, ordered by size then itemset. ``engine`` (``auto``, ``mlxtend``, ``pyfim`` or
    ``spark``, with ``spark`` settings ``master`` and ``conf``) chooses how, never what: see
    ``engines``. Engines see a sparse matrix restricted to frequent items, so memory
    follows the data, not baskets x items. With ``max_itemsets``, raises ``MiningTooLarge``
    (before mining where ``guard_mining`` can tell) rather than find more itemsets.
    """
    n = baskets.n_baskets
    threshold = min_count(min_support, n)
    counts = baskets.item_counts()
    keep = np.flatnonzero(counts >= threshold)
    if keep.size == 0 or n == 0:
        return pd.DataFrame({c: [] for c in ITEMSET_COLUMNS}).astype(
            {"size": "int64", "count": "int64", "support": "float64"}
        )
    matrix = baskets.matrix[:, keep]
    matrix = matrix[np.diff(matrix.indptr) > 0]  # baskets with no frequent item add nothing
    if max_itemsets is not None:
        guard_mining(matrix, n, threshold, min_support, max_len, max_itemsets)
    found, itemset_counts = engines.mine(matrix, threshold, max_len, engine, spark)
    if max_itemsets is not None and len(found) > max_itemsets:
        raise _too_large(
            f"{len(found):,} frequent itemsets", n, threshold, min_support, max_len, max_itemsets
        )
    # Columns are sorted item codes, so ascending ids give sorted code tuples.
    codes = baskets.items[keep].tolist()
    itemsets = [tuple(codes[i] for i in ids) for ids in found]
    result = pd.DataFrame({"itemset": itemsets, "count": itemset_counts})
    result["size"] = result["itemset"].map(len).astype("int64")
    result["support"] = result["count"] / n
    return result.sort_values(["size", "itemset"], ignore_index=True)[ITEMSET_COLUMNS]


def association_rules(
    itemsets: pd.DataFrame, n_baskets: int, min_confidence: float
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
            antecedent = itemset[:position] + itemset[position + 1 :]
            antecedent_count = count_of[antecedent]
            if count * den >= num * antecedent_count:
                rows.append(
                    (antecedent, consequent, count, antecedent_count, count_of[(consequent,)])
                )
    rules = pd.DataFrame(
        rows, columns=["antecedent", "consequent", "count", "antecedent_count", "consequent_count"]
    )
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
            confidence < 1.0, (1.0 - consequent_support) / (1.0 - confidence), np.inf
        )
    rules["antecedent"] = rules["antecedent"].map(list)
    rules["_key"] = rules["antecedent"].map(" ".join)
    rules = rules.sort_values(
        ["confidence", "lift", "count", "_key", "consequent"],
        ascending=[False, False, False, True, True],
        ignore_index=True,
        kind="stable",
    )
    return rules[RULE_COLUMNS].astype(
        {
            "count": "int64",
            "antecedent_count": "int64",
            "consequent_count": "int64",
            "consequent": "str",
        }
    )
