"""Validation of the canonical line-item table: every row ends up clean or rejected with a reason.

The canonical schema is declared once, as a pandera ``DataFrameSchema`` whose checks are named
by reason code, and run lazily so that every problem is found in one pass. A row that breaks
several rules is rejected for the first reason in ``REASONS`` order, so that the counts per
reason add up exactly to the rows rejected.

Values arrive as the source holds them (text from CSV files, typed values from Parquet or SQL)
and are coerced here, so that a rejected row keeps its original values.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_lib
import pyarrow.compute as pc
from pandas.tseries.api import guess_datetime_format

from panier.core import schema as S
from panier.core.config import ParsingParams, ValidateParams
from panier.core.errors import ConfigError, DataError
from panier.core.mapping import likely_rename, params_fix

log = logging.getLogger(__name__)

# Reason code -> what it means, in priority order (the first that applies is the one recorded).
REASONS: dict[str, str] = {
    "malformed_row": "row that could not be split into the source's columns",
    "missing_invoice_id": "no invoice id",
    "missing_timestamp": "no timestamp",
    "unparseable_timestamp": "timestamp that does not parse as a date",
    "future_timestamp": "timestamp after the validation date",
    "too_old_timestamp": "timestamp before validate.min_timestamp (or 1678)",
    "missing_item_code": "no item code",
    "missing_quantity": "no quantity",
    "unparseable_quantity": "quantity that is not a whole number",
    "quantity_out_of_range": "quantity at or beyond +/-2^53, where whole numbers are no "
    "longer held exactly (and int64 would wrap)",
    "missing_unit_price": "no unit price",
    "unparseable_unit_price": "unit price that is not a number",
    "cancelled_invoice": "invoice id marks a cancellation",
    "return": "zero or negative quantity (a return)",
    "non_positive_price": "zero or negative unit price",
    "non_product": "item code is a fee, postage or manual adjustment",
    "quantity_too_large": "quantity above validate.max_quantity",
    "duplicate_row": "exact copy of an earlier row",
    "basket_too_large": "invoice holds more distinct items than validate.max_basket_items",
}
_RANK = {code: rank for rank, code in enumerate(REASONS)}
_NO_REASON = len(REASONS)

# The canonical column each reason is about (malformed rows: the whole row).
REASON_COLUMNS: dict[str, str] = {
    "malformed_row": S.MALFORMED,
    "missing_invoice_id": S.INVOICE,
    "missing_timestamp": S.TIMESTAMP,
    "unparseable_timestamp": S.TIMESTAMP,
    "future_timestamp": S.TIMESTAMP,
    "too_old_timestamp": S.TIMESTAMP,
    "missing_item_code": S.ITEM,
    "missing_quantity": S.QUANTITY,
    "unparseable_quantity": S.QUANTITY,
    "quantity_out_of_range": S.QUANTITY,
    "missing_unit_price": S.PRICE,
    "unparseable_unit_price": S.PRICE,
    "cancelled_invoice": S.INVOICE,
    "return": S.QUANTITY,
    "non_positive_price": S.PRICE,
    "non_product": S.ITEM,
    "quantity_too_large": S.QUANTITY,
    "duplicate_row": "(all columns)",
    "basket_too_large": S.INVOICE,
}

# How to fix each reason when it passes its threshold: the usual cause first.
FIXES: dict[str, str] = {
    "malformed_row": "rows with more or fewer fields than the header: check "
    "ingest.csv.delimiter and ingest.csv.quote_char, or repair the export",
    "missing_invoice_id": "map invoice_id to the source's invoice column "
    "(ingest.mapping.columns.invoice_id)",
    "missing_timestamp": "map timestamp to the source's date column "
    "(ingest.mapping.columns.timestamp)",
    "unparseable_timestamp": "set ingest.parsing.timestamp_format to the source's format "
    "(e.g. '%d/%m/%Y %H:%M') or ingest.parsing.dayfirst: true",
    "future_timestamp": "check the source's clock and time zone, or set validate.max_timestamp",
    "too_old_timestamp": "placeholder dates (e.g. 1900-01-01) in the source: repair them, or "
    "lower validate.min_timestamp",
    "missing_item_code": "map item_code to the source's product column "
    "(ingest.mapping.columns.item_code)",
    "missing_quantity": "map quantity to the source's quantity column "
    "(ingest.mapping.columns.quantity)",
    "unparseable_quantity": "check the column mapped to quantity; decimal commas need "
    "ingest.parsing.decimal: ','",
    "quantity_out_of_range": "the column mapped to quantity holds huge numbers (an id or a "
    "barcode?): check ingest.mapping.columns.quantity, or repair them "
    "at the source",
    "missing_unit_price": "map unit_price to the price column, or to null when the source has "
    "no prices (ingest.mapping.columns.unit_price: null)",
    "unparseable_unit_price": "check the column mapped to unit_price (currency symbols, "
    "thousands separators); decimal commas need "
    "ingest.parsing.decimal: ','",
    "cancelled_invoice": "cancellations are normal in retail exports: give them their own "
    "limit (validate.max_rejected_share_by_reason.cancelled_invoice); if "
    "real invoice ids start with the prefix, change validate.cancelled_prefix",
    "return": "returns are normal in retail exports: give them their own limit "
    "(validate.max_rejected_share_by_reason.return)",
    "non_positive_price": "check the column mapped to unit_price: all-zero prices usually mean "
    "the wrong column",
    "non_product": "check validate.non_product_codes and validate.non_product_pattern",
    "quantity_too_large": "raise validate.max_quantity (null: no limit)",
    "duplicate_row": "the export repeats rows: deduplicate it at the source",
    "basket_too_large": "set validate.max_basket_items: null (big invoices are then kept, and "
    "train.max_basket_items leaves them out of mining only), or check the "
    "column mapped to invoice_id (several invoices merged into one?)",
}

# What the canonical nanosecond timestamps can hold: earlier rows are too old, later ones future.
EARLIEST = pd.Timestamp("1678-01-01")
LATEST = pd.Timestamp("2262-01-01")

#: Invoices with more distinct items are counted in the report (they are kept unless
#: validate.max_basket_items says otherwise): the size the retail-export docs discuss.
BIG_BASKET_ITEMS = 100
# From 2^53 on, a float64 no longer holds every whole number: such quantities are out of range.
EXACT_INTEGER = float(2**53)

REASON_COLUMN = "reason"
ROW_COLUMN = "source_row"
REJECTED_FILE = "data/validated/rejected.parquet"
REPORT_FILE = "metrics/validation.md"


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


def _as_text(raw: pd.Series) -> pd.Series:
    """Identifiers and labels as strings; whole floats (17850.0, as a CSV round trip through
    pandas leaves customer ids) lose their ``.0``; blank strings become missing."""
    if pd.api.types.is_float_dtype(raw.dtype):
        values = raw.to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(values) & (values == np.floor(values))
        if whole[~np.isnan(values)].all():
            raw = raw.astype("Int64")
    if raw.dtype != "str":
        raw = raw.astype("str")
    return raw.where(raw.str.strip() != "", None)


def _as_identifier(text: pd.Series) -> pd.Series:
    """Identifiers (text from ``_as_text``); a column whose every value is a whole number
    written as a float (``17850.0``: an id column that went through a float column on export)
    loses the ``.0``."""
    present = text.dropna()
    if (
        len(present)
        and present.str.endswith(".0").all()
        and present.str.fullmatch(r"-?\d+\.0").all()
    ):
        text = text.str.slice(stop=-2)
    return text


def _arrow(text: pd.Series) -> pa_lib.Array:
    return pa_lib.array(text, type=pa_lib.large_string(), from_pandas=True)


_NAIVE = "datetime64[us]"  # naive, meaning UTC


def _naive_utc(values: pd.Series) -> pd.Series:
    """Timestamps in naive UTC microseconds (time-zone-aware ones converted to UTC)."""
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.astype(_NAIVE)


def _strptime(text: pd.Series, fmt: str) -> pd.Series:
    """``text`` parsed with one strftime format; pyarrow's vectorised parser first, pandas'
    for what it cannot express (e.g. time zones)."""
    if "%z" not in fmt and "%Z" not in fmt:
        try:
            parsed = pc.strptime(_arrow(text), format=fmt, unit="us", error_is_null=True)
            return pd.Series(parsed.to_pandas(), index=text.index).astype(_NAIVE)
        except (pa_lib.ArrowInvalid, pa_lib.ArrowNotImplementedError):
            pass
    return _naive_utc(pd.to_datetime(text, format=fmt, errors="coerce", utc=True))


def parse_timestamps(raw: pd.Series, parsing: ParsingParams) -> pd.Series:
    """Timestamps as naive UTC ``datetime64[us]`` (microseconds reach far beyond the years
    the canonical nanosecond type can hold); what does not parse becomes missing.

    One interpretation for the whole column, never a per-row fallback: text is ISO 8601, the
    configured ``ingest.parsing.timestamp_format``, or one format inferred from all values
    (see ``day_first``); integers are epoch times in one unit (``epoch_unit``). Raises
    ``DataError`` naming the param to set when the values contradict each other.
    """
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        return _naive_utc(raw)
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return _epoch_timestamps(raw, parsing)
    return _timestamps_from_text(_as_text(raw), parsing)


# Epoch numbers by magnitude: below 1e11 seconds reach the year 5138, milliseconds start in
# 1973; each further unit is 1000 times larger.
_EPOCH_UNITS = ["s", "ms", "us", "ns"]


def epoch_unit(numbers: pd.Series) -> str:
    """The unit of epoch times ``numbers`` from the magnitude of all of them (zeros aside):
    seconds below 1e11, milliseconds below 1e14, microseconds below 1e17, else nanoseconds.
    Raises ``DataError`` when the smallest and largest values fall in different units."""
    magnitudes = numbers.abs()
    magnitudes = magnitudes[magnitudes > 0].dropna()
    if magnitudes.empty:
        return "s"
    low, high = np.searchsorted(
        [1e11, 1e14, 1e17], [magnitudes.min(), magnitudes.max()], side="right"
    )
    if low != high:
        raise DataError(
            f"the timestamp column holds epoch numbers of different magnitudes "
            f"({magnitudes.min():.0f} reads as {_EPOCH_UNITS[low]}, {magnitudes.max():.0f} as "
            f"{_EPOCH_UNITS[high]}), so their unit cannot be told: set "
            "ingest.parsing.epoch_unit (s, ms, us or ns) in params.yaml"
        )
    return _EPOCH_UNITS[low]


def _epoch_timestamps(raw: pd.Series, parsing: ParsingParams) -> pd.Series:
    numbers = pd.to_numeric(raw, errors="coerce")
    unit = parsing.epoch_unit if parsing.epoch_unit != "auto" else epoch_unit(numbers)
    if pd.api.types.is_integer_dtype(numbers.dtype) and not numbers.isna().any():
        numbers = numbers.astype(np.int64)  # exact: a float would round nanoseconds
    return _naive_utc(pd.to_datetime(numbers, unit=unit, errors="coerce"))


# a/b/yyyy dates whose first (or second) field is above 12: only a day can be that large.
_ABOVE_12 = r"(?:1[3-9]|[2-9]\d)"
_DAY_ABOVE_12 = rf"^\s*{_ABOVE_12}[/.\-]\d{{1,2}}[/.\-]\d{{2,4}}(?:\D|$)"
_MONTH_ABOVE_12 = rf"^\s*\d{{1,2}}[/.\-]{_ABOVE_12}[/.\-]\d{{2,4}}(?:\D|$)"


def day_first(text: pd.Series, parsing: ParsingParams) -> bool:
    """Whether dates such as ``01/02/2024`` are day first, decided from all values: a first
    field above 12 anywhere decides day first, a second field above 12 month first; when no
    value tells, ``ingest.parsing.dayfirst``. Raises ``DataError`` when values say both."""
    values = _arrow(text.dropna())
    day = pc.match_substring_regex(values, _DAY_ABOVE_12)
    month = pc.match_substring_regex(values, _MONTH_ABOVE_12)
    says_day, says_month = pc.any(day).as_py(), pc.any(month).as_py()
    if says_day and says_month:
        example_day = values[pc.index(day, True).as_py()].as_py()
        example_month = values[pc.index(month, True).as_py()].as_py()
        raise DataError(
            f"the timestamp column holds dates that can only be day first ({example_day!r}) "
            f"and dates that can only be month first ({example_month!r}): no one reading fits "
            "them all. Set ingest.parsing.timestamp_format to the format of the export (e.g. "
            "'%d/%m/%Y %H:%M'; rows in another format are then rejected as "
            "unparseable_timestamp), or repair the export; ingest.parsing.dayfirst cannot "
            "decide this"
        )
    if says_day or says_month:
        if says_day != parsing.dayfirst:
            log.warning(
                "timestamps: values such as %r can only be %s first; read the whole "
                "column so (ingest.parsing.dayfirst is %s)",
                values[pc.index(day if says_day else month, True).as_py()].as_py(),
                "day" if says_day else "month",
                str(parsing.dayfirst).lower(),
            )
        return bool(says_day)
    return parsing.dayfirst


def _timestamps_from_text(text: pd.Series, parsing: ParsingParams) -> pd.Series:
    if parsing.timestamp_format:
        return _strptime(text, parsing.timestamp_format)
    try:  # the common case, ISO 8601 without offsets, in one vectorised cast
        return pd.Series(
            pc.cast(_arrow(text), pa_lib.timestamp("us")).to_pandas(), index=text.index
        ).astype(_NAIVE)
    except pa_lib.ArrowInvalid:
        pass
    present = text.dropna()
    if present.empty:
        return pd.Series(pd.NaT, index=text.index, dtype=_NAIVE)
    sample = present.iloc[
        np.linspace(0, len(present) - 1, min(len(present), 1000)).astype(np.int64)
    ]
    iso = pd.to_datetime(sample, format="ISO8601", errors="coerce", utc=True)
    if iso.notna().mean() >= 0.5:  # ISO with offsets, or mostly ISO: ISO for every row
        return _naive_utc(pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True))
    dayfirst = day_first(text, parsing)
    # One format for the column: of those guessed from a sample of values, the one that
    # parses most of the sample. Values it does not fit are unparseable, not re-guessed.
    candidates = {guess_datetime_format(v, dayfirst=dayfirst) for v in sample.iloc[:20]}
    candidates.discard(None)
    if not candidates:
        return pd.Series(pd.NaT, index=text.index, dtype=_NAIVE)
    best = max(sorted(candidates), key=lambda fmt: _strptime(sample, fmt).notna().sum())
    return _strptime(text, best)


def parse_numbers(raw: pd.Series, parsing: ParsingParams) -> pd.Series:
    """Numbers as float64; text that is not a finite number becomes missing."""
    if pd.api.types.is_bool_dtype(raw.dtype):
        raw = raw.astype("str")
    if pd.api.types.is_numeric_dtype(raw.dtype):
        numbers = pd.to_numeric(raw, errors="coerce").astype("float64")
        return numbers.where(np.isfinite(numbers))
    return _numbers_from_text(_as_text(raw), parsing)


def _numbers_from_text(text: pd.Series, parsing: ParsingParams) -> pd.Series:
    if parsing.decimal == ",":
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    try:  # clean text converts in one vectorised cast
        numbers = pd.Series(
            pc.cast(_arrow(text), pa_lib.float64()).to_numpy(zero_copy_only=False), index=text.index
        )
    except pa_lib.ArrowInvalid:
        numbers = pd.to_numeric(text.str.strip(), errors="coerce").astype("float64")
    return numbers.where(np.isfinite(numbers))


def _parse(frame: pd.DataFrame, parsing: ParsingParams) -> tuple[pd.DataFrame, np.ndarray]:
    """Coerce columns to canonical types; return the parsed frame and, per row, the rank of
    the first reason found so far. Values that fail to parse become missing."""
    parsed = pd.DataFrame(index=frame.index)
    reason = np.full(len(frame), _NO_REASON, dtype=np.int16)

    def mark(failed: pd.Series | np.ndarray, code: str) -> None:
        if isinstance(failed, pd.Series):
            failed = failed.to_numpy(dtype=bool, na_value=False)
        hit = failed & (reason > _RANK[code])
        reason[hit] = _RANK[code]

    if S.MALFORMED in frame.columns:
        mark(frame[S.MALFORMED].notna(), "malformed_row")
    for column in S.COLUMNS:
        raw = (
            frame[column]
            if column in frame.columns
            else pd.Series(None, index=frame.index, dtype="str")
        )
        # Text (most sources) is trimmed of blanks once; typed values are used as they are.
        text = _as_text(raw) if raw.dtype == "str" or raw.dtype == object else None
        present = text.notna() if text is not None else raw.notna()
        dtype = S.DTYPES[column]
        if column in (S.INVOICE, S.CUSTOMER, S.ITEM):
            values = _as_identifier(text if text is not None else _as_text(raw))
        elif dtype == "str":
            values = text if text is not None else _as_text(raw)
        elif dtype.startswith("datetime"):
            values = (
                _timestamps_from_text(text, parsing)
                if text is not None
                else parse_timestamps(raw, parsing)
            )
            mark(values.isna() & present, f"unparseable_{column}")
        else:
            numbers = (
                _numbers_from_text(text, parsing)
                if text is not None
                else parse_numbers(raw, parsing)
            )
            if dtype == "int64":
                whole = numbers.notna() & (numbers == np.floor(numbers))
                numbers = numbers.where(whole)
                mark(numbers.isna() & present, f"unparseable_{column}")
                # Beyond 2^53 a float no longer holds every whole number, and beyond 2^63 the
                # canonical int64 would wrap: such values are rejected, never converted.
                out_of_range = numbers.abs() >= EXACT_INTEGER
                mark(out_of_range, f"{column}_out_of_range")
                numbers = numbers.mask(out_of_range, 0.0)
            else:
                mark(numbers.isna() & present, f"unparseable_{column}")
            values = numbers
        parsed[column] = values
    return parsed, reason


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


def distinct_items_per_invoice(invoice: pd.Series, item: pd.Series) -> pd.Series:
    """Invoice -> number of distinct items on it, from integer codes rather than strings."""
    invoice_codes, invoices = pd.factorize(invoice)
    item_codes, items = pd.factorize(item)
    width = max(len(items), 1)
    pairs = pd.unique(invoice_codes.astype(np.int64) * width + item_codes)
    return pd.Series(np.bincount(pairs // width, minlength=len(invoices)), index=invoices)


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
    ranks = code.map(_RANK).to_numpy(dtype=np.int16)
    unparseable = {
        c: _RANK.get(c.replace("missing_", "unparseable_", 1), -1)
        if c.startswith("missing_")
        else -1
        for c in code.unique()
    }
    unparsed = code.map(unparseable).to_numpy(dtype=np.int16)
    keep = ~((unparsed >= 0) & (parse_reason[rows] == unparsed))
    return pd.DataFrame({"row": rows[keep], "rank": ranks[keep]})


def check_reason_limits(params: ValidateParams) -> None:
    """Raise ``ConfigError`` for a per-reason limit on an unknown reason code."""
    unknown = sorted(set(params.max_rejected_share_by_reason) - set(REASONS))
    if unknown:
        raise ConfigError(
            f"validate.max_rejected_share_by_reason: unknown reason code(s) {unknown}; "
            f"valid codes: {', '.join(REASONS)}"
        )


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
        parsed, reason = _parse(frame, parsing or ParsingParams())
    except DataError as exc:  # a column that has no one reading: name the source
        label = column_label({"source_columns": source_columns or {}}, "missing_timestamp")
        raise DataError(f"{source}: {str(exc).replace('the timestamp column', label)}") from None
    today = today or datetime.now().date()

    try:
        canonical_schema(params, today, not_provided).validate(parsed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        ranks = _reason_rank(exc.failure_cases, reason).groupby("row")["rank"].min()
        rows = ranks.index.to_numpy()
        reason[rows] = np.minimum(reason[rows], ranks.to_numpy())

    # Basket outliers are judged on rows that survive every other check.
    ok = reason == _NO_REASON
    sizes = distinct_items_per_invoice(parsed.loc[ok, S.INVOICE], parsed.loc[ok, S.ITEM])
    limit = params.max_basket_items
    too_large = sizes.index[sizes > limit] if limit is not None else sizes.index[:0]
    if len(too_large):
        reason[ok & parsed[S.INVOICE].isin(too_large).to_numpy()] = _RANK["basket_too_large"]
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

    by_reason = {
        code: int(n) for code, n in zip(REASONS, np.bincount(reason, minlength=_NO_REASON + 1))
    }
    invoices = clean.drop_duplicates(S.INVOICE)
    report = {
        "source": source,
        "rows_in": len(frame),
        "rows_clean": len(clean),
        "rows_rejected": int((~is_clean).sum()),
        "rejected_by_reason": by_reason,
        "rejected_share": float((~is_clean).mean()) if len(frame) else 0.0,
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
        "columns_not_provided": list(not_provided),
        "source_columns": {
            c: s for c, s in (source_columns or {}).items() if s is not None and s != c
        },
        "unexpected_columns": unexpected,
        "time_span": {
            "first": clean[S.TIMESTAMP].min() if len(clean) else None,
            "last": clean[S.TIMESTAMP].max() if len(clean) else None,
        },
    }
    return ValidationResult(clean, rejected, report)


def column_label(report: dict, code: str) -> str:
    """The column a reason is about, with the source's name for it when that differs."""
    column = REASON_COLUMNS[code]
    source = report.get("source_columns", {}).get(column)
    return f"{column} ({source!r} in the source)" if source else column


def _examples(result: ValidationResult, code: str, n: int) -> tuple[str, list[str]]:
    """Source rows and a small table of original values for ``code``: the reason's column
    beside the invoice and item, so the row can be found in the source."""
    sample = result.rejected[result.rejected[REASON_COLUMN] == code].head(n)
    rows = ", ".join(str(r) for r in sample[ROW_COLUMN])
    focus = REASON_COLUMNS[code]
    shown = [c for c in (S.MALFORMED,) if code == "malformed_row" and c in sample.columns]
    if not shown:
        shown = [c for c in dict.fromkeys([S.INVOICE, S.ITEM, focus]) if c in sample.columns]
        if code == "duplicate_row":
            shown = [c for c in S.COLUMNS if c in sample.columns]
    table = sample[[ROW_COLUMN, *shown]].to_string(index=False, max_colwidth=60).splitlines()
    return rows, table


def rejected_summary(report: dict) -> str:
    """The one statement of how much was rejected, used alike by the log, the Markdown report
    and the failure message: every rejected row over every row in, whatever its limit."""
    return (
        f"{report['rows_rejected']:,} of {report['rows_in']:,} rows rejected "
        f"({report['rejected_share']:.2%})"
    )


def rejection_error(
    result: ValidationResult, params: ValidateParams | float, examples: int = 3
) -> str | None:
    """The message that fails the stage when too many rows are rejected, else ``None``.

    Reasons with their own limit (``validate.max_rejected_share_by_reason``) are judged
    against it alone; all other reasons together against ``validate.max_rejected_share``.
    The message names the source, each offending reason with its column, a few example rows
    (with their original values) and the fix.
    """
    if isinstance(params, float | int):
        params = ValidateParams(max_rejected_share=params)
    report = result.report
    rows_in = max(report["rows_in"], 1)
    by_reason = report["rejected_by_reason"]
    own = params.max_rejected_share_by_reason
    breaches: list[tuple[str, list[str]]] = []
    pooled = {code: n for code, n in by_reason.items() if code not in own and n}
    pooled_total = sum(pooled.values())
    if pooled_total / rows_in > params.max_rejected_share:
        if pooled_total == report["rows_rejected"]:
            head = f"above validate.max_rejected_share ({params.max_rejected_share:.2%})"
        else:
            head = (
                f"{pooled_total:,} of them ({pooled_total / rows_in:.2%} of all rows; the "
                "others have their own limit in validate.max_rejected_share_by_reason) "
                f"count towards validate.max_rejected_share "
                f"({params.max_rejected_share:.2%}), above it"
            )
        breaches.append((head, sorted(pooled, key=lambda c: (-pooled[c], _RANK[c]))[:3]))
    for code, limit in own.items():
        if by_reason.get(code, 0) / rows_in > limit:
            head = (
                f"{by_reason[code]:,} of them rejected as {code} "
                f"({by_reason[code] / rows_in:.2%} of all rows), above "
                f"validate.max_rejected_share_by_reason.{code} ({limit:.2%})"
            )
            breaches.append((head, [code]))
    if not breaches:
        return None
    lines = [f"{report['source']}: {rejected_summary(report)}."]
    for head, codes in breaches:
        if head.startswith("above") and len(lines) == 1:  # every rejected row counted: one line
            lines[0] = f"{lines[0][:-1]}, {head}."
        else:
            lines.append(f"  {head[0].upper()}{head[1:]}.")
        for code in codes:
            rows, table = _examples(result, code, examples)
            lines.append(
                f"  {code}: {by_reason[code]:,} rows with {REASONS[code]}, column "
                f"{column_label(report, code)}, e.g. source rows {rows}:"
            )
            lines.extend("      " + line for line in table)
            lines.append(f"    fix: {FIXES[code]}")
    lines.append(
        f"Or raise the limit in params.yaml if these rows are expected. Every rejected row: "
        f"{REJECTED_FILE}; summary: {REPORT_FILE}."
    )
    return "\n".join(lines)


def dataset_error(result: ValidationResult) -> str | None:
    """A message when the clean data cannot train a model at all, else ``None``."""
    report = result.report
    if report["rows_clean"] == 0:
        return (
            f"{report['source']}: no row passed validation ({report['rows_in']:,} rows "
            f"in); see {REPORT_FILE} for the reasons."
        )
    if report["invoices_multi_item"] == 0:
        return (
            f"{report['source']}: every one of the {report['invoices_clean']:,} clean "
            "invoices holds a single distinct item, so there are no associations to mine. "
            "Check the column mapped to invoice_id (ingest.mapping.columns.invoice_id): it "
            "must group the lines of one purchase, not number each line."
        )
    return None


def render_markdown(
    result: ValidationResult,
    params: ValidateParams,
    schema_changes: dict | None = None,
    examples: int = 3,
) -> str:
    """A human-readable validation report: the accounting, each reason with its column,
    examples and fix, guest checkouts, and changes of the input's columns."""
    report = result.report
    rows_in = max(report["rows_in"], 1)
    verdict = rejection_error(result, params) or dataset_error(result)
    own = params.max_rejected_share_by_reason
    applies = (
        f"the reasons without a limit of their own in "
        f"validate.max_rejected_share_by_reason "
        f"({', '.join(f'{c} {v:.2%}' for c, v in own.items())})"
        if own
        else "all of them"
    )
    out = [
        "# Validation report",
        "",
        f"Source: `{report['source']}`",
        "",
        f"**{'FAILED' if verdict else 'passed'}**: {report['rows_in']:,} rows in = "
        f"{report['rows_clean']:,} clean + {report['rows_rejected']:,} rejected: "
        f"{rejected_summary(report)}. The limit, validate.max_rejected_share "
        f"({params.max_rejected_share:.2%}), applies to {applies}.",
        "",
        "| | count |",
        "|---|---:|",
        f"| clean invoices | {report['invoices_clean']:,} |",
        f"| clean invoices with 2+ items | {report['invoices_multi_item']:,} |",
        f"| distinct items | {report['items_clean']:,} |",
        f"| guest checkouts (invoices without customer id, kept) | "
        f"{_count(report, S.CUSTOMER, 'invoices_without_customer')} |",
        f"| clean rows without description (kept) | "
        f"{_count(report, S.DESCRIPTION, 'clean_rows_without_description')} |",
        f"| invoices over {BIG_BASKET_ITEMS} distinct items (kept; train.max_basket_items "
        f"leaves big ones out of mining only) | {report.get('invoices_over_100_items', 0):,} |",
        *(
            [
                "| invoices over validate.max_basket_items "
                f"({params.max_basket_items}, rejected) | "
                f"{report['invoices_too_large']:,} |"
            ]
            if params.max_basket_items is not None
            else []
        ),
        "",
    ]
    span = report["time_span"]
    if span["first"] is not None:
        out += [f"Clean rows span {span['first']} to {span['last']}.", ""]
    if report["columns_not_provided"]:
        out += [
            "Not provided by the source (allowed to be empty): "
            + ", ".join(f"`{c}`" for c in report["columns_not_provided"])
            + ".",
            "",
        ]
    out += [
        "## Rejected rows by reason",
        "",
        "| reason | column | rows | share | meaning |",
        "|---|---|---:|---:|---|",
    ]
    for code, count in report["rejected_by_reason"].items():
        if count:
            out.append(
                f"| `{code}` | {column_label(report, code)} | {count:,} | "
                f"{count / rows_in:.2%} | {REASONS[code]} |"
            )
    if not report["rows_rejected"]:
        out.append("| (none) | | 0 | 0.00% | |")
    out.append("")
    for code, count in report["rejected_by_reason"].items():
        if count:
            _, table = _examples(result, code, examples)
            out += [
                f"### `{code}`",
                "",
                f"Usual cause and fix: {FIXES[code]}.",
                "",
                "```",
                *table,
                "```",
                "",
            ]
    out += ["## Input columns", ""]
    if report["unexpected_columns"]:
        out += [
            "Not mapped to a canonical column (ignored): "
            + ", ".join(f"`{c}`" for c in report["unexpected_columns"])
            + ".",
            "",
        ]
    if schema_changes is not None:
        out += [_schema_section(schema_changes), ""]
    if verdict:
        out += ["## Why the stage failed", "", "```", verdict, "```", ""]
    return "\n".join(out).rstrip() + "\n"


def _count(report: dict, column: str, key: str) -> str:
    return "(not in the source)" if column in report["columns_not_provided"] else f"{report[key]:,}"


def _schema_section(changes: dict) -> str:
    if not changes.get("reference"):
        return "No reference schema to compare with."
    if not changes["changed"]:
        return f"Same columns and types as the reference (`{changes['reference']}`)."
    lines = [f"Changed since the reference (`{changes['reference']}`):", ""]
    lines += [f"- appeared: `{c}` ({kind})" for c, kind in changes["added"].items()]
    lines += [f"- disappeared: `{c}` (was {kind})" for c, kind in changes["removed"].items()]
    lines += [
        f"- type changed: `{c}` {d['from']} -> {d['to']}" for c, d in changes["retyped"].items()
    ]
    return "\n".join(lines)
