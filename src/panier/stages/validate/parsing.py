"""Text to canonical values: timestamps and numbers as sources write them, identifiers as text.

Values arrive as the source holds them (text from CSV files, typed values from Parquet or SQL).
Each column gets one interpretation for all its rows, never a per-row fallback; a value that
does not parse becomes missing, and its row is marked with the ``unparseable_*`` reason.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyarrow as pa_lib
import pyarrow.compute as pc
from pandas.tseries.api import guess_datetime_format

from panier.core import schema as S
from panier.core.config import ParsingParams
from panier.core.errors import DataError
from panier.stages.validate.reasons import NO_REASON, RANK

log = logging.getLogger(__name__)

# From 2^53 on, a float64 no longer holds every whole number: such quantities are out of range.
EXACT_INTEGER = float(2**53)


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
    return decide_day_first(
        values[pc.index(day, True).as_py()].as_py() if says_day else None,
        values[pc.index(month, True).as_py()].as_py() if says_month else None,
        parsing,
    )


def decide_day_first(
    example_day: str | None, example_month: str | None, parsing: ParsingParams
) -> bool:
    """``day_first`` from the first value that can only be day first and the first that can
    only be month first (None: no such value); shared with the spark engine."""
    if example_day is not None and example_month is not None:
        raise DataError(
            f"the timestamp column holds dates that can only be day first ({example_day!r}) "
            f"and dates that can only be month first ({example_month!r}): no one reading fits "
            "them all. Set ingest.parsing.timestamp_format to the format of the export (e.g. "
            "'%d/%m/%Y %H:%M'; rows in another format are then rejected as "
            "unparseable_timestamp), or repair the export; ingest.parsing.dayfirst cannot "
            "decide this"
        )
    says_day = example_day is not None
    if says_day or example_month is not None:
        if says_day != parsing.dayfirst:
            log.warning(
                "timestamps: values such as %r can only be %s first; read the whole "
                "column so (ingest.parsing.dayfirst is %s)",
                example_day if says_day else example_month,
                "day" if says_day else "month",
                str(parsing.dayfirst).lower(),
            )
        return says_day
    return parsing.dayfirst


def sample_positions(n: int) -> np.ndarray:
    """Positions of the (at most 1000, evenly spread) values among ``n`` present ones from
    which a text column's timestamp reading is decided."""
    return np.linspace(0, n - 1, min(n, 1000)).astype(np.int64)


def mostly_iso(sample: pd.Series) -> bool:
    """Whether half the sample or more reads as ISO 8601 (offsets allowed): then ISO for every
    row."""
    return pd.to_datetime(sample, format="ISO8601", errors="coerce", utc=True).notna().mean() >= 0.5


def best_format(sample: pd.Series, dayfirst: bool) -> str | None:
    """One format for the column: of those guessed from the sample's first 20 values, the one
    that parses most of the sample (None: no guess)."""
    candidates = {guess_datetime_format(v, dayfirst=dayfirst) for v in sample.iloc[:20]}
    candidates.discard(None)
    if not candidates:
        return None
    return max(sorted(candidates), key=lambda fmt: _strptime(sample, fmt).notna().sum())


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
    sample = present.iloc[sample_positions(len(present))]
    if mostly_iso(sample):
        return _naive_utc(pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True))
    # Values the chosen format does not fit are unparseable, not re-guessed.
    best = best_format(sample, day_first(text, parsing))
    if best is None:
        return pd.Series(pd.NaT, index=text.index, dtype=_NAIVE)
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


def parse_line_items(
    frame: pd.DataFrame, parsing: ParsingParams
) -> tuple[pd.DataFrame, np.ndarray]:
    """Coerce columns to canonical types; return the parsed frame and, per row, the rank of
    the first reason found so far. Values that fail to parse become missing."""
    parsed = pd.DataFrame(index=frame.index)
    reason = np.full(len(frame), NO_REASON, dtype=np.int16)

    def mark(failed: pd.Series | np.ndarray, code: str) -> None:
        if isinstance(failed, pd.Series):
            failed = failed.to_numpy(dtype=bool, na_value=False)
        hit = failed & (reason > RANK[code])
        reason[hit] = RANK[code]

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
