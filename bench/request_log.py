"""What the request log's resilience costs: lines per second through ``RequestLog`` against
a reference writer that only appends (one buffered file opened once, one write per batch:
the log as it was before it checked for a removed or renamed file and kept unwritten lines
through a full disk).

    python bench/request_log.py                  # 5 rounds of 200,000 lines, interleaved
    python bench/request_log.py --lines 50000 --rounds 3

Both write the same encoded lines in batches of ``RequestLog.BATCH_LINES`` to a temporary
folder, alternating round by round so that the machine's load hits both alike. Prints the
median time per line of each and their ratio, with the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import orjson

from panier_service.request_log import RequestLog


class AppendOnly:
    """The reference: append each batch to one file opened once; nothing else."""

    def __init__(self, path: Path):
        self._file = open(path, "ab")  # noqa: SIM115
        self._buffer: list[bytes] = []

    def write(self, record: dict) -> None:
        self._buffer.append(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        if len(self._buffer) >= RequestLog.BATCH_LINES:
            self.flush()

    def flush(self) -> None:
        lines, self._buffer = self._buffer, []
        self._file.write(b"".join(lines))
        self._file.flush()

    def close(self) -> None:
        self.flush()
        self._file.close()


def run(make, folder: Path, records: list[dict]) -> float:
    """Seconds per line to write ``records`` through a fresh writer."""
    log = make(folder / "requests.jsonl")
    started = time.perf_counter()
    for record in records:
        log.write(record)
    log.close()
    seconds = time.perf_counter() - started
    for path in folder.iterdir():
        path.unlink()
    return seconds / len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    records = [
        {
            "time": "2026-11-21T13:47:54.620Z",
            "request_id": f"{i:032x}",
            "basket": ["10040", "10070", str(10_000 + i % 400)],
            "k": 5,
            "recommended": ["10055", "10085", "10100", "10001", "10002"],
            "fallback": False,
            "model_version": "local-a2f7fb5521ba",
            "unknown": [],
        }
        for i in range(args.lines)
    ]
    writers = {
        "RequestLog": lambda p: RequestLog(p, max_bytes=10 * 1024 * 1024, backups=10),
        "append-only reference": AppendOnly,
    }
    times: dict[str, list[float]] = {name: [] for name in writers}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for name, make in writers.items():
                times[name].append(run(make, Path(tmp), records))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{args.lines:,} lines x {args.rounds} rounds, interleaved; load average {load}")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"  {name:24s} {value * 1e9:8.0f} ns/line")
    print(
        f"  ratio RequestLog / reference: "
        f"{medians['RequestLog'] / medians['append-only reference']:.2f}"
    )


if __name__ == "__main__":
    main()
