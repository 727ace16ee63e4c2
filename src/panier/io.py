"""Reading and writing at the pipeline's edges: every file a stage touches goes through here.

Writers are deterministic (fixed column order, no index, sorted JSON keys), so that the
same inputs and params give byte-identical files and DVC sees no spurious change.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from panier.errors import DataError

log = logging.getLogger(__name__)


def read_parquet(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist: run the stage that writes it first (dvc repro)")
    frame = pd.read_parquet(path)
    log.info("read %s: %s rows", path, f"{len(frame):,}")
    return frame


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # Drop pandas' schema metadata: it embeds the pandas version, which is not data.
    table = table.replace_schema_metadata(None)
    pq.write_table(table, path, compression="zstd", write_statistics=True)
    log.info("wrote %s: %s rows", path, f"{len(frame):,}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        # JSON has no NaN or infinity; null keeps the file valid for every reader.
        return None if not math.isfinite(value) else round(value, 6)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def write_json(data: dict[str, Any], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable(data), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    log.info("wrote %s", path)


def read_json(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist: run the stage that writes it first (dvc repro)")
    return json.loads(path.read_text(encoding="utf-8"))


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format="%.6g", lineterminator="\n")
    log.info("wrote %s: %s rows", path, f"{len(frame):,}")


def write_text(text: str, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    log.info("wrote %s", path)


def fingerprint(frame: pd.DataFrame) -> str:
    """A content hash of a frame's values and column names, independent of file encoding."""
    digest = hashlib.sha256()
    digest.update(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()
