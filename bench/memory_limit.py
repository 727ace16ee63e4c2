"""Where one machine ends: each stage's peak memory as the data grows, under a memory limit.

For each size (generated line items, doubling), a fresh copy of this repository runs the five
stages one after another, each as its own process (the command ``dvc repro`` runs) under
``prlimit --as`` (the address-space limit, default 6 GB: the machine is shared, so no run
may take more). A stage that fails (MemoryError, or killed) or whose peak resident memory
passes the limit ends the growth. Each stage's peak RSS is then fitted as a straight line in
the line items (least squares over the sizes from 2M on), and the fit says where that stage
would reach 24 GB: an extrapolation, printed apart from the measured figures.

    python bench/memory_limit.py                           # 1M, 2M, 4M, 8M, 16M, 32M
    python bench/memory_limit.py --sizes 1000000 4000000 --limit-gb 4
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _common import RESULTS, copy_repo, machine_note, markdown_table, measure
from pipeline_scale import params_for

SIZES = (1_000_000, 2_000_000, 4_000_000, 8_000_000, 16_000_000, 32_000_000)
STAGES = {
    "ingest": "ingest",
    "validate": "validate",
    "train": "train",
    "evaluate": "evaluate",
    "drift-check": "drift_check",
}
TARGET_GB = 24


def run_stages(repo: Path, limit_bytes: int) -> tuple[list[dict], str | None]:
    """Every stage in order under the limit: per stage its seconds and peak MB; the first
    failure's message (or ``None``)."""
    results = []
    for name, module in STAGES.items():
        args = [
            "prlimit",
            f"--as={limit_bytes}",
            "--",
            sys.executable,
            "-m",
            f"panier.stages.{module}.stage",
        ]
        try:
            run = measure(args, repo, timeout=3600)
        except RuntimeError as exc:
            lines = [line for line in str(exc).splitlines() if line.strip()]
            reason = next(
                (
                    line
                    for line in reversed(lines)
                    if "Error" in line or "failed" in line or "Killed" in line
                ),
                lines[0] if lines else "failed",
            )
            return results, f"{name}: {reason[:200]}"
        results.append({"stage": name, "seconds": run.seconds, "peak_mb": run.peak_mb})
        if run.peak_mb * 2**20 > limit_bytes:
            return results, f"{name}: peak {run.peak_mb:.0f} MB passed the limit"
    return results, None


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares line through ``(line items, MB)``: slope in MB per million, intercept."""
    x = np.array([p[0] for p in points]) / 1e6
    y = np.array([p[1] for p in points])
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    parser.add_argument("--limit-gb", type=float, default=6.0)
    args = parser.parse_args()
    limit = int(args.limit_gb * 2**30)
    started = time.perf_counter()
    note = machine_note()
    measured: list[dict] = []
    stopped = None
    with tempfile.TemporaryDirectory(prefix="panier-bench-memory-") as tmp:
        for size in args.sizes:
            repo = copy_repo(Path(tmp) / f"repo-{size}", params_for(size))
            stages, stopped = run_stages(repo, limit)
            info = (
                (repo / "data/raw/source.json").read_text()
                if (repo / "data/raw/source.json").exists()
                else ""
            )
            rows = re.search(r'"rows": (\d+)', info)
            lines = int(rows.group(1)) if rows else size
            for stage in stages:
                measured.append({"target": size, "lines": lines, **stage})
                print(
                    f"{lines:,} line items, {stage['stage']}: {stage['seconds']:.1f} s, "
                    f"{stage['peak_mb']:.0f} MB",
                    flush=True,
                )
            # Nothing of this size is needed any more: free the disk before the next one.
            shutil.rmtree(repo, ignore_errors=True)
            if stopped:
                print(f"{size:,} line items: stopped, {stopped}", flush=True)
                break
            print(f"load average now {os.getloadavg()[0]:.1f}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "memory_limit.csv", "w", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["target", "lines", "stage", "seconds", "peak_mb"]
        )
        writer.writeheader()
        writer.writerows(measured)

    sizes = sorted({m["lines"] for m in measured})
    by = {(m["lines"], m["stage"]): m for m in measured}
    table = markdown_table(
        ["line items", *(f"{s} MB" for s in STAGES), *(f"{s} s" for s in STAGES)],
        [
            [
                f"{n:,}",
                *(f"{by[(n, s)]['peak_mb']:.0f}" if (n, s) in by else "-" for s in STAGES),
                *(f"{by[(n, s)]['seconds']:.1f}" if (n, s) in by else "-" for s in STAGES),
            ]
            for n in sizes
        ],
    )
    fits = []
    for stage in STAGES:
        points = [
            (m["lines"], m["peak_mb"])
            for m in measured
            if m["stage"] == stage and m["lines"] >= 1_900_000
        ]
        if len(points) < 2:
            continue
        slope, intercept = fit(points)
        at_target = (TARGET_GB * 1024 - intercept) / slope * 1e6
        at_limit = (args.limit_gb * 1024 - intercept) / slope * 1e6
        fits.append(
            [
                stage,
                f"{slope:.0f}",
                f"{intercept:.0f}",
                f"{at_limit / 1e6:.1f}M",
                f"{at_target / 1e6:.0f}M",
                len(points),
            ]
        )
    text = (
        f"## Peak memory per stage as the data grows\n\n{note}; took "
        f"{time.perf_counter() - started:.0f} s. Each stage a process under `prlimit "
        f"--as={args.limit_gb:g}G`; peak resident MB (measured) and wall seconds (on a "
        "shared machine: indicative only). "
        + (f"Growth stopped at {stopped}." if stopped else "No stage hit the limit.")
        + "\n\n### Measured\n\n"
        + table
        + "\n\n### Fitted and extrapolated\n\nPeak MB = slope x millions of line items + "
        "intercept, least squares over the sizes from 2M on; the last two columns are "
        f"where that line reaches the run limit ({args.limit_gb:g} GB) and "
        f"{TARGET_GB} GB: **extrapolations**, not measurements.\n\n"
        + markdown_table(
            [
                "stage",
                "MB per 1M lines",
                "intercept MB",
                f"lines at {args.limit_gb:g} GB",
                f"lines at {TARGET_GB} GB",
                "points",
            ],
            fits,
        )
        + "\n"
    )
    print("\n" + text)
    (RESULTS / "memory_limit.md").write_text(text)


if __name__ == "__main__":
    main()
