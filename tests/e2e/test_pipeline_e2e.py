"""The whole pipeline under DVC, in a throwaway git repository: what a user gets from
``dvc repro``, and what DVC promises about re-running it."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from support.repos import make_pipeline_repo, pipeline_outputs, run

pytestmark = pytest.mark.slow

# check-params first: what DVC would print or hang on is refused before ingest (panier check).
CHAIN = ["check-params", "ingest", "validate", "train", "evaluate", "drift-check"]
# Beside the chain: affinity after train; gate compares the trained model with the champion.
STAGES = [*CHAIN, "affinity", "gate"]
#: Beside the chain: the PMML export reads only the model files (docs/reference/pmml.md).
EXPORT = "export-pmml"
#: Last: the headline metrics, copied from every other stage's metrics (reruns with any of them).
SUMMARY = "summary"
OUTPUTS = pipeline_outputs()  # every file dvc.yaml declares


def ran_stages(output: str) -> list[str]:
    return [s for s in STAGES if f"Running stage '{s}'" in output]


def digests(repo: Path) -> dict[str, str]:
    return {rel: hashlib.sha256((repo / rel).read_bytes()).hexdigest() for rel in OUTPUTS}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A small repository after one full ``dvc repro``."""
    repo = make_pipeline_repo(tmp_path_factory.mktemp("e2e"))
    result = run(["dvc", "repro"], repo)
    assert ran_stages(result.stdout) == STAGES
    return repo


def test_repro_writes_every_output_and_the_lock(built: Path):
    for rel in OUTPUTS:
        assert (built / rel).stat().st_size > 0, rel
    lock = yaml.safe_load((built / "dvc.lock").read_text())
    assert sorted(lock["stages"]) == sorted([*STAGES, EXPORT, SUMMARY])


def test_dag_runs_the_chain_in_order_and_the_rest_after_train(built: Path):
    dag = run(["dvc", "dag", "--md"], built).stdout
    # Mermaid output: "node3[ingest]" lines, then "node3-->node5" edges.
    names = dict(re.findall(r'(node\d+)\["?([\w-]+)"?\]', dag))
    edges = {
        re.sub(r"node\d+", lambda m: names[m.group()], line.strip())
        for line in dag.splitlines()
        if "-->" in line
    }
    assert {f"{a}-->{b}" for a, b in itertools.pairwise(CHAIN)} <= edges
    assert "train-->affinity" in edges
    assert f"train-->{EXPORT}" in edges
    assert {f"{stage}-->{SUMMARY}" for stage in STAGES[2:]} <= edges  # validate onwards
    assert {"validate-->gate", "train-->gate"} <= edges


def test_status_is_clean_and_a_second_repro_skips_every_stage(built: Path):
    assert "Data and pipelines are up to date" in run(["dvc", "status"], built).stdout
    second = run(["dvc", "repro"], built).stdout
    assert ran_stages(second) == []
    for stage in [*STAGES, EXPORT, SUMMARY]:
        assert f"Stage '{stage}' didn't change, skipping" in second


def test_outputs_describe_a_trained_evaluated_and_checked_model(built: Path):
    validation = json.loads((built / "metrics/validation.json").read_text())
    assert validation["rows_in"] == validation["rows_clean"] + validation["rows_rejected"]
    assert sum(validation["rejected_by_reason"].values()) == validation["rows_rejected"]
    rules = pd.read_parquet(built / "models/rules.parquet")
    card = json.loads((built / "models/model_card.json").read_text())
    assert card["counts"]["rules"] == len(rules) > 0
    evaluation = json.loads((built / "metrics/evaluate.json").read_text())
    assert evaluation["model"]["hit_rate@5"] > evaluation["popularity"]["hit_rate@5"]
    drift = json.loads((built / "metrics/drift.json").read_text())
    assert drift["drift_detected"] is False


def test_metrics_and_plots_commands_read_the_outputs(built: Path):
    (workspace,) = json.loads(run(["dvc", "metrics", "show", "--json"], built).stdout).values()
    headline = workspace["data"]["metrics/summary.json"]["data"]
    assert headline["rules"] == json.loads((built / "metrics/train.json").read_text())["rules"]
    # The headline alone: the table fits on a screen, the details stay in their files.
    assert set(workspace["data"]) == {"metrics/summary.json", "timing/train.json"}
    table = run(["dvc", "metrics", "show"], built).stdout
    assert max(map(len, table.splitlines())) <= 120, table
    run(["dvc", "plots", "show", "-o", "plots_html"], built)
    assert (built / "plots_html" / "index.html").exists()


def test_a_param_change_reruns_exactly_its_stages_and_their_successors(built: Path):
    params_file = built / "params.yaml"
    original = params_file.read_text()
    try:
        params = yaml.safe_load(original)
        params["drift"]["fdr"] = 0.01
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        assert ran_stages(run(["dvc", "repro"], built).stdout) == ["drift-check"]

        params["evaluate"]["seed"] = 8
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        assert ran_stages(run(["dvc", "repro"], built).stdout) == [
            "evaluate",
            "drift-check",
            "gate",
        ]

        params["affinity"]["resolution"] = 1.5
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        assert ran_stages(run(["dvc", "repro"], built).stdout) == ["affinity"]

        params["train"]["min_confidence"] = 0.35
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        assert ran_stages(run(["dvc", "repro"], built).stdout) == [
            "train",
            "evaluate",
            "drift-check",
            "affinity",
            "gate",
        ]
    finally:
        params_file.write_text(original)
        run(["dvc", "repro"], built)


def test_two_runs_from_scratch_give_byte_identical_outputs(built: Path, tmp_path: Path):
    again = tmp_path / "again"
    shutil.copytree(built, again, ignore=shutil.ignore_patterns(".dvc/cache", "plots_html"))
    for rel in OUTPUTS:
        (again / rel).unlink()
    shutil.rmtree(again / ".dvc" / "cache", ignore_errors=True)
    run(["dvc", "repro", "--force"], again)
    assert digests(again) == digests(built)
    assert (again / "dvc.lock").read_bytes() == (built / "dvc.lock").read_bytes()
