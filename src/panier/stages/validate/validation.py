"""Validation of the canonical line-item table: every row ends up clean or rejected with a reason.

Values are parsed to canonical types (``parsing``), then checked against the declaration of a
valid line item (``line_item_schema``), and invoices with too many items are rejected last. A
row that breaks several rules is rejected for the first reason in ``REASONS`` order
(``reasons``), so that the counts per reason add up exactly to the rows rejected; a rejected
row keeps its original values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd

from panier.core import schema as S
from panier.core.config import ParsingParams, ValidateParams
from panier.core.errors import DataError
from panier.core.mapping import likely_rename, params_fix
from panier.stages.validate.parsing import parse_line_items
from panier.stages.validate.reasons import (
    NO_REASON,
    RANK,
    REASONS,
    check_reason_limits,
    column_label,
)

#: Invoices with more distinct items are counted in the report (they are kept unless
#: validate.max_basket_items says otherwise): the size the retail-export docs discuss.
BIG_BASKET_ITEMS = 100

REASON_COLUMN = "reason"
ROW_COLUMN = "source_row"


@dataclass
class ValidationResult:
    """Clean rows (canonical types), rejected rows (original values, reason, source row)
    and the report that accounts for every row."""

    clean: pd.DataFrame
    rejected: pd.DataFrame
    report: dict = field(default_factory=dict)

    @property
    def rejected_share(self) -> float:
        return self.report["rows_rejected"] / max(self.report["rows_in"], 1)


def check_columns(frame: pd.DataFrame, source: str, not_provided: Sequence[str] = ()) -> list[str]:
    """Raise ``DataError`` if a required column is missing; return unexpected column names.

    A missing column beside an unexpected one of similar name is reported as a likely rename,
    with the ``params.yaml`` lines that map it.
    """
    missing = [c for c in S.REQUIRED if c not in frame.columns and c not in not_provided]
    unexpected = [
        str(c)
        for c in frame.columns
        if c not in S.COLUMNS and c != S.MALFORMED and c not in S.PROVENANCE
    ]
    if missing:
        lines = []
        for column in missing:
            guess = likely_rename(column, unexpected)
            if guess:
                lines.append(
                    f"  {column}: found {guess!r}, a renamed column? Map it in "
                    f"params.yaml:\n{params_fix(column, guess)}"
                )
            else:
                lines.append(
                    f"  {column}: map it to one of the source's columns in params.yaml "
                    "(ingest.mapping.columns)"
                )
        raise DataError(
            f"{source}: required column(s) missing:\n"
            + "\n".join(lines)
            + f"\nColumns present: {', '.join(map(str, frame.columns)) or '(none)'}."
        )
    return unexpected


def distinct_items_per_invoice(invoice: pd.Series, item: pd.Series) -> pd.Series:
    """Invoice -> number of distinct items on it, from integer codes rather than strings."""
    invoice_codes, invoices = pd.factorize(invoice)
    item_codes, items = pd.factorize(item)
    width = max(len(items), 1)
    pairs = pd.unique(invoice_codes.astype(np.int64) * width + item_codes)
    return pd.Series(np.bincount(pairs // width, minlength=len(invoices)), index=invoices)


def validate_line_items(
    frame: pd.DataFrame,
    params: ValidateParams,
    source: str = "line items",
    today: date | None = None,
    parsing: ParsingParams | None = None,
    not_provided: Sequence[str] = (),
    source_columns: dict[str, str | None] | None = None,
) -> ValidationResult:
    """Split ``frame`` (canonical column names, any types) into clean and rejected rows.

    ``parsing`` says how text becomes timestamps and numbers; ``not_provided`` names the
    columns the source does not have; ``source_columns`` (canonical -> source column name)
    lets messages name columns as the source does. Returns a ``ValidationResult`` whose
    report counts rows in, clean, and rejected by reason. Raises ``DataError`` when a
    required column is missing.
    """
    check_reason_limits(params)
    unexpected = check_columns(frame, source, not_provided)
    frame = frame.reset_index(drop=True)
    # Where each row comes from: the reader's record (line) numbers, else the row's position.
    provenance = pd.DataFrame({c: frame.pop(c) for c in S.PROVENANCE if c in frame.columns})
    if S.SOURCE_ROW not in provenance.columns:
        provenance.insert(0, S.SOURCE_ROW, np.arange(len(frame), dtype=np.int64))
    try:
        parsed, reason = parse_line_items(frame, parsing or ParsingParams())
    except DataError as exc:  # a column that has no one reading: name the source
        label = column_label({"source_columns": source_columns or {}}, "missing_timestamp")
        raise DataError(f"{source}: {str(exc).replace('the timestamp column', label)}") from None
    today = today or datetime.now().date()

    # Imported here: pandera imports pyspark when it is installed (see line_item_schema).
    from panier.stages.validate.line_item_schema import mark_schema_reasons

    mark_schema_reasons(parsed, reason, params, today, not_provided)

    # Basket outliers are judged on rows that survive every other check.
    ok = reason == NO_REASON
    sizes = distinct_items_per_invoice(parsed.loc[ok, S.INVOICE], parsed.loc[ok, S.ITEM])
    limit = params.max_basket_items
    too_large = sizes.index[sizes > limit] if limit is not None else sizes.index[:0]
    if len(too_large):
        reason[ok & parsed[S.INVOICE].isin(too_large).to_numpy()] = RANK["basket_too_large"]
        sizes = sizes[sizes <= limit]  # the clean baskets
    # Big invoices (wholesale orders) are kept, and counted: train leaves those over
    # train.max_basket_items out of mining only (docs/concepts/big-invoices.md).
    big = sizes[sizes > BIG_BASKET_ITEMS]

    codes = np.array([*REASONS, ""], dtype=object)[reason]
    is_clean = codes == ""
    clean = parsed.loc[is_clean].astype(S.DTYPES)
    clean = pd.concat([clean, provenance.loc[is_clean]], axis=1).reset_index(drop=True)
    rejected = frame.loc[~is_clean].copy()
    rejected = rejected.astype({c: "str" for c in frame.columns})
    rejected.insert(0, REASON_COLUMN, codes[~is_clean])
    for position, column in enumerate(provenance.columns, start=1):
        rejected.insert(position, column, provenance.loc[~is_clean, column])
    rejected = rejected.reset_index(drop=True)

    counts = np.bincount(reason, minlength=NO_REASON + 1)
    invoices = clean.drop_duplicates(S.INVOICE)
    report = build_report(
        source=source,
        rows_in=len(frame),
        reason_counts=[int(n) for n in counts[:NO_REASON]],
        clean_counts={
            "rows_clean": len(clean),
            "invoices_clean": len(invoices),
            "invoices_multi_item": int((sizes >= 2).sum()),
            "invoices_too_large": len(too_large),
            "invoices_over_100_items": len(big),
            "clean_rows_in_invoices_over_100_items": int(clean[S.INVOICE].isin(big.index).sum())
            if len(big)
            else 0,
            "invoices_without_customer": int(invoices[S.CUSTOMER].isna().sum()),
            "items_clean": int(clean[S.ITEM].nunique()),
            "clean_rows_without_customer": int(clean[S.CUSTOMER].isna().sum()),
            "clean_rows_without_description": int(clean[S.DESCRIPTION].isna().sum()),
        },
        time_span=(
            clean[S.TIMESTAMP].min() if len(clean) else None,
            clean[S.TIMESTAMP].max() if len(clean) else None,
        ),
        not_provided=not_provided,
        source_columns=source_columns,
        unexpected=unexpected,
    )
    return ValidationResult(clean, rejected, report)


def build_report(
    *,
    source: str,
    rows_in: int,
    reason_counts: Sequence[int],
    clean_counts: dict[str, int],
    time_span: tuple,
    not_provided: Sequence[str],
    source_columns: dict[str, str | None] | None,
    unexpected: list[str],
) -> dict:
    """The validation report from counts: ``reason_counts`` rows per reason in ``REASONS``
    order, ``clean_counts`` the clean table's figures, ``time_span`` its first and last
    timestamp. Shared by the engines, so that both report the same keys the same way."""
    rejected = int(sum(reason_counts))
    return {
        "source": source,
        "rows_in": rows_in,
        "rows_clean": clean_counts["rows_clean"],
        "rows_rejected": rejected,
        "rejected_by_reason": dict(zip(REASONS, reason_counts, strict=True)),
        "rejected_share": rejected / rows_in if rows_in else 0.0,
        **{k: v for k, v in clean_counts.items() if k != "rows_clean"},
        "columns_not_provided": list(not_provided),
        "source_columns": {
            c: s for c, s in (source_columns or {}).items() if s is not None and s != c
        },
        "unexpected_columns": unexpected,
        "time_span": {"first": time_span[0], "last": time_span[1]},
    }
