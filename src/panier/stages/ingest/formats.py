"""What a source's bytes hold: compression (gzip, bzip2, xz), then CSV, Parquet, basket lists or
FIMI, parsed into a frame of the source's own columns with ``source_row``; each file's
SHA-256 fingerprint is recorded with its format."""

from __future__ import annotations

import bz2
import codecs
import gzip
import hashlib
import io
import logging
import lzma
import zlib
from collections.abc import Callable
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from panier.core import schema as S
from panier.core.config import IngestParams
from panier.core.errors import ConfigError, DataError
from panier.core.mapping import format_of
from panier.stages.ingest.delimited import read_delimited
from panier.stages.ingest.locations import MB, Blob, byte_limit, too_large
from panier.stages.ingest.text_decoding import decode

log = logging.getLogger(__name__)

_COMPRESSIONS: dict[bytes, tuple[str, Callable[[io.BytesIO], io.BufferedIOBase]]] = {
    b"\x1f\x8b": ("gzip", lambda f: gzip.GzipFile(fileobj=f)),
    b"BZh": ("bzip2", bz2.BZ2File),
    b"\xfd7zXZ\x00": ("xz", lzma.LZMAFile),
}


def _decompress(blob: Blob, params: IngestParams) -> tuple[bytes, str | None]:
    """The blob's bytes, decompressed when they start with a gzip, bzip2 or xz header; never
    more than ``ingest.max_source_mb`` of them (a small archive can unpack to gigabytes)."""
    for magic, (name, opener) in _COMPRESSIONS.items():
        if blob.data.startswith(magic):
            limit = byte_limit(params)
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
                    f"{blob.name} ({len(blob.data) / MB:,.1f} MB, {name}) unpacks to more than "
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
        if unpacked > byte_limit(params):
            raise too_large(name, unpacked, params, " unpacked")
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
    basket_of: list[int] = []
    items: list[str] = []
    bad: list[str | None] = []
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


def parse_blob(blob: Blob, params: IngestParams) -> tuple[pd.DataFrame, dict]:
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
