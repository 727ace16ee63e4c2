"""The pipeline's JSON written the plain way, as the reference ``core.io.json_text`` is held
to (tests/unit/test_json_text.py) and timed against (bench/report_writing.py)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd


def normalised(value: Any) -> Any:
    """What each value becomes before it is written: floats to six decimals, NaN and infinity
    as None, NumPy scalars as Python's, keys as text, timestamps in ISO format."""
    if isinstance(value, dict):
        return {str(k): normalised(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalised(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return round(value, 6) if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def dumped(value: Any) -> str:
    """``value`` normalised, then as ``json.dumps`` writes it with sorted keys and an indent
    of two spaces."""
    return json.dumps(normalised(value), indent=2, sort_keys=True) + "\n"
