"""Source connectors: read the source configured in ``params.yaml`` (``ingest``) as it is.

``read_source`` returns the source's rows under the source's own column names, values as the
source holds them (text formats: every value a string, so that nothing is lost before
validation), plus a provenance record: what was read, from where, and a content fingerprint.

Locations: a local file or folder, an http(s) URL, an ``s3://bucket/key`` object (endpoint
configurable for S3-compatible stores), a path on a DVC remote (``remote://name/path``, read
with the remote's configuration), or a SQL database through a SQLAlchemy URL. Formats:
CSV (optionally gzip, bzip2 or xz compressed), Parquet, basket lists and FIMI. Credentials
come from the environment (AWS variables or profiles, ``${VAR}`` in a SQL URL, HTTP headers
from named variables) or DVC's local config, never from the repository.

Every failure a user can fix raises ``DataError`` or ``ConfigError`` naming the source.

The bytes are fetched by ``locations``, parsed by ``formats`` (delimited text by
``delimited``), databases read by ``sql``; this module combines a folder's files and turns
every library's read failure into one message.
"""

from __future__ import annotations

import hashlib
import http.client
import lzma
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from panier.core import schema as S
from panier.core.config import IngestParams
from panier.core.errors import ConfigError, DataError, PanierError
from panier.core.io import fingerprint
from panier.core.redact import redact, source_label
from panier.stages.ingest.formats import parse_blob
from panier.stages.ingest.locations import Blob, http_blob, local_blobs, remote_blob, s3_blob
from panier.stages.ingest.sql import sql_frame

_READ_ERRORS = (
    pa.ArrowException,
    UnicodeError,
    ValueError,
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    http.client.HTTPException,
)
_READ_LIBRARIES = {
    "pyarrow",
    "botocore",
    "aiobotocore",
    "s3fs",
    "fsspec",
    "aiohttp",
    "urllib3",
    "sqlalchemy",
    "psycopg",
    "psycopg2",
    "pymysql",
    "sqlite3",
    "dvc",
    "dvc_objects",
    "dvc_s3",
    "dvc_data",
}


@dataclass
class SourceData:
    """A source's rows under its own column names, and where they came from."""

    frame: pd.DataFrame
    info: dict = field(default_factory=dict)


def _as_storable(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of mixed Python objects (SQLite allows text in an integer column) as text, so
    that they can be written to Parquet and judged by validation."""
    mixed = [c for c in frame.columns if frame[c].dtype == object]
    if not mixed:
        return frame
    frame = frame.copy()
    for column in mixed:
        values = frame[column]
        frame[column] = values.map(
            lambda v: (
                None
                if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))
                else str(v)
            ),
            na_action="ignore",
        ).astype("str")
    return frame


def _named_columns(frame: pd.DataFrame) -> pd.DataFrame:
    names = [str(c) if str(c).strip() else f"unnamed_{i + 1}" for i, c in enumerate(frame.columns)]
    return frame.set_axis(names, axis=1)


def _combined(
    blobs: list[Blob], frames: list[pd.DataFrame], parts: list[dict], location: str
) -> pd.DataFrame:
    """The files of a folder as one table, each row with its file: only files of one format
    and one header, so that no column is silently left empty for half the rows."""
    formats = {p["format"] for p in parts}
    if len(formats) > 1:
        listing = ", ".join(f"{b.name} ({p['format']})" for b, p in zip(blobs, parts, strict=True))
        raise DataError(
            f"{location}/ mixes formats: {listing}. Keep one export format in the "
            "folder (convert the others, or move them out), or set ingest.path to "
            "one file"
        )
    first = [c for c in frames[0].columns if c not in S.PROVENANCE and c != S.MALFORMED]
    for blob, frame in zip(blobs[1:], frames[1:], strict=True):
        columns = [c for c in frame.columns if c not in S.PROVENANCE and c != S.MALFORMED]
        if columns != first:
            only_first = [c for c in first if c not in columns]
            only_this = [c for c in columns if c not in first]
            detail = (
                f"{blobs[0].name} has {only_first or 'the same names'}, {blob.name} has "
                f"{only_this or 'them in another order'}"
                if only_first or only_this
                else "the same columns in another order"
            )
            raise DataError(
                f"{location}/: the files' headers differ ({detail}). Export every "
                "file with the same columns, or put only one export in the folder "
                "and set ingest.path to it"
            )
    for blob, frame in zip(blobs, frames, strict=True):
        frame[S.SOURCE_FILE] = PurePosixPath(blob.name).name
    return pd.concat(frames, ignore_index=True)


def _read(params: IngestParams, location: str) -> tuple[pd.DataFrame, dict]:
    if params.source == "sql":
        frame, shown = sql_frame(params)
        frame = _as_storable(frame)
        frame[S.SOURCE_ROW] = np.arange(1, len(frame) + 1, dtype=np.int64)
        return frame, {
            "kind": "sql",
            "location": shown,
            "query": params.sql.query,
            "table": params.sql.table,
            "sha256": fingerprint(frame),
        }
    if params.source == "file":
        blobs = local_blobs(params.path, params)
    elif params.source == "url":
        blobs = [http_blob(params.path, params)]
    elif params.source == "remote":
        blobs = [remote_blob(params.path, params)]
    else:
        blobs = [s3_blob(params.path, params)]
    frames, parts = [], []
    for blob in blobs:
        frame, part = parse_blob(blob, params)
        frames.append(_named_columns(frame))
        parts.append({"name": blob.name, **part})
        blob.data = b""  # the bytes are parsed: free them before the next file
    info: dict[str, Any] = {"kind": params.source, "location": location}
    if len(parts) == 1:
        frame = frames[0]
        info.update({k: v for k, v in parts[0].items() if k != "name"})
    else:
        frame = _combined(blobs, frames, parts, location)
        info["files"] = parts
        info["sha256"] = hashlib.sha256("".join(p["sha256"] for p in parts).encode()).hexdigest()
    return frame, info


def read_source(params: IngestParams) -> SourceData:
    """Read the configured non-generator source.

    Returns its rows (source column names, original values, plus ``source_row`` and, for a
    folder of files, ``source_file``) and a provenance record with a content fingerprint:
    SHA-256 of the bytes read, or of the query result for SQL. Every failure reading it
    (decoding, decompression, Arrow, HTTP, S3, SQL, memory) raises ``DataError`` or
    ``ConfigError``: one message naming the source and the fix.
    """
    if params.source == "generator":
        raise ConfigError(
            "read_source reads files, URLs, S3 objects and databases; the "
            "generator is run by panier.stages.ingest.generate"
        )
    location = redact(params.path) if params.source != "sql" else ""
    shown = source_label(params)
    try:
        frame, info = _read(params, location)
    except PanierError:
        raise
    except MemoryError:
        raise DataError(
            f"{shown}: ran out of memory reading the source. Lower "
            f"ingest.max_source_mb ({params.max_source_mb:g} MB) so that such a "
            "source stops early, give the machine more memory, or split the "
            "export"
        ) from None
    except Exception as exc:
        # The readers' own libraries (Arrow, codecs, compression, HTTP, S3 clients, SQL
        # drivers) fail in many ways: each is a source that cannot be read, said in one line.
        library = type(exc).__module__.split(".")[0]
        if not isinstance(exc, _READ_ERRORS) and library not in _READ_LIBRARIES:
            raise
        detail = (str(exc).splitlines() or [""])[0][:200] or type(exc).__name__
        raise DataError(
            f"{shown} cannot be read ({type(exc).__name__}: {detail}). Check "
            "ingest.path, ingest.format, ingest.encoding and ingest.csv in "
            "params.yaml, and that the source is complete"
        ) from None
    frame = _named_columns(frame)
    info.update(
        {
            "rows": len(frame),
            "columns": [c for c in frame.columns if c != S.MALFORMED and c not in S.PROVENANCE],
            "malformed_rows": int(frame[S.MALFORMED].notna().sum())
            if S.MALFORMED in frame.columns
            else 0,
        }
    )
    return SourceData(frame, info)
