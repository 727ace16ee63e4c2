"""The declaration of a valid line item: a pandera ``DataFrameSchema`` whose checks are named by
reason code, run lazily so that every problem is found in one pass.

pandera is imported here only, and this module only when rows are validated: importing pandera
imports pyspark when it is installed (``pandera.typing``), which costs every command that merely
imports the validate stage (drift-check among them) most of a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
import pandera.pandas as pa

from panier.core import schema as S
from panier.core.config import ValidateParams
from panier.stages.validate.reasons import RANK, REASONS

# What the canonical nanosecond timestamps can hold: earlier rows are too old, later ones future.
EARLIEST = pd.Timestamp("1678-01-01")
LATEST = pd.Timestamp("2262-01-01")


def canonical_schema(
    params: ValidateParams, today: date, not_provided: Sequence[str] = ()
) -> pa.DataFrameSchema:
    """The declaration of a valid line item: one pandera check per reason code.

    Columns in ``not_provided`` (the source has none, e.g. prices of a basket list) may be
    missing and carry no checks.
    """
    limit = min(pd.Timestamp(params.max_timestamp or today) + pd.Timedelta(days=1), LATEST)
    non_products = {code.strip().upper() for code in params.non_product_codes}
    pattern = params.non_product_pattern
    prefix = params.cancelled_prefix

    def check(fn, code: str) -> pa.Check:
        return pa.Check(fn, name=code)

    def is_non_product(s: pd.Series) -> pd.Series:
        hit = s.str.strip().str.upper().isin(non_products)
        if pattern:
            hit |= s.str.contains(pattern, regex=True, na=False)
        return ~hit

    oldest = max(pd.Timestamp(params.min_timestamp or EARLIEST), EARLIEST)
    timestamp_checks = [
        check(lambda s: s < limit, "future_timestamp"),
        check(lambda s: s >= oldest, "too_old_timestamp"),
    ]
    quantity_checks = [check(lambda s: s > 0, "return")]
    if params.max_quantity is not None:
        most = params.max_quantity
        quantity_checks.append(check(lambda s: s <= most, "quantity_too_large"))

    columns = {
        S.INVOICE: pa.Column(
            "str",
            nullable=False,
            checks=check(lambda s: ~s.str.startswith(prefix), "cancelled_invoice"),
        ),
        S.TIMESTAMP: pa.Column("datetime64[us]", nullable=False, checks=timestamp_checks),
        S.CUSTOMER: pa.Column("str", nullable=True),
        S.COUNTRY: pa.Column("str", nullable=True),
        S.ITEM: pa.Column("str", nullable=False, checks=check(is_non_product, "non_product")),
        S.DESCRIPTION: pa.Column("str", nullable=True),
        S.QUANTITY: pa.Column("float64", nullable=False, checks=quantity_checks),
        S.PRICE: pa.Column(
            "float64", nullable=False, checks=check(lambda s: s > 0, "non_positive_price")
        ),
    }
    for column in not_provided:
        columns[column] = pa.Column(columns[column].dtype, nullable=True)
    return pa.DataFrameSchema(
        columns, checks=check(is_first_copy, "duplicate_row"), strict=True, ordered=False
    )


def is_first_copy(frame: pd.DataFrame) -> pd.Series:
    """False for a row that exactly repeats an earlier one. Rows are hashed first, and only
    rows sharing a hash are compared value by value (hashing 1M rows is far cheaper than
    comparing them)."""
    hashed = pd.util.hash_pandas_object(frame[S.COLUMNS], index=False)
    candidates = hashed.duplicated(keep=False).to_numpy()
    repeated = np.zeros(len(frame), dtype=bool)
    if candidates.any():
        repeated[candidates] = frame.loc[candidates, S.COLUMNS].duplicated(keep="first")
    return pd.Series(~repeated, index=frame.index)


def _reason_rank(failure_cases: pd.DataFrame, parse_reason: np.ndarray) -> pd.DataFrame:
    """Map pandera failure cases to (row index, reason rank).

    A value that did not parse is missing after parsing; its row keeps the parse reason
    (``unparseable_x``) rather than ``missing_x``."""
    cases = failure_cases[failure_cases["index"].notna()]
    code = cases["check"].astype(str)
    code = code.mask(code == "not_nullable", "missing_" + cases["column"].astype(str))
    code = code.mask(code.str.contains("uniqueness|duplicate", regex=True), "duplicate_row")
    unknown = sorted(set(code) - set(REASONS))
    if unknown:  # a check without a reason code would break the accounting
        raise RuntimeError(f"validation check(s) without a reason code: {unknown}")
    rows = cases["index"].to_numpy(dtype=np.int64)
    ranks = code.map(RANK).to_numpy(dtype=np.int16)
    unparseable = {
        c: RANK.get(c.replace("missing_", "unparseable_", 1), -1)
        if c.startswith("missing_")
        else -1
        for c in code.unique()
    }
    unparsed = code.map(unparseable).to_numpy(dtype=np.int16)
    keep = ~((unparsed >= 0) & (parse_reason[rows] == unparsed))
    return pd.DataFrame({"row": rows[keep], "rank": ranks[keep]})


def mark_schema_reasons(
    parsed: pd.DataFrame,
    reason: np.ndarray,
    params: ValidateParams,
    today: date,
    not_provided: Sequence[str] = (),
) -> None:
    """Run ``canonical_schema`` over the parsed rows and lower each row's ``reason`` rank (in
    place) to that of the first check it fails."""
    try:
        canonical_schema(params, today, not_provided).validate(parsed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        ranks = _reason_rank(exc.failure_cases, reason).groupby("row")["rank"].min()
        rows = ranks.index.to_numpy()
        reason[rows] = np.minimum(reason[rows], ranks.to_numpy())
