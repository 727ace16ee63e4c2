"""The spark engine's cost on a standalone cluster against local mode, on this machine.

Starts a Spark standalone master and two workers on 127.0.0.1 (one core and 1 GB each; the
same ``SparkCluster`` the tests use, from the installed pyspark), then runs the real train
stage on retail.dat at support 0.001 in rounds, each round once in local mode
(``local[2]``: the same two cores) and once on the cluster, plus pyfim as the reference, in
fresh processes. Reports the stage's in-process time (reading input to writing the model:
session start, shipping the baskets to executors, mining, collecting) and the process's wall
time and peak memory; the ratio cluster / local is taken per round, then the median.

    python bench/spark_cluster.py                  # 2 rounds
    python bench/spark_cluster.py --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # SparkCluster

from _common import RESULTS, machine_note, markdown_table, measure, median, update_params
from engines import prepare

HERE = Path(__file__).resolve().parent
SUPPORT, CONFIDENCE, MAX_LEN = 0.001, 0.8, 10
LOOPBACK = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
}


def one(workdir: Path, engine: str, master: str | None) -> dict:
    train = {
        "min_support": SUPPORT,
        "min_confidence": CONFIDENCE,
        "max_len": MAX_LEN,
        "engine": engine,
    }
    if master:
        train["spark"] = {"master": master, "conf": LOOPBACK if master.startswith("spark") else {}}
    update_params(workdir, {"train": train})
    shutil.rmtree(workdir / "models", ignore_errors=True)
    run = measure(
        [sys.executable, str(HERE / "engines.py"), "--child-train", str(workdir)], workdir
    )
    report = json.loads(run.stdout.strip().splitlines()[-1])
    return {
        "stage_s": report["seconds"],
        "wall_s": run.seconds,
        "peak_mb": run.peak_mb,
        "rules": report["rules"],
        "model": (workdir / "models/rules.parquet").read_bytes(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from support.servers import SparkCluster

    started = time.perf_counter()
    note = machine_note()
    cluster = SparkCluster(workers=2, cores=1, memory="1g")
    t0 = time.perf_counter()
    cluster.start(timeout=300)
    cluster_start = time.perf_counter() - t0
    print(f"cluster up in {cluster_start:.1f} s at {cluster.master}", flush=True)
    runs: dict[str, list[dict]] = {"pyfim": [], "local[2]": [], "cluster": []}
    try:
        with tempfile.TemporaryDirectory(prefix="panier-bench-cluster-") as tmp:
            workdir = prepare("retail", Path(tmp))
            for round_ in range(args.repeats):
                for name, engine, master in (
                    ("pyfim", "pyfim", None),
                    ("local[2]", "spark", "local[2]"),
                    ("cluster", "spark", cluster.master),
                ):
                    runs[name].append(one(workdir, engine, master))
                    r = runs[name][-1]
                    print(
                        f"round {round_ + 1} {name}: stage {r['stage_s']:.1f} s, wall "
                        f"{r['wall_s']:.1f} s, {r['peak_mb']:.0f} MB, {r['rules']} rules",
                        flush=True,
                    )
    finally:
        cluster.stop()
    models = {r["model"] for rs in runs.values() for r in rs}
    if len(models) != 1:
        raise SystemExit("the engines' rules differ: not a fair comparison")
    ratios = [c["stage_s"] / loc["stage_s"] for c, loc in zip(runs["cluster"], runs["local[2]"])]
    rows = [
        [
            name,
            f"{median([r['stage_s'] for r in rs]):.1f}",
            f"{median([r['wall_s'] for r in rs]):.1f}",
            f"{median([r['peak_mb'] for r in rs]):.0f}",
            rs[0]["rules"],
            len(rs),
        ]
        for name, rs in runs.items()
    ]
    text = (
        f"## Spark: standalone cluster against local mode\n\n{note}; took "
        f"{time.perf_counter() - started:.0f} s. retail.dat, support {SUPPORT}, confidence "
        f"{CONFIDENCE}; train stage (in-process seconds, process wall seconds, peak MB of "
        "the driver process: the cluster's JVMs are separate processes). Cluster: a master "
        f"and two 1-core, 1 GB workers on 127.0.0.1, started in {cluster_start:.1f} s "
        "(once, not counted in the runs). Identical rules from every run.\n\n"
        + markdown_table(["engine", "stage s", "wall s", "driver peak MB", "rules", "runs"], rows)
        + f"\n\ncluster / local[2] stage time: {median(ratios):.2f} (median of per-round "
        f"ratios {', '.join(f'{r:.2f}' for r in ratios)})\n"
    )
    print("\n" + text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "spark_cluster.md").write_text(text)


if __name__ == "__main__":
    main()
