"""``ingest``: where the source is, how to read it and how its columns map to the canonical
ones."""

from __future__ import annotations

import codecs
import re
from datetime import date
from typing import Literal, get_args

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from panier.core import schema as S
from panier.core.config.base import Section
from panier.core.config.generator import GeneratorParams

SourceKind = Literal["generator", "file", "url", "s3", "remote", "sql"]
FormatName = Literal["auto", "csv", "parquet", "basket_list", "fimi"]
MappingPreset = Literal[
    "auto", "canonical", "retail_export", "retail_export_ii", "basket_list", "fimi"
]
SOURCES: tuple[str, ...] = get_args(SourceKind)
FORMATS: tuple[str, ...] = get_args(FormatName)
MAPPING_PRESETS: tuple[str, ...] = get_args(MappingPreset)


def _known_encoding(name: str) -> str:
    try:
        codecs.lookup(name)
    except LookupError:
        raise ValueError(f"unknown text encoding {name!r} (e.g. utf-8, latin-1, cp1252)") from None
    return name


class MappingParams(Section):
    """Which source column feeds each canonical column."""

    preset: MappingPreset = Field(
        "auto", description="a shipped mapping; auto: basket_list/fimi by format, else canonical"
    )
    columns: dict[str, str | None] = Field(
        default_factory=dict,
        description="canonical column -> source column (null: the source has no such column); "
        "overrides the preset",
    )

    @field_validator("columns")
    @classmethod
    def _canonical_keys(cls, columns: dict[str, str | None]) -> dict[str, str | None]:
        unknown = sorted(set(columns) - set(S.COLUMNS))
        if unknown:
            raise ValueError(
                f"unknown canonical column(s) {unknown}: keys must be among "
                f"{S.COLUMNS}, values the source's column names"
            )
        return columns


class CsvParams(Section):
    """How a delimited text file (format csv) is split into fields."""

    delimiter: str = Field(
        ",", min_length=1, max_length=1, description="field separator (.tsv files use tabs)"
    )
    quote_char: str = Field(
        '"',
        min_length=1,
        max_length=1,
        description="quote around fields that hold the delimiter or line breaks",
    )


class ParsingParams(Section):
    """How text values become timestamps and numbers, whatever the source."""

    timestamp_format: str | None = Field(
        None, description="strftime format, e.g. '%d/%m/%Y %H:%M'; null: ISO 8601, else inferred"
    )
    dayfirst: bool = Field(
        False,
        description="when inferring: 01/02 is 1 February (a "
        "first field above 12 anywhere decides day-first)",
    )
    decimal: Literal[".", ","] = Field(".", description="the decimal separator of text numbers")
    epoch_unit: Literal["auto", "s", "ms", "us", "ns"] = Field(
        "auto",
        description="unit of integer timestamps; auto: decided from the magnitude of "
        "all values (seconds, milli-, micro- or nanoseconds)",
    )


class BasketParams(Section):
    """Basket lists and FIMI files: one basket per line, no times, so times are spread evenly."""

    delimiter: str = Field(
        ",", min_length=1, description="item separator of a basket_list; FIMI splits on whitespace"
    )
    strip_items: bool = Field(False, description="strip spaces around each item")
    start_date: date = Field(date(2025, 1, 1), description="the day of the first basket")
    days: int = Field(365, ge=2, description="the baskets are spread evenly over these days")


class HttpParams(Section):
    timeout_seconds: float = Field(60.0, gt=0, description="longest wait for any one read")
    max_seconds: float = Field(600.0, gt=0, description="longest time for the whole download")
    headers_from_env: dict[str, str] = Field(
        default_factory=dict,
        description="request header -> environment variable holding its value (tokens)",
    )


class S3Params(Section):
    endpoint_url: str | None = Field(
        None, description="S3-compatible store; null: AWS_ENDPOINT_URL or AWS itself"
    )
    region: str | None = Field(None, description="the bucket's region; null: the default chain's")


class SqlParams(Section):
    url: str | None = Field(
        None,
        description="SQLAlchemy URL; ${VAR} is read from the environment; "
        "null: the SQLite file at ingest.path",
    )
    table: str | None = Field(None, description="the table to read (or give query)")
    query: str | None = Field(None, description="the SELECT to read (or give table)")
    order_by: list[str] = Field(
        default_factory=list, description="columns of a table read in this order"
    )
    connect_timeout_seconds: int = Field(
        30,
        ge=1,
        description="PostgreSQL: give up connecting after this long (a server that "
        "is down or unreachable fails instead of hanging)",
    )
    statement_timeout_seconds: float | None = Field(
        3600.0,
        gt=0,
        description="PostgreSQL: the server cancels the read after this long; null: no limit",
    )


class IngestParams(Section):
    source: SourceKind = Field(
        "generator",
        description="where line items come from: generator, file, url, s3, "
        "remote or sql (docs/how-to/own-data.md)",
    )
    path: str = Field(
        "data/source",
        description="the file, http(s) URL, s3:// object or remote:// path read; dvc.yaml "
        "declares it as a dependency of ingest, so that DVC notices when it changes",
    )
    format: FormatName = Field(
        "auto",
        description="csv, parquet, basket_list or fimi; auto goes by the file name "
        "(.csv, .tsv, .txt, .parquet, .dat; .gz, .bz2, .xz are read too)",
    )
    encoding: str = Field(
        "utf-8",
        description="text encoding of CSV, basket-list and FIMI "
        "files (byte-order marks are checked)",
    )
    max_source_mb: float = Field(
        1024.0,
        gt=0,
        description="largest source read, in MB after decompression (a file, "
        "download or object); larger ones stop with a message",
    )
    mapping: MappingParams = Field(default_factory=MappingParams)
    csv: CsvParams = Field(default_factory=CsvParams)
    parsing: ParsingParams = Field(default_factory=ParsingParams)
    baskets: BasketParams = Field(default_factory=BasketParams)
    http: HttpParams = Field(default_factory=HttpParams)
    s3: S3Params = Field(default_factory=S3Params)
    sql: SqlParams = Field(default_factory=SqlParams)
    generator: GeneratorParams = Field(default_factory=GeneratorParams)

    _check_encoding = field_validator("encoding")(_known_encoding)

    @model_validator(mode="after")
    def _source_matches_path(self) -> IngestParams:
        path = self.path.strip()
        if not path:
            raise ValueError(
                "ingest.path is empty: set it to the file, folder or URL to read "
                "(data/source for the generator, which reads nothing)"
            )
        is_url = "://" in path
        if self.source == "url" and not path.lower().startswith(("http://", "https://")):
            raise ValueError(f"source url needs path to be an http(s):// URL, got {path!r}")
        if self.source == "s3" and not path.startswith("s3://"):
            raise ValueError(f"source s3 needs path to be s3://bucket/key, got {path!r}")
        if self.source == "remote" and not path.startswith("remote://"):
            raise ValueError(
                f"source remote needs path to be remote://<dvc remote name>/<path>, got {path!r}"
            )
        if re.match(r"^[a-z][a-z0-9+.-]*://[^/?#]*@", path, re.IGNORECASE) or re.search(
            r"[?&](?:[\w.-]*(?:token|key|secret|signature|sig|password|passwd|pwd|auth|"
            r"credential)[\w.-]*)=",
            path,
            re.IGNORECASE,
        ):
            # dvc.yaml declares the path as a dependency: DVC would print it in its errors and
            # dvc.lock (in git) would record it. The value is never repeated in this message.
            raise ValueError(
                "ingest.path must not hold credentials (user:password@, a token "
                "before @, or a token, key or signature in the query string); "
                "use ingest.http.headers_from_env, or a DVC remote configured "
                "with --local (source: remote)"
            )
        if self.source == "file" and is_url:
            raise ValueError(
                f"source file needs a local path, got {path!r}: for URLs use source url or s3"
            )
        if self.source == "sql":
            password = re.match(r"^[^:/]+://[^/@:]*:([^/@]*)@", self.sql.url or "")
            if password and not re.fullmatch(r"\$\{\w+\}", password.group(1)):
                raise ValueError(
                    "sql.url holds a password, which would end up in git: write "
                    "${SOME_VARIABLE} instead and set that environment variable"
                )
            if (self.sql.table is None) == (self.sql.query is None):
                raise ValueError("source sql needs exactly one of sql.table and sql.query")
            if self.sql.order_by and self.sql.query is not None:
                raise ValueError("sql.order_by applies to sql.table; put ORDER BY in the query")
            if self.format not in ("auto",):
                raise ValueError("format applies to files; leave it auto for source sql")
        return self
