"""The readings of ``parsing`` as Spark SQL column expressions, for the spark engine.

Each column's reading is decided once on the driver, from aggregates the executors compute
(and, for text timestamps, from the same evenly spread sample of at most 1000 values the
pandas path decides from); every row is then read by that one expression on the executors.
Text is matched with explicit patterns rather than Spark's lenient casts, so that a value
parses here exactly when it parses in the pandas path.
"""

from __future__ import annotations

import re
from typing import TypeVar

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from panier.core.config import ParsingParams
from panier.core.errors import DataError
from panier.core.spark import aggregate
from panier.stages.validate import parsing as P

# The characters pandas' str.strip removes: Unicode white space and the C0 separators.
_WS = r"[\t\n\x0B\f\r\x1C-\x1F \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
# What strptime (C locale) skips before a number and where the format has white space.
_C_WS = r"[ \t\n\x0B\f\r]*+"
# A finite decimal number as both pyarrow's cast and pd.to_numeric read it (ASCII digits).
_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
# ISO 8601 without an offset, as pyarrow's cast to timestamp[us] reads it.
_ARROW_ISO = r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?)?$"
# ISO 8601 as pandas' format="ISO8601" reads the common forms, offsets included.
_PANDAS_ISO = (
    r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_US_PER_DAY = 86_400_000_000
_FIELDS = ("year", "month", "day", "hour", "minute", "second", "fraction")
# strptime directive -> (field, digits, lowest, highest), as pyarrow's strptime reads them.
_DIRECTIVES = {
    "Y": ("year", "1,4", 0, 9999),
    "y": ("year2", "1,2", 0, 99),
    "m": ("month", "1,2", 1, 12),
    "d": ("day", "1,2", 1, 31),
    "H": ("hour", "1,2", 0, 23),
    "M": ("minute", "1,2", 0, 59),
    "S": ("second", "1,2", 0, 61),
}


def is_whole(c: Column) -> Column:
    """Whether a double is a whole number (false for infinities and NaN; ``floor`` would
    overflow a long beyond 2^63)."""
    return (c % 1) == 0


def strip(text: Column) -> Column:
    return F.regexp_replace(text, f"^{_WS}+|{_WS}+$", "")


def python_float_text(c: Column) -> Column:
    """A double as Python's ``str`` writes it (what pandas' astype("str") gives): Java's
    digits, laid out as Python lays them out (exponent below 1e-4 and from 1e16)."""
    a, java = F.abs(c), c.cast("string")
    whole = is_whole(c)
    plain = F.regexp_replace(c.cast("decimal(38,18)").cast("string"), r"0+$", "")
    mantissa = F.regexp_replace(F.regexp_extract(java, r"^(-?[0-9.]+)E", 1), r"\.0$", "")
    exponent = F.regexp_extract(java, r"E(-?\d+)$", 1).cast("int")
    sign = F.when(exponent < 0, "-").otherwise("+")
    scientific = F.concat(
        mantissa, F.lit("e"), sign, F.lpad(F.abs(exponent).cast("string"), 2, "0")
    )
    return (
        F.when(F.isnan(c), None)
        .when(c == float("inf"), "inf")
        .when(c == float("-inf"), "-inf")
        .when(whole & (a < 1e7), java)
        .when(whole & (a < 1e16), F.concat(c.cast("decimal(17,0)").cast("string"), F.lit(".0")))
        .when((a >= 1e-3) & (a < 1e7), java)
        .when((a >= 1e-4) & (a < 1e16), plain)
        .otherwise(scientific)
    )


def non_whole_floats(frame: DataFrame, columns: list[str]) -> dict[str, bool]:
    """Column -> whether a float column holds a value that is not a whole number (NaN aside):
    pandas then writes its values as floats (``17850.5``), else as integers (``17850``)."""
    floats = [
        c for c in columns if isinstance(frame.schema[c].dataType, (T.FloatType, T.DoubleType))
    ]
    if not floats:
        return {}
    row = aggregate(
        frame,
        *[
            F.max(F.when(~F.isnan(c) & ~is_whole(F.col(c)), 1).otherwise(0)).alias(c)
            for c in floats
        ],
    )
    return {c: bool(row[c]) for c in floats}


def text_of(frame: DataFrame, name: str, fractions: dict[str, bool]) -> Column:
    """``parsing._as_text``: a column's values as text, blank text missing."""
    if name not in frame.columns:
        return F.lit(None).cast("string")
    dtype, c = frame.schema[name].dataType, F.col(name)
    if isinstance(dtype, T.StringType):
        text = c
    elif isinstance(dtype, (T.FloatType, T.DoubleType)):
        whole = F.when(F.abs(c) < 1e19, c.cast("decimal(20,0)").cast("string"))
        text = python_float_text(c) if fractions.get(name) else whole
    elif isinstance(dtype, T.BooleanType):
        text = F.when(c, "True").when(~c, "False")
    elif isinstance(dtype, (T.IntegralType, T.DecimalType, T.DateType)):
        text = c.cast("string")
    else:
        raise DataError(
            f"column {name!r} has type {dtype.simpleString()}, which validate.engine spark "
            "does not read as text: set validate.engine: pandas"
        )
    return F.when(strip(text) != "", text)


def identifier_pattern(text: Column) -> tuple[Column, Column]:
    """Aggregates that decide ``parsing._as_identifier``: values present, and present values
    that are whole numbers written as floats (``17850.0``)."""
    present = F.count(text)
    floats = F.count(F.when(text.rlike(r"^-?\d+\.0$"), 1))
    return present, floats


def as_identifier(text: Column, whole_floats: bool) -> Column:
    """``parsing._as_identifier``: with ``whole_floats`` (every value reads ``17850.0``), the
    ``.0`` dropped."""
    return text.substr(F.lit(1), F.length(text) - 2) if whole_floats else text


def number_text(text: Column, parsing: ParsingParams) -> Column:
    """Text of a number as ``number_of`` reads it: the decimal comma made a point, stripped."""
    if parsing.decimal == ",":
        text = F.replace(F.replace(text, F.lit("."), F.lit("")), F.lit(","), F.lit("."))
    return strip(text)


def number_of(text: Column) -> Column:
    """``parsing._numbers_from_text`` on ``number_text``: a finite double, else null."""
    value = F.when(text.rlike(_NUMBER), text.try_cast("double"))
    return F.when(~F.isnan(value) & (F.abs(value) != float("inf")), value)


def typed_number(c: Column) -> Column:
    """``parsing.parse_numbers`` for numeric columns: a finite double, else null."""
    value = c.cast("double")
    return F.when(~F.isnan(value) & (F.abs(value) != float("inf")), value)


# --- timestamps ------------------------------------------------------------------------------


def _days_from_civil(y: Column, m: Column, d: Column) -> Column:
    """Days since 1970-01-01 of year ``y``, month ``m`` (1 to 12) and day ``d`` counted from
    the month's first (a day past the month's end runs on into the next, as strptime's
    does), in the proleptic Gregorian calendar (H. Hinnant's days_from_civil)."""
    y = y - F.when(m <= 2, 1).otherwise(0)
    era = F.floor(y / 400).cast("long")
    yoe = y - era * 400
    doy = F.floor((153 * (m + F.when(m > 2, -3).otherwise(9)) + 2) / 5).cast("long") + d - 1
    doe = yoe * 365 + F.floor(yoe / 4) - F.floor(yoe / 100) + doy
    return era * 146097 + doe - 719468


def floor_div(numbers: Column, by: int) -> Column:
    """``numbers // by`` for longs, exact (a double would round beyond 2^53)."""
    rest = F.pmod(numbers, F.lit(by))
    return ((numbers - rest).cast("decimal(38,0)") / by).cast("long")


def timestamp_from_micros(micros: Column) -> Column:
    """Naive (UTC) ``timestamp_ntz`` from microseconds since 1970, free of the session's time
    zone."""
    days = floor_div(micros, _US_PER_DAY).cast("int")
    rest = F.pmod(micros, F.lit(_US_PER_DAY)).cast("decimal(18,0)") / 1_000_000
    epoch = F.lit("1970-01-01 00:00:00").cast("timestamp_ntz")
    return epoch + F.make_dt_interval(days, F.lit(0), F.lit(0), rest.cast("decimal(18,6)"))


def _micros(parts: dict[str, Column], strict: bool) -> Column:
    """Microseconds since 1970 of parsed fields; with ``strict``, a day past the month's end
    (2024-02-30) is invalid (null) rather than run on."""
    zero = F.lit(0).cast("long")
    y, m, d = parts["year"], parts.get("month", F.lit(1)), parts.get("day", F.lit(1))
    days = _days_from_civil(y, m, d)
    micros = (
        days * _US_PER_DAY
        + parts.get("hour", zero) * 3_600_000_000
        + parts.get("minute", zero) * 60_000_000
        + parts.get("second", zero) * 1_000_000
        + parts.get("fraction", zero)
    )
    if strict:
        next_month = _days_from_civil(y + F.floor(m / 12), F.pmod(m, F.lit(12)) + 1, F.lit(1))
        micros = F.when(d <= next_month - _days_from_civil(y, m, F.lit(1)), micros)
    return micros


TMP = "_panier_ts_"  # prefix of the intermediate columns of a timestamp's parse
# The functions below add their intermediate columns to a frame and return it, or, given
# None, return None and the expressions themselves.
_Frame = TypeVar("_Frame", DataFrame, None)


def _stage(frame: _Frame, columns: dict[str, Column]) -> tuple[_Frame, dict[str, Column]]:
    """With a ``frame``, ``columns`` added to it as intermediate columns and referred to by
    name (Spark then computes each once, and compiles small expressions); without, the
    expressions themselves."""
    if frame is None:
        return None, columns
    frame = frame.withColumns({TMP + k: v for k, v in columns.items()})
    return frame, {k: F.col(TMP + k) for k in columns}


def _fields(
    frame: _Frame, text: Column, pattern: str, names: list[str]
) -> tuple[_Frame, dict[str, Column]]:
    frame, ok = _stage(frame, {"match": text.rlike(pattern)})
    return _stage(
        frame,
        {
            name: F.when(ok["match"], F.regexp_extract(text, pattern, i + 1))
            for i, name in enumerate(names)
        },
    )


def _iso(
    text: Column, pattern: str, strict: bool, digits: int, frame: _Frame
) -> tuple[_Frame, Column]:
    """Microseconds of ISO 8601 text matching ``pattern`` (fields in ``_FIELDS`` order, then
    an optional offset); fractions beyond ``digits`` digits do not parse, beyond 6 are cut."""
    names = list(_FIELDS) + (["zone"] if pattern is _PANDAS_ISO else [])
    frame, raw = _fields(frame, text, pattern, names)
    zero = F.lit(0).cast("long")
    parts = {k: F.coalesce(F.when(raw[k] != "", raw[k].cast("long")), zero) for k in _FIELDS}
    parts["fraction"] = F.substring(F.rpad(raw["fraction"], 9, "0"), 1, 6).cast("long")
    frame, parts = _stage(frame, parts)
    ok = (
        (parts["year"] >= (1 if strict else 0))
        & parts["month"].between(1, 12)
        & (parts["day"] >= 1)
        & (parts["hour"] <= 23)
        & (parts["minute"] <= 59)
        & (parts["second"] <= 59)
        & (F.length(raw["fraction"]) <= digits)
    )
    micros = F.when(ok, _micros(parts, True))
    if "zone" in raw:
        zone = F.regexp_replace(raw["zone"], r"[^0-9]", "")
        sign = F.when(raw["zone"].startswith("-"), -1).otherwise(1)
        hours = F.when(F.length(zone) >= 2, F.substring(zone, 1, 2).cast("long"))
        minutes = F.when(F.length(zone) == 4, F.substring(zone, 3, 2).cast("long"))
        offset = sign * (F.coalesce(hours, zero) * 60 + F.coalesce(minutes, zero))
        micros = micros - offset * 60_000_000
    return frame, micros


def arrow_iso(text: Column) -> Column:
    """Microseconds of ISO 8601 text without an offset, exactly where pyarrow's cast reads it."""
    return _iso(text, _ARROW_ISO, True, 6, None)[1]


def strptime_micros(text: Column, fmt: str, frame: _Frame) -> tuple[_Frame, Column]:
    """Microseconds of ``text`` read with strftime format ``fmt`` as pyarrow's strptime reads
    it: numbers of 1 to 2 digits (years 1 to 4), white space before each skipped, the whole
    text consumed, a day past the month's end running on. Raises ``DataError`` for a format
    the engine does not read."""
    pattern, names, limits = "^", [], []
    for literal, directive in re.findall(r"([^%]*)(?:%(.)|$)", fmt):
        for char in literal:
            pattern += _C_WS if char.isspace() else re.escape(char)
        if not directive:
            continue
        if directive == "%":
            pattern += "%"
            continue
        if directive not in _DIRECTIVES:
            raise DataError(
                f"ingest.parsing: the timestamp format {fmt!r} uses %{directive}, which "
                "validate.engine spark does not read: set validate.engine: pandas"
            )
        field, width, low, high = _DIRECTIVES[directive]
        pattern += f"{_C_WS}(\\d{{{width}}}+)"
        names.append(field)
        limits.append((field, low, high))
    if not {"year", "year2"} & set(names) or "month" not in names or "day" not in names:
        raise DataError(
            f"ingest.parsing: the timestamp format {fmt!r} has no year, month or day, which "
            "validate.engine spark needs: set validate.engine: pandas"
        )
    frame, raw = _fields(frame, text, pattern + "$", names)
    frame, parts = _stage(frame, {k: v.cast("long") for k, v in raw.items()})
    ok = F.lit(True)
    for field, low, high in limits:
        ok = ok & parts[field].between(low, high)
    if "year2" in parts:
        two = parts.pop("year2")
        parts["year"] = two + F.when(two < 69, 2000).otherwise(1900)
    return frame, F.when(ok, _micros(parts, False))


def epoch_micros(numbers: Column, unit: str, integral: bool) -> Column:
    """Microseconds of epoch numbers in ``unit``, exact for integers; null beyond what pandas'
    nanosecond timestamps hold (``pd.to_datetime(errors="coerce")`` makes those missing)."""
    per_ns = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
    ns = numbers.cast("double") * float(per_ns)
    inside = F.abs(ns) < 9.2233720368547e18
    if not integral:
        return F.when(inside & ~F.isnan(ns), F.floor(ns / 1000).cast("long"))
    whole = numbers.cast("long")
    micros = floor_div(whole, 1000) if unit == "ns" else whole * (per_ns // 1000)
    return F.when(inside, micros)


def decide_text_timestamps(
    frame: DataFrame, text: Column, order: Column, parsing: ParsingParams
) -> tuple[str, str | None]:
    """How a text timestamp column is read, decided as ``parsing._timestamps_from_text``
    decides it: ("format", fmt), ("arrow_iso", None), ("pandas_iso", None) or ("none", None).
    Only counts, the sample and two example values come to the driver."""
    if parsing.timestamp_format:
        return "format", parsing.timestamp_format
    values = frame.select(order.alias("o"), text.alias("v")).where(F.col("v").isNotNull())
    row = aggregate(
        values,
        F.count("*").alias("n"),
        F.count(F.when(arrow_iso(F.col("v")).isNull(), 1)).alias("bad"),
    )
    if row["bad"] == 0:
        return "arrow_iso", None
    if row["n"] == 0:
        return "none", None
    sample = sample_at(values, P.sample_positions(row["n"]).tolist())
    if P.mostly_iso(sample):
        return "pandas_iso", None
    java = {
        k: v.replace(r"^\s*", r"^[\t\n\f\r ]*")
        for k, v in {"day": P._DAY_ABOVE_12, "month": P._MONTH_ABOVE_12}.items()
    }
    found = aggregate(
        values,
        *[F.min(F.when(F.col("v").rlike(p), F.struct("o", "v"))).alias(k) for k, p in java.items()],
    )
    example = {k: (found[k]["v"] if found[k] is not None else None) for k in java}
    best = P.best_format(sample, P.decide_day_first(example["day"], example["month"], parsing))
    return ("format", best) if best else ("none", None)


def sample_at(values: DataFrame, positions: list[int]) -> pd.Series:
    """The values (column ``v``) at 0-based ``positions`` of ``values`` (already filtered, in
    row order), as text: positions come from each partition's count (partitions follow the
    row order, and ids count the rows within each)."""
    ranked = values.select(F.monotonically_increasing_id().alias("id"), "v")
    counts: dict[int, int] = dict(
        ranked.groupBy(F.shiftright("id", 33).alias("p")).count().collect()
    )
    starts, total = {}, 0
    for part in sorted(counts):
        starts[part], total = total, total + counts[part]
    wanted = []
    for position in positions:
        part = max(p for p in starts if starts[p] <= position)
        wanted.append(part * 2**33 + position - starts[part])
    picked: dict[int, str] = dict(ranked.where(F.col("id").isin(sorted(set(wanted)))).collect())
    return pd.Series([picked[i] for i in wanted], dtype="str")


def parse_text_timestamps(
    frame: DataFrame, text: Column, how: tuple[str, str | None]
) -> tuple[DataFrame, Column]:
    """``frame`` with the intermediate columns of reading ``text`` as ``decide_text_timestamps``
    decided, and the ``timestamp_ntz`` expression over them (drop columns starting with
    ``TMP`` once it is computed)."""
    kind, fmt = how
    if kind == "format":
        assert fmt is not None  # decide_text_timestamps gives ("format", its format)
        frame, micros = strptime_micros(text, fmt, frame)
    elif kind == "arrow_iso":
        frame, micros = _iso(text, _ARROW_ISO, True, 6, frame)
    elif kind == "pandas_iso":
        frame, micros = _iso(text, _PANDAS_ISO, False, 9, frame)
    else:
        micros = F.lit(None).cast("long")
    frame, staged = _stage(frame, {"micros": micros})
    return frame, timestamp_from_micros(staged["micros"])
