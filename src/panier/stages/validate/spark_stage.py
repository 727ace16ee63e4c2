"""The validate stage with ``validate.engine: spark``: the same output files as the pandas
engine, with the line items read, judged and written by Spark; the stage's process (the Spark
driver) receives counts, examples and samples, and streams the output files together from
Spark's part files one row group at a time."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, Row, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from panier.core import paths
from panier.core import schema as S
from panier.core.config import Params
from panier.core.errors import ConfigError, DataError
from panier.core.spark import aggregate, java_available, spark_session, stop_spark
from panier.stages.validate import input_schema
from panier.stages.validate import spark_parsing as SP
from panier.stages.validate.spark_engine import ORDER, validate_line_items_spark
from panier.stages.validate.validation import REASON_COLUMN, ValidationResult

#: Rows per row group: pyarrow's default for ``pq.write_table``, so that the files match the
#: pandas engine's.
ROW_GROUP = 1024 * 1024
PART_ROW_GROUP_BYTES = 16 * 2**20
EXAMPLES = 5  # rejected rows per reason brought back for the messages and the report


def check_spark() -> None:
    """Raise ``ConfigError`` saying what to install when Spark cannot run here."""
    if importlib.util.find_spec("pyspark") is None:
        raise ConfigError(
            "validate.engine is 'spark' but pyspark is not installed: run "
            "pip install 'panier[spark]', or set validate.engine: pandas"
        )
    if not java_available():
        raise ConfigError(
            "validate.engine is 'spark' but no Java runtime was found: install Java 17 or "
            "newer (or set JAVA_HOME), or set validate.engine: pandas"
        )


def write_parquet(frame: DataFrame, path: Path, schema: pa.Schema) -> int:
    """``frame`` (in order) written as ``io.write_parquet`` writes a pandas frame of
    ``schema``: Spark writes part files, which are copied into ``path`` in order, one row
    group at a time. Returns the rows written."""
    parts = path.with_name(f".{path.name}.parts")
    shutil.rmtree(parts, ignore_errors=True)
    # Small row groups in the part files: the copy below reads one at a time.
    frame.write.mode("overwrite").option("parquet.block.size", PART_ROW_GROUP_BYTES).parquet(
        str(parts)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    rows, pending = 0, []
    with pq.ParquetWriter(path, schema, compression="zstd", write_statistics=True) as out:
        for part in sorted(parts.glob("part-*.parquet")):
            for batch in pq.ParquetFile(part).iter_batches(batch_size=64 * 1024):
                pending.append(_conform(batch, schema))
                while sum(len(b) for b in pending) >= ROW_GROUP:
                    table = pa.Table.from_batches(pending).combine_chunks()
                    out.write_table(table.slice(0, ROW_GROUP), row_group_size=ROW_GROUP)
                    rows += ROW_GROUP
                    pending = table.slice(ROW_GROUP).to_batches()
        if pending or rows == 0:
            table = pa.Table.from_batches(pending, schema=schema).combine_chunks()
            out.write_table(table, row_group_size=ROW_GROUP)
            rows += len(table)
    shutil.rmtree(parts, ignore_errors=True)
    return rows


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    columns = [batch.column(f.name).cast(f.type) for f in schema]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def clean_schema(provenance: Sequence[str]) -> pa.Schema:
    """The clean table's Parquet schema, as the pandas engine writes it."""
    dtypes = {**S.DTYPES, S.SOURCE_ROW: "int64", S.SOURCE_FILE: "str"}
    empty = pd.DataFrame({c: pd.Series([], dtype=dtypes[c]) for c in [*S.COLUMNS, *provenance]})
    return pa.Schema.from_pandas(empty, preserve_index=False).remove_metadata()


def rejected_schema(columns: Sequence[str]) -> pa.Schema:
    fields = [pa.field(c, pa.int64() if c == S.SOURCE_ROW else pa.large_string()) for c in columns]
    return pa.schema(fields)


def examples(rejected: DataFrame) -> pd.DataFrame:
    """The first ``EXAMPLES`` rejected rows of each reason, in row order."""
    first = Window.partitionBy(REASON_COLUMN).orderBy(ORDER)
    rows = (
        rejected.withColumn("_n", F.row_number().over(first))
        .where(F.col("_n") <= EXAMPLES)
        .orderBy(ORDER)
        .drop("_n", ORDER)
    )
    frame: pd.DataFrame = rows.toPandas()
    return frame.astype({c: "str" for c in frame.columns if c != S.SOURCE_ROW})


def observe(frame: DataFrame) -> dict:
    """``input_schema.observe`` of the raw line items, from per-column counts and, for text
    columns, the same evenly spaced sample of at most ``input_schema.SAMPLE`` values."""
    wanted = [c for c in frame.columns if c != S.MALFORMED and c not in S.PROVENANCE]
    wanted = [c for c in wanted if c != ORDER]
    present = {}
    for c in wanted:
        value = F.col(c)
        if isinstance(frame.schema[c].dataType, (T.FloatType, T.DoubleType)):
            value = F.when(~F.isnan(value), value)
        present[c] = F.count(value).alias(c)
    counts: Row | dict = aggregate(frame, *present.values()) if wanted else {}
    columns = {}
    for c in wanted:
        dtype = frame.schema[c].dataType
        if counts[c] == 0:
            columns[c] = "empty"
        elif S.DTYPES.get(c) == "str":
            columns[c] = "string"
        elif isinstance(dtype, T.BooleanType):
            columns[c] = "boolean"
        elif isinstance(dtype, T.IntegralType):
            columns[c] = "integer"
        elif isinstance(dtype, (T.FloatType, T.DoubleType)):
            fractions = SP.non_whole_floats(frame, [c])
            columns[c] = "number" if fractions[c] else "integer"
        elif isinstance(dtype, (T.TimestampType, T.TimestampNTZType)):
            columns[c] = "timestamp"
        else:
            text = SP.text_of(frame, c, {})
            values = frame.select(F.col(ORDER).alias("o"), text.alias("v")).where(
                F.col("v").isNotNull()
            )
            n = values.count()
            positions = (
                list(range(n))
                if n <= input_schema.SAMPLE
                else pd.Series(range(n)).iloc[_spaced(n)].tolist()
            )
            sample = SP.sample_at(values, positions)
            columns[c] = input_schema._text_kind(sample)
    return {"columns": columns}


def _spaced(n: int):
    import numpy as np

    return np.linspace(0, n - 1, input_schema.SAMPLE).astype(np.int64)


def validate_on_spark(
    all_params: Params, source: str, not_provided: Sequence[str], source_columns: dict
) -> tuple[ValidationResult, dict]:
    """Validate ``data/raw/line_items.parquet`` on Spark (the session of ``train.spark``) and
    write the clean and rejected tables; returns the result (the report, and example rejected
    rows in place of the whole table) and the observed input schema."""
    check_spark()
    raw = Path(paths.RAW_LINES)
    if not raw.exists():
        raise DataError(f"{raw} does not exist: run the stage that writes it first (dvc repro)")
    spark = spark_session(all_params.train.spark.model_dump(), app="panier-validate")
    try:
        frame = read_line_items(spark, raw)
        got = validate_line_items_spark(
            frame,
            all_params.validate_,
            source=source,
            parsing=all_params.ingest.parsing,
            not_provided=not_provided,
            source_columns=source_columns,
        )
        provenance = [c for c in (S.SOURCE_ROW, S.SOURCE_FILE) if c in got.clean.columns]
        write_parquet(got.clean, Path(paths.CLEAN_LINES), clean_schema(provenance))
        write_parquet(
            got.rejected, Path(paths.REJECTED_LINES), rejected_schema(got.rejected.columns)
        )
        sample = examples(got.rejected_in_order)
        observed = observe(frame.withColumn(ORDER, F.monotonically_increasing_id()))
    finally:
        stop_spark()
    empty = pd.DataFrame(columns=got.clean.columns)
    return ValidationResult(empty, sample, got.report), observed


def read_line_items(spark, path) -> DataFrame:
    """The line items of a Parquet file as a Spark DataFrame, in file order. Spark cannot read
    nanosecond timestamps (pandas' unit): those are read as numbers and turned into
    microsecond ``timestamp_ntz`` (sub-microsecond digits dropped, as Spark holds none)."""
    schema = pq.read_schema(path)
    nanos = [
        f.name
        for f in schema
        if pa.types.is_timestamp(f.type) and f.type.unit == "ns" and f.type.tz is None
    ]
    if nanos:
        spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
    frame = spark.read.parquet(str(path))
    for name in nanos:
        micros = SP.floor_div(F.col(name), 1000)
        frame = frame.withColumn(name, SP.timestamp_from_micros(micros))
    return frame
