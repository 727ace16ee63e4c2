"""Ingest + validate of 1,000,000 line items: the two stages' time and peak memory, per source
format, against pyarrow merely reading the same file.

Each scenario runs the real stage functions (``panier.stages.ingest.stage.main`` then
``panier.stages.validate.stage.main``) in a fresh child process, in a scratch workspace with its own
params.yaml, so that the peak memory measured is that of the two stages alone. The reference
is pyarrow reading the same file into memory (the floor any CSV ingest pays), measured in the
same child: the ratio says how much the mapping, coercion and validation cost on top.

Target: under 15 s and under 2 GB peak RSS on a 2-core machine.

    python bench/ingest_validate.py              # 1,000,000 rows
    python bench/ingest_validate.py --rows 200000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 15.0
TARGET_MB = 2048
SCENARIOS = {
    # name: (file, params.ingest overrides)
    "retail export CSV (US dates, text ids)": (
        "export.csv",
        {"mapping": {"preset": "retail_export"}},
    ),
    "retail export CSV, gzip": ("export.csv.gz", {"mapping": {"preset": "retail_export"}}),
    "canonical Parquet": ("lines.parquet", {}),
}


def make_inputs(folder: Path, rows: int) -> None:
    """Generated line items (with the generator's 1% dirt), written as a shop would."""
    import pandas as pd

    from panier.core.config import GeneratorParams
    from panier.stages.ingest.generate import generate_line_items

    lines = generate_line_items(
        GeneratorParams(n_invoices=rows // 5, n_items=4000, n_customers=40_000, dirty_share=0.01)
    )
    lines = lines.head(rows)
    lines.to_parquet(folder / "lines.parquet", index=False)
    when = lines["timestamp"]
    export = pd.DataFrame(
        {
            "InvoiceNo": lines["invoice_id"],
            "StockCode": lines["item_code"],
            "Description": lines["description"],
            "Quantity": lines["quantity"],
            # 12/1/2010 8:26, the common export's style
            "InvoiceDate": (
                when.dt.month.astype(str)
                + "/"
                + when.dt.day.astype(str)
                + "/"
                + when.dt.year.astype(str)
                + " "
                + when.dt.hour.astype(str)
                + ":"
                + when.dt.strftime("%M")
            ),
            "UnitPrice": lines["unit_price"],
            "CustomerID": lines["customer_id"],
            "Country": lines["country"],
        }
    )
    export.to_csv(folder / "export.csv", index=False)
    export.to_csv(
        folder / "export.csv.gz", index=False, compression={"method": "gzip", "compresslevel": 6}
    )


def child(workspace: Path, source: Path) -> None:
    """Run in a fresh process: reference read, then the two stages; print JSON."""
    import logging

    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    os.chdir(workspace)
    started = time.perf_counter()
    if source.suffix == ".parquet":
        pq.read_table(source)
    else:
        pacsv.read_csv(source)
    reference = time.perf_counter() - started

    from panier.stages.ingest import stage as ingest
    from panier.stages.validate import stage as validate

    logging.disable(logging.CRITICAL)
    started = time.perf_counter()
    ingest.main()
    ingested = time.perf_counter()
    try:
        validate.main()
    except Exception as exc:  # a threshold failure still did all the work
        print(f"validate: {exc}"[:200], file=sys.stderr)
    done = time.perf_counter()
    report = json.loads(Path("metrics/validation.json").read_text())
    print(
        json.dumps(
            {
                "reference": reference,
                "ingest": ingested - started,
                "validate": done - ingested,
                "rows": report["rows_in"],
                "rejected": report["rows_rejected"],
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def run_scenario(folder: Path, file: str, overrides: dict) -> dict:
    workspace = folder / f"ws-{file}"
    (workspace / "data").mkdir(parents=True, exist_ok=True)
    (workspace / "data" / "reference_schema.json").write_bytes(
        (ROOT / "data" / "reference_schema.json").read_bytes()
    )
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["ingest"].update({"source": "file", "path": str(folder / file), **overrides})
    params["validate"]["max_rejected_share"] = 0.5
    (workspace / "params.yaml").write_text(yaml.safe_dump(params))
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(workspace), str(folder / file)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return

    with tempfile.TemporaryDirectory(prefix="panier-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        make_inputs(folder, args.rows)
        print(
            f"inputs: {args.rows:,} line items, written in {time.perf_counter() - started:.1f} s"
            f" (CSV {(folder / 'export.csv').stat().st_size / 1e6:.0f} MB); "
            f"{os.cpu_count()} CPUs"
        )
        print()
        print(
            "| source | rows | ingest s | validate s | total s | peak MB | total / pyarrow "
            "read | target |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for name, (file, overrides) in SCENARIOS.items():
            r = run_scenario(folder, file, overrides)
            total = r["ingest"] + r["validate"]
            ok = total < TARGET_SECONDS and r["peak_mb"] < TARGET_MB
            print(
                f"| {name} | {r['rows']:,} | {r['ingest']:.1f} | {r['validate']:.1f} | "
                f"{total:.1f} | {r['peak_mb']:,.0f} | {total / r['reference']:.1f}x | "
                f"{'met' if ok else 'MISSED'} (< {TARGET_SECONDS:g} s, < {TARGET_MB} MB) |"
            )


if __name__ == "__main__":
    main()
