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
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import hashlib
import http.client
import io
import logging
import lzma
import os
import re
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from panier.core import schema as S
from panier.core.config import IngestParams
from panier.core.errors import ConfigError, DataError, PanierError
from panier.core.io import fingerprint
from panier.core.mapping import format_of
from panier.core.redact import redact, source_label
from panier.stages.ingest.delimited import decode, read_delimited

log = logging.getLogger(__name__)

_COMPRESSIONS = {
    b"\x1f\x8b": ("gzip", lambda f: gzip.GzipFile(fileobj=f)),
    b"BZh": ("bzip2", bz2.BZ2File),
    b"\xfd7zXZ\x00": ("xz", lzma.LZMAFile),
}
_MB = 1 << 20
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
_SKIPPED_IN_FOLDERS = re.compile(r"^(\.|readme)|\.(dvc|md)$", re.IGNORECASE)


@dataclass
class SourceData:
    """A source's rows under its own column names, and where they came from."""

    frame: pd.DataFrame
    info: dict = field(default_factory=dict)


@dataclass
class _Blob:
    name: str  # for messages: the redacted location
    data: bytes


# --- where the bytes come from ----------------------------------------------------------------


def _too_large(name: str, size: int, params: IngestParams, what: str = "") -> DataError:
    return DataError(
        f"{name}{what} is {size / _MB:,.0f} MB, above ingest.max_source_mb "
        f"({params.max_source_mb:g} MB): raise ingest.max_source_mb in params.yaml "
        "if the machine has the memory for it (about ten times the size), or "
        "split the export"
    )


def _limit(params: IngestParams) -> int:
    return int(params.max_source_mb * _MB)


def _local_blobs(path_text: str, params: IngestParams) -> list[_Blob]:
    path = Path(path_text)
    if path.is_dir():
        files = sorted(
            p for p in path.iterdir() if p.is_file() and not _SKIPPED_IN_FOLDERS.search(p.name)
        )
        if not files:
            raise DataError(
                f"{path}/ holds no data files: put the export there, or set "
                "ingest.path to the file in params.yaml"
            )
    elif path.is_file():
        files = [path]
    elif path.exists():
        raise DataError(
            f"{path} is not a regular file (a device or pipe?): set ingest.path "
            "to a data file or a folder of them"
        )
    else:
        raise DataError(
            f"{path} not found: set ingest.path in params.yaml to an existing file "
            "(paths are relative to the repository root)"
        )
    blobs = []
    for file in files:
        try:
            if not file.is_file():
                raise DataError(
                    f"{file} is not a regular file (a device or pipe?): set "
                    "ingest.path to a data file or a folder of them"
                )
            size = file.stat().st_size
            if size > _limit(params):
                raise _too_large(str(file), size, params)
            blobs.append(_Blob(str(file), file.read_bytes()))
        except OSError as exc:
            raise DataError(f"{file} cannot be read: {exc.strerror}") from None
    return blobs


def _http_blob(url: str, params: IngestParams) -> _Blob:
    headers = {"User-Agent": "panier-ingest"}
    for header, variable in params.http.headers_from_env.items():
        if variable not in os.environ:
            raise ConfigError(
                f"ingest.http.headers_from_env.{header}: environment variable {variable} is not set"
            )
        headers[header] = os.environ[variable]
    name = redact(url)
    request = urllib.request.Request(url, headers=headers)
    limit, deadline = _limit(params), time.monotonic() + params.http.max_seconds
    too_slow = DataError(
        f"{name} did not finish downloading within "
        f"ingest.http.max_seconds ({params.http.max_seconds:g} s): the server "
        "is slow or stalling; raise ingest.http.max_seconds, or copy the file "
        "nearer"
    )
    try:
        with urllib.request.urlopen(request, timeout=params.http.timeout_seconds) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise _too_large(name, int(declared), params)
            chunks, size = [], 0
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise too_slow
                sock = getattr(getattr(response.fp, "raw", None), "_sock", None)
                if sock is not None:  # no read may outlast the whole download's deadline
                    sock.settimeout(min(params.http.timeout_seconds, remaining))
                chunk = response.read1(1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise _too_large(name, size, params, " (so far)")
            return _Blob(name, b"".join(chunks))
    except urllib.error.HTTPError as exc:
        raise DataError(
            f"{name} answered HTTP {exc.code} {exc.reason}: check ingest.path and, "
            "for a protected URL, ingest.http.headers_from_env"
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as exc:
        if time.monotonic() >= deadline:
            raise too_slow from None
        reason = getattr(exc, "reason", exc)
        raise DataError(
            f"cannot reach {name}: {reason}. Check ingest.path and that the server "
            f"is up (timeout {params.http.timeout_seconds:g} s: "
            "ingest.http.timeout_seconds)"
        ) from None


def _s3_blob(url: str, params: IngestParams) -> _Blob:
    import botocore.exceptions
    import s3fs  # imported here: only S3 sources need it

    endpoint = params.s3.endpoint_url
    where = f" at {endpoint}" if endpoint else ""
    client_kwargs = {"region_name": params.s3.region} if params.s3.region else {}
    fs = s3fs.S3FileSystem(
        endpoint_url=endpoint,
        client_kwargs=client_kwargs,
        skip_instance_cache=True,
        config_kwargs={
            "connect_timeout": 10,
            "read_timeout": 60,
            "retries": {"max_attempts": 2, "mode": "standard"},
        },
    )
    try:
        size = fs.info(url[len("s3://") :]).get("size") or 0
        if size > _limit(params):
            raise _too_large(url, size, params)
        return _Blob(url, fs.cat_file(url[len("s3://") :]))
    except FileNotFoundError:
        raise DataError(
            f"{url} does not exist{where}: check the bucket and key in ingest.path"
        ) from None
    except PermissionError as exc:
        raise DataError(
            f"access to {url}{where} denied ({exc}): check the credentials in "
            "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and the "
            "object's permissions"
        ) from None
    except botocore.exceptions.NoCredentialsError:
        raise DataError(
            f"no credentials to read {url}: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment"
        ) from None
    except (
        botocore.exceptions.EndpointConnectionError,
        botocore.exceptions.ConnectTimeoutError,
    ) as exc:
        raise DataError(
            f"cannot reach the S3 endpoint for {url}: {exc}. Check "
            "ingest.s3.endpoint_url (or AWS_ENDPOINT_URL)"
        ) from None
    except OSError as exc:  # s3fs wraps other service errors (e.g. an invalid bucket name)
        raise DataError(f"reading {url}{where} failed: {exc}") from None


def _remote_blob(url: str, params: IngestParams) -> _Blob:
    """``remote://<name>/<path>``: read through a DVC remote, with its configuration (endpoint,
    credentials in ``.dvc/config.local``), exactly as DVC reads it to check the dependency."""
    from dvc.config import RemoteNotFoundError
    from dvc.exceptions import DvcException, NotDvcRepoError
    from dvc.repo import Repo

    name, _, relative = url[len("remote://") :].partition("/")
    try:
        with Repo(".") as repo:
            remote = repo.cloud.get_remote(name)
    except NotDvcRepoError:
        raise DataError(
            f"{url}: remote:// paths are read through this repository's DVC "
            "config; run from the repository root"
        ) from None
    except RemoteNotFoundError:
        raise DataError(
            f"{url}: no DVC remote named {name!r}; add it with "
            f"`dvc remote add {name} <url>` (credentials: `dvc remote modify "
            f"--local {name} ...`)"
        ) from None
    except DvcException as exc:
        raise DataError(f"{url}: the DVC remote {name!r} is misconfigured: {exc}") from None
    fs = remote.fs
    path = fs.join(remote.path, relative)
    try:
        size = fs.info(path).get("size") or 0
        if size > _limit(params):
            raise _too_large(url, size, params)
        return _Blob(url, fs.cat_file(path))
    except FileNotFoundError:
        raise DataError(f"{url} does not exist (DVC remote {name!r})") from None
    except PermissionError as exc:
        raise DataError(
            f"access to {url} denied ({exc}): check the remote's credentials "
            f"(`dvc remote modify --local {name} ...`)"
        ) from None
    except (OSError, DvcException) as exc:
        raise DataError(f"reading {url} failed: {exc}") from None


# --- what the bytes hold ----------------------------------------------------------------------


def _decompress(blob: _Blob, params: IngestParams) -> tuple[bytes, str | None]:
    """The blob's bytes, decompressed when they start with a gzip, bzip2 or xz header; never
    more than ``ingest.max_source_mb`` of them (a small archive can unpack to gigabytes)."""
    for magic, (name, opener) in _COMPRESSIONS.items():
        if blob.data.startswith(magic):
            limit = _limit(params)
            try:
                chunks, size = [], 0
                with opener(io.BytesIO(blob.data)) as stream:
                    while size <= limit:  # in pieces: read(limit) would reserve the limit
                        chunk = stream.read(1 << 24)
                        if not chunk:
                            break
                        chunks.append(chunk)
                        size += len(chunk)
            except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
                raise DataError(
                    f"{blob.name} looks {name}-compressed but cannot be "
                    f"decompressed ({exc}): the file is truncated or corrupt"
                ) from None
            if size > limit:
                raise DataError(
                    f"{blob.name} ({len(blob.data) / _MB:,.1f} MB, {name}) unpacks to more than "
                    f"ingest.max_source_mb ({params.max_source_mb:g} MB); it was not unpacked "
                    "further. Raise ingest.max_source_mb in params.yaml if the machine has the "
                    "memory for it (about ten times the size), or split the export"
                )
            return b"".join(chunks), name
    return blob.data, None


def _format(name: str, configured: str) -> str:
    fmt = format_of(name, configured)
    if fmt is None:
        raise ConfigError(
            f"cannot tell the format of {name} from its name: set ingest.format "
            "(csv, parquet, basket_list or fimi) in params.yaml"
        )
    return fmt


def _parse_csv(name: str, data: bytes, params: IngestParams, delimiter: str) -> pd.DataFrame:
    if not data.strip():
        raise DataError(f"{name} is empty: expected a header line and data rows")
    text = decode(name, data, params.encoding)
    utf8 = None  # a UTF-8 file's bytes are the parser's input as they are
    if codecs.lookup(params.encoding).name in ("utf-8", "utf-8-sig"):
        utf8 = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    records = read_delimited(name, text, delimiter, params.csv.quote_char, utf8)
    malformed = records.info["malformed_records"]
    if malformed:
        log.warning(
            "%s: %d record(s) cannot be split into the header's fields (kept as malformed rows)",
            name,
            malformed,
        )
    return records.frame, records.info


def _parse_parquet(name: str, data: bytes, params: IngestParams) -> pd.DataFrame:
    try:
        file = pq.ParquetFile(io.BytesIO(data))
        meta = file.metadata
        unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if unpacked > _limit(params):
            raise _too_large(name, unpacked, params, " unpacked")
        table = file.read()
    except (pa.ArrowException, OSError) as exc:
        raise DataError(
            f"{name} is not a readable Parquet file ({str(exc).splitlines()[0]}); "
            "set ingest.format if it is another format"
        ) from None
    if table.num_rows != meta.num_rows:  # accounting from the file's own row count
        raise DataError(
            f"{name}: the file says it holds {meta.num_rows:,} rows but "
            f"{table.num_rows:,} were read: the file is corrupt; export it again"
        )
    if table.num_rows == 0:
        raise DataError(f"{name} holds no rows")
    frame = table.to_pandas()
    frame[S.SOURCE_ROW] = np.arange(1, len(frame) + 1, dtype=np.int64)
    return frame


def _parse_baskets(
    name: str, data: bytes, params: IngestParams, fimi: bool
) -> tuple[pd.DataFrame, dict]:
    """One basket per line: a synthetic invoice per line (its line number), quantity 1, and
    times spread evenly over ``ingest.baskets.days`` in line order."""
    text = decode(name, data, params.encoding)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    cfg = params.baskets
    basket_of, items, bad = [], [], []
    empty_lines = empty_items = 0
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r")
        tokens = line.split() if fimi else line.split(cfg.delimiter)
        if cfg.strip_items and not fimi:
            tokens = [t.strip() for t in tokens]
        kept = [t for t in tokens if t != ""]
        empty_items += len(tokens) - len(kept)
        if not kept:
            empty_lines += 1
            continue
        basket_of.extend([number] * len(kept))
        items.extend(kept)
        if fimi:
            bad.extend(None if t.isdigit() else f"line {number}: {line}" for t in kept)
    if not items:
        raise DataError(f"{name} holds no baskets ({len(lines)} lines, all empty)")
    basket = np.asarray(basket_of, dtype=np.int64)
    span = cfg.days * 86_400
    offsets = (basket - 1) * span // max(len(lines), 1)
    start = np.datetime64(cfg.start_date.isoformat(), "s")
    frame = pd.DataFrame(
        {
            "basket": pd.array(basket.astype(str), dtype="str"),
            "timestamp": (start + offsets.astype("timedelta64[s]")).astype("datetime64[ns]"),
            "item": pd.array(items, dtype="str"),
            "quantity": np.ones(len(items), dtype=np.int64),
            S.SOURCE_ROW: basket,
        }
    )
    if fimi and any(b is not None for b in bad):
        frame[S.MALFORMED] = pd.array(bad, dtype="str")
    return frame, {"lines": len(lines), "empty_lines": empty_lines, "empty_items": empty_items}


def _parse_blob(blob: _Blob, params: IngestParams) -> tuple[pd.DataFrame, dict]:
    fmt = _format(blob.name, params.format)
    data, compression = _decompress(blob, params)
    if data.startswith(b"PK\x03\x04"):
        raise DataError(
            f"{blob.name} is a zip archive (an Excel workbook?), not {fmt}: "
            "export the sheet as CSV, or unpack the archive"
        )
    info = {
        "format": fmt,
        "compression": compression,
        "bytes": len(blob.data),
        "sha256": hashlib.sha256(blob.data).hexdigest(),
    }
    if fmt == "parquet":
        frame = _parse_parquet(blob.name, data, params)
    elif fmt == "csv":
        delimiter = params.csv.delimiter
        if delimiter == "," and ".tsv" in PurePosixPath(urlsplit(blob.name).path).suffixes:
            delimiter = "\t"
        frame, counts = _parse_csv(blob.name, data, params, delimiter)
        info.update(counts)
    else:
        frame, counts = _parse_baskets(blob.name, data, params, fimi=fmt == "fimi")
        info.update(counts)
    return frame, info


# --- SQL ---------------------------------------------------------------------------------------


def sql_url(params: IngestParams) -> str:
    """The SQLAlchemy URL with ``${VAR}`` references filled in from the environment; without
    ``ingest.sql.url``, the SQLite file at ``ingest.path``."""
    if params.sql.url is None:
        path = Path(params.path)
        if not path.is_file():
            raise DataError(
                f"{path} is not a SQLite file: set ingest.path to the database "
                "file, or ingest.sql.url to the database's SQLAlchemy URL"
            )
        return f"sqlite:///{path}"

    def fill(match: re.Match) -> str:
        variable = match.group(1)
        if variable not in os.environ:
            raise ConfigError(
                f"ingest.sql.url uses ${{{variable}}} but the environment "
                f"variable {variable} is not set"
            )
        return os.environ[variable]

    url = re.sub(r"\$\{(\w+)\}", fill, params.sql.url)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        # SQLite would silently create a missing file and find no tables in it.
        file = Path(url[len("sqlite:///") :].split("?")[0])
        if not file.is_file():
            raise DataError(f"SQLite file {file} not found (ingest.sql.url)")
    return url


def _connect_args(url, cfg) -> dict:
    """PostgreSQL connection settings from ``ingest.sql``: how long to wait for the server,
    and the server-side limit on the read (``statement_timeout``, in milliseconds)."""
    if url.get_backend_name() != "postgresql":
        return {}
    args: dict = {"connect_timeout": cfg.connect_timeout_seconds}
    if cfg.statement_timeout_seconds is not None:
        args["options"] = f"-c statement_timeout={round(cfg.statement_timeout_seconds * 1000)}"
    return args


def _sql_hint(detail: str, cfg) -> str:
    """What to check, for the database errors a user meets first."""
    text = detail.lower()
    if "password" in text or "authentication" in text:
        return ". Check the user and password in ingest.sql.url (its ${VAR} environment variables)"
    if "statement timeout" in text:
        return (
            f". The read ran past ingest.sql.statement_timeout_seconds "
            f"({cfg.statement_timeout_seconds:g} s): raise it, or read less"
        )
    if any(
        s in text
        for s in (
            "connection refused",
            "timeout expired",
            "could not translate",
            "no route to host",
            "is the server running",
        )
    ):
        return (
            ". Is the database server up and reachable at the host and port of "
            f"ingest.sql.url? (waited up to {cfg.connect_timeout_seconds} s: "
            "ingest.sql.connect_timeout_seconds)"
        )
    return ""


def _sql_frame(params: IngestParams) -> tuple[pd.DataFrame, str]:
    import sqlalchemy as sa  # imported here: only SQL sources need it

    url = sql_url(params)
    cfg = params.sql
    try:
        engine = sa.create_engine(url, connect_args=_connect_args(sa.engine.make_url(url), cfg))
        shown = engine.url.render_as_string(hide_password=True)
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        hint = (
            ("; for PostgreSQL write postgresql+psycopg:// and pip install 'panier[postgres]'")
            if url.startswith(("postgresql:", "postgres:"))
            else ""
        )
        raise ConfigError(
            f"ingest.sql.url: no SQLAlchemy driver for it ({exc}); install the "
            f"database's driver, e.g. pip install 'psycopg[binary]'{hint}"
        ) from None
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise ConfigError(f"ingest.sql.url is not a valid SQLAlchemy URL: {exc}") from None
    try:
        with engine.connect() as connection:
            if cfg.query is not None:
                statement = sa.text(cfg.query)
            else:
                schema, _, name = cfg.table.rpartition(".")
                try:
                    table = sa.Table(
                        name, sa.MetaData(), schema=schema or None, autoload_with=connection
                    )
                except sa.exc.NoSuchTableError:
                    known = sa.inspect(connection).get_table_names(schema=schema or None)
                    raise DataError(
                        f"{shown}: no table {cfg.table!r} (ingest.sql.table); "
                        f"tables: {', '.join(known) or '(none)'}"
                    ) from None
                missing = [c for c in cfg.order_by if c not in table.c]
                if missing:
                    raise ConfigError(
                        f"ingest.sql.order_by: {missing} are not columns of "
                        f"{cfg.table}: {', '.join(table.c.keys())}"
                    )
                statement = sa.select(table).order_by(*(table.c[c] for c in cfg.order_by))
            frame = pd.read_sql(statement, connection)
    except (sa.exc.DBAPIError, pd.errors.DatabaseError) as exc:
        # pandas wraps the driver's error; its first line is what the database said.
        cause = exc if isinstance(exc, sa.exc.DBAPIError) else exc.__cause__
        orig = getattr(cause, "orig", None) or cause or exc
        detail = str(orig).splitlines()[0]
        what = "query (ingest.sql.query)" if cfg.query is not None else f"table {cfg.table}"
        raise DataError(f"{shown}: the {what} failed: {detail}{_sql_hint(detail, cfg)}") from None
    finally:
        engine.dispose()
    if frame.empty:
        raise DataError(f"{shown}: the {'query' if cfg.query else 'table'} returned no rows")
    return frame, shown


# --- entry point -------------------------------------------------------------------------------


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
    blobs: list[_Blob], frames: list[pd.DataFrame], parts: list[dict], location: str
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
        frame, shown = _sql_frame(params)
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
        blobs = _local_blobs(params.path, params)
    elif params.source == "url":
        blobs = [_http_blob(params.path, params)]
    elif params.source == "remote":
        blobs = [_remote_blob(params.path, params)]
    else:
        blobs = [_s3_blob(params.path, params)]
    frames, parts = [], []
    for blob in blobs:
        frame, part = _parse_blob(blob, params)
        frames.append(_named_columns(frame))
        parts.append({"name": blob.name, **part})
        blob.data = b""  # the bytes are parsed: free them before the next file
    info = {"kind": params.source, "location": location}
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
