"""Window summaries: what every drift test needs to know about one window, computed once.

In: a window of validated line items (with the rows validation rejected), or request-log
baskets. Out: a ``WindowSummary`` (baskets, sorted numeric features, category counts,
missing-value counts, per-basket times and countries for the noise floors).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from panier.core import schema as S
from panier.core.baskets import Baskets, baskets_from_lines

NUMERIC_FEATURES = ("unit_price", "quantity", "basket_size", "basket_value")
CATEGORICAL_FEATURES = (S.COUNTRY, S.ITEM)
# Missing rates: of rows for line attributes, of invoices for invoice attributes (the lines of
# one invoice share its customer and country, so counting lines would treat copies as
# independent evidence).
ROW_MISSING = (S.INVOICE, S.ITEM, S.QUANTITY, S.PRICE, S.DESCRIPTION)
INVOICE_MISSING = (S.CUSTOMER, S.COUNTRY)
INVOICE_LEVEL = (S.CUSTOMER, S.COUNTRY)
MISSING = "(missing)"


@dataclass(frozen=True)
class WindowSummary:
    """What every drift test needs to know about one window.

    ``source`` is ``lines`` (line items with prices, customers, ...) or ``requests`` (request
    logs: baskets only). Numeric features are sorted once here, since every test and plot
    of them works on sorted values. ``missing`` maps a column to (units with no value,
    units), counting rejected rows too, so that a column that goes half-empty cannot hide
    behind validation.
    """

    source: str
    n_rows: int
    baskets: Baskets
    numeric: dict[str, np.ndarray]
    categories: dict[str, pd.Series]
    missing: dict[str, tuple[int, int]]
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    # In basket order: when each basket was bought (None for sources without times), its
    # country code (index into ``country_names``), and per row its basket (row features).
    basket_time: np.ndarray | None = None
    basket_country: np.ndarray | None = None
    country_names: tuple = ()
    row_basket: np.ndarray | None = None
    rows: dict[str, np.ndarray] = field(default_factory=dict)  # row features, unsorted
    descriptions: dict[str, str] = field(default_factory=dict)  # item code -> description


def _blank(values: pd.Series) -> np.ndarray:
    """Missing or whitespace-only, as validation reads them."""
    missing = values.isna().to_numpy(dtype=bool).copy()
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        text = values.astype("str").str.strip()
        missing |= (text == "").fillna(True).to_numpy(dtype=bool)
    return missing


def _descriptions(lines: pd.DataFrame) -> dict[str, str]:
    """Each item's most frequent non-missing description (ties: the first in sort order),
    to name products in words; the training window's names are in ``models/items.parquet``,
    this also names products that appear only in the current window."""
    named = lines.loc[lines[S.DESCRIPTION].notna(), [S.ITEM, S.DESCRIPTION]]
    if named.empty:
        return {}
    counts = named.groupby([S.ITEM, S.DESCRIPTION], observed=True).size().reset_index(name="n")
    counts = counts.sort_values(["n", S.DESCRIPTION], ascending=[False, True], kind="stable")
    best = counts.drop_duplicates(S.ITEM)
    return dict(zip(best[S.ITEM].astype(str), best[S.DESCRIPTION].astype(str)))


def summarize_lines(lines: pd.DataFrame, rejected: pd.DataFrame | None = None) -> WindowSummary:
    """Summarize a window of validated line items; ``rejected`` holds the window's rows that
    validation rejected (original values as text), counted in the missing-value rates."""
    codes, _ = pd.factorize(lines[S.INVOICE], sort=True)
    n_invoices = int(codes.max()) + 1 if len(lines) else 0
    value = lines[S.QUANTITY].to_numpy(float) * lines[S.PRICE].to_numpy(float)
    baskets = baskets_from_lines(lines)
    invoices = lines.drop_duplicates(S.INVOICE)
    rejected = rejected if rejected is not None else pd.DataFrame(columns=S.COLUMNS)
    n_all = len(lines) + len(rejected)
    missing = {}
    for column in ROW_MISSING:
        in_rejected = int(_blank(rejected[column]).sum()) if column in rejected else 0
        missing[column] = (int(lines[column].isna().sum()) + in_rejected, n_all)
    for column in INVOICE_MISSING:
        missing[column] = (int(invoices[column].isna().sum()), len(invoices))
    country = invoices[S.COUNTRY].astype(object).where(invoices[S.COUNTRY].notna(), MISSING)
    # Baskets are in sorted invoice order (``baskets_from_lines``), as are these groupings.
    by_invoice = lines.groupby(codes, sort=True)
    basket_time = by_invoice[S.TIMESTAMP].min().to_numpy() if len(lines) else None
    basket_country_name = by_invoice[S.COUNTRY].first().astype(object)
    basket_country_name = basket_country_name.where(basket_country_name.notna(), MISSING)
    country_codes, country_names = pd.factorize(basket_country_name, sort=True)
    return WindowSummary(
        source="lines",
        n_rows=len(lines),
        baskets=baskets,
        numeric={
            "unit_price": np.sort(lines[S.PRICE].to_numpy(float)),
            "quantity": np.sort(lines[S.QUANTITY].to_numpy(float)),
            "basket_size": np.sort(baskets.sizes().astype(float)),
            "basket_value": np.sort(np.bincount(codes, weights=value, minlength=n_invoices)),
        },
        categories={S.COUNTRY: country.value_counts().sort_index()},
        missing=missing,
        first=lines[S.TIMESTAMP].min() if len(lines) else None,
        last=lines[S.TIMESTAMP].max() if len(lines) else None,
        basket_time=basket_time,
        basket_country=country_codes.astype(np.int64),
        country_names=tuple(str(c) for c in country_names),
        row_basket=codes.astype(np.int64),
        rows={
            "unit_price": lines[S.PRICE].to_numpy(float),
            "quantity": lines[S.QUANTITY].to_numpy(float),
        },
        descriptions=_descriptions(lines),
    )


def summarize_requests(
    baskets: Baskets, first: pd.Timestamp | None = None, last: pd.Timestamp | None = None
) -> WindowSummary:
    """Summarize request-log baskets: only basket-level features exist."""
    return WindowSummary(
        source="requests",
        n_rows=int(baskets.matrix.nnz),
        baskets=baskets,
        numeric={"basket_size": np.sort(baskets.sizes().astype(float))},
        categories={},
        missing={},
        first=first,
        last=last,
    )
