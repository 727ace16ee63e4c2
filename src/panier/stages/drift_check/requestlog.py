"""Request logs of the serving application, read as a drift-check window.

The contract (the serving application writes to it): JSON Lines files, rotated as
``requests.jsonl``, ``requests.jsonl.1``, ... (optionally gzip-compressed, ``.gz``), one object
per request::

    {"time": "2025-12-30T10:15:00Z", "request_id": "...", "basket": ["10040", "10001"],
     "k": 5, "recommended": ["10055", ...], "fallback": false, "model_version": "...",
     "unknown": ["10001"]}

``basket`` holds every item sent, including those the served model did not know (listed
again in ``unknown``, which older logs lack): new products are part of the current window.

Each request is one basket. Logs hold no prices, quantities, customers or countries, so only
basket-level drift tests apply to them. Every line read ends up used, rejected with a reason,
or outside the requested period, and the report's counts add up.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from panier.core.errors import DataError

REASONS: dict[str, str] = {
    "malformed_json": "not valid JSON (for example a line cut off while being written)",
    "not_an_object": "valid JSON but not an object",
    "missing_time": "no time",
    "unparseable_time": "time is not an ISO-8601 timestamp",
    "missing_basket": "no basket",
    "invalid_basket": "basket is not a list of item codes",
    "empty_basket": "basket holds no item",
    "duplicate_request": "request_id already read (overlapping or repeated log files)",
}
_ROTATED = re.compile(r"\.\d+(\.gz)?$")
_EXAMPLES = 3


@dataclass(frozen=True)
class RequestLog:
    """The usable requests (one basket each, oldest first) and the report that accounts for
    every line read."""

    baskets: list[list[str]]
    times: pd.Series
    report: dict


def log_files(path: str) -> list[Path]:
    """The files ``path`` names: a glob pattern, or a file plus its rotated siblings
    (``path.1``, ``path.2.gz``, ...). Sorted by name, so the order is the same every run."""
    if any(ch in path for ch in "*?["):
        found = [Path(p) for p in glob.glob(path)]
    else:
        base = Path(path)
        found = [base] if base.is_file() else []
        if base.parent.is_dir():
            found += [
                p
                for p in base.parent.glob(glob.escape(base.name) + ".*")
                if _ROTATED.search(p.name[len(base.name) :])
            ]
    return sorted((p for p in found if p.is_file()), key=str)


def _open(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open("r", encoding="utf-8", errors="replace")


def _time(value) -> datetime | None:
    """ISO-8601 time as naive UTC (times without an offset are taken as UTC)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _basket(value) -> list[str] | None:
    if not isinstance(value, list):
        return None
    items = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str | int):
            return None
        items.append(str(item).strip())
    return items


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_request_log(
    path: str, days: int | None = None, max_rejected_share: float = 0.05
) -> RequestLog:
    """Read every request of the log files ``path`` names.

    ``days`` keeps only requests in the last ``days`` days before the newest one. Raises
    ``DataError`` when no file matches, no request is usable, or more than
    ``max_rejected_share`` of the lines are rejected (with counts by reason, example lines
    and the fix).
    """
    files = log_files(path)
    if not files:
        raise DataError(
            f"no request log matches {path!r} (drift.current.path): give the path of the "
            "serving application's requests.jsonl, or a glob such as 'logs/requests.jsonl*'"
        )
    rejected = dict.fromkeys(REASONS, 0)
    examples: dict[str, list[str]] = {}
    seen: set[str] = set()
    times, baskets, fallback, versions, ks = [], [], [], [], []
    lines_read = 0
    file_info = []

    def reject(reason: str, where: str, text: str) -> None:
        rejected[reason] += 1
        shown = examples.setdefault(reason, [])
        if len(shown) < _EXAMPLES:
            shown.append(f"{where}: {text.strip()[:100]}")

    for file in files:
        count = 0
        with _open(file) as handle:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                count += 1
                where = f"{file}:{number}"
                try:
                    record = json.loads(text)
                except json.JSONDecodeError:
                    reject("malformed_json", where, text)
                    continue
                if not isinstance(record, dict):
                    reject("not_an_object", where, text)
                    continue
                if record.get("time") in (None, ""):
                    reject("missing_time", where, text)
                    continue
                moment = _time(record["time"])
                if moment is None:
                    reject("unparseable_time", where, text)
                    continue
                if "basket" not in record or record["basket"] is None:
                    reject("missing_basket", where, text)
                    continue
                basket = _basket(record["basket"])
                if basket is None:
                    reject("invalid_basket", where, text)
                    continue
                basket = [item for item in basket if item]
                if not basket:
                    reject("empty_basket", where, text)
                    continue
                request_id = record.get("request_id")
                if isinstance(request_id, str) and request_id:
                    if request_id in seen:
                        reject("duplicate_request", where, text)
                        continue
                    seen.add(request_id)
                times.append(moment)
                baskets.append(basket)
                fallback.append(record.get("fallback") is True)
                versions.append(str(record.get("model_version")))
                ks.append(str(record.get("k")))
        lines_read += count
        file_info.append({"path": str(file), "lines": count, "sha256": _sha256(file)})

    n_rejected = sum(rejected.values())
    share = n_rejected / lines_read if lines_read else 0.0
    if not baskets or share > max_rejected_share:
        problem = (
            "no usable request"
            if not baskets
            else f"{n_rejected:,} of {lines_read:,} lines rejected ({share:.1%}), above "
            f"drift.current.max_rejected_share ({max_rejected_share:.1%})"
        )
        lines = [f"request log {path!r} ({len(files)} file(s), {lines_read:,} lines): {problem}."]
        for reason, n in sorted(rejected.items(), key=lambda kv: -kv[1]):
            if n:
                lines.append(f"  {reason} ({REASONS[reason]}): {n:,} lines, e.g.")
                lines.extend(f"    {example}" for example in examples[reason])
        lines.append(
            'Each line must be one JSON object with at least "time" (ISO-8601 UTC) '
            'and "basket" (a list of item codes). Fix the writer, or raise '
            "drift.current.max_rejected_share if these lines are expected."
        )
        raise DataError("\n".join(lines))

    frame = pd.DataFrame({"time": pd.to_datetime(times), "order": range(len(times))})
    frame = frame.sort_values(["time", "order"], kind="stable")
    outside = 0
    if days is not None:
        start = frame["time"].max() - pd.Timedelta(days=days)
        keep = frame["time"] > start
        outside = int((~keep).sum())
        frame = frame[keep]
    order = frame["order"].to_numpy()
    used_fallback = [fallback[i] for i in order]

    def tally(values: list[str]) -> dict[str, int]:
        return {
            str(k): int(v)
            for k, v in pd.Series([values[i] for i in order], dtype=object)
            .value_counts()
            .sort_index()
            .items()
        }

    report = {
        "source": "requests",
        "path": path,
        "files": file_info,
        "lines_read": lines_read,
        "requests_used": len(order),
        "lines_rejected": n_rejected,
        "rejected_by_reason": rejected,
        "outside_days": outside,
        "days": days,
        "first": frame["time"].min(),
        "last": frame["time"].max(),
        "logged_fallback_share": (sum(used_fallback) / len(order)) if len(order) else 0.0,
        "model_versions": tally(versions),
        "k": tally(ks),
    }
    return RequestLog([baskets[i] for i in order], frame["time"].reset_index(drop=True), report)
