"""Validation on Spark (src/panier/stages/validate/spark_engine.py) gives exactly what validation
in pandas gives: the same rows clean with the same values and types, the same reason for every
rejected row with its original text, and the same report. Both engines read the same Parquet
file, as the validate stage reads ingest's output; Spark runs in local mode."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from pandas.testing import assert_frame_equal

from panier.core import io
from panier.core import schema as S
from panier.core.config import GeneratorParams, ParsingParams, ValidateParams, parse_params
from panier.core.errors import DataError
from panier.core.mapping import apply_mapping, not_provided, resolve_mapping
from panier.stages.ingest.generate import generate_line_items
from panier.stages.ingest.sources import read_source
from panier.stages.train import engines
from panier.stages.validate.validation import validate_line_items
from support.dirty_exports import PROFILE, Export, exports
from support.dirty_exports import read as read_export
from support.repos import ROOT, tool_env
from support.retail_export import retail_export_frame, wholesale_export_frame

pytestmark = pytest.mark.slow  # a JVM start, and a dozen Spark jobs per comparison

TODAY = date(2026, 1, 1)


@pytest.fixture(scope="module")
def spark():
    if not engines.installed("spark"):
        fix = "pip install 'panier[spark]' and Java 17+"
        if os.environ.get("PANIER_REQUIRE_TOOLS") == "1":
            pytest.fail(f"Spark is required (PANIER_REQUIRE_TOOLS is set): {fix}")
        pytest.skip(f"Spark not found: {fix}")
    yield engines.spark_session({"master": "local[2]", "conf": {}})
    engines.stop_spark()
    logging.getLogger("py4j").setLevel(logging.WARNING)


def as_pandas(frame) -> pd.DataFrame:
    """A Spark result as the pandas path holds it: text as ``str``, timestamps in ns."""
    out = frame.toPandas()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].astype("str")
        elif str(out[column].dtype).startswith("datetime64"):
            out[column] = out[column].astype("datetime64[ns]")
    return out


def both(spark, lines: pd.DataFrame, folder: Path, params=None, **kwargs):
    """Validate ``lines`` with each engine from one Parquet file; assert identical results and
    return the pandas one."""
    path = folder / "lines.parquet"
    io.write_parquet(lines, path)
    from panier.stages.validate.spark_engine import validate_line_items_spark
    from panier.stages.validate.spark_stage import read_line_items

    params = params or ValidateParams()
    kwargs.setdefault("today", TODAY)
    expected = validate_line_items(io.read_parquet(path), params, **kwargs)
    got = validate_line_items_spark(read_line_items(spark, path), params, **kwargs)
    clean, rejected = as_pandas(got.clean), as_pandas(got.rejected)
    assert got.report == expected.report
    assert_frame_equal(clean, expected.clean)
    assert_frame_equal(rejected, expected.rejected)
    return expected


def export_lines(export: pd.DataFrame, folder: Path, **ingest) -> tuple[pd.DataFrame, dict]:
    """An export written as CSV and read as the ingest stage reads it (text values)."""
    path = folder / "export.csv"
    sep = ingest.get("csv", {}).get("delimiter", ",")
    path.write_text(export.to_csv(index=False, sep=sep, lineterminator="\n"), encoding="utf-8")
    params = parse_params(
        {
            "ingest": {
                "source": "file",
                "path": str(path),
                "mapping": {"preset": "retail_export"},
                **ingest,
            }
        }
    ).ingest
    mapping = resolve_mapping(params)
    lines = apply_mapping(read_source(params).frame, mapping, str(path))
    extra = {
        "parsing": params.parsing,
        "not_provided": not_provided(params),
        "source_columns": mapping,
        "source": str(path.name),
    }
    return lines, extra


def test_the_default_generated_data(spark, tmp_path):
    lines = generate_line_items(GeneratorParams())
    lines[S.SOURCE_ROW] = np.arange(1, len(lines) + 1, dtype=np.int64)  # as ingest adds it
    result = both(spark, lines, tmp_path)
    assert result.report["rows_rejected"] > 0 and result.report["invoices_multi_item"] > 0


def test_generated_data_under_tight_params_rejects_for_every_rule(spark, tmp_path):
    lines = generate_line_items(GeneratorParams(n_invoices=3000))
    params = ValidateParams(
        max_rejected_share=1.0,
        max_basket_items=8,
        max_quantity=5,
        min_timestamp=date(2025, 3, 1),
        max_timestamp=date(2025, 10, 31),
        non_product_pattern="^1002",
        non_product_codes=[" 10011 "],
    )
    result = both(spark, lines, tmp_path, params)
    counts = result.report["rejected_by_reason"]
    for code in ("future_timestamp", "too_old_timestamp", "quantity_too_large", "non_product"):
        assert counts[code] > 0, code
    assert counts["basket_too_large"] > 0


def test_a_retail_export_with_us_dates_float_ids_and_planted_dirt(spark, tmp_path):
    lines, extra = export_lines(retail_export_frame(seed=5), tmp_path)
    result = both(spark, lines, tmp_path, ValidateParams(max_rejected_share=1.0), **extra)
    counts = result.report["rejected_by_reason"]
    assert counts["duplicate_row"] == 9 and counts["cancelled_invoice"] == 12
    assert not result.clean[S.CUSTOMER].dropna().str.endswith(".0").any()


def test_a_wholesale_export_with_big_invoices(spark, tmp_path):
    lines, extra = export_lines(wholesale_export_frame(seed=3, n_invoices=1500), tmp_path)
    params = ValidateParams(max_rejected_share=1.0, max_basket_items=100)
    result = both(spark, lines, tmp_path, params, **extra)
    assert result.report["invoices_too_large"] > 0


def test_a_european_export_with_day_first_dates_and_decimal_commas(spark, tmp_path):
    export = retail_export_frame(seed=7, n_invoices=600)
    when = pd.to_datetime(export["InvoiceDate"], format="%m/%d/%Y %H:%M")
    export["InvoiceDate"] = when.dt.strftime("%d/%m/%Y %H:%M")
    export["UnitPrice"] = export["UnitPrice"].str.replace(".", ",", regex=False)
    export.loc[3, "UnitPrice"] = "1.234,5"  # a thousands point: 1234.5
    export.loc[5, "Quantity"] = "2,5"  # not a whole number
    lines, extra = export_lines(export, tmp_path, csv={"delimiter": ";"}, parsing={"decimal": ","})
    result = both(spark, lines, tmp_path, ValidateParams(max_rejected_share=1.0), **extra)
    assert result.report["rejected_by_reason"]["unparseable_quantity"] == 1
    assert 1234.5 in set(result.clean[S.PRICE])


def _text_lines(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[*S.COLUMNS, S.MALFORMED]).astype("str")
    frame[S.SOURCE_ROW] = np.arange(2, len(frame) + 2, dtype=np.int64)
    return frame


def _row(**values) -> dict:
    row = {
        S.INVOICE: "1001",
        S.TIMESTAMP: "2024-03-01 10:00:00",
        S.CUSTOMER: "17850",
        S.COUNTRY: "France",
        S.ITEM: "A1",
        S.DESCRIPTION: "a thing",
        S.QUANTITY: "2",
        S.PRICE: "1.5",
        S.MALFORMED: None,
    }
    return row | values


EDGE_ROWS = [
    _row(),
    _row(),  # a duplicate
    _row(**{S.DESCRIPTION: "a thing "}),  # not a duplicate: the text differs
    _row(**{S.INVOICE: "\u3000 "}),  # blank (Unicode space): missing
    _row(**{S.INVOICE: "C1001"}),
    _row(**{S.TIMESTAMP: None}),
    _row(**{S.TIMESTAMP: "2030-01-01"}),
    _row(**{S.TIMESTAMP: "1600-01-01 00:00"}),
    _row(**{S.ITEM: " post "}),
    _row(**{S.ITEM: "\t"}),
    _row(**{S.QUANTITY: ""}),
    _row(**{S.QUANTITY: "1.5"}),
    _row(**{S.QUANTITY: "1e3"}),
    _row(**{S.QUANTITY: " +7 "}),
    _row(**{S.QUANTITY: "9007199254740992"}),
    _row(**{S.QUANTITY: "-9007199254740993"}),
    _row(**{S.QUANTITY: "9007199254740991"}),
    _row(**{S.QUANTITY: "0"}),
    _row(**{S.QUANTITY: "20000"}),
    _row(**{S.QUANTITY: "inf"}),
    _row(**{S.QUANTITY: "1_000"}),
    _row(**{S.PRICE: "nan"}),
    _row(**{S.PRICE: "-0"}),
    _row(**{S.PRICE: ".5"}),
    _row(**{S.PRICE: "5."}),
    _row(**{S.PRICE: "1e400"}),
    _row(**{S.PRICE: "0x10"}),
    _row(**{S.PRICE: "2.5d"}),
    _row(**{S.CUSTOMER: None, S.DESCRIPTION: None, S.COUNTRY: ""}),
    _row(**{S.MALFORMED: "a,broken,line"}),
    _row(**{S.INVOICE: "1002", S.ITEM: "B2"}),
]


@pytest.mark.parametrize(
    "stamps",
    [
        pytest.param(["2024-03-01 10:00:00", "2024-03-02T11:30", "2024-03-03"], id="arrow-iso"),
        pytest.param(
            ["2024-03-01T10:00:00+01:00", "2024-03-02 11:30:00Z", "2024-02-30", "noon"],
            id="iso-with-offsets",
        ),
        pytest.param(["3/1/2024 10:00", "2/31/2024 9:5", "12/1/2024 8:26", "x"], id="us"),
        pytest.param(["01/03/2024 10:00", "31/12/2024 23:59", "13/1/2024 1:00"], id="day-first"),
    ],
)
def test_hand_made_edge_rows_with_each_timestamp_reading(spark, tmp_path, stamps):
    rows = [
        r
        | ({S.TIMESTAMP: stamps[i % len(stamps)]} if r[S.TIMESTAMP] == _row()[S.TIMESTAMP] else {})
        for i, r in enumerate(EDGE_ROWS)
    ]
    rows += [_row(**{S.TIMESTAMP: s, S.INVOICE: f"2{i}"}) for i, s in enumerate(stamps)]
    params = ValidateParams(max_rejected_share=1.0)
    result = both(spark, _text_lines(rows), tmp_path, params, parsing=ParsingParams())
    assert result.report["rows_clean"] > 0 and result.report["rows_rejected"] > 10


def test_a_timestamp_format_set_in_params_and_epoch_numbers(spark, tmp_path):
    rows = [_row(**{S.TIMESTAMP: s}) for s in ["1.3.2024 10:00", " 31.12.2024 9:05", "1.13.2024"]]
    parsing = ParsingParams(timestamp_format="%d.%m.%Y %H:%M")
    params = ValidateParams(max_rejected_share=1.0)
    both(spark, _text_lines(rows), tmp_path, params, parsing=parsing)

    epochs = generate_line_items(GeneratorParams(n_invoices=200))
    for unit, per_second in (("s", 1), ("ms", 1000)):
        epochs[S.TIMESTAMP] = epochs[S.TIMESTAMP].astype("datetime64[s]").astype(np.int64)
        epochs[S.TIMESTAMP] *= per_second
        result = both(spark, epochs.copy(), tmp_path, params)
        assert result.report["rows_clean"] > 0, unit
        epochs = generate_line_items(GeneratorParams(n_invoices=200))


def errors(spark, lines: pd.DataFrame, folder: Path, params, **kwargs) -> tuple[str, str]:
    """The ``DataError`` message of each engine (pandas, spark) on ``lines``."""
    path = folder / "lines.parquet"
    io.write_parquet(lines, path)
    from panier.stages.validate.spark_engine import validate_line_items_spark
    from panier.stages.validate.spark_stage import read_line_items

    kwargs.setdefault("today", TODAY)
    with pytest.raises(DataError) as pandas_error:
        validate_line_items(io.read_parquet(path), params, **kwargs)
    with pytest.raises(DataError) as spark_error:
        validate_line_items_spark(read_line_items(spark, path), params, **kwargs)
    return str(pandas_error.value), str(spark_error.value)


def test_contradictory_dates_fail_with_the_same_message_on_both_engines(spark, tmp_path):
    rows = [_row(**{S.TIMESTAMP: s}) for s in ["13/1/2024 10:00", "1/13/2024 10:00"]]
    expected, got = errors(spark, _text_lines(rows), tmp_path, ValidateParams())
    assert got == expected
    assert "ingest.parsing.timestamp_format" in got


def test_a_missing_column_fails_with_the_same_message_on_both_engines(spark, tmp_path):
    lines = _text_lines([_row()]).drop(columns=[S.QUANTITY]).rename(columns={S.PRICE: "Qty"})
    expected, got = errors(spark, lines, tmp_path, ValidateParams())
    assert got == expected
    assert "quantity" in got


@settings(settings.get_profile(PROFILE), max_examples=int(os.environ.get("SPARK_EXAMPLES", 8)))
@given(exports())
def test_generated_dirty_exports(spark, tmp_path_factory, export: Export):
    folder = tmp_path_factory.mktemp("export")
    try:
        lines, params = read_export(export, folder)
    except DataError:  # the reader's message (tests/unit/test_dirty_exports.py): no rows
        assert export.expect_error
        return
    extra = {"parsing": params.parsing, "source_columns": resolve_mapping(params)}
    validate = ValidateParams(max_rejected_share=1.0, max_basket_items=10_000, max_quantity=None)
    if export.expect_error:
        expected, got = errors(spark, lines, folder, validate, **extra)
        assert got == expected
        return
    both(spark, lines, folder, validate, **extra)


def _stage(workdir: Path, module: str, params: dict) -> subprocess.CompletedProcess:
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return subprocess.run(
        [sys.executable, "-m", module],
        cwd=workdir,
        env=tool_env() | {"SPARK_LOCAL_IP": "127.0.0.1"},
        capture_output=True,
        text=True,
        timeout=900,
    )


STAGE_OUTPUTS = [
    "data/validated/clean.parquet",
    "data/validated/rejected.parquet",
    "data/validated/input_schema.json",
    "metrics/validation.json",
    "metrics/validation.md",
]


# One stage-level run (the in-process tests above cover generated data): a retail export,
# the messier input, through ingest, then the validate stage with each engine.
def test_the_stage_on_spark_writes_the_pandas_engines_files_to_the_byte(spark, tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    export = tmp_path / "data/source/export.csv"
    export.parent.mkdir(parents=True)
    frame = retail_export_frame(seed=2, n_invoices=600)
    export.write_text(frame.to_csv(index=False, lineterminator="\n"))
    params["ingest"].update(
        source="file", path="data/source/export.csv", mapping={"preset": "retail_export"}
    )
    (tmp_path / "data").mkdir(exist_ok=True)
    shutil.copy(ROOT / "data/reference_schema.json", tmp_path / "data/reference_schema.json")
    done = _stage(tmp_path, "panier.stages.ingest.stage", params)
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = {}
    for engine in ("pandas", "spark"):
        workdir = tmp_path.parent / f"{tmp_path.name}-{engine}"
        shutil.copytree(tmp_path, workdir)
        params["validate"]["engine"] = engine
        done = _stage(workdir, "panier.stages.validate.stage", params)
        assert done.returncode == 0, done.stderr[-3000:]
        outputs[engine] = {name: (workdir / name).read_bytes() for name in STAGE_OUTPUTS}
    for name in STAGE_OUTPUTS:
        assert outputs["spark"][name] == outputs["pandas"][name], name
