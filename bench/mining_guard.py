"""What the mining guard costs: the train stage's mining with and without ``max_itemsets``.

On the default generated data (params.yaml's generator, validated, training window), mining
at the default settings runs with the guard (``frequent_itemsets(..., max_itemsets=...)``)
and without it, interleaved in the same process, ``--repeats`` rounds; the ratio is taken
per round, then the median. Also timed alone: the guard's cheap bound (``itemset_bound``,
what runs on every train) and, for settings where that bound is inconclusive, the maximal-
itemset probe (``guard_mining``), and how long a refusal takes.

    python bench/mining_guard.py --repeats 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from panier.core.baskets import baskets_from_lines, leave_out_big_baskets, split_windows
from panier.core.config import load_params
from panier.stages.ingest.generate import generate_line_items
from panier.stages.train.mining import (
    MiningTooLarge,
    frequent_itemsets,
    guard_mining,
    itemset_bound,
    min_count,
)
from panier.stages.validate.validation import validate_line_items


def seconds(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    params = load_params()
    lines = generate_line_items(params.ingest.generator)
    clean = validate_line_items(lines, params.validate_).clean
    train = split_windows(clean, params.windows).train
    mined, _ = leave_out_big_baskets(train, params.train.max_basket_items)
    baskets = baskets_from_lines(mined)
    cfg = params.train
    print(
        f"load average {os.getloadavg()[0]:.2f}; {baskets.n_baskets:,} baskets, "
        f"{len(baskets.items):,} items; min_support {cfg.min_support}, max_len "
        f"{cfg.max_len}, max_itemsets {cfg.max_itemsets:,}"
    )

    guarded, plain, ratios = [], [], []
    for _ in range(args.repeats):
        g = seconds(
            lambda: frequent_itemsets(
                baskets, cfg.min_support, cfg.max_len, max_itemsets=cfg.max_itemsets
            )
        )
        p = seconds(lambda: frequent_itemsets(baskets, cfg.min_support, cfg.max_len))
        guarded.append(g)
        plain.append(p)
        ratios.append(g / p)
    print(
        f"mining, default settings: guarded {statistics.median(guarded) * 1000:.0f} ms, "
        f"unguarded {statistics.median(plain) * 1000:.0f} ms, ratio (median of rounds) "
        f"{statistics.median(ratios):.2f}"
    )

    def matrix_for(support: float):
        threshold = min_count(support, baskets.n_baskets)
        keep = np.flatnonzero(baskets.item_counts() >= threshold)
        matrix = baskets.matrix[:, keep]
        return matrix[np.diff(matrix.indptr) > 0], threshold

    for support, max_len in [
        (cfg.min_support, cfg.max_len),
        (0.001, None),
        (1e-9, cfg.max_len),
        (1e-9, None),
    ]:
        matrix, threshold = matrix_for(support)
        print(
            probe(
                matrix,
                baskets.n_baskets,
                threshold,
                support,
                max_len,
                cfg.max_itemsets,
                args.repeats,
            )
        )


def probe(
    matrix,
    n_baskets: int,
    threshold: int,
    support: float,
    max_len: int | None,
    max_itemsets: int,
    repeats: int,
) -> str:
    """The guard's cost at one setting: the cheap bound alone, then the whole guard."""
    sizes = np.diff(matrix.indptr)
    bound_s = statistics.median(
        seconds(lambda: itemset_bound(sizes, matrix.shape[1], threshold, max_len, max_itemsets))
        for _ in range(repeats)
    )
    _, bound = itemset_bound(sizes, matrix.shape[1], threshold, max_len, max_itemsets)
    outcome = "mines"

    def guard() -> None:
        nonlocal outcome
        try:
            guard_mining(matrix, n_baskets, threshold, support, max_len, max_itemsets)
        except MiningTooLarge:
            outcome = "refused before mining"

    guard_s = statistics.median(seconds(guard) for _ in range(repeats))
    shown = f"{bound:,}" if bound <= 10 * max_itemsets else "over 10 x max_itemsets"
    return (
        f"min_support {support:g}, max_len {max_len}: bound {shown} in "
        f"{bound_s * 1000:.2f} ms; whole guard {guard_s * 1000:.1f} ms: {outcome}"
    )


if __name__ == "__main__":
    main()
