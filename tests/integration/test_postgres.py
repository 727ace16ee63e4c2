"""The ``sql`` source against a real PostgreSQL server (tests/support/servers.py): the same code and
params shape as for SQLite, credentials from the environment, reruns byte-identical, the
fingerprint following the rows, and one-line messages for what goes wrong with a server."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from panier.core.config import IngestParams, parse_params
from panier.core.errors import DataError
from panier.stages.ingest.sources import read_source
from support.repos import ROOT, tool_env
from support.retail_export import retail_export_frame
from support.servers import PostgresServer, unused_port

PASSWORD = "s3cret-shop-password"
ENV = {"SHOP_DB_USER": "shop", "SHOP_DB_PASSWORD": PASSWORD}
ORDER = [
    "InvoiceNo",
    "StockCode",
    "InvoiceDate",
    "Quantity",
    "UnitPrice",
    "CustomerID",
    "Description",
    "Country",
]


def export() -> pd.DataFrame:
    """The retail export as a shop database holds it: quantities as integers, the rest text."""
    frame = retail_export_frame(seed=1, n_invoices=600)
    return frame.assign(Quantity=frame["Quantity"].astype("int64"))


@pytest.fixture(scope="module")
def shop(postgres_server: PostgresServer) -> PostgresServer:
    """Database ``shop`` owned by role ``shop`` (password ``PASSWORD``), holding the export in
    table ``lines``."""
    import sqlalchemy as sa

    postgres_server.create_database("shop", "shop", PASSWORD)
    engine = sa.create_engine(postgres_server.url("shop", "shop", PASSWORD))
    try:
        export().to_sql("lines", engine, index=False)
    finally:
        engine.dispose()
    return postgres_server


@pytest.fixture
def shop_env(monkeypatch) -> dict[str, str]:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    return ENV


def url(server: PostgresServer, port: int | None = None) -> str:
    return (
        f"postgresql+psycopg://${{SHOP_DB_USER}}:${{SHOP_DB_PASSWORD}}@127.0.0.1:"
        f"{port or server.port}/shop"
    )


def ingest(**settings) -> IngestParams:
    return parse_params({"ingest": {"source": "sql", **settings}}).ingest


def run_ingest(workdir: Path, ingest_settings: dict) -> subprocess.CompletedProcess:
    """The ingest stage as DVC runs it, in ``workdir`` with the repository's params.yaml and
    ``ingest_settings`` over its ``ingest`` section."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["ingest"].update({"source": "sql", **ingest_settings})
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return subprocess.run(
        [sys.executable, "-m", "panier.stages.ingest.stage"],
        cwd=workdir,
        env=tool_env() | ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )


OUTPUTS = ("data/raw/line_items.parquet", "data/raw/source.json")


def test_the_ingest_stage_reads_a_postgresql_table_in_order_and_reruns_to_the_same_bytes(
    shop, tmp_path
):
    settings = {
        "sql": {"url": url(shop), "table": "lines", "order_by": ORDER},
        "mapping": {"preset": "retail_export"},
    }
    outputs = []
    for attempt in ("first", "second"):
        result = run_ingest(tmp_path / attempt, settings)
        assert result.returncode == 0, result.stderr
        outputs.append({rel: (tmp_path / attempt / rel).read_bytes() for rel in OUTPUTS})
    assert outputs[0] == outputs[1]

    info = json.loads(outputs[0]["data/raw/source.json"])
    assert info["kind"] == "sql" and info["table"] == "lines"
    assert info["location"] == f"postgresql+psycopg://shop:***@127.0.0.1:{shop.port}/shop"
    assert PASSWORD not in outputs[0]["data/raw/source.json"].decode()
    expected = export().sort_values(ORDER, kind="stable", ignore_index=True)
    assert info["rows"] == len(expected)
    lines = pd.read_parquet(tmp_path / "first" / OUTPUTS[0])
    assert lines["invoice_id"].tolist() == expected["InvoiceNo"].tolist()
    assert lines["item_code"].tolist() == expected["StockCode"].tolist()


def test_postgresql_and_sqlite_give_the_same_rows_for_the_same_table(shop, shop_env, tmp_path):
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as connection:
        export().to_sql("lines", connection, index=False)
    on_postgres = read_source(
        ingest(sql={"url": url(shop), "table": "lines", "order_by": ORDER})
    ).frame
    on_sqlite = read_source(ingest(path=str(db), sql={"table": "lines", "order_by": ORDER})).frame
    assert on_postgres["Quantity"].dtype == on_sqlite["Quantity"].dtype == "int64"
    # The same rows and values. Not quite the same order: PostgreSQL sorts NULLs last,
    # SQLite first (the export has one row without a StockCode); so each row's position in
    # its result (source_row) differs where that row moved.
    on_postgres, on_sqlite = (
        frame.drop(columns="source_row") for frame in (on_postgres, on_sqlite)
    )
    for frame, nulls in ((on_postgres, "last"), (on_sqlite, "first")):
        pd.testing.assert_frame_equal(
            frame, frame.sort_values(ORDER, na_position=nulls, ignore_index=True, kind="stable")
        )
    pd.testing.assert_frame_equal(
        on_postgres.sort_values(ORDER, ignore_index=True),
        on_sqlite.sort_values(ORDER, ignore_index=True),
    )


def test_a_query_with_credentials_from_the_environment(shop, shop_env):
    data = read_source(
        ingest(
            sql={
                "url": url(shop),
                "query": (
                    'SELECT "InvoiceNo", "StockCode", "Quantity" FROM lines '
                    'WHERE "Quantity" > 0 AND "StockCode" <> \'POST\' '
                    'ORDER BY "InvoiceNo", "StockCode", "Quantity"'
                ),
            }
        )
    )
    frame = data.frame
    assert list(frame.columns) == ["InvoiceNo", "StockCode", "Quantity", "source_row"]
    assert (frame["Quantity"] > 0).all() and "POST" not in set(frame["StockCode"])
    assert data.info["query"].startswith("SELECT") and data.info["table"] is None
    assert PASSWORD not in json.dumps(data.info)


def test_the_fingerprint_follows_the_rows_not_the_connection(shop, shop_env):
    shop.execute("DROP TABLE IF EXISTS lines_copy", "shop")
    shop.execute("CREATE TABLE lines_copy AS SELECT * FROM lines", "shop")
    shop.execute("ALTER TABLE lines_copy OWNER TO shop", "shop")
    params = ingest(sql={"url": url(shop), "table": "lines_copy", "order_by": ORDER})
    first = read_source(params).info["sha256"]
    assert read_source(params).info["sha256"] == first  # a new connection, the same rows
    shop.execute(
        'UPDATE lines_copy SET "Quantity" = "Quantity" + 1 '
        "WHERE ctid = (SELECT min(ctid) FROM lines_copy)",
        "shop",
    )
    assert read_source(params).info["sha256"] != first


# --- what goes wrong with a server -------------------------------------------------------------


def failure(params: IngestParams) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(DataError) as caught:
        read_source(params)
    message = str(caught.value)
    assert "\n" not in message, message
    assert PASSWORD not in message and "wrong-password" not in message
    return message, time.monotonic() - started


def test_a_wrong_password_names_the_url_without_it_and_says_what_to_check(
    shop, shop_env, monkeypatch
):
    monkeypatch.setenv("SHOP_DB_PASSWORD", "wrong-password")
    message, _ = failure(ingest(sql={"url": url(shop), "table": "lines"}))
    assert message.startswith(f"postgresql+psycopg://shop:***@127.0.0.1:{shop.port}/shop:")
    assert 'password authentication failed for user "shop"' in message
    assert "Check the user and password in ingest.sql.url" in message


def test_a_missing_table_lists_the_tables_there_are(shop, shop_env):
    message, _ = failure(ingest(sql={"url": url(shop), "table": "orders"}))
    assert "no table 'orders' (ingest.sql.table); tables: lines" in message


def test_a_missing_table_in_a_query_is_the_servers_own_words(shop, shop_env):
    message, _ = failure(ingest(sql={"url": url(shop), "query": "SELECT * FROM orders"}))
    assert 'the query (ingest.sql.query) failed: relation "orders" does not exist' in message


def test_a_server_that_is_down_fails_at_once_and_says_where_it_looked(shop, shop_env):
    port = unused_port()
    message, seconds = failure(ingest(sql={"url": url(shop, port), "table": "lines"}))
    assert f"127.0.0.1:{port}" in message and "Connection refused" in message
    assert "Is the database server up and reachable" in message
    assert "ingest.sql.connect_timeout_seconds" in message
    assert seconds < 10


def test_a_query_past_the_statement_timeout_is_cancelled_by_the_server(shop, shop_env):
    params = ingest(
        sql={
            "url": url(shop),
            "query": "SELECT pg_sleep(30) AS slept",
            "statement_timeout_seconds": 0.5,
        }
    )
    message, seconds = failure(params)
    assert "canceling statement due to statement timeout" in message
    assert "ingest.sql.statement_timeout_seconds (0.5 s)" in message
    assert seconds < 10


def test_the_ingest_stage_reports_a_server_failure_in_one_line(shop, tmp_path):
    result = run_ingest(
        tmp_path,
        {
            "sql": {
                "url": url(shop).replace("${SHOP_DB_PASSWORD}", "${NOT_THE_PASSWORD}"),
                "table": "lines",
            }
        },
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    failed = [line for line in result.stderr.splitlines() if "failed" in line]
    assert failed == [
        "ingest failed: ingest.sql.url uses ${NOT_THE_PASSWORD} but the "
        "environment variable NOT_THE_PASSWORD is not set"
    ]
    env_password = run_ingest(
        tmp_path / "wrong",
        {
            "sql": {
                "url": url(shop).replace("${SHOP_DB_PASSWORD}", "${SHOP_DB_USER}"),
                "table": "lines",
            }
        },
    )
    assert env_password.returncode == 1 and "Traceback" not in env_password.stderr
    failed = [line for line in env_password.stderr.splitlines() if "failed" in line]
    assert len(failed) == 1 and failed[0].startswith("ingest failed: postgresql+psycopg://")
    assert "password authentication failed" in failed[0]


def test_a_bare_postgresql_url_reads_through_psycopg_too(shop, shop_env):
    # SQLAlchemy 2.1 (the locked version) picks psycopg for postgresql://; with 2.0, which
    # would ask for psycopg2, ingest says to write postgresql+psycopg:// instead.
    bare = url(shop).replace("postgresql+psycopg://", "postgresql://")
    data = read_source(ingest(sql={"url": bare, "table": "lines", "order_by": ORDER}))
    assert data.info["location"].startswith("postgresql://shop:***@")
    assert data.info["rows"] == len(export())
