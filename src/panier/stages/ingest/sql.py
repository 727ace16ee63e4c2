"""SQL sources: a table or a query read through SQLAlchemy (imported only here, and only when
read), with ``${VAR}`` credentials from the environment, PostgreSQL time limits, and messages
that say what to check."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from panier.core.config import IngestParams
from panier.core.errors import ConfigError, DataError


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


def sql_frame(params: IngestParams) -> tuple[pd.DataFrame, str]:
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
            statement: sa.Executable
            if cfg.query is not None:
                statement = sa.text(cfg.query)
            else:
                assert cfg.table is not None  # IngestParams: exactly one of table and query
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
