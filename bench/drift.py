"""Benchmark of drift-check: false alarms, detection of planted drift, and speed.

Usage (from the repository root, with the virtual environment active)::

    python bench/drift.py                    # 200 replicates, 2 workers, then the timing run
    python bench/drift.py --replicates 50    # quicker, less precise
    python bench/drift.py --skip-timing      # only false alarms and detection
    python bench/drift.py --timing-only      # only the 1,000,000 x 200,000 rows stage run
    python bench/drift.py --rows-out a.jsonl --first-seed 1000 --replicates 100 --workers 1
    python bench/drift.py --rows-in a.jsonl b.jsonl   # the tables of saved runs together

Each replicate is one world drawn from the generator with the repository's default params
and its own seed: the model is trained on its training window, the holdout scores it, and
its current window is compared with the training window once with no drift and once for
each planted change (the same world, regenerated with the change planted in its last
``window_days``). A run *detects* a change when it raises ``data_drift`` or
``concept_drift`` and names the right feature or rule first. The decision params are those
of ``params.yaml``, exactly what ``dvc repro`` uses.

The timing run builds a repository-shaped folder with 1,000,000 training-window rows and
200,000 current-window rows, and times ``panier stage drift-check`` in it (wall
time and CPU time of the process).

Bars: drift raised in at most 5% of the worlds with no drift planted; each planted change
detected, the right feature or rule named first, in at least 90% of them; the timing run
under 20 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from panier.core import io  # noqa: E402
from panier.core import schema as S  # noqa: E402
from panier.core.baskets import Windows, baskets_from_lines, split_windows  # noqa: E402
from panier.core.config import Params, load_params  # noqa: E402
from panier.stages.drift_check.check import check_drift  # noqa: E402
from panier.stages.drift_check.reference import Reference, prepare_reference  # noqa: E402
from panier.stages.drift_check.rule_tests import rule_label  # noqa: E402
from panier.stages.drift_check.summary import summarize_lines  # noqa: E402
from panier.stages.drift_check.window import RejectedWindows, split_rejected  # noqa: E402
from panier.stages.ingest.generate import generate_line_items, item_code  # noqa: E402
from panier.stages.train.mining import association_rules, frequent_itemsets  # noqa: E402
from panier.stages.train.model import describe_items  # noqa: E402
from panier.stages.validate.validation import validate_line_items  # noqa: E402

PARAMS: Params = load_params(ROOT / "params.yaml")
TODAY = pd.Timestamp("2030-01-01").date()  # fixed, so that no generated row is "future"
BOOSTED_RANK = 50  # "a mid-popularity item": the 50th most popular of 500, in ~2% of baskets


def _description_share(target: float) -> float:
    """The planted missing share that takes description's missing rate from its base
    (1% of rows) to ``target``: rows lose it by the base rate or by the planted one."""
    base = PARAMS.ingest.generator.description_missing_share
    return 1 - (1 - target) / (1 - base)


NEW_ITEM = "90001"  # a code the generator never makes
SWAPPED_RANKS = (10, 90)  # neither in a planted rule
SHORT_DAYS = 7


@dataclass(frozen=True)
class Scenario:
    """A current window: the generator's drift params, an edit of the current lines (for
    changes the generator cannot plant), the current window's length, the world it comes
    from (``large``: 5,000 items), and the tests any of which must be named first."""

    drift: dict = field(default_factory=dict)
    expected: tuple[str, ...] = ()
    edit: Callable[[pd.DataFrame, pd.DataFrame, np.random.Generator], pd.DataFrame] | None = None
    days: int | None = None
    world: str = "default"


def _new_product(
    current: pd.DataFrame, train: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """A product launched in the current window, in 3% of its baskets."""
    invoices = current.drop_duplicates(S.INVOICE)
    chosen = invoices[rng.random(len(invoices)) < 0.03].copy()
    chosen[S.ITEM] = NEW_ITEM
    chosen[S.DESCRIPTION] = "RAINBOW PICNIC BLANKET"
    chosen[S.QUANTITY] = 1
    chosen[S.PRICE] = 7.95
    return pd.concat([current, chosen], ignore_index=True)


def _swap(current: pd.DataFrame, train: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Two items' popularity swapped: each sells as often as the other used to."""
    a, b = (item_code(r) for r in SWAPPED_RANKS)
    out = current.copy()
    codes = out[S.ITEM].astype(object)
    out[S.ITEM] = codes.where(codes != a, b).where(codes != b, a).astype(current[S.ITEM].dtype)
    return out


def _weekend_baskets(
    current: pd.DataFrame, train: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Weekend baskets (Saturday, Sunday) two items larger: each gets two more lines drawn
    from the training window's lines (items by their popularity)."""
    invoices = current.drop_duplicates(S.INVOICE)
    weekend = invoices[invoices[S.TIMESTAMP].dt.day_of_week >= 5]
    extra = pd.concat([weekend, weekend], ignore_index=True)
    drawn = train.iloc[rng.integers(0, len(train), size=len(extra))].reset_index(drop=True)
    for column in (S.ITEM, S.DESCRIPTION, S.QUANTITY, S.PRICE):
        extra[column] = drawn[column].to_numpy()
    return pd.concat([current, extra], ignore_index=True)


def scenarios() -> dict[str, Scenario]:
    """Planted change -> how it is planted and the tests that may be named first."""
    rules = PARAMS.ingest.generator.planted_rules

    def rule(index: int) -> str:
        return f"rule_confidence: {rule_label(rules[index].antecedent, rules[index].consequent)}"

    return {
        "no drift": Scenario(),
        "mean price +10%": Scenario({"price_shift": 0.10}, ("numeric: unit_price",)),
        f"item of rank {BOOSTED_RANK} twice as popular": Scenario(
            {"boosted_item_rank": BOOSTED_RANK, "boost_factor": 2.0},
            (f"item_share: {item_code(BOOSTED_RANK)}",),
        ),
        f"rule confidence {rules[0].confidence:g} -> 0.6": Scenario(
            {"weakened_rule": 0, "weakened_confidence": 0.6}, (rule(0),)
        ),
        "mean basket size +1 item": Scenario({"basket_size_shift": 1.0}, ("numeric: basket_size",)),
        "5% of rows from a new country": Scenario(
            {"new_country_share": 0.05}, ("categorical: country",)
        ),
        "description missing 1% -> 20%": Scenario(
            {"missing_column": "description", "missing_share": _description_share(0.20)},
            ("missing_rate: description",),
        ),
        "new product in 3% of baskets": Scenario(
            expected=(f"new_item: {NEW_ITEM}",), edit=_new_product
        ),
        "item of rank 300 twice as popular": Scenario(
            {"boosted_item_rank": 300, "boost_factor": 2.0}, (f"item_share: {item_code(300)}",)
        ),
        f"items of rank {SWAPPED_RANKS[0]} and {SWAPPED_RANKS[1]} swap popularity": Scenario(
            expected=tuple(f"item_share: {item_code(r)}" for r in SWAPPED_RANKS), edit=_swap
        ),
        f"two-item rule confidence {rules[1].confidence:g} -> 0.4": Scenario(
            {"weakened_rule": 1, "weakened_confidence": 0.4}, (rule(1),)
        ),
        f"rule confidence {rules[4].confidence:g} -> 0.8": Scenario(
            {"weakened_rule": 4, "weakened_confidence": 0.8}, (rule(4),)
        ),
        "mean price +5%": Scenario({"price_shift": 0.05}, ("numeric: unit_price",)),
        "weekend baskets +2 items": Scenario(
            expected=("numeric: basket_size",), edit=_weekend_baskets
        ),
        f"{SHORT_DAYS}-day current window, no drift": Scenario(days=SHORT_DAYS),
        f"{SHORT_DAYS}-day current window, rule confidence {rules[0].confidence:g} -> 0.6": Scenario(  # noqa: E501
            {"weakened_rule": 0, "weakened_confidence": 0.6}, (rule(0),), days=SHORT_DAYS
        ),
        "5,000-item catalogue, no drift": Scenario(world="large"),
    }


def _generate(seed: int, drift: dict, **generator) -> pd.DataFrame:
    params = PARAMS.ingest.generator
    return generate_line_items(
        params.model_copy(
            update={"seed": seed, "drift": params.drift.model_copy(update=drift), **generator}
        )
    )


@dataclass
class _World:
    windows: Windows
    rejected: RejectedWindows
    reference: Reference


def _world(seed: int, **generator) -> _World:
    """A world drawn with the default params (and ``generator`` overrides), its model
    trained on its training window, ready to be checked against any current window."""
    validated = validate_line_items(_generate(seed, {}, **generator), PARAMS.validate_, today=TODAY)
    windows = split_windows(validated.clean, PARAMS.windows)
    rejected = split_rejected(validated.rejected, windows.holdout_start, windows.current_start)
    baskets = baskets_from_lines(windows.train)
    train = PARAMS.train
    rules = association_rules(
        frequent_itemsets(baskets, train.min_support, train.max_len),
        baskets.n_baskets,
        train.min_confidence,
    )
    items = describe_items(windows.train, baskets)
    reference = prepare_reference(
        summarize_lines(windows.train, rejected.train),
        baskets_from_lines(windows.holdout),
        rules,
        items,
        PARAMS.evaluate,
    )
    return _World(windows, rejected, reference)


def _last_days(
    lines: pd.DataFrame, rejected: pd.DataFrame, days: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The invoices (and rejected rows) of the last ``days`` days."""
    first = lines.groupby(S.INVOICE)[S.TIMESTAMP].transform("min")
    start = first.max() - pd.Timedelta(days=days)
    when = pd.to_datetime(rejected[S.TIMESTAMP], errors="coerce", format="mixed")
    return lines[first > start], rejected[when > start]


def replicate(seed: int) -> list[dict]:
    """One world (and one of 5,000 items): train on its training window, then check every
    scenario's current window. Returns one row per scenario."""
    worlds = {"default": _world(seed)}
    rows = []
    planted = {test for s in scenarios().values() for test in s.expected}
    for name, scenario in scenarios().items():
        if scenario.world not in worlds:
            worlds[scenario.world] = _world(seed, n_items=5000)
        world = worlds[scenario.world]
        windows = world.windows
        if scenario.drift:
            # Same seed, change planted: only the current window differs in distribution.
            # Validate just that period (validation is row by row, apart from duplicates,
            # which the generator copies with their timestamp).
            raw = _generate(seed, scenario.drift)
            raw = raw[raw[S.TIMESTAMP] > windows.current_start - pd.Timedelta(days=1)]
            result = validate_line_items(raw, PARAMS.validate_, today=TODAY)
            first = result.clean.groupby(S.INVOICE)[S.TIMESTAMP].transform("min")
            current_lines = result.clean[first > windows.current_start]
            current_rejected = split_rejected(
                result.rejected, windows.current_start, windows.current_start
            ).current
        else:
            current_lines, current_rejected = windows.current, world.rejected.current
        if scenario.edit is not None:
            rng = np.random.default_rng([seed, len(name)])
            current_lines = scenario.edit(current_lines, windows.train, rng)
        if scenario.days is not None:
            current_lines, current_rejected = _last_days(
                current_lines, current_rejected, scenario.days
            )
        started = time.perf_counter()
        report = check_drift(
            world.reference,
            summarize_lines(current_lines, current_rejected),
            PARAMS.drift,
            PARAMS.evaluate,
        )
        seconds = time.perf_counter() - started
        flagged = report.data_drift or report.concept_drift
        top = report.top_drifted[0] if report.top_drifted else ""
        # Effects and floors of the tests some scenario plants (all the tables read).
        effects = {t.name: t.effect for t in report.tests if t.name in planted}
        floors = {t.name: t.floor for t in report.tests if t.name in planted}
        # What testing each at p < 0.05 with no correction and no effect floor would say.
        naive = any(t.p_value < 0.05 for t in report.tests)
        rows.append(
            {
                "seed": seed,
                "scenario": name,
                "flagged": bool(flagged),
                "naive": bool(naive),
                "named_first": bool(flagged and top in scenario.expected),
                "top": top,
                "tested": bool(set(scenario.expected) & set(effects)),
                "tests": report.tests_run,
                "kinds": sorted({t.split(":")[0] for t in report.top_drifted}),
                "seconds": seconds,
                "effects": effects,
                "floors": floors,
            }
        )
    return rows


def accuracy_table(rows: pd.DataFrame) -> str:
    lines = [
        "| scenario | runs | tests (median) | drift raised | right test named first | "
        "share | bar |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, scenario in scenarios().items():
        part = rows[rows["scenario"] == name]
        runs, flagged, named = len(part), int(part["flagged"].sum()), int(part["named_first"].sum())
        tests = int(part["tests"].median())
        if not scenario.expected:
            lines.append(
                f"| {name} (false alarms) | {runs} | {tests:,} | {flagged} | - | "
                f"{flagged / runs:.1%} | <= 5% |"
            )
            if name == "no drift":
                naive = int(part["naive"].sum())
                lines.append(
                    f"| {name}, each test at p < 0.05 uncorrected (for comparison) "
                    f"| {runs} | {tests:,} | {naive} | - | {naive / runs:.1%} | |"
                )
        else:
            lines.append(
                f"| {name} | {runs} | {tests:,} | {flagged} | {named} | "
                f"{named / runs:.1%} | >= 90% |"
            )
    return "\n".join(lines)


def calibration_table(rows: pd.DataFrame) -> str:
    """Where each planted change's test stands: its effect with no drift (99th percentile
    over worlds), its floor (the larger of the params floor and the training window's own
    largest effect; median over worlds) and its effect with the change (5th percentile)."""
    null = rows[rows["scenario"] == "no drift"]
    lines = [
        "| scenario | test | no drift, 99th percentile | floor (median) | planted, 5th "
        "percentile |",
        "|---|---|---|---|---|",
    ]
    for name, scenario in scenarios().items():
        for expected in scenario.expected[:1]:
            quiet = pd.Series([e.get(expected) for e in null["effects"]], dtype=float).dropna()
            part = rows[rows["scenario"] == name]
            loud = pd.Series([e.get(expected) for e in part["effects"]], dtype=float).fillna(0.0)
            floor = pd.Series([f.get(expected) for f in part["floors"]], dtype=float).dropna()
            q = f"{quiet.quantile(0.99):.3f}" if len(quiet) else "untested"
            fl = f"{floor.median():.3f}" if len(floor) else "untested"
            lines.append(f"| {name} | `{expected}` | {q} | {fl} | {loud.quantile(0.05):.3f} |")
    return "\n".join(lines)


def false_alarm_detail(rows: pd.DataFrame) -> str:
    quiet = [n for n, s in scenarios().items() if not s.expected]
    alarms = rows[rows["scenario"].isin(quiet) & rows["flagged"]]
    if alarms.empty:
        return "No false alarm."
    counts = pd.Series([k for kinds in alarms["kinds"] for k in kinds]).value_counts()
    return (
        "False alarms by kind of test: "
        + ", ".join(f"{kind} {n}" for kind, n in counts.items())
        + "; first named: "
        + ", ".join(alarms["top"].tolist()[:10])
    )


def misses(rows: pd.DataFrame) -> str:
    changes = [n for n, s in scenarios().items() if s.expected]
    missed = rows[rows["scenario"].isin(changes) & ~rows["named_first"]]
    if missed.empty:
        return "No miss."
    out = []
    for name, part in missed.groupby("scenario", sort=False):
        tops = part["top"].replace("", "nothing raised").value_counts()
        untested = int((~part["tested"]).sum())
        out.append(
            f"- {name}: {len(part)} missed; named first instead: "
            + ", ".join(f"{t} ({n})" for t, n in tops.head(4).items())
            + (f"; the planted test was not run in {untested}" if untested else "")
        )
    return "Misses:\n" + "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Timing


def _timing_repo(folder: Path, reference_rows: int, current_rows: int) -> dict:
    """A repository-shaped folder whose training window holds about ``reference_rows`` rows
    and whose current window holds about ``current_rows``: params, validated data, the model
    and the evaluate stage's metrics."""
    days, holdout_days = 365, 30
    rows_per_invoice = 6.2  # at the default mean basket size
    current_days = round(days * current_rows / (reference_rows + current_rows))
    train_days = days - current_days - holdout_days
    invoices = round(reference_rows / rows_per_invoice * days / train_days)
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["ingest"]["generator"].update({"n_invoices": invoices, "n_customers": 40_000})
    raw["windows"] = {"current_days": current_days, "holdout_days": holdout_days}
    (folder / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for stage in ("ingest", "validate", "train", "evaluate"):
        subprocess.run(
            [sys.executable, "-m", f"panier.stages.{stage}.stage"],
            cwd=folder,
            env=env,
            check=True,
            capture_output=True,
        )
    clean = io.read_parquet(folder / "data/validated/clean.parquet")
    windows = split_windows(clean, load_params(folder / "params.yaml").windows)
    return {
        "training rows": len(windows.train),
        "holdout rows": len(windows.holdout),
        "current rows": len(windows.current),
    }


def timing(reference_rows: int = 1_000_000, current_rows: int = 200_000) -> str:
    folder = Path(tempfile.mkdtemp(prefix="panier-drift-bench-"))
    try:
        sizes = _timing_repo(folder, reference_rows, current_rows)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "panier.stages.drift_check.stage"],
            cwd=folder,
            env=env,
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        report = io.read_json(folder / "metrics/drift.json")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return "\n".join(
        [
            "| stage run | training rows | current rows | tests | wall time | CPU time | bar |",
            "|---|---|---|---|---|---|---|",
            f"| drift-check | {sizes['training rows']:,} | {sizes['current rows']:,} | "
            f"{report['tests_run']:,} | {wall:.1f} s | {cpu:.1f} s | < 20 s |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--timing-only", action="store_true")
    parser.add_argument(
        "--rows-out",
        type=Path,
        help="also write each world's rows to this JSON Lines file as they come",
    )
    parser.add_argument(
        "--rows-in",
        type=Path,
        nargs="+",
        help="print the tables from rows written by --rows-out (several runs "
        "of different seeds together) instead of running worlds",
    )
    args = parser.parse_args()

    if args.rows_in:
        rows = [
            json.loads(line)
            for path in args.rows_in
            for line in path.read_text().splitlines()
            if line.strip()
        ]
        table = pd.DataFrame(rows)
        print(
            f"False alarms and detection: {table['seed'].nunique()} worlds x "
            f"{len(scenarios())} windows, defaults of params.yaml (from "
            f"{len(args.rows_in)} saved runs; median check {table['seconds'].median():.2f} s)\n"
        )
    elif not args.timing_only:
        seeds = range(args.first_seed, args.first_seed + args.replicates)
        started = time.perf_counter()
        rows = []
        with Pool(args.workers) as pool:
            for chunk in pool.imap(replicate, seeds):
                rows += chunk
                if args.rows_out:
                    with args.rows_out.open("a") as out:
                        out.writelines(json.dumps(row) + "\n" for row in chunk)
        table = pd.DataFrame(rows)
        elapsed = time.perf_counter() - started
        print(
            f"False alarms and detection: {args.replicates} worlds x {len(scenarios())} "
            f"windows, defaults of params.yaml ({elapsed:.0f} s, {args.workers} workers; "
            f"median check {table['seconds'].median():.2f} s)\n"
        )
    if args.rows_in or not args.timing_only:
        print(accuracy_table(table))
        print()
        print("Where the floors sit: effect of each planted change's test\n")
        print(calibration_table(table))
        print()
        print(false_alarm_detail(table))
        print(misses(table))
        print()
    if not args.skip_timing and not args.rows_in:
        print("Speed of the stage (reading, every test, writing the report):\n")
        print(timing())


if __name__ == "__main__":
    main()
