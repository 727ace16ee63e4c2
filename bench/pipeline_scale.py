"""Whole ``dvc repro`` time and peak memory on generated data of growing size: the growth
curve of one machine.

Each run is a fresh copy of this repository (its own empty DVC cache) with the generator
sized to the target number of line items, then one ``dvc repro`` of the whole pipeline. Wall
time, CPU time (user + system, of DVC and every stage: what an idle machine would need) and
peak memory (the largest process of the run) are measured from outside; each stage's own
time comes from its log. Writes ``bench/results/pipeline_scale.{md,csv,png}``.

Targets at 1,000,000 line items: under 60 s and under 2 GB (the dotted lines of the plot).

    python bench/pipeline_scale.py                          # 10k, 100k, 1M, 5M line items
    python bench/pipeline_scale.py --sizes 1000000 --repeats 5
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, copy_repo, machine_note, markdown_table, measure, median

SIZES = (10_000, 100_000, 1_000_000, 5_000_000)
#: Raw line items per generated invoice at the default params (125,694 rows from 20,000).
LINES_PER_INVOICE = 6.285
STAGES = ("ingest", "validate", "train", "evaluate", "drift-check")
DONE = re.compile(r"(ingest|validate|train|evaluate|drift-check): done in ([\d.]+) s")


def params_for(lines: int) -> dict:
    invoices = max(100, round(lines / LINES_PER_INVOICE))
    # Customers grow with invoices (5 invoices each on average, as in the defaults); the
    # catalog stays at the default 500 items.
    return {
        "ingest": {"generator": {"n_invoices": invoices, "n_customers": max(50, invoices // 5)}}
    }


def one_run(lines: int, root: Path) -> dict:
    repo = copy_repo(root / f"repo-{lines}", params_for(lines))
    run = measure(["dvc", "repro"], repo)
    stages = {name: float(seconds) for name, seconds in DONE.findall(run.stdout + run.stderr)}
    rows = re.search(r"ingest: ([\d,]+) line items", run.stdout + run.stderr)
    return {
        "lines": int(rows.group(1).replace(",", "")) if rows else lines,
        "seconds": run.seconds,
        "cpu_seconds": run.cpu_seconds,
        "peak_mb": run.peak_mb,
        **{f"{name}_s": stages.get(name, float("nan")) for name in STAGES},
    }


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = [r["lines"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.loglog(lines, [r["seconds"] for r in rows], "o-", label="wall time (shared machine)")
    left.loglog(lines, [r["cpu_seconds"] for r in rows], "s-", label="CPU time (user+sys)")
    left.axhline(60, color="grey", linestyle=":", label="target at 1M: 60 s")
    left.set_xlabel("line items")
    left.set_ylabel("seconds, whole dvc repro")
    left.legend()
    left.grid(True, which="both", alpha=0.3)
    right.loglog(lines, [r["peak_mb"] for r in rows], "o-", label="peak memory")
    anchor = rows[-1]
    right.loglog(
        lines,
        [anchor["peak_mb"] * n / anchor["lines"] for n in lines],
        "--",
        color="grey",
        label="proportional to the data",
    )
    right.axhline(2048, color="grey", linestyle=":", label="target at 1M: 2 GB")
    right.set_xlabel("line items")
    right.set_ylabel("MB, largest process")
    right.legend()
    right.grid(True, which="both", alpha=0.3)
    fig.suptitle("Panier: whole-pipeline growth curve (dvc repro, 5 stages)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    parser.add_argument("--repeats", type=int, default=3, help="runs per size up to 1M")
    parser.add_argument("--big-repeats", type=int, default=1, help="runs per size above 1M")
    args = parser.parse_args()
    started = time.perf_counter()
    note = machine_note()
    summary = []
    with tempfile.TemporaryDirectory(prefix="panier-bench-scale-") as tmp:
        for size in args.sizes:
            runs = []
            for _ in range(args.repeats if size <= 1_000_000 else args.big_repeats):
                runs.append(one_run(size, Path(tmp)))
                print(
                    f"{size:,} line items: {runs[-1]['seconds']:.1f} s, "
                    f"{runs[-1]['cpu_seconds']:.1f} CPU s, {runs[-1]['peak_mb']:.0f} MB",
                    flush=True,
                )
            summary.append(
                {key: median([r[key] for r in runs]) for key in runs[0]} | {"runs": len(runs)}
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "pipeline_scale.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(summary[0]))
        writer.writeheader()
        writer.writerows(summary)
    plot(summary, RESULTS / "pipeline_scale.png")
    base = summary[0]
    table = markdown_table(
        [
            "line items",
            "dvc repro s",
            "CPU s",
            "peak MB",
            "MB per 1M lines",
            "data x",
            "memory x",
            *(f"{s} s" for s in STAGES),
            "runs",
        ],
        [
            [
                f"{r['lines']:,.0f}",
                f"{r['seconds']:.1f}",
                f"{r['cpu_seconds']:.1f}",
                f"{r['peak_mb']:.0f}",
                f"{r['peak_mb'] / r['lines'] * 1e6:.0f}",
                f"{r['lines'] / base['lines']:.0f}",
                f"{r['peak_mb'] / base['peak_mb']:.1f}",
                *(f"{r[f'{s}_s']:.1f}" for s in STAGES),
                r["runs"],
            ]
            for r in summary
        ],
    )
    text = (
        f"## Whole pipeline by data size\n\n{note}; took "
        f"{time.perf_counter() - started:.0f} s. Medians over runs; stage columns are "
        "each stage's own time from its log (the rest of the wall time is interpreter "
        "start, imports and DVC's own work between stages). Plot: "
        "`bench/results/pipeline_scale.png`.\n\n" + table + "\n"
    )
    print("\n" + text)
    (RESULTS / "pipeline_scale.md").write_text(text)


if __name__ == "__main__":
    main()
