"""Train stage time and peak memory per engine on the public datasets, next to pyfim alone.

For each dataset and support, the real train stage (``panier.stages.train.stage.main``: read the
clean line items, split the windows, build baskets, mine, derive rules, write the model) runs
in a fresh process per engine, and so does "pyfim alone", the limit: read the same Parquet
file with pyarrow, group it into transactions, let pyfim mine itemsets and rules in C, write
the rules. Times are taken inside each process, from reading input to having written output
(interpreter start and imports excluded, the same for both); peak memory is the process's
peak RSS. Each pair runs in the same round, and the ratio is taken per round, then the
median over rounds.

    python bench/engines.py                       # all datasets, supports and engines
    python bench/engines.py --datasets retail --supports 0.001 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools

from _common import (
    DATASETS,
    LAST_ITEM,
    RESULTS,
    canonical_lines,
    machine_note,
    markdown_table,
    measure,
    median,
    read_transactions,
    update_params,
)

SUPPORTS = (0.01, 0.005, 0.0025, 0.001)
CONFIDENCE = 0.8
MAX_LEN = 20  # longer than any frequent itemset here: the complete mining problem


def child_train(workdir: str) -> None:
    """Run the train stage's main in ``workdir``; print its in-process time as JSON."""
    os.chdir(workdir)
    from panier.stages.train import stage as train

    started = time.perf_counter()
    train.main()
    seconds = time.perf_counter() - started
    counts = json.loads(Path("metrics/train.json").read_text())
    print(
        json.dumps({"seconds": seconds, "rules": counts["rules"], "itemsets": counts["itemsets"]})
    )


def child_pyfim_alone(workdir: str, support: float, confidence: float, max_len: int) -> None:
    """The limit: the same input and output with nothing but pyarrow, numpy and pyfim."""
    import fim
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    os.chdir(workdir)
    started = time.perf_counter()
    table = pq.read_table("data/validated/clean.parquet", columns=["invoice_id", "item_code"])
    table = table.filter(pc.not_equal(table["item_code"], LAST_ITEM))
    invoices = pc.dictionary_encode(table["invoice_id"]).combine_chunks()
    items = pc.dictionary_encode(table["item_code"]).combine_chunks()
    basket = invoices.indices.to_numpy()
    order = np.argsort(basket, kind="stable")
    item_ids = items.indices.to_numpy()[order].tolist()
    bounds = [0, *(np.flatnonzero(np.diff(basket[order])) + 1).tolist(), len(item_ids)]
    transactions = [item_ids[a:b] for a, b in itertools.pairwise(bounds)]
    threshold = math.ceil(Fraction(str(support)) * len(transactions))
    rules = fim.fpgrowth(
        transactions,
        target="r",
        supp=-threshold,
        conf=confidence * 100,
        zmin=2,
        zmax=max_len,
        report="aC",
    )
    codes = items.dictionary.to_pylist()
    pq.write_table(
        pa.table(
            {
                "antecedent": [[codes[i] for i in body] for _, body, _, _ in rules],
                "consequent": [codes[head] for head, _, _, _ in rules],
                "count": [count for _, _, count, _ in rules],
                "confidence": [conf / 100 for _, _, _, conf in rules],
            }
        ),
        "pyfim_rules.parquet",
        compression="zstd",
    )
    print(json.dumps({"seconds": time.perf_counter() - started, "rules": len(rules)}))


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


def run_bench(datasets, supports, engines, repeats, spark_repeats) -> str:
    from panier.stages.train import engines as engine_registry

    available = [e for e in engines if engine_registry.installed(e)]
    skipped = sorted(set(engines) - set(available))
    if not engine_registry.installed("pyfim"):
        raise SystemExit("pyfim alone is the reference: pip install 'panier[pyfim]'")
    here = str(Path(__file__).resolve())
    sections = []
    with tempfile.TemporaryDirectory(prefix="panier-bench-engines-") as tmp:
        for dataset in datasets:
            workdir = prepare(dataset, Path(tmp))
            rows = []
            for support in supports:
                results: dict[str, list[tuple[float, float, float, int]]] = {}
                reference: list[tuple[float, float]] = []
                for round_ in range(repeats):
                    alone = measure(
                        [sys.executable, here, "--child-pyfim", str(workdir), str(support)], workdir
                    )
                    reference.append((json.loads(alone.stdout)["seconds"], alone.peak_mb))
                    for engine in available:
                        if engine == "spark" and round_ >= spark_repeats:
                            continue
                        update_params(
                            workdir,
                            {
                                "train": {
                                    "min_support": support,
                                    "min_confidence": CONFIDENCE,
                                    "max_len": MAX_LEN,
                                    "engine": engine,
                                    "spark": {"master": "local[2]", "conf": {}},
                                }
                            },
                        )
                        run = measure(
                            [sys.executable, here, "--child-train", str(workdir)], workdir
                        )
                        report = json.loads(run.stdout.strip().splitlines()[-1])
                        results.setdefault(engine, []).append(
                            (
                                report["seconds"],
                                run.peak_mb,
                                report["seconds"] / reference[-1][0],
                                report["rules"],
                            )
                        )
                        print(
                            f"{dataset} {support} round {round_ + 1} {engine}: "
                            f"{report['seconds']:.2f} s, {run.peak_mb:.0f} MB, "
                            f"pyfim alone {reference[-1][0]:.2f} s",
                            flush=True,
                        )
                rule_counts = {e: {r[3] for r in rs} for e, rs in results.items()}
                if len(set().union(*rule_counts.values())) != 1:
                    raise SystemExit(f"engines disagree on {dataset} {support}: {rule_counts}")
                ref_seconds = median([s for s, _ in reference])
                ref_mb = median([m for _, m in reference])
                for engine, rs in results.items():
                    rows.append(
                        [
                            support,
                            engine,
                            f"{median([r[0] for r in rs]):.2f}",
                            f"{median([r[1] for r in rs]):.0f}",
                            f"{ref_seconds:.2f}",
                            f"{ref_mb:.0f}",
                            f"{median([r[2] for r in rs]):.2f}",
                            rs[0][3],
                            len(rs),
                        ]
                    )
            sections.append(
                f"### {dataset}\n\n"
                + markdown_table(
                    [
                        "support",
                        "engine",
                        "train s",
                        "peak MB",
                        "pyfim alone s",
                        "pyfim alone MB",
                        "ratio",
                        "rules",
                        "runs",
                    ],
                    rows,
                )
            )
    note = (
        f"Confidence {CONFIDENCE}, max_len {MAX_LEN} (no limit in effect). 'train s' is "
        "the train stage from reading its input to writing the model; 'ratio' is train s "
        "/ pyfim alone s, taken per round, median over rounds."
    )
    if skipped:
        note += f" Not installed, skipped: {', '.join(skipped)}."
    return note + "\n\n" + "\n\n".join(sections)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--supports", nargs="+", type=float, default=list(SUPPORTS))
    parser.add_argument("--engines", nargs="+", default=["mlxtend", "pyfim", "spark"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--spark-repeats", type=int, default=1, help="rounds that run spark (each pays a JVM start)"
    )
    parser.add_argument("--child-train", help=argparse.SUPPRESS)
    parser.add_argument("--child-pyfim", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_train:
        return child_train(args.child_train)
    if args.child_pyfim:
        return child_pyfim_alone(
            args.child_pyfim[0], float(args.child_pyfim[1]), CONFIDENCE, MAX_LEN
        )
    started = time.perf_counter()
    text = run_bench(args.datasets, args.supports, args.engines, args.repeats, args.spark_repeats)
    text = (
        f"## Train stage per engine\n\n{machine_note()}; took "
        f"{time.perf_counter() - started:.0f} s.\n\n{text}\n"
    )
    print("\n" + text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "engines.md").write_text(text)


if __name__ == "__main__":
    main()
