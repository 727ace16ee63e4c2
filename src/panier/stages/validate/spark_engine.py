"""Validation on Spark (``validate.engine: spark``): the same split into clean and rejected
rows, the same reasons and the same report as ``validation.validate_line_items``, with every
row read and judged by Spark SQL expressions on the executors.

Each row's reason is one ``CASE WHEN`` over the reason codes in ``REASONS`` order (the first
failing one wins); ``duplicate_row`` is ``row_number()`` over all parsed columns in row order,
``basket_too_large`` the distinct items per invoice among otherwise clean rows. Only counts,
a sample of at most 1000 timestamps and a few example values reach the driver. Row order is
the DataFrame's (its partitions in order, as Spark reads one Parquet file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from panier.core import schema as S
from panier.core.config import ParsingParams, ValidateParams
from panier.core.errors import DataError
from panier.core.spark import aggregate
from panier.stages.validate import parsing as P
from panier.stages.validate import spark_parsing as SP
from panier.stages.validate.line_item_schema import EARLIEST, LATEST
from panier.stages.validate.reasons import (
    RANK,
    REASON_COLUMNS,
    REASONS,
    check_reason_limits,
    column_label,
)
from panier.stages.validate.validation import (
    BIG_BASKET_ITEMS,
    REASON_COLUMN,
    build_report,
    check_columns,
)

ORDER = "_panier_order"
# Reasons found while parsing (``parsing.parse_line_items``), not by the schema's checks.
_PARSE_REASONS = {
    "malformed_row",
    "unparseable_timestamp",
    "unparseable_quantity",
    "quantity_out_of_range",
    "unparseable_unit_price",
}


@dataclass
class SparkValidation:
    """Clean rows (canonical types), rejected rows (original values as text, reason, source
    row), both in row order, and the report that accounts for every row."""

    clean: DataFrame
    rejected: DataFrame
    report: dict
    #: ``rejected`` with the row order as a column ``ORDER`` (for examples in row order).
    rejected_in_order: DataFrame


def _p(column: str) -> str:
    return f"_parsed_{column}"


def _positions(frame: DataFrame) -> Column:
    """0-based row positions from ``ORDER`` (monotonically increasing ids count rows within
    each partition, the partition in the upper bits)."""
    part = F.shiftright(ORDER, 33)
    counts: dict[int, int] = dict(frame.groupBy(part.alias("p")).count().collect())
    starts, total = {}, 0
    for p in sorted(counts):
        starts[p], total = total, total + counts[p]
    offsets = F.create_map(*[F.lit(x) for p in sorted(starts) for x in (p, starts[p])])
    return F.element_at(offsets, part) + (F.col(ORDER) - F.shiftleft(part, 33))


def _t(column: str) -> str:
    return f"_text_{column}"


def _has(column: str) -> str:
    return f"_has_{column}"


def _parse(
    frame: DataFrame, parsing: ParsingParams, source: str, source_columns: dict | None
) -> DataFrame:
    """``frame`` with each canonical column parsed (``_p(column)``) and whether the row has a
    value there (``_has(column)``), built in steps of named intermediate columns."""
    fractions = SP.non_whole_floats(
        frame, [c for c in S.COLUMNS if c in frame.columns and c != S.TIMESTAMP]
    )
    kinds = {
        c: frame.schema[c].dataType if c in frame.columns else T.StringType() for c in S.COLUMNS
    }
    # Typed timestamps and epoch numbers are read as they are, never as text.
    typed_time = isinstance(
        kinds[S.TIMESTAMP], (T.TimestampType, T.TimestampNTZType, T.NumericType)
    )
    frame = frame.withColumns(
        {
            _t(c): SP.text_of(frame, c, fractions)
            for c in S.COLUMNS
            if not (c == S.TIMESTAMP and typed_time)
        }
    )
    idents = [S.INVOICE, S.CUSTOMER, S.ITEM]
    aggs = [
        a.alias(f"{c}_{i}")
        for c in idents
        for i, a in enumerate(SP.identifier_pattern(F.col(_t(c))))
    ]
    row = aggregate(frame, *aggs)
    parsed, present = {}, {}
    for column in S.COLUMNS:
        dtype, text = kinds[column], F.col(_t(column))
        # Text in pandas (str or object dtype): strings, dates and decimals.
        typed = not isinstance(dtype, (T.StringType, T.DateType, T.DecimalType))
        raw = F.col(column) if column in frame.columns else F.lit(None)
        if isinstance(dtype, (T.FloatType, T.DoubleType)):
            present[column] = raw.isNotNull() & ~F.isnan(raw)
        else:
            present[column] = raw.isNotNull() if typed else text.isNotNull()
        if column in idents:
            whole = row[f"{column}_0"] > 0 and row[f"{column}_0"] == row[f"{column}_1"]
            parsed[column] = SP.as_identifier(text, whole)
        elif column == S.TIMESTAMP:
            frame, parsed[column] = _timestamps(
                frame, dtype, None if typed_time else text, parsing, source, source_columns
            )
        elif column in (S.QUANTITY, S.PRICE):
            numeric = isinstance(dtype, T.NumericType) and not isinstance(dtype, T.DecimalType)
            if numeric:
                parsed[column] = SP.typed_number(raw)
            else:
                frame = frame.withColumn(_p(column) + "_text", SP.number_text(text, parsing))
                parsed[column] = SP.number_of(F.col(_p(column) + "_text"))
        else:
            parsed[column] = text
    frame = frame.withColumns({_p(c): e for c, e in parsed.items()})
    frame = frame.withColumns({_has(c): e for c, e in present.items()})
    # Only whole quantities; beyond 2^53 a double no longer holds every whole number.
    q = F.col(_p(S.QUANTITY))
    return frame.withColumn(_p(S.QUANTITY), F.when(SP.is_whole(q), q))


def _timestamps(frame, dtype, text, parsing, source, source_columns):
    raw = F.col(S.TIMESTAMP)
    if isinstance(dtype, T.TimestampNTZType):
        return frame, raw
    if isinstance(dtype, T.TimestampType):  # an instant: its UTC wall time
        return frame, SP.timestamp_from_micros(F.unix_micros(raw))
    if isinstance(dtype, T.NumericType):
        unit = parsing.epoch_unit
        if unit == "auto":
            size = F.abs(raw.cast("double"))
            size = F.when((size > 0) & ~F.isnan(size), size)
            low, high = frame.agg(F.min(size), F.max(size)).first()
            try:
                unit = P.epoch_unit(pd.Series([low, high], dtype="float64"))
            except DataError as exc:
                raise DataError(f"{source}: {_label(exc, source_columns)}") from None
        integral = isinstance(dtype, T.IntegralType)
        return frame, SP.timestamp_from_micros(SP.epoch_micros(raw, unit, integral))
    try:
        how = SP.decide_text_timestamps(frame, text, F.col(ORDER), parsing)
    except DataError as exc:
        raise DataError(f"{source}: {_label(exc, source_columns)}") from None
    return SP.parse_text_timestamps(frame, text, how)


def _ntz(moment: pd.Timestamp) -> Column:
    """A naive timestamp literal, free of any time zone (a Python datetime would be converted
    through the driver's)."""
    return F.lit(moment.strftime("%Y-%m-%d %H:%M:%S")).cast("timestamp_ntz")


def _label(exc: DataError, source_columns: dict | None) -> str:
    label = column_label({"source_columns": source_columns or {}}, "missing_timestamp")
    return str(exc).replace("the timestamp column", label)


def _reason_rank(
    parsed: dict[str, Column],
    present: dict[str, Column],
    malformed: Column,
    params: ValidateParams,
    today: date,
    not_provided: Sequence[str],
) -> Column:
    """The rank of the first failing reason before ``duplicate_row`` (null: none), the checks
    of ``line_item_schema.canonical_schema`` as column expressions."""
    limit = min(pd.Timestamp(params.max_timestamp or today) + pd.Timedelta(days=1), LATEST)
    oldest = max(pd.Timestamp(params.min_timestamp or EARLIEST), EARLIEST)
    ts, q, price, item = (parsed[S.TIMESTAMP], parsed[S.QUANTITY], parsed[S.PRICE], parsed[S.ITEM])
    non_products = sorted({code.strip().upper() for code in params.non_product_codes})
    non_product = F.upper(SP.strip(item)).isin(non_products) if non_products else F.lit(False)
    if params.non_product_pattern:
        non_product = non_product | item.rlike(params.non_product_pattern)
    checks = {
        "malformed_row": malformed,
        "missing_invoice_id": parsed[S.INVOICE].isNull(),
        "missing_timestamp": ~present[S.TIMESTAMP],
        "unparseable_timestamp": present[S.TIMESTAMP] & ts.isNull(),
        "future_timestamp": ts >= _ntz(limit),
        "too_old_timestamp": ts < _ntz(oldest),
        "missing_item_code": item.isNull(),
        "missing_quantity": ~present[S.QUANTITY],
        "unparseable_quantity": present[S.QUANTITY] & q.isNull(),
        "quantity_out_of_range": F.abs(q) >= P.EXACT_INTEGER,
        "missing_unit_price": ~present[S.PRICE],
        "unparseable_unit_price": present[S.PRICE] & price.isNull(),
        "cancelled_invoice": parsed[S.INVOICE].startswith(params.cancelled_prefix),
        "return": q <= 0,
        "non_positive_price": price <= 0,
        "non_product": non_product,
        "quantity_too_large": q > params.max_quantity if params.max_quantity else F.lit(False),
    }
    # A column the source does not have is nullable and unchecked (parsing still applies).
    skipped = {
        code
        for code in checks
        if REASON_COLUMNS[code] in not_provided and code not in _PARSE_REASONS
    }
    rank = F.lit(None).cast("int")
    for code in reversed(list(checks)):
        if code not in skipped:
            rank = F.when(checks[code], F.lit(RANK[code])).otherwise(rank)
    return rank


def validate_line_items_spark(
    frame: DataFrame,
    params: ValidateParams,
    source: str = "line items",
    today: date | None = None,
    parsing: ParsingParams | None = None,
    not_provided: Sequence[str] = (),
    source_columns: dict[str, str | None] | None = None,
) -> SparkValidation:
    """``validation.validate_line_items`` on a Spark DataFrame of the canonical line items:
    the same arguments, and the same rows clean and rejected, reasons and report. The table
    behind the clean and rejected DataFrames is computed once and kept on the executors
    (memory, then disk) until the session stops. Raises ``DataError`` as the pandas path
    does."""
    check_reason_limits(params)
    unexpected = check_columns(pd.DataFrame(columns=frame.columns), source, not_provided)
    today = today or datetime.now().date()
    originals = [c for c in frame.columns if c not in S.PROVENANCE]
    provenance = [S.SOURCE_ROW] + ([S.SOURCE_FILE] if S.SOURCE_FILE in frame.columns else [])
    frame = frame.withColumn(ORDER, F.monotonically_increasing_id())
    if S.SOURCE_ROW not in frame.columns:
        frame = frame.withColumn(S.SOURCE_ROW, _positions(frame).cast("long"))

    frame = _parse(frame, parsing or ParsingParams(), source, source_columns)
    malformed = F.col(S.MALFORMED).isNotNull() if S.MALFORMED in frame.columns else F.lit(False)
    parsed = {c: F.col(_p(c)) for c in S.COLUMNS}
    present = {c: F.col(_has(c)) for c in S.COLUMNS}
    rank = _reason_rank(parsed, present, malformed, params, today, not_provided)
    q = parsed[S.QUANTITY]
    keep = [ORDER, *provenance, *originals]
    table = frame.select(
        *keep,
        *[_p(c) for c in S.COLUMNS if c != S.QUANTITY],
        F.when(F.abs(q) >= P.EXACT_INTEGER, 0.0).otherwise(q).alias(_p(S.QUANTITY)),
        rank.alias("_rank"),
    )
    copies = Window.partitionBy(*[_p(c) for c in S.COLUMNS]).orderBy(ORDER)
    dup = F.when(F.row_number().over(copies) > 1, RANK["duplicate_row"])
    table = table.withColumn("_rank", F.coalesce("_rank", dup))

    # Basket outliers are judged on rows that survive every other check.
    inv, item = _p(S.INVOICE), _p(S.ITEM)
    sizes = (
        table.where(F.col("_rank").isNull())
        .groupBy(inv)
        .agg(
            F.count_distinct(item).alias("_items"),
            F.min(F.struct(ORDER, F.col(_p(S.CUSTOMER)).isNull().alias("guest")))["guest"].alias(
                "_guest"
            ),
        )
    )
    limit = params.max_basket_items
    too_large = F.col("_items") > limit if limit is not None else F.lit(False)
    table = table.join(sizes.select(inv, "_items"), on=inv, how="left").withColumn(
        "_rank",
        F.coalesce(
            "_rank", F.when(F.col("_items").isNotNull() & too_large, RANK["basket_too_large"])
        ),
    )
    table = table.persist(StorageLevel.MEMORY_AND_DISK)

    counts: dict[int | None, int] = dict(table.groupBy("_rank").count().collect())
    clean_rows = table.where(F.col("_rank").isNull())
    c = aggregate(
        clean_rows,
        F.count("*").alias("rows"),
        F.count_distinct(item).alias("items"),
        F.count(F.when(F.col(_p(S.CUSTOMER)).isNull(), 1)).alias("no_customer"),
        F.count(F.when(F.col(_p(S.DESCRIPTION)).isNull(), 1)).alias("no_description"),
        F.count(F.when(F.col("_items") > BIG_BASKET_ITEMS, 1)).alias("in_big"),
        F.min(_p(S.TIMESTAMP)).alias("first"),
        F.max(_p(S.TIMESTAMP)).alias("last"),
    )
    b = aggregate(
        sizes,
        F.count(F.when(~too_large, 1)).alias("invoices"),
        F.count(F.when(~too_large & (F.col("_items") >= 2), 1)).alias("multi"),
        F.count(F.when(too_large, 1)).alias("too_large"),
        F.count(F.when(~too_large & (F.col("_items") > BIG_BASKET_ITEMS), 1)).alias("big"),
        F.count(F.when(~too_large & F.col("_guest"), 1)).alias("guests"),
    )
    report = build_report(
        source=source,
        rows_in=sum(counts.values()),
        reason_counts=[int(counts.get(rank, 0)) for rank in range(len(REASONS))],
        clean_counts={
            "rows_clean": c["rows"],
            "invoices_clean": b["invoices"],
            "invoices_multi_item": b["multi"],
            "invoices_too_large": b["too_large"],
            "invoices_over_100_items": b["big"],
            "clean_rows_in_invoices_over_100_items": c["in_big"],
            "invoices_without_customer": b["guests"],
            "items_clean": c["items"],
            "clean_rows_without_customer": c["no_customer"],
            "clean_rows_without_description": c["no_description"],
        },
        time_span=tuple(
            pd.Timestamp(t) if t is not None else None for t in (c["first"], c["last"])
        ),
        not_provided=not_provided,
        source_columns=source_columns,
        unexpected=unexpected,
    )

    clean = clean_rows.orderBy(ORDER).select(
        *[
            F.col(_p(col)).cast("long").alias(col)
            if col == S.QUANTITY
            else F.col(_p(col)).alias(col)
            for col in S.COLUMNS
        ],
        *provenance,
    )
    rejected_rows = table.where(F.col("_rank").isNotNull())
    codes = F.array(*[F.lit(code) for code in REASONS])
    ordered = rejected_rows.select(
        F.element_at(codes, F.col("_rank") + 1).alias(REASON_COLUMN),
        *provenance,
        *[_original_text(rejected_rows, col).alias(col) for col in originals],
        ORDER,
    )
    rejected = ordered.orderBy(ORDER).drop(ORDER)
    return SparkValidation(clean, rejected, report, ordered)


def _original_text(rows: DataFrame, name: str) -> Column:
    """A column's original values as pandas' ``astype("str")`` writes them (missing stays
    missing); timestamps at the precision the column needs, as pandas lays them out."""
    dtype, c = rows.schema[name].dataType, F.col(name)
    if isinstance(dtype, T.StringType):
        return c
    if isinstance(dtype, (T.FloatType, T.DoubleType)):
        return SP.python_float_text(c.cast("double"))
    if isinstance(dtype, T.BooleanType):
        return F.when(c, "True").when(~c, "False")
    if isinstance(dtype, (T.TimestampNTZType, T.TimestampType)):
        micros = F.date_format(c, "SSSSSS").cast("int")
        clock = (F.hour(c) + F.minute(c) + F.second(c) + micros) != 0
        got = aggregate(
            rows,
            F.max(F.when(clock, 1).otherwise(0)).alias("time"),
            F.max(F.when(micros != 0, 1).otherwise(0)).alias("sub"),
            F.max(F.when(F.pmod(micros, F.lit(1000)) != 0, 1).otherwise(0)).alias("us"),
        )
        pattern = "yyyy-MM-dd"
        if got["time"]:
            pattern += " HH:mm:ss"
        if got["sub"]:
            pattern += ".SSSSSS" if got["us"] else ".SSS"
        return F.date_format(c, pattern)
    return c.cast("string")
