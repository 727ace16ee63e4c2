"""Model artifacts for the service's tests, written without the pipeline (the service's
tests run where only the service is installed: no pandas, no mlxtend).

``shopping_baskets`` makes baskets with planted associations (every product has a partner
that is often bought with it), ``write_model`` mines them exhaustively (small baskets: every
itemset counted) and writes the three files of the artifact schema the service reads
(``panier_service.artifact``). The pipeline's own artifacts are tested against the service in
the repository's tests/ (test_service_ranking.py, the parity test).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from itertools import combinations
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CATALOG = [f"{10000 + 10 * i}" for i in range(80)]


def shopping_baskets(n: int = 2000, seed: int = 42) -> list[list[str]]:
    """``n`` baskets of 1 to 6 distinct item codes: popularity falls off with the item's
    rank, and an item brings its partner (the next code) along two times in three."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(CATALOG))]
    baskets = []
    for _ in range(n):
        basket: list[str] = []
        for _ in range(rng.randint(1, 4)):
            index = rng.choices(range(len(CATALOG)), weights)[0]
            basket.append(CATALOG[index])
            if index % 2 == 0 and rng.random() < 2 / 3:
                basket.append(CATALOG[index + 1])
        baskets.append(list(dict.fromkeys(basket)))
    return baskets


def write_model(
    folder: Path,
    baskets: list[list[str]],
    min_support: float = 0.01,
    min_confidence: float = 0.3,
    max_len: int = 3,
) -> Path:
    """Mine ``baskets`` (every itemset of up to ``max_len`` items with at least
    ``min_support``; every rule of those with at least ``min_confidence``) and write
    ``rules.parquet``, ``items.parquet`` and ``model_card.json`` into ``folder``."""
    n = len(baskets)
    counts: Counter[frozenset[str]] = Counter()
    for basket in baskets:
        for size in range(1, max_len + 1):
            counts.update(frozenset(c) for c in combinations(sorted(set(basket)), size))
    frequent = {itemset: c for itemset, c in counts.items() if c / n >= min_support}
    rules = []
    for itemset, count in frequent.items():
        for consequent in itemset if len(itemset) > 1 else ():
            antecedent = itemset - {consequent}
            confidence = count / counts[antecedent]
            if confidence >= min_confidence:
                lift = confidence / (counts[frozenset([consequent])] / n)
                rules.append((sorted(antecedent), consequent, confidence, lift, count / n, count))
    rules.sort(key=lambda r: (-r[2], -r[3], -r[5], r[0], r[1]))
    items = sorted({code for basket in baskets for code in basket})
    folder.mkdir(parents=True, exist_ok=True)
    columns = list(zip(*rules)) if rules else [[]] * 6
    pq.write_table(
        pa.table(
            {
                "antecedent": pa.array(columns[0], pa.list_(pa.string())),
                "consequent": pa.array(columns[1], pa.string()),
                "confidence": pa.array(columns[2], pa.float64()),
                "lift": pa.array(columns[3], pa.float64()),
                "support": pa.array(columns[4], pa.float64()),
                "count": pa.array(columns[5], pa.int64()),
                "antecedent_size": pa.array([len(a) for a in columns[0]], pa.int64()),
            }
        ),
        folder / "rules.parquet",
    )
    singles = [counts[frozenset([code])] for code in items]
    pq.write_table(
        pa.table(
            {
                "item_code": pa.array(items, pa.string()),
                "description": pa.array([f"PRODUCT {code}" for code in items], pa.string()),
                "baskets": pa.array(singles, pa.int64()),
                "support": pa.array([c / n for c in singles], pa.float64()),
            }
        ),
        folder / "items.parquet",
    )
    fingerprint = hashlib.sha256(json.dumps(baskets).encode()).hexdigest()
    card = {
        "schema_version": 1,
        "model": "association_rules",
        "files": {"rules": "rules.parquet", "items": "items.parquet"},
        "data": {"fingerprint_sha256": fingerprint, "baskets": n},
        "params": {
            "min_support": min_support,
            "min_confidence": min_confidence,
            "max_len": max_len,
        },
        "counts": {
            "baskets": n,
            "items": len(items),
            "itemsets": len(frequent),
            "rules": len(rules),
        },
        "libraries": {"pyarrow": pa.__version__},
    }
    (folder / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")
    return folder
