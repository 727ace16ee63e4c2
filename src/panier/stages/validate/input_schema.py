"""The observed schema of the input, and how it changed against a committed reference.

Validate writes what it saw (``data/validated/input_schema.json``: each column of the raw
line items and the kind of its values) and compares it with ``data/reference_schema.json``, a
file kept in git and declared as a dependency of the stage. Comparing with a declared input
rather than with the previous run's output keeps ``dvc repro`` reproducible: equal inputs give
equal outputs, whatever ran before. Accepting a change is an explicit, reviewed commit:

    panier schema accept     # copy the observed schema over the reference
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from panier.core import paths
from panier.core import schema as S

OBSERVED = paths.INPUT_SCHEMA
REFERENCE = Path("data/reference_schema.json")
SAMPLE = 10_000  # values per column used to infer the kind of a text column
MAJORITY = 0.95  # a text column is numeric or temporal when this share of its values parse


def _text_kind(values: pd.Series) -> str:
    """The kind of a text column: what (nearly) all of its values parse as."""
    values = values.dropna()
    values = values[values.str.strip() != ""]
    if values.empty:
        return "empty"
    if len(values) > SAMPLE:  # evenly spaced, so the sample is deterministic
        values = values.iloc[np.linspace(0, len(values) - 1, SAMPLE).astype(np.int64)]
    numbers = pd.to_numeric(values.str.strip(), errors="coerce")
    if numbers.notna().mean() >= MAJORITY:
        whole = numbers.dropna()
        return "integer" if (whole == np.floor(whole)).all() else "number"
    fmt = guess_datetime_format(values.iloc[0]) or "ISO8601"
    times = pd.to_datetime(values, format=fmt, errors="coerce", utc=True)
    if times.notna().mean() >= MAJORITY:
        return "timestamp"
    return "string"


def column_kind(values: pd.Series) -> str:
    """One of empty, integer, number, timestamp, boolean, string."""
    dtype = values.dtype
    if values.isna().all():
        return "empty"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        finite = values.dropna()
        return "integer" if (finite == np.floor(finite)).all() else "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamp"
    return _text_kind(values.astype("str"))


def observe(frame: pd.DataFrame) -> dict:
    """The schema of a raw line-item table: its columns in order, each with its kind.

    Canonical text columns (ids, codes, names) are text by contract, so they are only told
    apart as empty or not: ``"10001"`` and ``"85123A"`` are both item codes.
    """
    columns = {}
    for column in frame.columns:
        if column == S.MALFORMED or column in S.PROVENANCE:
            continue
        values = frame[column]
        if S.DTYPES.get(column) == "str":
            columns[str(column)] = "empty" if values.isna().all() else "string"
        else:
            columns[str(column)] = column_kind(values)
    return {"columns": columns}


def compare(reference: dict | None, observed: dict, reference_name: str = str(REFERENCE)) -> dict:
    """Columns that appeared, disappeared or changed kind since ``reference``."""
    if reference is None:
        return {"reference": None, "changed": False, "added": {}, "removed": {}, "retyped": {}}
    before, now = reference.get("columns", {}), observed["columns"]
    added = {c: k for c, k in now.items() if c not in before}
    removed = {c: k for c, k in before.items() if c not in now}
    retyped = {
        c: {"from": before[c], "to": k} for c, k in now.items() if c in before and before[c] != k
    }
    return {
        "reference": reference_name,
        "changed": bool(added or removed or retyped),
        "added": added,
        "removed": removed,
        "retyped": retyped,
    }


def describe(changes: dict) -> str:
    """One line per change, for logs and error messages."""
    parts = [f"column {c!r} appeared ({k})" for c, k in changes["added"].items()]
    parts += [f"column {c!r} disappeared (was {k})" for c, k in changes["removed"].items()]
    parts += [
        f"column {c!r} changed from {d['from']} to {d['to']}" for c, d in changes["retyped"].items()
    ]
    return "; ".join(parts)


def read_reference(path: Path = REFERENCE) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def accept(observed: Path = OBSERVED, reference: Path = REFERENCE) -> None:
    """Make the last observed schema the reference (then commit the reference)."""
    if not observed.exists():
        raise SystemExit(f"{observed} not found: run dvc repro first")
    shutil.copyfile(observed, reference)
    print(f"{reference} now holds the schema of {observed}; commit it with git.")


def main(argv: list[str] | None = None) -> int:
    """``panier schema accept``: see ``accept``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="panier schema", description="Accept a change of the source's schema."
    )
    parser.add_argument(
        "action",
        choices=["accept"],
        help="accept: make the schema validate last observed "
        f"({OBSERVED}) the reference ({REFERENCE}), then commit it",
    )
    parser.parse_args(argv)
    accept()
    return 0


if __name__ == "__main__":
    sys.exit(main())
