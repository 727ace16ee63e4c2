"""The PMML export against the Parquet model: export time and file size, and how long an
independent engine (JPMML-Evaluator) takes to load the file.

Two models: the default data (the model ``dvc repro`` left in ``models/``) and retail.dat at
min_support 0.001 (confidence and max_len as in params.yaml, mined here once). Then,
interleaved in the same process for ``--repeats`` rounds, the artifact is written as the
train stage writes it (rules.parquet, items.parquet, model_card.json) and as PMML
(``to_pmml`` plus the write); the ratio is taken per round, then the median.
Sizes are of the written files; the PMML's gzip size says what a consumer downloads when it
is served compressed. JPMML-Evaluator's loads (a child process per model: the first load
starts the JVM, the reloads parse the file and build the evaluator) run when Java and the
dev extra are installed.

    python bench/pmml.py                  # both models, 5 rounds
    python bench/pmml.py --repeats 3 --no-engine
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    RESULTS,
    canonical_lines,
    machine_note,
    markdown_table,
    median,
    read_transactions,
)

from panier.core import io
from panier.core.baskets import baskets_from_lines
from panier.core.config import load_params
from panier.stages.export_pmml.pmml import to_pmml
from panier.stages.train.mining import association_rules, frequent_itemsets
from panier.stages.train.model import describe_items, model_card

ROOT = Path(__file__).resolve().parents[1]


def model(name: str):
    """(rules, items, card) of the default data or of retail.dat at support 0.001."""
    if name == "default":
        models = ROOT / "models"
        if not (models / "model_card.json").exists():
            raise SystemExit(f"{models} holds no model: run dvc repro first")
        return (
            io.read_parquet(models / "rules.parquet"),
            io.read_parquet(models / "items.parquet"),
            io.read_json(models / "model_card.json"),
        )
    params = load_params(ROOT / "params.yaml")
    train = canonical_lines(read_transactions("retail"))
    params = params.model_copy(
        update={"train": params.train.model_copy(update={"min_support": 0.001})}
    )
    cfg = params.train
    baskets = baskets_from_lines(train)
    itemsets = frequent_itemsets(baskets, cfg.min_support, cfg.max_len)
    rules = association_rules(itemsets, baskets.n_baskets, cfg.min_confidence)
    items = describe_items(train, baskets)
    card = model_card(train, baskets, itemsets, rules, params)
    return rules, items, json.loads(json.dumps(card, default=str))


def write_parquet_model(rules, items, card, folder: Path) -> int:
    io.write_parquet(rules, folder / "rules.parquet")
    io.write_parquet(items, folder / "items.parquet")
    io.write_json(card, folder / "model_card.json")
    return sum(
        (folder / f).stat().st_size for f in ("rules.parquet", "items.parquet", "model_card.json")
    )


def write_pmml(rules, items, card, folder: Path) -> int:
    io.write_bytes(to_pmml(rules, items, card), folder / "rules.pmml")
    return (folder / "rules.pmml").stat().st_size


ENGINE_CHILD = """
import sys, time
from jpmml_evaluator import make_evaluator
times = []
for _ in range(3):
    started = time.perf_counter()
    make_evaluator(sys.argv[1], backend="jpype", lax=False).verify()
    times.append(time.perf_counter() - started)
print(times[0], sorted(times[1:])[0])
"""


def engine_load_seconds(path: Path) -> tuple[float, float] | None:
    """JPMML-Evaluator's first load of ``path`` (starting the JVM, loading its classes) and
    the best of two more loads in the same JVM (parsing the file, building the evaluator)."""
    result = subprocess.run(
        [sys.executable, "-c", ENGINE_CHILD, str(path)], capture_output=True, text=True
    )
    if result.returncode != 0:
        print(f"engine load failed: {result.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    first, again = map(float, result.stdout.split())
    return first, again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["default", "retail"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-engine", action="store_true")
    args = parser.parse_args()
    note = machine_note()
    rows = []
    for name in args.models:
        rules, items, card = model(name)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            parquet_s, pmml_s, ratios = [], [], []
            for _ in range(args.repeats):
                started = time.perf_counter()
                parquet_bytes = write_parquet_model(rules, items, card, folder)
                parquet_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                pmml_bytes = write_pmml(rules, items, card, folder)
                pmml_s.append(time.perf_counter() - started)
                ratios.append(pmml_s[-1] / parquet_s[-1])
            gz = len(gzip.compress((folder / "rules.pmml").read_bytes(), 6, mtime=0))
            load = None if args.no_engine else engine_load_seconds(folder / "rules.pmml")
        rows.append(
            [
                name,
                f"{len(rules):,}",
                f"{len(items):,}",
                f"{median(parquet_s):.3f}",
                f"{median(pmml_s):.3f}",
                f"{median(ratios):.1f}x",
                f"{parquet_bytes / 1e6:.2f}",
                f"{pmml_bytes / 1e6:.2f}",
                f"{pmml_bytes / parquet_bytes:.1f}x",
                f"{gz / 1e6:.2f}",
                "-" if load is None else f"{load[0]:.1f}",
                "-" if load is None else f"{load[1]:.2f}",
            ]
        )
    table = markdown_table(
        [
            "model",
            "rules",
            "items",
            "Parquet write s",
            "PMML export s",
            "PMML/Parquet time",
            "Parquet MB",
            "PMML MB",
            "PMML/Parquet size",
            "PMML gzip MB",
            "JPMML first load s",
            "JPMML reload s",
        ],
        rows,
    )
    text = (
        f"## PMML export against the Parquet model\n\n{note}; {args.repeats} rounds, "
        f"medians.\n\n{table}\n"
    )
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pmml.md").write_text(text)


if __name__ == "__main__":
    main()
