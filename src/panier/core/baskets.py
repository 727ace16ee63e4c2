"""Baskets (the items of each invoice) and the time windows they are split into."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd
from scipy import sparse

from panier.core import schema as S
from panier.core.config import WindowParams


@dataclass(frozen=True)
class Baskets:
    """Transactions as a sparse 0/1 matrix: one row per basket, one column per item.

    ``items`` holds the item code of each column, sorted; ``matrix`` is CSR with sorted
    column indices, so row ``i``'s items are ``items[matrix.indices[indptr[i]:indptr[i+1]]]``.
    """

    items: np.ndarray
    matrix: sparse.csr_matrix

    @property
    def n_baskets(self) -> int:
        return self.matrix.shape[0]

    def item_counts(self) -> np.ndarray:
        """Number of baskets holding each item, aligned with ``items``."""
        # Each (basket, item) entry is stored once, so counting column ids is enough.
        counts = np.bincount(self.matrix.indices, minlength=self.matrix.shape[1])
        return counts.astype(self.matrix.indptr.dtype, copy=False)

    def sizes(self) -> np.ndarray:
        return np.diff(self.matrix.indptr)

    def as_lists(self) -> list[list[str]]:
        indptr, indices = self.matrix.indptr, self.matrix.indices
        return [list(self.items[indices[a:b]]) for a, b in itertools.pairwise(indptr)]


def _from_codes(basket_of_line: np.ndarray, codes: pd.Series, n_baskets: int) -> Baskets:
    # Sorted codes, each row's column: a hash-based factorize, not a sort of every string.
    columns, items = pd.factorize(codes, sort=True)
    items = np.asarray(items, dtype=object)
    matrix = sparse.csr_matrix(
        (np.ones(len(columns), dtype=bool), (basket_of_line, columns)),
        shape=(n_baskets, len(items)),
    )
    matrix.sum_duplicates()  # an item listed twice on one invoice is still one item
    matrix.sort_indices()
    return Baskets(items.astype(object), matrix)


def baskets_from_lines(lines: pd.DataFrame) -> Baskets:
    """One basket per invoice of a canonical line-item table, in invoice order."""
    basket_of_line, _ = pd.factorize(lines[S.INVOICE], sort=True)
    n_baskets = int(basket_of_line.max()) + 1 if len(lines) else 0
    return _from_codes(basket_of_line, lines[S.ITEM], n_baskets)


@dataclass(frozen=True)
class BigBaskets:
    """What ``leave_out_big_baskets`` left out of mining: baskets, their line items, and the
    limit (``train.max_basket_items``; ``None``: none left out)."""

    max_items: int | None
    baskets: int
    rows: int

    def report(self) -> dict:
        return {
            "max_basket_items": self.max_items,
            "baskets_left_out_of_mining": self.baskets,
            "rows_left_out_of_mining": self.rows,
        }


def leave_out_big_baskets(
    lines: pd.DataFrame, max_items: int | None
) -> tuple[pd.DataFrame, BigBaskets]:
    """``lines`` (canonical line items) without the invoices holding more than ``max_items``
    distinct items, and a count of what was left out. Wholesale orders of hundreds of items
    are real sales, but in mining each adds every combination of its items (C(300, 3) is 4.5
    million triples): kept for evaluation and drift, they are left out of mining only."""
    if max_items is None or lines.empty:
        return lines, BigBaskets(max_items, 0, 0)
    sizes = lines.groupby(S.INVOICE, sort=False)[S.ITEM].nunique()
    big = sizes.index[sizes > max_items]
    if not len(big):
        return lines, BigBaskets(max_items, 0, 0)
    in_big = lines[S.INVOICE].isin(big).to_numpy()
    kept = lines.loc[~in_big].reset_index(drop=True)
    return kept, BigBaskets(max_items, len(big), int(in_big.sum()))


def baskets_from_lists(transactions: Iterable[Sequence[str]]) -> Baskets:
    """Baskets from an iterable of item lists (one list per basket, duplicates ignored)."""
    rows: list[int] = []
    codes: list[str] = []
    n_baskets = 0
    for n_baskets, basket in enumerate(transactions, start=1):
        rows.extend([n_baskets - 1] * len(basket))
        codes.extend(basket)
    return _from_codes(np.asarray(rows, dtype=np.int64), pd.Series(codes, dtype=str), n_baskets)


@dataclass(frozen=True)
class Windows:
    """Validated line items split by invoice time: train < holdout < current."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    current: pd.DataFrame
    holdout_start: pd.Timestamp
    current_start: pd.Timestamp


def split_windows(lines: pd.DataFrame, params: WindowParams) -> Windows:
    """Split by each invoice's first timestamp, counted back from the newest one, so that an
    invoice never straddles two windows."""
    if lines.empty:
        raise ValueError("cannot split an empty table into time windows")
    invoice_time = lines.groupby(S.INVOICE)[S.TIMESTAMP].transform("min")
    end = invoice_time.max()
    current_start = end - pd.Timedelta(days=params.current_days)
    holdout_start = current_start - pd.Timedelta(days=params.holdout_days)
    is_current = invoice_time > current_start
    is_holdout = ~is_current & (invoice_time > holdout_start)
    is_train = ~is_current & ~is_holdout
    return Windows(
        train=_select(lines, is_train.to_numpy()),
        holdout=_select(lines, is_holdout.to_numpy()),
        current=_select(lines, is_current.to_numpy()),
        holdout_start=holdout_start,
        current_start=current_start,
    )


def _select(lines: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """``lines[mask]`` with a fresh index. Time-ordered input makes each window one run of
    rows: then a slice, which copies nothing (copying every string column of a million lines
    takes a second)."""
    rows = np.flatnonzero(mask)
    if len(rows) and rows[-1] - rows[0] + 1 == len(rows):
        return lines.iloc[rows[0] : rows[-1] + 1].reset_index(drop=True)
    return lines.loc[mask].reset_index(drop=True)


def min_count(min_support: float, n_baskets: int) -> int:
    """The smallest basket count that meets ``min_support`` (at least 1)."""
    return max(1, math.ceil(Fraction(str(min_support)) * n_baskets))
