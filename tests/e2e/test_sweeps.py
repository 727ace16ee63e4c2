"""Parameter sweeps as DVC experiments: a 2x2 grid queued and run by two workers, shown with
the columns a user compares, the best kept; stages a swept param does not touch are not
re-run, and train time reaches ``dvc exp show`` without entering any DVC output."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest
import yaml

from panier.core import io as panier_io
from panier.core.baskets import baskets_from_lines, split_windows
from panier.core.config import load_params
from panier.core.evaluation import evaluate, leave_one_out
from panier.core.recommend import FallbackRecommender, PopularityRecommender, RuleRecommender
from panier.stages.train import timing
from panier.stages.train.mining import association_rules, frequent_itemsets
from panier.stages.train.model import describe_items
from support.repos import make_pipeline_repo, run

ROOT = Path(__file__).resolve().parents[2]
SUPPORTS = (0.005, 0.02)
CONFIDENCES = (0.1, 0.5)
# The README's command: the columns a user compares, best first.
SHOW = [
    "dvc",
    "exp",
    "show",
    "--csv",
    "--drop",
    ".*",
    "--keep",
    r"Experiment|train\.min_support|train\.min_confidence|train\.max_len|^rules$"
    r"|^hit_rate$|^coverage$|train\.seconds",
    "--sort-by",
    "metrics/summary.json:hit_rate",
    "--sort-order",
    "desc",
]


# --- the timing file -------------------------------------------------------------------------


def test_train_time_is_recorded_only_inside_an_experiment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(timing.EXPERIMENT_ENV, raising=False)
    assert not timing.record("train", 1.5, engine="pyfim")
    assert not (tmp_path / "timing").exists()
    monkeypatch.setenv(timing.EXPERIMENT_ENV, "lucky-lark")
    assert timing.record("train", 1.23456, engine="pyfim")
    assert json.loads((tmp_path / "timing/train.json").read_text()) == {
        "train": {"engine": "pyfim", "seconds": 1.235}
    }


def test_the_timing_file_is_committed_empty_and_declared_outside_every_stage():
    # The committed file, not the workspace's: the README's own `dvc exp run` fills that one.
    committed = run(["git", "show", "HEAD:timing/train.json"], ROOT).stdout
    assert json.loads(committed) == {}
    pipeline = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    assert "timing/train.json" in pipeline["metrics"]
    declared = json.dumps(pipeline["stages"])
    assert "timing/" not in declared  # not an output: dvc.lock never sees it


def test_sweepable_params_sit_in_the_train_section_that_only_train_reads():
    pipeline = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    readers = [
        name for name, stage in pipeline["stages"].items() if "train" in stage.get("params", [])
    ]
    assert readers == ["train"]
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert {"min_support", "min_confidence", "max_len", "engine"} <= set(params["train"])


# --- a 2x2 grid ------------------------------------------------------------------------------


def _wait_for_queue(repo: Path, timeout: float = 1800) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = run(["dvc", "queue", "status"], repo).stdout
        if "Queued" not in status and "Running" not in status:
            return status
        time.sleep(5)
    run(["dvc", "queue", "stop", "--kill"], repo, check=False)
    raise AssertionError(f"the queue did not finish in {timeout} s:\n{status}")


def _stop_workers(repo: Path, timeout: float = 120) -> None:
    """Queue workers idle on after the queue empties: stop them, and leave none behind."""
    run(["dvc", "queue", "stop"], repo, check=False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "0 active, 0 idle" in run(["dvc", "queue", "status"], repo).stdout:
            return
        time.sleep(2)
    raise AssertionError(f"queue workers did not stop in {timeout} s")


def _expected(repo: Path, support: float, confidence: float) -> dict[str, float]:
    """What the pipeline must report for one grid point, computed here with the library on
    the repository's validated data (the same code path as the stages)."""
    params = load_params(repo / "params.yaml")
    windows = split_windows(
        panier_io.read_parquet(repo / "data/validated/clean.parquet"), params.windows
    )
    baskets = baskets_from_lines(windows.train)
    rules = association_rules(
        frequent_itemsets(baskets, support, params.train.max_len), baskets.n_baskets, confidence
    )
    items = describe_items(windows.train, baskets)
    cases = leave_one_out(baskets_from_lines(windows.holdout).as_lists(), params.evaluate.seed)
    model = FallbackRecommender(
        RuleRecommender(rules), PopularityRecommender(items.set_index("item_code")["baskets"])
    )
    flat, _ = evaluate(model, cases, [5], n_catalog=len(items))
    return {
        "rules": len(rules),
        "hit_rate@5": round(flat["hit_rate@5"], 6),
        "coverage@5": round(flat["coverage@5"], 6),
    }


def _grid_points_present(repo: Path) -> set[tuple[float, float]]:
    rows = list(csv.DictReader(io.StringIO(run(SHOW, repo).stdout)))
    return {
        (float(row["train.min_support"]), float(row["train.min_confidence"]))
        for row in rows
        if row["Experiment"]
    }


def _run_queue(repo: Path, points: list[tuple[float, float]]) -> str:
    """Queue ``points`` as experiments, run them with two workers, return the queue status."""
    for support, confidence in points:
        run(
            [
                "dvc",
                "exp",
                "run",
                "--queue",
                "-S",
                f"train.min_support={support}",
                "-S",
                f"train.min_confidence={confidence}",
            ],
            repo,
        )
    try:
        run(["dvc", "queue", "start", "-j", "2"], repo)
        status = _wait_for_queue(repo)
    finally:
        _stop_workers(repo)
    return status


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> tuple[Path, list[dict[str, str]], dict[str, str]]:
    """A committed baseline, then a 2x2 grid queued and run by two workers. Returns the
    repository, the rows of the README's ``dvc exp show`` command and each experiment's log.

    DVC's queue can report an experiment as a success although its worker failed to copy
    the result into the repository (the failure is logged, not raised). What users are
    promised is the grid in ``dvc exp show``, so a lost point is detected there and queued
    again, at most twice, rather than taken on trust from the queue's status."""
    repo = make_pipeline_repo(tmp_path_factory.mktemp("sweep"))
    run(["dvc", "repro"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", "baseline"], repo)
    grid = [(s, c) for s in SUPPORTS for c in CONFIDENCES]
    missing = grid
    for _attempt in range(3):
        status = _run_queue(repo, missing)
        assert "Failed" not in status, status
        missing = sorted(set(grid) - _grid_points_present(repo))
        if not missing:
            break
    assert missing == [], f"grid points never reached the repository: {missing}\n{status}"
    rows = list(csv.DictReader(io.StringIO(run(SHOW, repo).stdout)))
    experiments = [row for row in rows if row["Experiment"]]
    logs = {
        row["Experiment"]: run(["dvc", "queue", "logs", row["Experiment"]], repo).stdout
        for row in experiments
    }
    return repo, rows, logs


@pytest.mark.slow
def test_a_queued_2x2_grid_gives_four_experiments_with_their_own_correct_metrics(swept):
    repo, rows, _ = swept
    experiments = [row for row in rows if row["Experiment"]]
    grid = {
        (float(row["train.min_support"]), float(row["train.min_confidence"])) for row in experiments
    }
    assert grid == {(s, c) for s in SUPPORTS for c in CONFIDENCES}
    for row in experiments:
        expected = _expected(
            repo, float(row["train.min_support"]), float(row["train.min_confidence"])
        )
        assert int(row["rules"]) == expected["rules"], row
        assert float(row["hit_rate"]) == pytest.approx(expected["hit_rate@5"]), row
        assert float(row["coverage"]) == pytest.approx(expected["coverage@5"]), row
    assert len({row["rules"] for row in experiments}) == 4  # each its own model


@pytest.mark.slow
def test_exp_show_lists_train_time_and_sorts_by_the_primary_metric(swept):
    _, rows, _ = swept
    experiments = [row for row in rows if row["Experiment"]]
    for row in experiments:
        assert float(row["train.seconds"]) > 0, row  # from the untracked timing file
    hit_rates = [float(row["hit_rate"]) for row in experiments]
    assert hit_rates == sorted(hit_rates, reverse=True)


@pytest.mark.slow
def test_a_swept_train_param_reruns_train_and_what_follows_only(swept):
    _, _, logs = swept
    for name, log in logs.items():
        assert "Stage 'ingest' didn't change, skipping" in log, name
        assert "Stage 'validate' didn't change, skipping" in log, name
        assert "Running stage 'ingest'" not in log and "Running stage 'validate'" not in log
        for stage in ("train", "evaluate", "drift-check"):
            assert f"Running stage '{stage}'" in log, (name, stage)


@pytest.mark.slow
def test_the_best_experiment_is_kept_as_a_branch_and_applied(swept):
    repo, rows, _ = swept
    best = next(row for row in rows if row["Experiment"])  # sorted best first
    run(["dvc", "exp", "branch", best["Experiment"], "best-rules"], repo)
    on_branch = yaml.safe_load(run(["git", "show", "best-rules:params.yaml"], repo).stdout)
    assert on_branch["train"]["min_support"] == float(best["train.min_support"])
    assert on_branch["train"]["min_confidence"] == float(best["train.min_confidence"])
    headline = json.loads(run(["git", "show", "best-rules:metrics/summary.json"], repo).stdout)
    assert headline["rules"] == int(best["rules"])

    run(["dvc", "exp", "apply", best["Experiment"]], repo)
    applied = yaml.safe_load((repo / "params.yaml").read_text())
    assert applied["train"]["min_support"] == float(best["train.min_support"])
    assert json.loads((repo / "metrics/train.json").read_text())["rules"] == int(best["rules"])
    # The applied workspace is what a `dvc repro` of those params gives: nothing to re-run.
    assert "Data and pipelines are up to date" in run(["dvc", "status"], repo).stdout
