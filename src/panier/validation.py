"""Validation of the canonical line-item table: every row ends up clean or rejected with a reason.

The canonical schema is declared once, as a pandera ``DataFrameSchema`` whose checks are named
by reason code, and run lazily so that every problem is found in one pass. A row that breaks
several rules is rejected for the first reason in ``REASONS`` order, so that the counts per
reason add up exactly to the rows rejected.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd
import pandera.pandas as pa

from panier import schema as S
from panier.config import ValidateParams
from panier.errors import DataError

# Reason code -> what it means, in priority order (the first that applies is the one recorded).
REASONS: dict[str, str] = {
    "missing_invoice_id": "no invoice id",
    "missing_timestamp": "no timestamp",
    "unparseable_timestamp": "timestamp that does not parse as a date",
    "future_timestamp": "timestamp after the validation date",
    "missing_item_code": "no item code",
    "missing_quantity": "no quantity",
    "unparseable_quantity": "quantity that is not a whole number",
    "missing_unit_price": "no unit price",
    "unparseable_unit_price": "unit price that is not a number",
    "cancelled_invoice": "invoice id marks a cancellation",
    "return": "zero or negative quantity (a return)",
    "non_positive_price": "zero or negative unit price",
    "non_product": "item code is a fee, postage or manual adjustment",
    "duplicate_row": "exact copy of an earlier row",
    "basket_too_large": "invoice holds more distinct items than validate.max_basket_items",
}
_RANK = {code: rank for rank, code in enumerate(REASONS)}
_NO_REASON = len(REASONS)

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


def check_columns(frame: pd.DataFrame, source: str) -> list[str]:
    """Raise ``DataError`` if a required column is missing; return unexpected column names.

    A missing column beside an unexpected one of similar name is reported as a likely rename.
    """
    missing = [c for c in S.REQUIRED if c not in frame.columns]
    unexpected = [c for c in frame.columns if c not in S.COLUMNS]
    if missing:
        lines = []
        for column in missing:
            close = difflib.get_close_matches(column, [str(c) for c in unexpected], n=1, cutoff=0.5)
            hint = f" (found {close[0]!r}: a renamed column?)" if close else ""
            lines.append(f"  {column}{hint}")
        raise DataError(
            f"{source}: required column(s) missing:\n" + "\n".join(lines)
            + f"\nColumns present: {', '.join(map(str, frame.columns))}. "
            "Map the source's column names to the canonical ones in params.yaml."
        )
    return unexpected


def _parse(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Coerce columns to canonical types; return the parsed frame and, per row, the rank of
    the first reason found so far. Values that fail to parse become missing."""
    parsed = pd.DataFrame(index=frame.index)
    reason = np.full(len(frame), _NO_REASON, dtype=np.int16)

    def mark(failed: pd.Series, code: str) -> None:
        hit = failed.to_numpy(dtype=bool, na_value=False) & (reason > _RANK[code])
        reason[hit] = _RANK[code]

    for column in S.COLUMNS:
        raw = frame[column] if column in frame.columns else pd.Series(pd.NA, index=frame.index)
        dtype = S.DTYPES[column]
        if dtype == "str":
            values = raw.astype("str") if raw.dtype != "str" else raw
            values = values.where(values.str.strip() != "", None)
        elif dtype.startswith("datetime"):
            values = pd.to_datetime(raw, errors="coerce", format="mixed")
            if getattr(values.dt, "tz", None) is not None:
                values = values.dt.tz_convert("UTC").dt.tz_localize(None)
            values = values.astype(dtype)
            mark(values.isna() & raw.notna(), f"unparseable_{column}")
        else:
            numbers = pd.to_numeric(raw, errors="coerce")
            if dtype == "int64":
                whole = numbers.notna() & (numbers == np.floor(numbers))
                mark(numbers.notna() & ~whole, f"unparseable_{column}")
                numbers = numbers.where(whole)
            mark(numbers.isna() & raw.notna(), f"unparseable_{column}")
            values = numbers.astype("float64")
        parsed[column] = values
    return parsed, reason


def canonical_schema(params: ValidateParams, today: date) -> pa.DataFrameSchema:
    """The declaration of a valid line item: one pandera check per reason code."""
    limit = pd.Timestamp(params.max_timestamp or today) + pd.Timedelta(days=1)
    non_products = set(params.non_product_codes)
    prefix = params.cancelled_prefix

    def check(fn, code: str) -> pa.Check:
        return pa.Check(fn, name=code)

    return pa.DataFrameSchema(
        {
            S.INVOICE: pa.Column(
                "str", nullable=False,
                checks=check(lambda s: ~s.str.startswith(prefix), "cancelled_invoice"),
            ),
            S.TIMESTAMP: pa.Column(
                "datetime64[ns]", nullable=False,
                checks=check(lambda s: s < limit, "future_timestamp"),
            ),
            S.CUSTOMER: pa.Column("str", nullable=True),
            S.COUNTRY: pa.Column("str", nullable=True),
            S.ITEM: pa.Column(
                "str", nullable=False,
                checks=check(lambda s: ~s.str.strip().str.upper().isin(non_products),
                             "non_product"),
            ),
            S.DESCRIPTION: pa.Column("str", nullable=True),
            S.QUANTITY: pa.Column("float64", nullable=False,
                                  checks=check(lambda s: s > 0, "return")),
            S.PRICE: pa.Column("float64", nullable=False,
                               checks=check(lambda s: s > 0, "non_positive_price")),
        },
        unique=S.COLUMNS,
        report_duplicates="exclude_first",
        strict=True,
        ordered=False,
    )


def _reason_rank(failure_cases: pd.DataFrame) -> pd.DataFrame:
    """Map pandera failure cases to (row index, reason rank)."""
    cases = failure_cases[failure_cases["index"].notna()]
    code = cases["check"].astype(str)
    code = code.mask(code == "not_nullable", "missing_" + cases["column"].astype(str))
    code = code.mask(code.str.contains("uniqueness|duplicate", regex=True), "duplicate_row")
    unknown = sorted(set(code) - set(REASONS))
    if unknown:  # a check without a reason code would break the accounting
        raise RuntimeError(f"validation check(s) without a reason code: {unknown}")
    return pd.DataFrame({"row": cases["index"].astype(np.int64), "rank": code.map(_RANK)})


def validate_line_items(
    frame: pd.DataFrame,
    params: ValidateParams,
    source: str = "line items",
    today: date | None = None,
) -> ValidationResult:
    """Split ``frame`` (canonical column names, any types) into clean and rejected rows.

    Returns a ``ValidationResult`` whose report counts rows in, clean and rejected by reason.
    Raises ``DataError`` when a required column is missing.
    """
    unexpected = check_columns(frame, source)
    frame = frame.reset_index(drop=True)
    parsed, reason = _parse(frame)
    today = today or datetime.now().date()

    try:
        canonical_schema(params, today).validate(parsed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        ranks = _reason_rank(exc.failure_cases).groupby("row")["rank"].min()
        rows = ranks.index.to_numpy()
        reason[rows] = np.minimum(reason[rows], ranks.to_numpy())

    # Basket outliers are judged on rows that survive every other check.
    ok = reason == _NO_REASON
    sizes = parsed.loc[ok].groupby(S.INVOICE)[S.ITEM].nunique()
    too_large = sizes.index[sizes > params.max_basket_items]
    reason[ok & parsed[S.INVOICE].isin(too_large).to_numpy()] = _RANK["basket_too_large"]

    codes = np.array([*REASONS, ""], dtype=object)[reason]
    is_clean = codes == ""
    clean = parsed.loc[is_clean].astype(S.DTYPES).reset_index(drop=True)
    rejected = frame.loc[~is_clean].copy()
    rejected.insert(0, REASON_COLUMN, codes[~is_clean])
    rejected.insert(1, ROW_COLUMN, np.flatnonzero(~is_clean))
    rejected = rejected.astype({c: "str" for c in frame.columns}).reset_index(drop=True)

    by_reason = {code: int(n) for code, n in
                 zip(REASONS, np.bincount(reason, minlength=_NO_REASON + 1))}
    report = {
        "source": source,
        "rows_in": len(frame),
        "rows_clean": len(clean),
        "rows_rejected": int((~is_clean).sum()),
        "rejected_by_reason": by_reason,
        "rejected_share": float((~is_clean).mean()) if len(frame) else 0.0,
        "invoices_clean": int(clean[S.INVOICE].nunique()),
        "items_clean": int(clean[S.ITEM].nunique()),
        "clean_rows_without_customer": int(clean[S.CUSTOMER].isna().sum()),
        "clean_rows_without_description": int(clean[S.DESCRIPTION].isna().sum()),
        "unexpected_columns": [str(c) for c in unexpected],
        "time_span": {
            "first": clean[S.TIMESTAMP].min() if len(clean) else None,
            "last": clean[S.TIMESTAMP].max() if len(clean) else None,
        },
    }
    return ValidationResult(clean, rejected, report)


def rejection_error(result: ValidationResult, max_share: float, examples: int = 3) -> str | None:
    """The message that fails the stage when too many rows are rejected, else ``None``."""
    report = result.report
    if result.rejected_share <= max_share:
        return None
    top = sorted(report["rejected_by_reason"].items(), key=lambda kv: -kv[1])
    lines = [
        f"{report['source']}: {report['rows_rejected']:,} of {report['rows_in']:,} rows rejected "
        f"({result.rejected_share:.1%}), above validate.max_rejected_share "
        f"({max_share:.1%}).",
    ]
    for code, count in top[:3]:
        if count == 0:
            break
        sample = result.rejected[result.rejected[REASON_COLUMN] == code].head(examples)
        rows = ", ".join(str(r) for r in sample[ROW_COLUMN])
        lines.append(f"  {code} ({REASONS[code]}): {count:,} rows, e.g. rows {rows}:")
        shown = sample.drop(columns=[REASON_COLUMN, ROW_COLUMN])
        lines.extend("    " + line for line in shown.to_string(index=False).splitlines())
    lines.append(
        "Fix the source data, map its columns correctly in params.yaml, or raise "
        "validate.max_rejected_share if these rows are expected. All rejected rows: "
        "data/validated/rejected.parquet."
    )
    return "\n".join(lines)
