"""The model artifact: the rules table, the item table and the model card that describes them.

The artifact is plain Parquet and JSON (never a pickle), so loading it runs no code. Its
layout is versioned by ``SCHEMA_VERSION``; a reader must refuse a version it does not know.
"""

from __future__ import annotations

from importlib.metadata import version

import numpy as np
import pandas as pd

from panier.core import io
from panier.core import schema as S
from panier.core.baskets import Baskets, min_count
from panier.core.config import Params
from panier.stages.train.mining import RULE_COLUMNS

SCHEMA_VERSION = 1
LIBRARIES = ("panier", "mlxtend", "numpy", "pandas", "pyarrow", "scipy")


def describe_items(lines: pd.DataFrame, baskets: Baskets) -> pd.DataFrame:
    """One row per item of the training window: code, most common description, baskets
    holding it and its support; ordered by popularity (the serving fallback's ranking)."""
    counts = pd.Series(baskets.item_counts(), index=baskets.items, name="baskets")
    names = most_common_description(lines)
    items = pd.DataFrame({"item_code": counts.index.astype(str), "baskets": counts.to_numpy()})
    items["description"] = items["item_code"].map(names).astype("str")
    items["support"] = items["baskets"] / max(baskets.n_baskets, 1)
    items = items.sort_values(["baskets", "item_code"], ascending=[False, True], ignore_index=True)
    return items[["item_code", "description", "baskets", "support"]]


def most_common_description(lines: pd.DataFrame) -> pd.Series:
    """Each item's most frequent non-missing description, ties going to the one seen first;
    indexed by item code. One grouped count over all lines, not one count per item."""
    named = lines.loc[lines[S.DESCRIPTION].notna(), [S.ITEM, S.DESCRIPTION]]
    # sort=False keeps pairs in order of first appearance: the tie-break.
    pairs = named.groupby([S.ITEM, S.DESCRIPTION], sort=False).size().reset_index(name="n")
    pairs["seen"] = np.arange(len(pairs))
    best = pairs.sort_values(["n", "seen"], ascending=[False, True], kind="stable")
    best = best.drop_duplicates(S.ITEM)
    return pd.Series(
        best[S.DESCRIPTION].to_numpy(), index=best[S.ITEM].to_numpy(), name=S.DESCRIPTION
    )


def model_card(
    lines: pd.DataFrame,
    baskets: Baskets,
    itemsets: pd.DataFrame,
    rules: pd.DataFrame,
    params: Params,
) -> dict:
    """What the model is, what made it and what it holds. Deliberately no creation time:
    the card is a DVC output and must be byte-identical when inputs are."""
    n = baskets.n_baskets
    return {
        "schema_version": SCHEMA_VERSION,
        "model": "association_rules",
        "files": {"rules": "rules.parquet", "items": "items.parquet"},
        "rule_columns": RULE_COLUMNS,
        "params": {"train": params.train.model_settings(), "windows": params.windows.model_dump()},
        "data": {
            "fingerprint_sha256": io.fingerprint(lines),
            "rows": len(lines),
            "first_timestamp": lines[S.TIMESTAMP].min(),
            "last_timestamp": lines[S.TIMESTAMP].max(),
        },
        "counts": {
            "baskets": n,
            "items": len(baskets.items),
            "min_count": min_count(params.train.min_support, n),
            "itemsets": len(itemsets),
            "itemsets_by_size": {
                str(k): int(v) for k, v in itemsets.groupby("size").size().items()
            },
            "rules": len(rules),
            "rules_by_size": {
                str(k + 1): int(v) for k, v in rules.groupby("antecedent_size").size().items()
            },
        },
        "libraries": {name: version(name) for name in LIBRARIES},
    }
