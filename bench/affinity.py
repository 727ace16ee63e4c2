"""Affinity stage time against the train stage's, on a public dataset (retail.dat by default).

Each round runs the real train stage (``panier.stages.train.stage.main``) and then the real affinity
stage (``panier.stages.affinity.stage.main``, which reads the model train just wrote), each in a
fresh process on the same working directory. Times are taken inside each process, from the
stage's start to its last file written (interpreter start and imports excluded, the same for
both); the ratio affinity / train is taken per round, then the median over rounds.

Bar (issue 15): the ratio affinity / train within 2.

    python bench/affinity.py                                 # retail, support 0.001
    python bench/affinity.py --dataset groceries --support 0.001 --confidence 0.8 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    DATASETS,
    RESULTS,
    canonical_lines,
    machine_note,
    markdown_table,
    measure,
    median,
    read_transactions,
    update_params,
)


def child(stage: str, workdir: str) -> None:
    """Run one stage's main in ``workdir``; print its in-process time as JSON."""
    os.chdir(workdir)
    import importlib

    module = importlib.import_module(f"panier.stages.{stage}.stage")
    started = time.perf_counter()
    module.main()
    seconds = time.perf_counter() - started
    facts = {}
    if stage == "train":
        facts = {"rules": json.loads(Path("metrics/train.json").read_text())["rules"]}
    else:
        summary = json.loads(Path("metrics/affinity.json").read_text())
        facts = {k: summary[k] for k in ("nodes", "edges", "groups")}
        facts["explorer_kb"] = round(Path("affinity/explorer.html").stat().st_size / 1024)
    print(json.dumps({"seconds": seconds, **facts}))


def prepare(dataset: str, root: Path) -> Path:
    """A working directory with the dataset as ``data/validated/clean.parquet``."""
    from panier.core import io

    workdir = root / dataset
    (workdir / "data/validated").mkdir(parents=True, exist_ok=True)
    io.write_parquet(
        canonical_lines(read_transactions(dataset)), workdir / "data/validated/clean.parquet"
    )
    repo_params = Path(__file__).resolve().parents[1] / "params.yaml"
    (workdir / "params.yaml").write_text(repo_params.read_text())
    return workdir


def run_bench(
    dataset: str, support: float, confidence: float, max_len: int, engine: str, repeats: int
) -> str:
    here = str(Path(__file__).resolve())
    rounds = []
    with tempfile.TemporaryDirectory(prefix="panier-bench-affinity-") as tmp:
        workdir = prepare(dataset, Path(tmp))
        update_params(
            workdir,
            {
                "train": {
                    "min_support": support,
                    "min_confidence": confidence,
                    "max_len": max_len,
                    "engine": engine,
                }
            },
        )
        for round_ in range(repeats):
            runs = {}
            for stage in ("train", "affinity"):
                run = measure([sys.executable, here, "--child", stage, str(workdir)], workdir)
                runs[stage] = (json.loads(run.stdout.strip().splitlines()[-1]), run)
            train, affinity = runs["train"][0], runs["affinity"][0]
            rounds.append((train, affinity, runs["train"][1], runs["affinity"][1]))
            print(
                f"round {round_ + 1}: train {train['seconds']:.2f} s, affinity "
                f"{affinity['seconds']:.2f} s, ratio "
                f"{affinity['seconds'] / train['seconds']:.2f}",
                flush=True,
            )
    train_s = median([r[0]["seconds"] for r in rounds])
    affinity_s = median([r[1]["seconds"] for r in rounds])
    ratio = median([r[1]["seconds"] / r[0]["seconds"] for r in rounds])
    last = rounds[-1]
    rows = [
        [
            dataset,
            support,
            confidence,
            max_len,
            last[0]["rules"],
            last[1]["nodes"],
            last[1]["edges"],
            last[1]["groups"],
            f"{train_s:.2f}",
            f"{affinity_s:.2f}",
            f"{ratio:.2f}",
            f"{median([r[2].peak_mb for r in rounds]):.0f}",
            f"{median([r[3].peak_mb for r in rounds]):.0f}",
            last[1]["explorer_kb"],
            len(rounds),
        ]
    ]
    return markdown_table(
        [
            "dataset",
            "support",
            "confidence",
            "max_len",
            "rules",
            "products",
            "edges",
            "groups",
            "train s",
            "affinity s",
            "ratio",
            "train MB",
            "affinity MB",
            "explorer KB",
            "runs",
        ],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="retail", choices=DATASETS)
    parser.add_argument("--support", type=float, default=0.001)
    parser.add_argument("--confidence", type=float, default=0.3)
    parser.add_argument("--max-len", type=int, default=3)
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    started = time.perf_counter()
    table = run_bench(
        args.dataset, args.support, args.confidence, args.max_len, args.engine, args.repeats
    )
    text = (
        f"## Affinity stage against the train stage\n\n{machine_note()}; took "
        f"{time.perf_counter() - started:.0f} s. Times are in-process, from the stage's "
        "start to its last output; 'ratio' is affinity s / train s per round, median over "
        f"rounds (the bar: within 2).\n\n{table}\n"
    )
    print("\n" + text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "affinity.md").write_text(text)


if __name__ == "__main__":
    main()
