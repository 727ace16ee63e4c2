"""Broken input, kind by kind, through the real stage entry points: each gives its documented
outcome, either rows quarantined with a reason code (and counted), or one short message that
says what is wrong and how to fix it. Never a traceback.

The stages run in this process through ``run_stage`` (the entry point of
``python -m panier.stages.<name>``), in a throwaway workspace: an exception other than the
documented ones would escape and fail the test. A few cases also run under ``dvc repro``.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import sqlite3
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import yaml

from panier.core.runner import run_stage
from panier.stages.ingest import stage as ingest
from panier.stages.validate import stage as validate
from support.repos import ROOT, SMALL_PARAMS, deep_update, make_pipeline_repo, run
from support.retail_export import HEADER
from support.servers import S3Server

RETAIL = {
    "ingest": {
        "source": "file",
        "path": "data/source/export.csv",
        "mapping": {"preset": "retail_export"},
    }
}


def export_rows(n_invoices: int = 30) -> list[dict]:
    """A clean export: three items per invoice, a day apart."""
    rows = []
    for i in range(n_invoices):
        for item in ("85123A", "71053", "22633"):
            rows.append(
                {
                    "InvoiceNo": str(536365 + i),
                    "StockCode": item,
                    "Description": f"ITEM {item}",
                    "Quantity": "6",
                    "InvoiceDate": f"2024-01-{1 + i % 28:02d} 08:26:00",
                    "UnitPrice": "2.55",
                    "CustomerID": "17850",
                    "Country": "United Kingdom",
                }
            )
    return rows


def csv_text(rows: list[dict], delimiter: str = ",", header: list[str] = HEADER) -> str:
    buffer = io.StringIO()
    pd.DataFrame(rows, columns=header).to_csv(
        buffer, index=False, sep=delimiter, lineterminator="\n"
    )
    return buffer.getvalue()


@dataclass
class Outcome:
    exit_code: int
    stderr: str
    validation: dict | None

    @property
    def message(self) -> str:
        """The failure message: what the runner printed after '<stage> failed: '."""
        return self.stderr[self.stderr.index(" failed: ") :] if " failed: " in self.stderr else ""


def run_stages(workspace: Path, capsys, monkeypatch) -> Outcome:
    """Run ingest then validate in ``workspace`` as their entry points do."""
    monkeypatch.chdir(workspace)
    code = 0
    for name, main in (("ingest", ingest.main), ("validate", validate.main)):
        try:
            run_stage(name, main, argv=[])
        except SystemExit as exc:
            code = exc.code
            break
    stderr = capsys.readouterr().err
    metrics = workspace / "metrics" / "validation.json"
    validation = json.loads(metrics.read_text()) if metrics.exists() else None
    return Outcome(code, stderr, validation)


@pytest.fixture
def workspace(tmp_path) -> Callable[[dict], Path]:
    """A factory: ``workspace(params)`` -> a folder with params.yaml (overridden by
    ``params``) and the reference schema, where stages can run."""

    def make(params: dict) -> Path:
        root = tmp_path / "ws"
        (root / "data" / "source").mkdir(parents=True)
        shutil.copy(ROOT / "data" / "reference_schema.json", root / "data")
        current = yaml.safe_load((ROOT / "params.yaml").read_text())
        (root / "params.yaml").write_text(yaml.safe_dump(deep_update(current, params)))
        return root

    return make


# --- the catalogue -----------------------------------------------------------------------------


@dataclass
class Case:
    """A kind of broken input and its documented outcome: ``fails`` (substrings of the one
    message) or ``quarantined`` (reason -> rows rejected, the run passing)."""

    id: str
    files: dict[str, bytes | str]  # path in the workspace -> content
    params: dict = field(default_factory=lambda: RETAIL)
    fails: list[str] = field(default_factory=list)
    quarantined: dict[str, int] = field(default_factory=dict)


def with_row(change: dict, index: int = 4) -> list[dict]:
    rows = export_rows()
    rows[index] = {**rows[index], **change}
    return rows


def every(change: dict) -> list[dict]:
    return [{**r, **change} for r in export_rows()]


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


EXPORT = "data/source/export.csv"
CASES = [
    Case("empty file", {EXPORT: b""}, fails=["data/source/export.csv is empty"]),
    Case(
        "header only", {EXPORT: ",".join(HEADER) + "\n"}, fails=["has a header", "but no data rows"]
    ),
    Case(
        "wrong delimiter",
        {EXPORT: csv_text(export_rows(), delimiter=";")},
        fails=["looks ';'-separated", "ingest.csv.delimiter: ';'"],
    ),
    Case(
        "non-UTF-8 bytes",
        {EXPORT: csv_text(with_row({"Description": "CAFÉ CRÈME"})).encode("latin-1")},
        fails=["is not valid utf-8 text (line 6", "set ingest.encoding"],
    ),
    Case(
        "non-UTF-8 bytes, encoding set",
        {EXPORT: csv_text(with_row({"Description": "CAFÉ CRÈME"})).encode("latin-1")},
        params=deep_update(json.loads(json.dumps(RETAIL)), {"ingest": {"encoding": "latin-1"}}),
    ),
    Case(
        "renamed column",
        {EXPORT: csv_text(export_rows()).replace("StockCode", "Stock Code")},
        fails=[
            "'StockCode' (mapped to item_code) is missing; found 'Stock Code'",
            "      columns:\n        item_code: Stock Code",
        ],
    ),
    Case(
        "missing column",
        {EXPORT: csv_text(export_rows(), header=[h for h in HEADER if h != "Quantity"])},
        fails=["'Quantity' (mapped to quantity) is missing", "ingest.mapping.columns.quantity"],
    ),
    Case(
        "canonical mapping on an export in the common layout",
        {EXPORT: csv_text(export_rows())},
        params={"ingest": {"source": "file", "path": EXPORT}},
        fails=["set ingest.mapping.preset: retail_export"],
    ),
    Case(
        "duplicate column names",
        {EXPORT: csv_text(export_rows()).replace("CustomerID,Country", "Country,Country", 1)},
        fails=["['Country'] appear more than once in the header"],
    ),
    Case(
        "text in a numeric column",
        {EXPORT: csv_text(with_row({"Quantity": "six"}))},
        quarantined={"unparseable_quantity": 1},
    ),
    Case(
        "unparseable date",
        {EXPORT: csv_text(with_row({"InvoiceDate": "2024-31-31 25:00"}))},
        quarantined={"unparseable_timestamp": 1},
    ),
    Case(
        "a date in the future",
        {EXPORT: csv_text(with_row({"InvoiceDate": "2999-01-01"}))},
        quarantined={"future_timestamp": 1},
    ),
    Case(
        "every date in the future",
        {EXPORT: csv_text(every({"InvoiceDate": "2999-01-01"}))},
        fails=[
            "future_timestamp",
            "column timestamp ('InvoiceDate' in the source)",
            "fix: check the source's clock",
        ],
    ),
    Case(
        "placeholder dates",
        {EXPORT: csv_text(with_row({"InvoiceDate": "1900-01-01"}))},
        params=deep_update(
            json.loads(json.dumps(RETAIL)), {"validate": {"min_timestamp": "2000-01-01"}}
        ),
        quarantined={"too_old_timestamp": 1},
    ),
    Case(
        "all prices zero",
        {EXPORT: csv_text(every({"UnitPrice": "0"}))},
        fails=[
            "90 of 90 rows rejected (100.00%), above validate.max_rejected_share",
            "non_positive_price: 90 rows",
            "column unit_price ('UnitPrice' in the source), e.g. source rows 2, 3, 4",
            "fix: check the column mapped to unit_price",
        ],
    ),
    Case(
        "decimal commas",
        {EXPORT: csv_text(every({"UnitPrice": "2,55"}), delimiter=";")},
        params=deep_update(json.loads(json.dumps(RETAIL)), {"ingest": {"csv": {"delimiter": ";"}}}),
        fails=["unparseable_unit_price", "ingest.parsing.decimal: ','"],
    ),
    Case(
        "decimal commas, decimal set",
        {EXPORT: csv_text(every({"UnitPrice": "2,55"}), delimiter=";")},
        params=deep_update(
            json.loads(json.dumps(RETAIL)),
            {"ingest": {"csv": {"delimiter": ";"}, "parsing": {"decimal": ","}}},
        ),
    ),
    Case(
        "missing item codes",
        {EXPORT: csv_text(with_row({"StockCode": ""}))},
        quarantined={"missing_item_code": 1},
    ),
    Case("missing customers (guest checkouts)", {EXPORT: csv_text(every({"CustomerID": ""}))}),
    Case(
        "one item in every basket",
        {EXPORT: csv_text(export_rows()[::3])},
        fails=["holds a single distinct item", "ingest.mapping.columns.invoice_id"],
    ),
    Case(
        "mostly cancellations",
        {
            EXPORT: csv_text(
                [
                    {**r, "InvoiceNo": "C" + r["InvoiceNo"], "Quantity": "-6"} if i % 2 else r
                    for i, r in enumerate(export_rows())
                ]
            )
        },
        fails=[
            "cancelled_invoice: 45 rows",
            "validate.max_rejected_share_by_reason.cancelled_invoice",
        ],
    ),
    Case(
        "a huge basket, rejected by validate.max_basket_items",
        {
            EXPORT: csv_text(
                export_rows()
                + [
                    {**export_rows()[0], "InvoiceNo": "999999", "StockCode": f"X{i}"}
                    for i in range(101)
                ]
            )
        },
        params=deep_update(
            json.loads(json.dumps(RETAIL)),
            {"validate": {"max_rejected_share": 0.6, "max_basket_items": 100}},
        ),
        quarantined={"basket_too_large": 101},
    ),
    # By default a wholesale invoice is a real sale: kept (train leaves it out of mining only).
    Case(
        "a huge basket",
        {
            EXPORT: csv_text(
                export_rows()
                + [
                    {**export_rows()[0], "InvoiceNo": "999999", "StockCode": f"X{i}"}
                    for i in range(101)
                ]
            )
        },
        quarantined={},
    ),
    Case(
        "exact duplicate rows",
        {EXPORT: csv_text(export_rows() + export_rows()[:2])},
        quarantined={"duplicate_row": 2},
    ),
    Case(
        "rows with too many fields",
        {EXPORT: csv_text(export_rows()) + "536999,85123A,ITEM,6,2024-01-01,2.55,17850,UK,extra\n"},
        quarantined={"malformed_row": 1},
    ),
    Case(
        "truncated gzip",
        {EXPORT + ".gz": gzip.compress(csv_text(export_rows()).encode())[:200]},
        params=deep_update(json.loads(json.dumps(RETAIL)), {"ingest": {"path": EXPORT + ".gz"}}),
        fails=["looks gzip-compressed but cannot be decompressed"],
    ),
    Case(
        "an Excel workbook named .csv",
        {EXPORT: zip_bytes()},
        fails=["is a zip archive (an Excel workbook?)", "export the sheet as CSV"],
    ),
    Case(
        "not a Parquet file",
        {"data/source/export.parquet": csv_text(export_rows())},
        params=deep_update(
            json.loads(json.dumps(RETAIL)), {"ingest": {"path": "data/source/export.parquet"}}
        ),
        fails=["is not a readable Parquet file"],
    ),
    Case(
        "Parquet with wrong types",
        {"data/source/export.parquet": parquet_bytes(pd.DataFrame(every({"UnitPrice": "n/a"})))},
        params=deep_update(
            json.loads(json.dumps(RETAIL)), {"ingest": {"path": "data/source/export.parquet"}}
        ),
        fails=["unparseable_unit_price: 90 rows"],
    ),
    Case("missing file", {}, fails=["data/source/export.csv not found: set ingest.path"]),
    Case(
        "unknown encoding",
        {EXPORT: csv_text(export_rows())},
        params=deep_update(json.loads(json.dumps(RETAIL)), {"ingest": {"encoding": "utf-9"}}),
        fails=["ingest.encoding", "unknown text encoding 'utf-9'"],
    ),
    Case(
        "FIMI with a non-integer item",
        {"data/source/baskets.dat": "1 2 3\n4 5\n6 x7 8\n"},
        params={
            "ingest": {"source": "file", "path": "data/source/baskets.dat"},
            "validate": {"max_rejected_share": 0.2},
        },
        quarantined={"malformed_row": 1},
    ),
    Case(
        "a column that changed type, with schema changes set to fail",
        {EXPORT: csv_text(every({"UnitPrice": "£2.55"}))},
        params=deep_update(
            json.loads(json.dumps(RETAIL)),
            {"validate": {"on_schema_change": "fail", "max_rejected_share": 1.0}},
        ),
        fails=["column 'unit_price' changed from number to string", "panier schema accept"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_input_gives_its_documented_outcome(case: Case, workspace, capsys, monkeypatch):
    root = workspace(case.params)
    for rel, content in case.files.items():
        (root / rel).write_bytes(content.encode() if isinstance(content, str) else content)
    outcome = run_stages(root, capsys, monkeypatch)
    assert "Traceback" not in outcome.stderr
    if case.fails:
        assert outcome.exit_code == 1, outcome.stderr
        for expected in case.fails:
            assert expected in outcome.message, f"{expected!r} not in:\n{outcome.message}"
        assert len(outcome.message) < 2500  # one short message, not a dump
    else:
        assert outcome.exit_code == 0, outcome.stderr
        by_reason = outcome.validation["rejected_by_reason"]
        assert {code: n for code, n in by_reason.items() if n} == case.quarantined
        assert outcome.validation["rows_in"] == (
            outcome.validation["rows_clean"] + outcome.validation["rows_rejected"]
        )


def test_the_catalogue_covers_at_least_twenty_kinds_of_broken_input():
    assert len(CASES) + len(SERVER_CASES) >= 20


def test_guests_are_kept_and_counted_and_latin_1_text_decodes(workspace, capsys, monkeypatch):
    root = workspace(
        deep_update(json.loads(json.dumps(RETAIL)), {"ingest": {"encoding": "latin-1"}})
    )
    rows = with_row({"Description": "CAFÉ CRÈME", "CustomerID": ""}, index=0)
    (root / EXPORT).write_bytes(csv_text(rows).encode("latin-1"))
    outcome = run_stages(root, capsys, monkeypatch)
    assert outcome.exit_code == 0
    assert outcome.validation["clean_rows_without_customer"] == 1
    clean = pd.read_parquet(root / "data/validated/clean.parquet")
    assert "CAFÉ CRÈME" in set(clean["description"])


# --- sources behind a server -------------------------------------------------------------------


def sqlite_orders(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE order_lines (InvoiceNo TEXT, StockCode TEXT)")
    return path


SERVER_CASES = {
    "unreachable URL": (
        lambda ctx: {
            "ingest": {
                "source": "url",
                "path": "http://127.0.0.1:9/export.csv",
                "http": {"timeout_seconds": 5},
            }
        },
        ["cannot reach http://127.0.0.1:9/export.csv"],
    ),
    "URL that answers 404": (
        lambda ctx: {"ingest": {"source": "url", "path": f"{ctx['http']}/nope.csv"}},
        ["answered HTTP 404"],
    ),
    "missing S3 object": (
        lambda ctx: {
            "ingest": {
                "source": "s3",
                "path": "s3://shop/nope.csv",
                "s3": {"endpoint_url": ctx["s3"]},
            }
        },
        ["s3://shop/nope.csv does not exist at"],
    ),
    "S3 endpoint down": (
        lambda ctx: {
            "ingest": {
                "source": "s3",
                "path": "s3://shop/x.csv",
                "s3": {"endpoint_url": "http://127.0.0.1:9"},
            }
        },
        ["cannot reach the S3 endpoint", "ingest.s3.endpoint_url"],
    ),
    "SQL query error": (
        lambda ctx: {
            "ingest": {"source": "sql", "path": ctx["db"], "sql": {"query": "SELECT * FROM orders"}}
        },
        ["the query (ingest.sql.query) failed: no such table: orders"],
    ),
    "SQL table missing": (
        lambda ctx: {"ingest": {"source": "sql", "path": ctx["db"], "sql": {"table": "orders"}}},
        ["no table 'orders' (ingest.sql.table); tables: order_lines"],
    ),
    "SQL URL variable not set": (
        lambda ctx: {
            "ingest": {
                "source": "sql",
                "sql": {"url": "postgresql://shop:${PANIER_TEST_UNSET}@db/shop", "table": "lines"},
            }
        },
        ["${PANIER_TEST_UNSET}", "is not set"],
    ),
    "SQL driver not installed": (
        lambda ctx: {
            "ingest": {
                "source": "sql",
                "sql": {"url": "oracle+oracledb://shop@db/shop", "table": "lines"},
            }
        },
        ["no SQLAlchemy driver", "install the database's driver"],
    ),
}


@pytest.mark.parametrize("kind", list(SERVER_CASES))
def test_a_source_that_cannot_be_read_fails_with_one_message(
    kind, workspace, capsys, monkeypatch, http_server, s3_server, s3_env, tmp_path
):
    monkeypatch.delenv("PANIER_TEST_UNSET", raising=False)
    make_params, expected = SERVER_CASES[kind]
    context = {
        "http": http_server.url,
        "s3": s3_server,
        "db": str(sqlite_orders(tmp_path / "shop.db")),
    }
    outcome = run_stages(workspace(make_params(context)), capsys, monkeypatch)
    assert outcome.exit_code == 1
    assert "Traceback" not in outcome.stderr
    for text in expected:
        assert text in outcome.message, outcome.message


@pytest.fixture
def s3_with_auth(monkeypatch) -> dict:
    """A moto server that checks credentials: one IAM user may read, anyone else may not."""
    import boto3
    import botocore.exceptions

    # moto checks credentials after its first N requests: enough to create the user below
    # (and the server's start-up probes), then used up on purpose.
    monkeypatch.setenv("INITIAL_NO_AUTH_ACTION_COUNT", "50")
    server = S3Server()
    server.start()
    try:
        iam = boto3.client(
            "iam",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id="bootstrap",
            aws_secret_access_key="bootstrap",
        )
        iam.create_user(UserName="reader")
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        iam.put_user_policy(
            UserName="reader",
            PolicyName="all",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                }
            ),
        )
        for _ in range(50):
            try:
                iam.list_users()
            except botocore.exceptions.ClientError:
                break  # credentials are checked from now on
        else:
            raise RuntimeError("moto never started checking credentials")
        s3 = boto3.client(
            "s3",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        s3.create_bucket(Bucket="shop-exports")
        s3.put_object(
            Bucket="shop-exports", Key="export.csv", Body=csv_text(export_rows()).encode()
        )
        yield {
            "endpoint": server.endpoint,
            "key": key["AccessKeyId"],
            "secret": key["SecretAccessKey"],
        }
    finally:
        server.stop()


def test_wrong_s3_credentials_fail_with_one_message_and_right_ones_read(
    s3_with_auth, workspace, capsys, monkeypatch
):
    params = deep_update(
        json.loads(json.dumps(RETAIL)),
        {
            "ingest": {
                "source": "s3",
                "path": "s3://shop-exports/export.csv",
                "s3": {"endpoint_url": s3_with_auth["endpoint"]},
            }
        },
    )
    root = workspace(params)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    outcome = run_stages(root, capsys, monkeypatch)
    assert outcome.exit_code == 1 and "Traceback" not in outcome.stderr
    assert "access to s3://shop-exports/export.csv at" in outcome.message
    assert "check the credentials in AWS_ACCESS_KEY_ID" in outcome.message
    assert "wrong" not in outcome.message.replace("AKIAWRONG", "")  # no secret echoed

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_with_auth["key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_with_auth["secret"])
    assert run_stages(root, capsys, monkeypatch).exit_code == 0


# --- the same, under dvc repro -----------------------------------------------------------------


@pytest.mark.slow
def test_under_dvc_repro_broken_input_fails_with_the_message_and_no_traceback(tmp_path):
    repo = make_pipeline_repo(tmp_path, deep_update(json.loads(json.dumps(SMALL_PARAMS)), RETAIL))
    export = repo / EXPORT

    def repro() -> str:
        result = run(["dvc", "repro", "validate"], repo, check=False)
        assert result.returncode != 0
        assert "Traceback" not in result.stdout + result.stderr
        return result.stderr

    export.write_text(csv_text(export_rows()).replace("StockCode", "Stock Code"))
    assert "ingest failed: data/source/export.csv: 1 mapped column(s) not found" in repro()

    export.write_text(csv_text(every({"UnitPrice": "0"})))
    stderr = repro()
    assert "validate failed: data/source/export.csv: 90 of 90 rows rejected" in stderr
    assert "non_positive_price" in stderr
    # The evidence is on disk even though the stage failed.
    assert (repo / "metrics/validation.md").read_text().count("non_positive_price") >= 1

    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params["ingest"].update({"source": "url", "path": "http://127.0.0.1:9/export.csv"})
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    result = run(["dvc", "repro", "validate"], repo, check=False)
    assert result.returncode != 0 and "Traceback" not in result.stdout + result.stderr
    assert "http://127.0.0.1:9/export.csv" in result.stderr  # DVC checks the URL first


def test_an_unknown_dvc_remote_fails_with_the_command_that_adds_it(workspace, capsys, monkeypatch):
    root = workspace({"ingest": {"source": "remote", "path": "remote://shop/export.csv"}})
    run(["dvc", "init", "--no-scm", "-q"], root)
    outcome = run_stages(root, capsys, monkeypatch)
    assert outcome.exit_code == 1 and "Traceback" not in outcome.stderr
    assert "no DVC remote named 'shop'; add it with `dvc remote add shop <url>`" in outcome.message
