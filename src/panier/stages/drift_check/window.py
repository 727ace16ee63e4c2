"""The windows drift-check compares: the training window, the holdout window, and the current
window, which is by default the latest period of the validated data and can be any dataset
named in params (a line-item file, or the serving application's request logs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from panier.core import schema as S
from panier.core.baskets import Windows, baskets_from_lists
from panier.core.config import CurrentWindowParams, ValidateParams
from panier.core.errors import DataError
from panier.stages.drift_check.requestlog import read_request_log
from panier.stages.drift_check.summary import WindowSummary, summarize_lines, summarize_requests
from panier.stages.validate.validation import REASON_COLUMN, validate_line_items


@dataclass(frozen=True)
class RejectedWindows:
    """Rows validation rejected, by the window their timestamp falls in; rows whose time is
    missing or unreadable belong to no window and are only counted."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    current: pd.DataFrame
    without_time: int


def split_rejected(
    rejected: pd.DataFrame, holdout_start: pd.Timestamp, current_start: pd.Timestamp
) -> RejectedWindows:
    """Assign rejected rows (original values as text) to windows by their own timestamp."""
    if rejected.empty or S.TIMESTAMP not in rejected:
        empty = rejected.iloc[0:0]
        return RejectedWindows(empty, empty, empty, len(rejected))
    when = pd.to_datetime(rejected[S.TIMESTAMP], errors="coerce", format="mixed")
    if getattr(when.dt, "tz", None) is not None:
        when = when.dt.tz_convert("UTC").dt.tz_localize(None)
    known = when.notna()
    return RejectedWindows(
        train=rejected[known & (when <= holdout_start)],
        holdout=rejected[known & (when > holdout_start) & (when <= current_start)],
        current=rejected[known & (when > current_start)],
        without_time=int((~known).sum()),
    )


def _last_days(lines: pd.DataFrame, days: int) -> pd.DataFrame:
    """Invoices whose first line falls in the last ``days`` days (an invoice is never cut)."""
    first = lines.groupby(S.INVOICE)[S.TIMESTAMP].transform("min")
    return lines[first > first.max() - pd.Timedelta(days=days)].reset_index(drop=True)


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"current window file {path} not found (drift.current.path)")
    if path.suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if path.suffix in (".csv", ".gz"):
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    raise DataError(
        f"{path}: drift.current.path must be a .parquet or .csv file of line "
        "items with the canonical columns (README: 'The canonical line-item table')"
    )


def current_window(
    params: CurrentWindowParams,
    windows: Windows,
    rejected: RejectedWindows,
    validate: ValidateParams,
) -> tuple[WindowSummary, dict]:
    """Summarize the current window the params name; returns it and a description of where it
    came from (for the report)."""
    if params.source == "window":
        summary = summarize_lines(windows.current, rejected.current)
        return summary, {
            "source": "window",
            "from": windows.current_start,
            "rows_rejected": len(rejected.current),
        }
    source_path = params.path
    assert source_path is not None  # CurrentWindowParams: lines and requests need a path
    if params.source == "requests":
        log = read_request_log(source_path, params.days, params.max_rejected_share)
        summary = summarize_requests(
            baskets_from_lists(log.baskets), log.times.min(), log.times.max()
        )
        return summary, log.report
    path = Path(source_path)
    result = validate_line_items(_read_table(path), validate, source=str(path))
    if result.rejected_share > params.max_rejected_share:
        top = sorted(result.report["rejected_by_reason"].items(), key=lambda kv: -kv[1])[:3]
        raise DataError(
            f"{path}: {result.report['rows_rejected']:,} of {result.report['rows_in']:,} rows "
            f"rejected ({result.rejected_share:.1%}), above drift.current.max_rejected_share "
            f"({params.max_rejected_share:.1%}); top reasons: "
            + ", ".join(f"{code} {n:,}" for code, n in top if n)
            + ". Fix the file or raise drift.current.max_rejected_share."
        )
    clean, rejected_rows = result.clean, result.rejected
    if clean.empty:
        raise DataError(f"{path}: no valid line items to compare")
    if params.days is not None:
        clean = _last_days(clean, params.days)
        start = clean[S.TIMESTAMP].min()
        before = start - pd.Timedelta(1, "ns")
        rejected_rows = split_rejected(rejected_rows, before, before).current
    info = {
        "source": "lines",
        "path": str(path),
        "rows_in": result.report["rows_in"],
        "rows_rejected": result.report["rows_rejected"],
        "rejected_by_reason": {k: v for k, v in result.report["rejected_by_reason"].items() if v},
        "days": params.days,
    }
    return summarize_lines(
        clean, rejected_rows.drop(columns=[REASON_COLUMN], errors="ignore")
    ), info
