"""Run every speed benchmark of the mining, sweep and scale-out work and collect their tables.

    python bench/run_all.py            # about an hour on a busy 2-core machine
    python bench/run_all.py --quick    # fewer rounds, no 5M run, no Spark: a smoke run

Each benchmark prints its table and writes it to ``bench/results/``; this script then joins
them into ``bench/results/all.md``. Needs ``../shared/data`` and the ``pyfim`` extra (the
reference); the ``spark`` engine runs when pyspark and Java are installed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        runs = [
            ["engines.py", "--repeats", "1", "--engines", "mlxtend", "pyfim"],
            ["pipeline_scale.py", "--sizes", "10000", "100000", "1000000", "--repeats", "1"],
            ["sweep.py", "--repeats", "1"],
        ]
    else:
        runs = [["engines.py"], ["pipeline_scale.py"], ["sweep.py"]]
    for script, *options in runs:
        print(f"\n=== {script} {' '.join(options)}", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *options], check=True)
    parts = [
        (RESULTS / name).read_text() for name in ("engines.md", "pipeline_scale.md", "sweep.md")
    ]
    (RESULTS / "all.md").write_text("# Benchmark results\n\n" + "\n".join(parts))
    print(f"\nwrote {RESULTS / 'all.md'}")


if __name__ == "__main__":
    main()
