"""Source connectors and column mapping: every source feeds the same canonical table, and DVC
notices when a source changes. Real parts only: files, a local HTTP server, an S3-compatible
server (moto), a SQLite database and DVC in throwaway git repositories."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import secrets
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import yaml

from panier.core import schema as S
from panier.core.config import IngestParams, parse_params
from panier.core.errors import ConfigError, DataError
from panier.core.mapping import PRESETS, apply_mapping, not_provided, resolve_mapping
from panier.core.redact import redact
from panier.stages.ingest.sources import read_source
from panier.stages.ingest.sql import sql_url
from support.repos import SMALL_PARAMS, deep_update, make_pipeline_repo, run
from support.retail_export import retail_export_csv, retail_export_frame

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
ROWS = [
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom",
    "536365,071053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom",
    '536366,22633,"HAND WARMER, UNION JACK",6,12/1/2010 8:28,1.85,,United Kingdom',
    "C536379,D,Discount,-1,12/1/2010 9:41,27.5,14527,NA",
]
RETAIL_CSV = "\n".join([HEADER, *ROWS]) + "\n"


def ingest(**settings) -> IngestParams:
    return parse_params({"ingest": settings}).ingest


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# --- local files -------------------------------------------------------------------------------


def test_a_csv_arrives_as_text_so_nothing_is_lost_before_validation(tmp_path):
    path = write(tmp_path / "export.csv", RETAIL_CSV)
    data = read_source(ingest(source="file", path=str(path)))
    frame = data.frame
    assert list(frame.columns) == [*HEADER.split(","), S.SOURCE_ROW]
    assert frame[S.SOURCE_ROW].tolist() == [2, 3, 4, 5]  # the line each record starts on
    assert frame["StockCode"].tolist() == ["85123A", "071053", "22633", "D"]  # leading zero
    assert frame["Description"][2] == "HAND WARMER, UNION JACK"  # quoted delimiter
    assert pd.isna(frame["CustomerID"][2])  # empty field: missing
    assert frame["Country"][3] == "NA"  # Namibia, not a missing value
    assert data.info["rows"] == 4 and data.info["format"] == "csv"
    assert data.info["compression"] is None and data.info["malformed_rows"] == 0


@pytest.mark.parametrize(
    ("suffix", "compress", "name"),
    [(".gz", gzip.compress, "gzip"), (".bz2", bz2.compress, "bzip2"), (".xz", lzma.compress, "xz")],
)
def test_a_compressed_csv_reads_like_the_plain_one(tmp_path, suffix, compress, name):
    plain = read_source(ingest(source="file", path=str(write(tmp_path / "e.csv", RETAIL_CSV))))
    packed_bytes = compress(RETAIL_CSV.encode())
    packed = read_source(
        ingest(source="file", path=str(write(tmp_path / f"e.csv{suffix}", packed_bytes)))
    )
    pd.testing.assert_frame_equal(packed.frame, plain.frame)
    assert packed.info["compression"] == name
    assert packed.info["bytes"] == len(packed_bytes)


def test_a_tsv_file_is_tab_separated(tmp_path):
    path = write(
        tmp_path / "export.tsv",
        RETAIL_CSV.replace(",", "\t").replace(
            '"HAND WARMER\t UNION JACK"', "HAND WARMER, UNION JACK"
        ),
    )
    assert list(read_source(ingest(source="file", path=str(path))).frame.columns) == [
        *HEADER.split(","),
        S.SOURCE_ROW,
    ]


def test_parquet_keeps_its_types(tmp_path):
    source = pd.DataFrame(
        {
            "InvoiceNo": ["1", "1"],
            "Quantity": [6, 2],
            "InvoiceDate": pd.to_datetime(["2025-01-01", "2025-01-01"]),
        }
    )
    source.to_parquet(tmp_path / "export.parquet")
    frame = read_source(ingest(source="file", path=str(tmp_path / "export.parquet"))).frame
    assert frame["Quantity"].dtype == "int64"
    assert pd.api.types.is_datetime64_any_dtype(frame["InvoiceDate"])


def test_a_basket_list_becomes_one_synthetic_invoice_per_line(tmp_path):
    path = write(tmp_path / "baskets.csv", "whole milk,bread\ncream cheese ,butter\n\nmilk\n")
    params = ingest(
        source="file",
        path=str(path),
        format="basket_list",
        baskets={"start_date": "2025-01-01", "days": 4},
    )
    data = read_source(params)
    lines = apply_mapping(data.frame, resolve_mapping(params), str(path))
    assert lines[S.INVOICE].tolist() == ["1", "1", "2", "2", "4"]  # line numbers
    assert lines[S.ITEM].tolist() == ["whole milk", "bread", "cream cheese ", "butter", "milk"]
    assert lines[S.DESCRIPTION].tolist() == lines[S.ITEM].tolist()
    assert (lines[S.QUANTITY] == 1).all()
    assert lines[S.PRICE].isna().all() and lines[S.CUSTOMER].isna().all()
    # Four lines spread over four days, in file order.
    assert lines[S.TIMESTAMP].drop_duplicates().dt.strftime("%Y-%m-%d").tolist() == [
        "2025-01-01",
        "2025-01-02",
        "2025-01-04",
    ]
    assert data.info["lines"] == 4 and data.info["empty_lines"] == 1
    assert not_provided(params) == [S.CUSTOMER, S.COUNTRY, S.PRICE]


def test_basket_items_can_be_stripped_and_use_another_delimiter(tmp_path):
    path = write(tmp_path / "baskets.txt", "milk; bread ;\n")
    params = ingest(
        source="file",
        path=str(path),
        format="basket_list",
        baskets={"delimiter": ";", "strip_items": True},
    )
    data = read_source(params)
    assert data.frame["item"].tolist() == ["milk", "bread"]
    assert data.info["empty_items"] == 1  # the trailing delimiter holds no item


def test_a_fimi_file_holds_integer_ids_and_other_tokens_are_kept_as_malformed(tmp_path):
    path = write(tmp_path / "retail.dat", "1 2 3 \n4  5\n6 x7\n")
    params = ingest(source="file", path=str(path))  # .dat: FIMI by its name
    data = read_source(params)
    lines = apply_mapping(data.frame, resolve_mapping(params), str(path))
    assert lines[S.ITEM].tolist() == ["1", "2", "3", "4", "5", "6", "x7"]
    assert lines[S.INVOICE].tolist() == ["1", "1", "1", "2", "2", "3", "3"]
    assert lines[S.DESCRIPTION].isna().all()
    assert lines[S.MALFORMED].notna().tolist() == [False] * 6 + [True]
    assert data.info["malformed_rows"] == 1


def test_a_folder_reads_every_data_file_in_name_order(tmp_path):
    folder = tmp_path / "exports"
    write(folder / "2025-02.csv", "\n".join([HEADER, ROWS[2]]) + "\n")
    write(
        folder / "2025-01.csv.gz", gzip.compress(("\n".join([HEADER, *ROWS[:2]]) + "\n").encode())
    )
    write(folder / "README.md", "not data")
    write(folder / "2025-01.csv.gz.dvc", "outs: []")
    data = read_source(ingest(source="file", path=str(folder)))
    assert data.frame["InvoiceNo"].tolist() == ["536365", "536365", "536366"]
    assert [Path(f["name"]).name for f in data.info["files"]] == ["2025-01.csv.gz", "2025-02.csv"]


def test_the_format_comes_from_the_name_unless_set(tmp_path):
    path = write(tmp_path / "export.data", RETAIL_CSV)
    with pytest.raises(ConfigError, match=r"set ingest.format"):
        read_source(ingest(source="file", path=str(path)))
    assert read_source(ingest(source="file", path=str(path), format="csv")).info["rows"] == 4


def test_the_same_bytes_give_the_same_fingerprint_and_a_change_another(tmp_path):
    path = write(tmp_path / "export.csv", RETAIL_CSV)
    first = read_source(ingest(source="file", path=str(path))).info["sha256"]
    assert read_source(ingest(source="file", path=str(path))).info["sha256"] == first
    write(path, RETAIL_CSV.replace("2.55", "2.65"))
    assert read_source(ingest(source="file", path=str(path))).info["sha256"] != first


# --- HTTP --------------------------------------------------------------------------------------


def test_an_http_url_is_read_with_headers_from_the_environment(http_server, monkeypatch):
    write(http_server.root / "export.csv.gz", gzip.compress(RETAIL_CSV.encode()))
    monkeypatch.setenv("SHOP_API_TOKEN", "Bearer s3cret")
    url = f"{http_server.url}/export.csv.gz?page=1"
    data = read_source(
        ingest(
            source="url", path=url, http={"headers_from_env": {"Authorization": "SHOP_API_TOKEN"}}
        )
    )
    assert data.info["rows"] == 4 and data.info["compression"] == "gzip"
    path, headers = http_server.requests[-1]
    assert path == "/export.csv.gz?page=1"
    assert headers["Authorization"] == "Bearer s3cret"
    # The recorded location carries neither the query string nor any secret (a signature in the
    # query is refused by the params check: tests/test_check.py).
    assert data.info["location"] == f"{http_server.url}/export.csv.gz?..."
    assert "s3cret" not in json.dumps(data.info)


def test_a_header_variable_that_is_not_set_is_a_config_error(http_server, monkeypatch):
    monkeypatch.delenv("SHOP_API_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"SHOP_API_TOKEN is not set"):
        read_source(
            ingest(
                source="url",
                path=f"{http_server.url}/x.csv",
                http={"headers_from_env": {"Authorization": "SHOP_API_TOKEN"}},
            )
        )


def test_locations_are_recorded_without_credentials():
    assert (
        redact("https://user:pw@shop.example:8443/a/b.csv?token=x")
        == "https://shop.example:8443/a/b.csv?..."
    )
    assert redact("data/source/export.csv") == "data/source/export.csv"


# --- S3 ----------------------------------------------------------------------------------------


def put_s3(endpoint: str, bucket: str, key: str, body: bytes) -> None:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    if bucket not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key=key, Body=body)


def test_an_s3_object_is_read_from_a_configured_endpoint(s3_server, s3_env):
    put_s3(s3_server, "shop-exports", "2025/export.csv.gz", gzip.compress(RETAIL_CSV.encode()))
    data = read_source(
        ingest(
            source="s3", path="s3://shop-exports/2025/export.csv.gz", s3={"endpoint_url": s3_server}
        )
    )
    assert (
        data.info["rows"] == 4 and data.info["location"] == "s3://shop-exports/2025/export.csv.gz"
    )


def test_without_an_endpoint_param_the_standard_aws_variable_is_used(
    s3_server, s3_env, monkeypatch
):
    put_s3(s3_server, "shop-exports", "export.csv", RETAIL_CSV.encode())
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    data = read_source(ingest(source="s3", path="s3://shop-exports/export.csv"))
    assert data.info["rows"] == 4


# --- SQL ---------------------------------------------------------------------------------------


def sqlite_shop(path: Path, rows: list[tuple] | None = None) -> Path:
    rows = rows or [
        ("536366", "22633", 6, "2010-12-01 08:28:00", 1.85),
        ("536365", "85123A", 6, "2010-12-01 08:26:00", 2.55),
        ("536365", "71053", 6, "2010-12-01 08:26:00", 3.39),
    ]
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE IF EXISTS order_lines")
        db.execute(
            "CREATE TABLE order_lines (invoice TEXT, sku TEXT, qty INTEGER, "
            "ordered_at TEXT, price REAL)"
        )
        db.executemany("INSERT INTO order_lines VALUES (?, ?, ?, ?, ?)", rows)
    return path


def test_a_sql_table_is_read_in_the_order_asked_for(tmp_path):
    db = sqlite_shop(tmp_path / "shop.db")
    data = read_source(
        ingest(
            source="sql", path=str(db), sql={"table": "order_lines", "order_by": ["invoice", "sku"]}
        )
    )
    assert data.frame["sku"].tolist() == ["71053", "85123A", "22633"]
    assert data.frame["qty"].dtype == "int64"
    assert data.info["kind"] == "sql" and data.info["location"] == f"sqlite:///{db}"


def test_a_sql_query_reads_through_a_url_with_variables_from_the_environment(tmp_path, monkeypatch):
    db = sqlite_shop(tmp_path / "shop.db")
    monkeypatch.setenv("SHOP_DB", str(db))
    params = ingest(
        source="sql",
        sql={
            "url": "sqlite:///${SHOP_DB}",
            "query": "SELECT invoice, sku, qty FROM order_lines WHERE price > 2 ORDER BY sku",
        },
    )
    assert sql_url(params) == f"sqlite:///{db}"
    assert read_source(params).frame["sku"].tolist() == ["71053", "85123A"]


def test_the_sql_fingerprint_follows_the_data_not_the_connection(tmp_path):
    db = sqlite_shop(tmp_path / "shop.db")
    params = ingest(source="sql", path=str(db), sql={"table": "order_lines"})
    first = read_source(params).info["sha256"]
    assert read_source(params).info["sha256"] == first
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE order_lines SET qty = 7 WHERE sku = '22633'")
    assert read_source(params).info["sha256"] != first


def test_a_missing_sqlite_file_is_an_error_not_a_new_empty_database(tmp_path):
    with pytest.raises(DataError, match=r"not a SQLite file"):
        read_source(
            ingest(source="sql", path=str(tmp_path / "nope.db"), sql={"table": "order_lines"})
        )
    assert not (tmp_path / "nope.db").exists()


# --- column mapping ----------------------------------------------------------------------------


def test_the_retail_export_preset_maps_the_common_layout(tmp_path):
    path = write(tmp_path / "export.csv", RETAIL_CSV)
    params = ingest(source="file", path=str(path), mapping={"preset": "retail_export"})
    lines = apply_mapping(read_source(params).frame, resolve_mapping(params), str(path))
    assert list(lines.columns) == [*S.COLUMNS, S.SOURCE_ROW]
    assert lines[S.ITEM].tolist() == ["85123A", "071053", "22633", "D"]
    assert lines[S.TIMESTAMP][0] == "12/1/2010 8:26"  # parsed by validation, kept as text


def test_overrides_rename_a_column_drop_an_optional_one_and_keep_the_rest():
    source = pd.DataFrame(
        {
            "Invoice": ["1"],
            "SKU": ["A"],
            "Qty": ["2"],
            "When": ["2025-01-01"],
            "Price": ["1.0"],
            "Channel": ["web"],
        }
    )
    params = ingest(
        source="file",
        path="x.csv",
        mapping={
            "columns": {
                S.INVOICE: "Invoice",
                S.ITEM: "SKU",
                S.QUANTITY: "Qty",
                S.TIMESTAMP: "When",
                S.PRICE: "Price",
                S.CUSTOMER: None,
                S.COUNTRY: None,
                S.DESCRIPTION: None,
            }
        },
    )
    lines = apply_mapping(source, resolve_mapping(params), "x.csv")
    assert list(lines.columns) == [*S.COLUMNS, "Channel"]
    assert lines[S.ITEM][0] == "A" and lines[S.CUSTOMER].isna().all()


def test_a_required_column_cannot_be_mapped_to_nothing():
    params = ingest(source="file", path="x.csv", mapping={"columns": {S.ITEM: None}})
    with pytest.raises(ConfigError, match=r"required column.*item_code"):
        resolve_mapping(params)


def test_a_missing_mapped_column_names_the_likely_rename_and_the_params_lines():
    source = pd.DataFrame(
        columns=[
            "InvoiceNo",
            "Stock Code",
            "Description",
            "Quantity",
            "InvoiceDate",
            "UnitPrice",
            "CustomerID",
            "Country",
        ]
    )
    with pytest.raises(DataError) as caught:
        apply_mapping(source, PRESETS["retail_export"], "export.csv")
    message = str(caught.value)
    assert message.startswith("export.csv: 1 mapped column(s) not found")
    assert "'StockCode' (mapped to item_code) is missing; found 'Stock Code'" in message
    assert "  ingest:\n    mapping:\n      columns:\n        item_code: Stock Code" in message


def test_a_file_in_a_shipped_layout_gets_the_preset_suggested():
    source = pd.read_csv(io.StringIO(RETAIL_CSV), dtype=str)
    with pytest.raises(DataError, match=r"set ingest.mapping.preset: retail_export"):
        apply_mapping(source, PRESETS["canonical"], "export.csv")


def test_the_generator_needs_no_mapping():
    assert resolve_mapping(ingest(mapping={"preset": "retail_export"})) == PRESETS["canonical"]


def test_credentials_in_params_are_refused():
    with pytest.raises(ConfigError, match=r"must not hold credentials"):
        ingest(source="url", path="https://user:pw@shop.example/export.csv")
    with pytest.raises(ConfigError, match=r"sql.url holds a password"):
        ingest(source="sql", sql={"url": "postgresql://shop:hunter2@db/shop", "table": "t"})
    ingest(source="sql", sql={"url": "postgresql://shop:${SHOP_DB_PASSWORD}@db/shop", "table": "t"})


def test_source_and_path_must_agree():
    with pytest.raises(ConfigError, match=r"source url needs path to be an http"):
        ingest(source="url", path="data/export.csv")
    with pytest.raises(ConfigError, match=r"source s3 needs path to be s3://"):
        ingest(source="s3", path="https://x/y.csv")
    with pytest.raises(ConfigError, match=r"exactly one of sql.table and sql.query"):
        ingest(source="sql", sql={"table": "a", "query": "select 1"})


# --- DVC notices when a source changes ---------------------------------------------------------

pipeline = pytest.mark.slow


def source_repo(tmp_path: Path, ingest_settings: dict, name: str = "repo") -> Path:
    params = deep_update(json.loads(json.dumps(SMALL_PARAMS)), {"ingest": ingest_settings})
    return make_pipeline_repo(tmp_path, params, name)


def set_params(repo: Path, changes: dict) -> None:
    path = repo / "params.yaml"
    path.write_text(
        yaml.safe_dump(deep_update(yaml.safe_load(path.read_text()), changes), sort_keys=False)
    )


def ran(output: str) -> list[str]:
    return [s for s in ("ingest", "validate") if f"Running stage '{s}'" in output]


@pipeline
def test_dvc_reruns_ingest_when_a_tracked_local_export_changes(tmp_path):

    repo = source_repo(
        tmp_path,
        {
            "source": "file",
            "path": "data/source/export.csv",
            "mapping": {"preset": "retail_export"},
        },
    )
    write(repo / "data/source/export.csv", retail_export_csv(seed=1))
    run(["dvc", "add", "data/source/export.csv"], repo)
    assert ran(run(["dvc", "repro", "validate"], repo).stdout) == ["ingest", "validate"]
    assert "up to date" in run(["dvc", "status", "validate"], repo).stdout

    write(repo / "data/source/export.csv", retail_export_csv(seed=2))
    status = run(["dvc", "status", "ingest"], repo).stdout
    assert "changed deps" in status and "data/source/export.csv" in status
    assert ran(run(["dvc", "repro", "validate"], repo).stdout) == ["ingest", "validate"]
    info = json.loads((repo / "data/raw/source.json").read_text())
    assert (
        info["location"] == "data/source/export.csv" and info["mapping_preset"] == "retail_export"
    )


@pipeline
def test_dvc_notices_a_changed_url_and_a_changed_s3_object(
    tmp_path, http_server, s3_server, s3_env, monkeypatch
):

    write(http_server.root / "export.csv", retail_export_csv(seed=1))
    repo = source_repo(
        tmp_path,
        {
            "source": "url",
            "path": f"{http_server.url}/export.csv",
            "mapping": {"preset": "retail_export"},
        },
    )
    assert ran(run(["dvc", "repro", "ingest"], repo).stdout) == ["ingest"]
    assert "up to date" in run(["dvc", "status", "ingest"], repo).stdout
    write(http_server.root / "export.csv", retail_export_csv(seed=2))
    assert "modified:" in run(["dvc", "status", "ingest"], repo).stdout

    # DVC's own check of an s3:// dependency reads the endpoint from AWS_ENDPOINT_URL.
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    put_s3(s3_server, "shop-exports", "export.csv", retail_export_csv(seed=1).encode())
    set_params(repo, {"ingest": {"source": "s3", "path": "s3://shop-exports/export.csv"}})
    assert ran(run(["dvc", "repro", "ingest"], repo).stdout) == ["ingest"]
    assert "up to date" in run(["dvc", "status", "ingest"], repo).stdout
    put_s3(s3_server, "shop-exports", "export.csv", retail_export_csv(seed=2).encode())
    status = run(["dvc", "status", "ingest"], repo).stdout
    assert "modified:" in status and "s3://shop-exports/export.csv" in status


@pipeline
def test_a_dvc_remote_path_reads_with_credentials_kept_in_dvc_local_config(tmp_path, http_server):
    token = secrets.token_hex(16)
    write(http_server.root / "exports/export.csv", retail_export_csv(seed=1))
    http_server.required_headers = {"X-Shop-Token": token}
    repo = source_repo(
        tmp_path,
        {
            "source": "remote",
            "path": "remote://shop/exports/export.csv",
            "mapping": {"preset": "retail_export"},
        },
    )
    run(["dvc", "remote", "add", "shop", http_server.url], repo)
    for key, value in {
        "auth": "custom",
        "custom_auth_header": "X-Shop-Token",
        "password": token,
    }.items():
        run(["dvc", "remote", "modify", "--local", "shop", key, value], repo)
    # Both DVC's check of the dependency and ingest's read send the header.
    assert ran(run(["dvc", "repro", "validate"], repo).stdout) == ["ingest", "validate"]
    assert all(headers.get("X-Shop-Token") == token for _, headers in http_server.requests)
    assert "up to date" in run(["dvc", "status", "ingest"], repo).stdout
    write(http_server.root / "exports/export.csv", retail_export_csv(seed=2))
    assert "modified:" in run(["dvc", "status", "ingest"], repo).stdout
    # The secret stays out of git: only the git-ignored local config holds it.
    run(["git", "add", "-A"], repo)
    tracked = run(["git", "ls-files"], repo).stdout.split()
    assert ".dvc/config.local" not in tracked
    assert not [rel for rel in tracked if token in (repo / rel).read_text(errors="ignore")]


@pipeline
def test_an_imported_url_is_a_versioned_copy_that_dvc_update_refreshes(tmp_path, http_server):

    write(http_server.root / "export.csv", retail_export_csv(seed=1))
    repo = source_repo(
        tmp_path,
        {
            "source": "file",
            "path": "data/source/export.csv",
            "mapping": {"preset": "retail_export"},
        },
    )
    run(["dvc", "import-url", f"{http_server.url}/export.csv", "data/source/export.csv"], repo)
    assert ran(run(["dvc", "repro", "ingest"], repo).stdout) == ["ingest"]
    first = json.loads((repo / "data/raw/source.json").read_text())["sha256"]

    write(http_server.root / "export.csv", retail_export_csv(seed=2))
    # The pinned copy does not move until asked to: old commits stay reproducible.
    assert ran(run(["dvc", "repro", "ingest"], repo).stdout) == []
    run(["dvc", "update", "data/source/export.csv.dvc"], repo)
    assert ran(run(["dvc", "repro", "ingest"], repo).stdout) == ["ingest"]
    assert json.loads((repo / "data/raw/source.json").read_text())["sha256"] != first


@pipeline
def test_a_sql_source_is_refreshed_by_forcing_ingest_and_later_stages_follow_the_fingerprint(
    tmp_path, monkeypatch
):

    # A database DVC cannot look into (here SQLite, reached like a server: by a URL whose
    # location comes from the environment).
    db = tmp_path / "shop.db"
    monkeypatch.setenv("SHOP_DB", str(db))

    def load(seed: int) -> None:
        with sqlite3.connect(db) as connection:
            retail_export_frame(seed).to_sql("lines", connection, if_exists="replace", index=False)

    load(seed=1)
    repo = source_repo(
        tmp_path,
        {
            "source": "sql",
            "sql": {"url": "sqlite:///${SHOP_DB}", "table": "lines"},
            "mapping": {"preset": "retail_export"},
        },
    )
    assert ran(run(["dvc", "repro", "validate"], repo).stdout) == ["ingest", "validate"]
    fingerprint = json.loads((repo / "data/raw/source.json").read_text())["sha256"]

    # Re-querying an unchanged database changes nothing downstream.
    run(["dvc", "repro", "--force", "--single-item", "ingest"], repo)
    assert ran(run(["dvc", "repro", "validate"], repo).stdout) == []
    assert json.loads((repo / "data/raw/source.json").read_text())["sha256"] == fingerprint

    load(seed=2)
    assert "up to date" in run(["dvc", "status", "validate"], repo).stdout  # DVC cannot see it
    run(["dvc", "repro", "--force", "--single-item", "ingest"], repo)
    assert json.loads((repo / "data/raw/source.json").read_text())["sha256"] != fingerprint
    assert ran(run(["dvc", "repro", "validate"], repo).stdout) == ["validate"]
