"""The validate stage's memory with each engine: the stage's own process (the Spark driver)
against pandas, as the data grows.

For each size (generated line items), a fresh copy of this repository runs ingest once, then
the validate stage with ``validate.engine: pandas`` and with ``spark`` (local mode,
``train.spark.master``), each as its own process. Resident memory is sampled every 0.1 s
from /proc: the stage's Python process alone, and its descendants (Spark's JVM, which in
local mode holds the executors too) apart. With Spark the line items stay in the JVM, so the
Python process should stay flat as the data grows; the JVM's memory is set by its heap, not
by the data.

    python bench/validate_spark.py                         # 250k, 500k, 1M line items
    python bench/validate_spark.py --sizes 2000000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml
from _common import copy_repo, machine_note, markdown_table, measure, tool_env
from pipeline_scale import params_for

SIZES = (250_000, 500_000, 1_000_000)


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        found += [int(c) for c in children]
        todo += [int(c) for c in children]
    return found


def run_sampled(args: list[str], cwd: Path) -> dict:
    """Run ``args``; wall seconds and the peak RSS of the process and of its descendants."""
    started = time.perf_counter()
    process = subprocess.Popen(
        args, cwd=cwd, env=tool_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    own = others = 0.0
    while process.poll() is None:
        own = max(own, _rss_mb(process.pid))
        others = max(others, sum(_rss_mb(p) for p in _descendants(process.pid)))
        time.sleep(0.1)
    stderr = process.stderr.read().decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {process.returncode}\n{stderr[-3000:]}")
    return {"seconds": time.perf_counter() - started, "python_mb": own, "jvm_mb": others}


def one_size(lines: int, root: Path) -> list[dict]:
    repo = copy_repo(root / f"repo-{lines}", params_for(lines))
    measure([sys.executable, "-m", "panier.stages.ingest.stage"], repo)
    rows = []
    for engine in ("pandas", "spark"):
        params = yaml.safe_load((repo / "params.yaml").read_text())
        params["validate"]["engine"] = engine
        params["validate"]["max_rejected_share"] = 1.0
        (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        run = run_sampled([sys.executable, "-m", "panier.stages.validate.stage"], repo)
        rows.append({"lines": lines, "engine": engine, **run})
        print(
            f"{lines:>10,} {engine:<6} {run['seconds']:7.1f} s  python {run['python_mb']:7.0f} MB"
            f"  jvm {run['jvm_mb']:7.0f} MB",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="panier-validate-spark-") as root:
        for lines in args.sizes:
            rows += one_size(lines, Path(root))
    table = [
        [
            f"{r['lines']:,}",
            r["engine"],
            f"{r['seconds']:.1f}",
            f"{r['python_mb']:.0f}",
            f"{r['jvm_mb']:.0f}" if r["engine"] == "spark" else "-",
        ]
        for r in rows
    ]
    print()
    print(markdown_table(["line items", "engine", "s", "Python MB", "JVM MB"], table))
    print()
    print(machine_note())


if __name__ == "__main__":
    main()
