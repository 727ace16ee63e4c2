"""Delimited text (CSV) read with every record accounted for from the source itself.

The records a file holds are counted from its bytes, not from what a parser returned: each
physical line is located by a vectorised newline scan, and a strict CSV reader (Python's
``csv`` module, ``strict=True``) decides where records that span lines (a quoted field with a
newline in it) begin and end. Every record ends up either as a row with the line number on
which it starts (``source_row``), or, when it cannot be split into the header's fields, as a
malformed row carrying that line number and its raw text, so that validation rejects it as
``malformed_row`` instead of losing it.

A record that does not fit the header and spans several lines (typically a quote opened and
never closed, which swallows every line after it) is not trusted with the lines it swallowed:
its first line becomes the malformed row and reading starts again on the next line. So a stray
quote costs one row, never the rest of the file.

Two readers, one answer. The fast one is pyarrow's vectorised parser, used when the newline
scan shows every line holding an even number of quote characters (no record can span lines),
and cross-checked: its rows plus the rows of the wrong width it reports must equal the count
of non-blank lines, and each row of the wrong width must be found, by its text, on a line of
its own. Anything else (an odd quote, a lone carriage return, a field larger than pyarrow's
block) goes to the strict reader, record by record.
"""

from __future__ import annotations

import csv
import io
import itertools
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from panier.core import schema as S
from panier.core.errors import DataError

_OTHER_DELIMITERS = [";", "\t", "|", ","]


@dataclass
class Records:
    """The rows of a delimited file and how its lines were accounted for.

    ``frame``: the header's columns as text (missing where the field is empty), ``source_row``
    (the line each record starts on) and, if any record did not fit the header,
    ``malformed_line`` (its raw text; its other columns are missing). One row per record, in
    file order. ``info``: lines, blank lines, records, malformed records and the reader used.
    """

    frame: pd.DataFrame
    info: dict


def _lines(buffer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Byte offsets where each physical line starts and ends (ends exclude ``\\n``/``\\r\\n``)."""
    newlines = np.flatnonzero(buffer == 10)
    starts = np.concatenate([[0], newlines + 1])
    ends = np.concatenate([newlines, [len(buffer)]])
    if len(buffer) and starts[-1] == len(buffer):  # the file ends with a newline
        starts, ends = starts[:-1], ends[:-1]
    has_cr = (ends > starts) & (buffer[np.maximum(ends - 1, 0)] == 13)
    return starts, ends - has_cr


def _header(name: str, text_line: str, delimiter: str, quote_char: str) -> list[str]:
    try:
        names = next(
            csv.reader([text_line], delimiter=delimiter, quotechar=quote_char, strict=True)
        )
    except (csv.Error, StopIteration) as exc:
        raise DataError(
            f"{name}: the header line cannot be split into columns ({exc}); check "
            "ingest.csv.delimiter and ingest.csv.quote_char"
        ) from None
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise DataError(
            f"{name}: column(s) {duplicated} appear more than once in the header; "
            "rename them in the export so each column has one name"
        )
    if len(names) == 1:
        for other in _OTHER_DELIMITERS:
            if other != delimiter and other in names[0]:
                raise DataError(
                    f"{name} has a single column {names[0][:60]!r}: it looks "
                    f"{other!r}-separated. Set ingest.csv.delimiter: {other!r} in params.yaml"
                )
    return names


def read_delimited(
    name: str, text: str, delimiter: str = ",", quote_char: str = '"', utf8: bytes | None = None
) -> Records:
    """Split decoded ``text`` (a header line, then records) into rows, accounting for every
    record; see the module docstring. ``utf8``: the same text as UTF-8 bytes when the caller
    has them (a UTF-8 file), to save encoding it again. Raises ``DataError`` for an empty file,
    a header that cannot be split or repeats a column name, a header with no data lines, and a
    single column that looks split by another delimiter."""
    raw = utf8 if utf8 is not None else text.encode("utf-8", errors="surrogatepass")
    buffer = np.frombuffer(raw, dtype=np.uint8)
    starts, ends = _lines(buffer)
    blank = ends == starts
    content = np.flatnonzero(~blank)
    if not len(content):
        raise DataError(f"{name} is empty: expected a header line and data rows")
    first = int(content[0])
    header_text = raw[starts[first] : ends[first]].decode("utf-8", errors="surrogatepass")
    names = _header(name, header_text, delimiter, quote_char)
    data_lines = content[1:]
    if not len(data_lines):
        raise DataError(f"{name} has a header ({', '.join(names)[:120]}) but no data rows")

    info: dict[str, int | str] = {"lines": len(starts), "blank_lines": int(blank.sum())}
    frame = None
    odd = _odd_lines(buffer, starts, ends, quote_char) if first == 0 else None
    if odd is not None and not len(odd):
        frame = _arrow_rows(raw, raw, names, delimiter, quote_char, data_lines, starts, ends)
        info["reader"] = "pyarrow"
    elif odd is not None and len(odd) <= max(100, len(data_lines) // 20):
        frame = _mixed_rows(text, raw, names, delimiter, quote_char, odd, ~blank, starts, ends)
        info["reader"] = "pyarrow, strict csv from each line with an odd quote count"
    if frame is None:
        frame = _strict_rows(name, text, names, delimiter, quote_char, first)
        info["reader"] = "strict csv"
    info["records"] = len(frame)
    info["malformed_records"] = (
        int(frame[S.MALFORMED].notna().sum()) if S.MALFORMED in frame.columns else 0
    )
    return Records(frame, info)


def _odd_lines(
    buffer: np.ndarray, starts: np.ndarray, ends: np.ndarray, quote_char: str
) -> np.ndarray | None:
    """Lines holding an odd number of quote characters: only there can a record span lines.
    None when a carriage return stands alone (the readers would number lines differently)."""
    carriage = np.flatnonzero(buffer == 13)
    if len(carriage) and not np.isin(carriage, ends).all():
        return None
    if ord(quote_char) >= 128:
        return None
    quotes = np.flatnonzero(buffer == ord(quote_char))
    if not len(quotes):
        return np.zeros(0, dtype=np.int64)
    per_line = np.searchsorted(quotes, ends) - np.searchsorted(quotes, starts)
    return np.flatnonzero(per_line % 2)


def _mixed_rows(
    text: str,
    raw: bytes,
    names: list[str],
    delimiter: str,
    quote_char: str,
    odd: np.ndarray,
    is_data: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
) -> pd.DataFrame | None:
    """A file with a few lines of odd quote count: the strict reader reads one record from
    each (a quoted field with newlines, or a stray quote that costs its own line), pyarrow
    the runs of lines between them. None when pyarrow's rows do not match its lines."""
    lines = io.StringIO(text, newline="").readlines()
    total = len(starts)
    if len(lines) != total:
        return None
    _field_limit()
    width = len(names)
    rows: list[list[str]] = []
    row_lines: list[int] = []
    malformed: list[tuple[int, str]] = []
    runs: list[tuple[int, int]] = []
    position = 1  # the header is line 0
    while position < total:
        k = int(np.searchsorted(odd, position))
        start = int(odd[k]) if k < len(odd) else total
        if start > position:
            runs.append((position, start))
        if start >= total:
            break
        reader = csv.reader(
            (lines[j] for j in range(start, total)),
            delimiter=delimiter,
            quotechar=quote_char,
            strict=True,
        )
        try:
            record, span = next(reader), reader.line_num
        except (csv.Error, StopIteration):
            record, span = None, 1
        if record is not None and len(record) == width:
            rows.append(record)
            row_lines.append(start + 1)
            position = start + span
        else:  # a stray quote: this line alone is malformed, the next is read afresh
            malformed.append((start + 1, lines[start].rstrip("\r\n")))
            position = start + 1
    strict = _frame(names, rows, row_lines, malformed)
    if not runs:
        return strict
    pieces = [raw[starts[0] : starts[1]]]
    pieces += [raw[starts[a] : starts[b]] if b < total else raw[starts[a] :] for a, b in runs]
    run_lines = np.concatenate([np.arange(a, b) for a, b in runs])
    fast = _arrow_rows(
        b"".join(pieces),
        raw,
        names,
        delimiter,
        quote_char,
        run_lines[is_data[run_lines]],
        starts,
        ends,
    )
    if fast is None:
        return None
    if S.MALFORMED not in fast.columns:
        fast[S.MALFORMED] = pd.array([None] * len(fast), dtype="str")
    if S.MALFORMED not in strict.columns:
        strict[S.MALFORMED] = pd.array([None] * len(strict), dtype="str")
    frame = pd.concat([fast, strict], ignore_index=True)
    if frame[S.MALFORMED].isna().all():
        frame = frame.drop(columns=S.MALFORMED)
    return frame.sort_values(S.SOURCE_ROW, kind="stable").reset_index(drop=True)


def _arrow_rows(
    parsed: bytes,
    raw: bytes,
    names: list[str],
    delimiter: str,
    quote_char: str,
    data_lines: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
) -> pd.DataFrame | None:
    """pyarrow's parse of ``parsed`` (the header, then lines ``data_lines`` of ``raw`` and
    blank ones), whose records are its lines, each row with its line number; or None when the
    rows do not match the lines one to one (lines merged, a field larger than pyarrow's
    block). A row of the wrong width is found on its line by its text."""
    wrong_width: list[bytes] = []

    def note(row) -> str:
        wrong_width.append(row.text.encode("utf-8", errors="surrogatepass"))
        return "skip"

    read = pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=True, block_size=1 << 24)
    parse = pacsv.ParseOptions(
        delimiter=delimiter,
        quote_char=quote_char,
        newlines_in_values=False,
        invalid_row_handler=note,
    )
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    try:
        table = pacsv.read_csv(
            io.BytesIO(parsed), read_options=read, parse_options=parse, convert_options=convert
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows + len(wrong_width) != len(data_lines):
        return None
    bad_lines = _lines_holding(raw, wrong_width, data_lines, starts, ends)
    if bad_lines is None:
        return None
    frame = table.to_pandas()
    good = np.setdiff1d(data_lines, bad_lines, assume_unique=True)
    frame[S.SOURCE_ROW] = good.astype(np.int64) + 1
    if len(bad_lines):
        bad = pd.DataFrame(
            {n: pd.Series([None] * len(bad_lines), dtype=frame[n].dtype) for n in names}
        )
        bad[S.SOURCE_ROW] = bad_lines.astype(np.int64) + 1
        bad[S.MALFORMED] = pd.array(
            [raw[starts[i] : ends[i]].decode("utf-8", "surrogatepass") for i in bad_lines],
            dtype="str",
        )
        frame[S.MALFORMED] = pd.array([None] * len(frame), dtype="str")
        frame = pd.concat([frame, bad], ignore_index=True)
        frame = frame.sort_values(S.SOURCE_ROW, kind="stable").reset_index(drop=True)
    return frame


def _lines_holding(
    raw: bytes, texts: list[bytes], data_lines: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> np.ndarray | None:
    """The data lines whose text is each of ``texts`` (in file order; equal texts on equal
    lines taken in turn); None when a text is not found on a line of its own."""
    if not texts:
        return np.zeros(0, dtype=np.int64)
    if len(texts) > 1000:  # many: the strict reader, which notes lines as it goes, is faster
        return None
    lengths = ends[data_lines] - starts[data_lines]
    found: list[int] = []
    used: set[int] = set()
    for text in texts:
        candidates = data_lines[lengths == len(text)]
        match = next(
            (int(i) for i in candidates if int(i) not in used and raw[starts[i] : ends[i]] == text),
            None,
        )
        if match is None:
            return None
        used.add(match)
        found.append(match)
    return np.sort(np.asarray(found, dtype=np.int64))


def _field_limit() -> None:
    limit = sys.maxsize
    while True:  # C long on some platforms is 32 bits
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 2


def _strict_rows(
    name: str, text: str, names: list[str], delimiter: str, quote_char: str, header_index: int
) -> pd.DataFrame:
    """Every record as Python's strict CSV reader sees it, with the line it starts on."""
    _field_limit()
    lines = io.StringIO(text, newline="").readlines()
    width = len(names)
    rows: list[list[str]] = []
    row_lines: list[int] = []
    malformed: list[tuple[int, str]] = []
    position = header_index + 1  # 0-based index of the next line to read
    while position < len(lines):
        reader = csv.reader(
            itertools.islice(lines, position, None),
            delimiter=delimiter,
            quotechar=quote_char,
            strict=True,
        )
        done = 0  # lines this reader has consumed
        restart = None
        try:
            for record in reader:
                start, done = position + done, reader.line_num
                if not record:  # a blank line
                    continue
                if len(record) == width:
                    rows.append(record)
                    row_lines.append(start + 1)
                elif position + done - start == 1:
                    malformed.append((start + 1, lines[start].rstrip("\r\n")))
                else:  # spans lines and does not fit: keep its first line, re-read the rest
                    malformed.append((start + 1, lines[start].rstrip("\r\n")))
                    restart = start + 1
                    break
        except csv.Error:
            start = position + done
            malformed.append((start + 1, lines[start].rstrip("\r\n")))
            restart = start + 1
        if restart is None:
            break
        position = restart
    return _frame(names, rows, row_lines, malformed)


def _frame(
    names: list[str], rows: list[list[str]], row_lines: list[int], malformed: list[tuple[int, str]]
) -> pd.DataFrame:
    """Records read by the strict reader as a frame in line order, malformed ones with their
    text in ``malformed_line``."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    table = pa.table({n: _text_array(values) for n, values in zip(names, columns, strict=True)})
    frame = table.to_pandas()
    frame[S.SOURCE_ROW] = np.asarray(row_lines, dtype=np.int64)
    if malformed:
        bad = pd.DataFrame(
            {n: pd.Series([None] * len(malformed), dtype=frame[n].dtype) for n in names}
        )
        bad[S.SOURCE_ROW] = np.asarray([m[0] for m in malformed], dtype=np.int64)
        bad[S.MALFORMED] = pd.array([m[1] for m in malformed], dtype="str")
        frame[S.MALFORMED] = pd.array([None] * len(frame), dtype="str")
        frame = pd.concat([frame, bad], ignore_index=True)
        frame = frame.sort_values(S.SOURCE_ROW, kind="stable").reset_index(drop=True)
    return frame


def _text_array(values: tuple[str, ...]) -> pa.Array:
    array = pa.array(values, type=pa.string())
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)
