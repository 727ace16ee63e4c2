"""Reading and writing at the pipeline's edges: every file a stage touches goes through here.

Writers are deterministic (fixed column order, no index, sorted JSON keys), so that the
same inputs and params give byte-identical files and DVC sees no spurious change.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from panier.core.errors import DataError

log = logging.getLogger(__name__)


def read_parquet(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist: run the stage that writes it first (dvc repro)")
    frame = pd.read_parquet(path)
    log.info("read %s: %s rows", path, f"{len(frame):,}")
    return frame


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # Drop pandas' schema metadata: it embeds the pandas version, which is not data.
    table = table.replace_schema_metadata(None)
    pq.write_table(table, path, compression="zstd", write_statistics=True)
    log.info("wrote %s: %s rows", path, f"{len(frame):,}")


_quote = json.encoder.encode_basestring_ascii  # json's own string escaping, in C


def _encode(value: Any, indent: str, out: list[str]) -> None:
    """Append the pipeline's JSON text of ``value`` to ``out``: what ``json.dumps(value,
    indent=2, sort_keys=True)`` writes once floats are rounded to six decimals, NaN and
    infinity made null, NumPy scalars made Python's, keys made text and timestamps ISO
    text. Python's json encoder takes a slow pure-Python path whenever it indents; this
    does the same in one pass without its generators, three times as fast on a report of
    hundreds of thousands of tests (tests/unit/test_io.py holds it to json.dumps)."""
    kind = type(value)
    if kind is str:
        out.append(_quote(value))
    elif value is None:
        out.append("null")
    elif kind is bool or kind is np.bool_:
        out.append("true" if value else "false")
    elif kind is float or isinstance(value, float | np.floating):
        number = float(value)
        # JSON has no NaN or infinity; null keeps the file valid for every reader.
        out.append(float.__repr__(round(number, 6)) if math.isfinite(number) else "null")
    elif kind is int or isinstance(value, np.integer):
        out.append(int.__repr__(int(value)))
    elif isinstance(value, dict):
        items = {str(k): v for k, v in value.items()}
        if not items:
            out.append("{}")
            return
        inner = indent + "  "
        separator = "{\n" + inner
        for key in sorted(items):
            out.append(separator)
            out.append(_quote(key))
            out.append(": ")
            _encode(items[key], inner, out)
            separator = ",\n" + inner
        out.append("\n" + indent + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        inner = indent + "  "
        separator = "[\n" + inner
        for item in value:
            out.append(separator)
            _encode(item, inner, out)
            separator = ",\n" + inner
        out.append("\n" + indent + "]")
    elif isinstance(value, pd.Timestamp):
        out.append(_quote(value.isoformat()))
    elif isinstance(value, str):
        out.append(_quote(value))
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    else:
        raise TypeError(f"Object of type {kind.__name__} is not JSON serializable")


def json_text(data: dict[str, Any]) -> str:
    """``data`` as the pipeline writes JSON: sorted keys, indented by two spaces, floats to
    six decimals, NaN and infinity as null, timestamps in ISO format."""
    out: list[str] = []
    _encode(data, "", out)
    out.append("\n")
    return "".join(out)


def write_json(data: dict[str, Any], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json_text(data), encoding="utf-8")
    log.info("wrote %s", path)


def write_bytes(data: bytes, path: str | Path) -> None:
    """A file written as given (an XML document, say), its folder made if missing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    log.info("wrote %s: %s bytes", path, f"{len(data):,}")


def read_json(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist: run the stage that writes it first (dvc repro)")
    return json.loads(path.read_text(encoding="utf-8"))


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format="%.6g", lineterminator="\n")
    log.info("wrote %s: %s rows", path, f"{len(frame):,}")


def write_text(text: str, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    log.info("wrote %s", path)


def file_md5(path: str | Path) -> str:
    """The md5 of a file's bytes, read in 1 MB chunks: the hash DVC records in dvc.lock."""
    digest = hashlib.md5(usedforsecurity=False)
    with Path(path).open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(frame: pd.DataFrame) -> str:
    """A content hash of a frame's column names, values and missing values: independent of
    file encoding, index, and how the values lie in memory (a slice or a copy, Arrow-backed
    or NumPy strings). Hashes each column's values as Arrow lays them out: about twice as
    fast as pandas' row hashes."""
    digest = hashlib.sha256()
    digest.update(",".join(map(str, frame.columns)).encode())
    for name in frame.columns:
        for raw in _canonical_parts(frame[name]):
            part = memoryview(raw)
            digest.update(part.nbytes.to_bytes(8, "little"))  # no two columns run together
            digest.update(part)
    return digest.hexdigest()


def _canonical_parts(column: pd.Series) -> list[bytes | memoryview]:
    """A column as bytes that equal values always give: its kind, where values are missing,
    and the values (missing ones as zero or empty). Kinds Arrow cannot hold plainly (mixed
    objects, categories, dates from a database) fall back to pandas' row hashes."""
    try:
        array = pa.array(column, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = None
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    kind = array.type if array is not None else None
    if kind is None or not (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_timestamp(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
    ):
        return [b"rows", pd.util.hash_pandas_object(column, index=False).to_numpy().tobytes()]
    missing = np.packbits(array.is_null().to_numpy(zero_copy_only=False)).tobytes()
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        array = array.cast(pa.large_string()).fill_null("")
        _, offsets, data = array.buffers()
        if offsets is None or data is None:  # no rows, or only empty strings
            return [b"text", missing, np.zeros(len(array), dtype=np.int64).tobytes()]
        bounds = np.frombuffer(offsets, dtype=np.int64)[
            array.offset : array.offset + len(array) + 1
        ]
        text = data.slice(int(bounds[0]), int(bounds[-1] - bounds[0]))
        return [b"text", missing, np.diff(bounds).tobytes(), text]
    if pa.types.is_timestamp(kind):
        array = array.cast(pa.timestamp("ns")).cast(pa.int64())
    elif pa.types.is_integer(kind):
        array = array.cast(pa.int64())
    elif pa.types.is_floating(kind):
        array = array.cast(pa.float64())
    values = array.fill_null(0 if not pa.types.is_boolean(kind) else False)
    return [str(array.type).encode(), missing, values.to_numpy(zero_copy_only=False).tobytes()]
