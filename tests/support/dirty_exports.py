"""Generated dirty exports and the check every one must pass (tests/unit/test_dirty_exports.py
samples them, tests/integration/test_dirty_exports_search.py searches them at length).

Property-based: generated dirty exports are read and validated with exact accounting from the
source, no value in the clean table that differs from what the source says, one message (never
a traceback) for what cannot be read, and the same outcome on every run.

Each example is a CSV export in the retail layout written the way real ones go wrong: random
quoting, delimiters, quotes and newlines inside fields, CRLF or LF, blank lines, ragged rows,
a quote opened and never closed, extreme and unparseable numbers, ambiguous and contradictory
dates, latin-1 and mixed encodings. The generator knows the records it wrote (the line each
starts on, its values); the library (read_source, apply_mapping, validate_line_items: what the
ingest and validate stages run) must account for exactly those.

The ``ci`` profile is derandomised (a fixed sequence of examples), so CI is stable; set
HYPOTHESIS_PROFILE=explore for fresh random examples.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st

from panier.core import schema as S
from panier.core.config import ValidateParams, parse_params
from panier.core.errors import DataError
from panier.core.mapping import apply_mapping, resolve_mapping
from panier.stages.ingest.delimited import _strict_rows, read_delimited
from panier.stages.ingest.sources import read_source
from panier.stages.validate.validation import REASON_COLUMN, validate_line_items
from support.retail_export import HEADER

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "explore",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

TODAY = date(2026, 1, 1)
PARAMS = ValidateParams(max_rejected_share=1.0, max_basket_items=10_000, max_quantity=None)

# Field text: letters, digits, spaces, accents, other scripts, and every character that
# matters to a CSV parser (the delimiter and quote are added per export).
TEXT = st.text(
    alphabet=st.sampled_from([*"abcXYZ019 -_/é€中", ",", ";", '"', "\n", "\t", "|", "'"]),
    max_size=12,
)


@dataclass
class Record:
    line: int  # the line the record starts on
    values: dict[str, str] = field(default_factory=dict)
    when: datetime | None = None
    quantity: int | None = None
    malformed: bool = False
    when_ambiguous: bool = False


@dataclass
class Export:
    data: bytes
    delimiter: str
    encoding: str
    dayfirst: bool
    records: list[Record]
    expect_error: str | None  # a message that must be raised instead of a result


def quote(value: str, delimiter: str, always: bool) -> str:
    if always or any(c in value for c in (delimiter, '"', "\n", "\r")) or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def exports(draw) -> Export:
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    style = draw(st.sampled_from(["iso", "us", "eu", "eu", "mixed"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "latin-1", "mixed"]))
    n = draw(st.integers(1, 25))
    unclosed = draw(st.one_of(st.none(), st.integers(0, n - 1)))
    lines = [delimiter.join(HEADER)]
    line_number = 1
    records: list[Record] = []
    day_evidence = month_evidence = False
    for i in range(n):
        plain = unclosed is not None and i > unclosed  # after a stray quote: nothing quoted
        if draw(st.integers(0, 9)) == 0:
            lines.append("")  # a blank line
            line_number += 1
        when = draw(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2024, 12, 31)))
        when = when.replace(second=0, microsecond=0)
        if style == "iso":
            stamp = when.strftime("%Y-%m-%d %H:%M:%S")
        elif style == "us" or (style == "mixed" and i % 2):
            stamp = f"{when.month}/{when.day}/{when.year} {when.hour}:{when.minute:02d}"
        else:
            stamp = when.strftime("%d/%m/%Y %H:%M")
        garbage_date = draw(st.integers(0, 14)) == 0
        if garbage_date:
            stamp, when = "not a date", None
        quantity_text = draw(
            st.sampled_from(
                [
                    "1",
                    "2",
                    "6",
                    "12",
                    "0",
                    "-3",
                    "1e30",
                    "9223372036854775808",
                    "1.5",
                    "two",
                    "",
                    "9007199254740993",
                    "480000",
                ]
            )
        )
        price_text = draw(
            st.sampled_from(["2.55", "0.85", "1e308", "0", "-1", "n/a", "", "7", "1e-300"])
        )
        values = {
            "InvoiceNo": draw(st.sampled_from(["536365", "536366", "536367", "C536368"])),
            "StockCode": draw(st.sampled_from(["85123A", "71053", "22633", "POST", ""]))
            if plain
            else draw(TEXT.filter(lambda t: "." not in t)),
            "Description": draw(st.sampled_from(["LANTERN", "HAND WARMER", ""]))
            if plain
            else draw(TEXT),
            "Quantity": quantity_text,
            "InvoiceDate": stamp,
            "UnitPrice": price_text,
            "CustomerID": draw(st.sampled_from(["17850", "", "13047"])),
            "Country": draw(st.sampled_from(["United Kingdom", "EIRE", "Côte d'Ivoire", ""])),
        }
        if encoding == "latin-1" and not plain:
            values = {
                k: v.encode("latin-1", "replace").decode("latin-1") for k, v in values.items()
            }
        fields = [quote(values[h], delimiter, not plain and draw(st.booleans())) for h in HEADER]
        record = Record(line=line_number + 1, values=values, when=when)
        ragged = not plain and i != unclosed and draw(st.integers(0, 11)) == 0
        if i == unclosed:  # one line, a quote opened in one field and never closed
            fields = [
                values[h].replace('"', "").replace("\n", " ").replace(delimiter, " ")
                for h in HEADER
            ]
            column = draw(st.integers(0, len(HEADER) - 1))
            fields[column] = '"' + fields[column]
            record.malformed = True
        elif ragged:
            fields = [f.replace("\n", " ") for f in fields]  # one line, one field too few/many
            fields = fields[:-1] if draw(st.booleans()) else [*fields, "extra"]
            record.malformed = True
        elif when is not None and not garbage_date and style != "iso":
            first, second = (int(x) for x in stamp.split(" ")[0].split("/")[:2])
            day_evidence |= first > 12
            month_evidence |= second > 12
        if not record.malformed and quantity_text.lstrip("-").isdigit():
            record.quantity = int(quantity_text)
        text = delimiter.join(fields)
        lines.append(text)
        line_number += text.count("\n") + 1
        records.append(record)
    body = newline.join(lines) + (newline if draw(st.booleans()) else "")
    if encoding == "mixed":
        data = body.encode("utf-8") + "Café,é\n".encode("latin-1")
        expect = "not valid utf-8 text"
        encoding = "utf-8"
    else:
        data = body.encode(encoding)
        expect = None
    if style == "mixed" and day_evidence and month_evidence and expect is None:
        expect = "ingest.parsing.timestamp_format"
    dayfirst = draw(st.booleans())  # what the data says decides; else the user says
    if style == "eu" and not day_evidence:
        dayfirst = True
    if style == "us" and not month_evidence:
        dayfirst = False
    if style == "mixed":  # no one reading is right for every row: only unambiguous ones count
        for record in records:
            if (
                record.when is not None
                and record.when.day <= 12
                and record.when.day != record.when.month
            ):
                record.when_ambiguous = True
    return Export(data, delimiter, encoding, dayfirst, records, expect)


def read(export: Export, folder: Path):
    path = folder / "export.csv"
    path.write_bytes(export.data)
    params = parse_params(
        {
            "ingest": {
                "source": "file",
                "path": str(path),
                "encoding": export.encoding,
                "mapping": {"preset": "retail_export"},
                "csv": {"delimiter": export.delimiter},
                "parsing": {"dayfirst": export.dayfirst},
            }
        }
    ).ingest
    data = read_source(params)
    return apply_mapping(data.frame, resolve_mapping(params), str(path)), params


def read_and_validate(export: Export, folder: Path):
    """The stages' work, with the read done twice: the outcome must not change."""
    lines, params = read(export, folder)
    pd.testing.assert_frame_equal(lines, read(export, folder)[0])
    return validate_line_items(
        lines,
        PARAMS,
        source=params.path,
        today=TODAY,
        parsing=params.parsing,
        source_columns=resolve_mapping(params),
    )


def same(clean_value, source_text: str) -> bool:
    if source_text.strip() == "":
        return clean_value is None or pd.isna(clean_value)
    return clean_value == source_text


def check(export: Export) -> None:
    with tempfile.TemporaryDirectory() as folder:
        try:
            result = read_and_validate(export, Path(folder))
        except DataError as exc:
            event(f"one message: {export.expect_error}")
            assert export.expect_error is not None, f"unexpected failure: {exc}"
            assert export.expect_error in str(exc)
            assert "Traceback" not in str(exc) and "\n" not in str(exc).split(":")[0]
            return
        assert export.expect_error is None, f"expected a failure: {export.expect_error}"

    # Exact accounting, from the records the export holds, row by row.
    report, records = result.report, {r.line: r for r in export.records}
    event(f"{sum(r.malformed for r in records.values())} malformed record(s)")
    event(f"{int(report['rows_clean'] > 0)} with clean rows")
    assert report["rows_in"] == report["rows_clean"] + report["rows_rejected"] == len(records)
    assert sorted([*result.clean[S.SOURCE_ROW], *result.rejected[S.SOURCE_ROW]]) == sorted(records)
    bad = result.rejected[result.rejected[REASON_COLUMN] == "malformed_row"]
    assert sorted(bad[S.SOURCE_ROW]) == sorted(r.line for r in records.values() if r.malformed)

    # The reader used (pyarrow, or pyarrow with the strict reader on lines of odd quote
    # count) gives exactly what the strict reader alone gives.
    text = export.data.decode(export.encoding)
    chosen = read_delimited("export.csv", text, export.delimiter).frame
    pd.testing.assert_frame_equal(
        chosen, _strict_rows("export.csv", text, HEADER, export.delimiter, '"', 0)
    )

    # Nothing in the clean table differs from what the source says.
    for row in result.clean.itertuples(index=False):
        record = records[row.source_row]
        source = record.values
        assert row.invoice_id == source["InvoiceNo"]
        assert same(row.item_code, source["StockCode"])
        assert same(row.description, source["Description"])
        assert same(row.customer_id, source["CustomerID"])
        assert same(row.country, source["Country"])
        assert record.quantity is not None and row.quantity == record.quantity
        assert row.unit_price == float(source["UnitPrice"])
        assert record.when is not None
        assert record.when_ambiguous or row.timestamp == pd.Timestamp(record.when)
