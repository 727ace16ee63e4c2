"""The own-data guide's recipe for the common retail-export layout, unchanged, on an export with the
shape of a real one (tests/retail_export.py: wholesale invoices of 100 to 1,100 items holding
a quarter of the rows, guest checkouts mostly in them, cancellations, returns, postage,
duplicates): it passes on the first try, with big invoices kept, left out of mining only,
and reported; and the rejected percentage is one figure wherever it is printed."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import ROOT, deep_update, make_pipeline_repo, run
from panier.core.runner import run_stage
from panier.stages.ingest import stage as ingest
from panier.stages.validate import stage as validate
from panier.stages.validate.reasons import REASONS
from retail_export import wholesale_export_frame

STAGES = ["check-params", "ingest", "validate", "train", "evaluate", "drift-check"]


def readme_recipe() -> dict:
    """The params of "Bringing your own data", step 2, exactly as its guide shows them."""
    readme = (ROOT / "docs" / "how-to" / "own-data.md").read_text()
    after = readme.split("For the common retail export layout", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", after, re.DOTALL).group(1)
    return yaml.safe_load(block)


def write_export(path: Path, export: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        gzip.compress(export.to_csv(index=False, lineterminator="\n").encode(), mtime=0)
    )


def test_the_readme_recipe_is_the_retail_export_layout_and_nothing_more():
    recipe = readme_recipe()
    assert recipe["ingest"]["mapping"] == {"preset": "retail_export"}
    assert set(recipe) <= {"ingest", "validate"}  # no train or basket-size setting needed


@pytest.mark.slow
def test_the_readme_recipe_runs_a_wholesale_shaped_export_on_the_first_try(tmp_path):
    recipe = readme_recipe()
    export = wholesale_export_frame(n_invoices=2000)
    repo = make_pipeline_repo(tmp_path, recipe)
    write_export(repo / recipe["ingest"]["path"], export)
    run(["dvc", "add", recipe["ingest"]["path"]], repo)
    run(["python", "-m", "panier.stages.check_params.check"], repo)
    result = run(["dvc", "repro"], repo)
    printed = result.stdout + result.stderr
    assert [s for s in STAGES if f"Running stage '{s}'" in printed] == STAGES
    assert "Traceback" not in printed

    validation = json.loads((repo / "metrics/validation.json").read_text())
    assert validation["rows_in"] == len(export)
    assert validation["rows_in"] == validation["rows_clean"] + validation["rows_rejected"]
    planted = export.attrs["planted"]
    assert validation["rejected_by_reason"] == {code: planted.get(code, 0) for code in REASONS}
    assert validation["rows_clean"] == export.attrs["clean_rows"]
    assert validation["rejected_share"] <= 0.05
    # The big invoices are kept, guests and all, and reported.
    assert validation["invoices_over_100_items"] == export.attrs["big_invoices"]
    assert validation["clean_rows_in_invoices_over_100_items"] == export.attrs["big_invoice_rows"]
    assert validation["clean_rows_in_invoices_over_100_items"] > 0.2 * validation["rows_clean"]
    assert validation["clean_rows_without_customer"] == export.attrs["clean_guest_rows"]

    # One percentage: the log line (in DVC's output) and the report say the same.
    share = (
        f"{validation['rows_rejected']:,} of {validation['rows_in']:,} rows rejected "
        f"({validation['rejected_share']:.2%})"
    )
    assert share in printed
    assert share in (repo / "metrics/validation.md").read_text()

    # Left out of mining only: counted in the train metrics, present in evaluation.
    trained = json.loads((repo / "metrics/train.json").read_text())
    assert trained["max_basket_items"] == 100
    assert 0 < trained["baskets_left_out_of_mining"] < export.attrs["big_invoices"]
    assert trained["rows_left_out_of_mining"] > 0
    assert trained["rules"] > 0
    assert "left out of mining (train.max_basket_items)" in printed
    evaluated = json.loads((repo / "metrics/evaluate.json").read_text())
    assert evaluated["model"]["cases"] > 0

    # train.max_len: null mines without a length limit: the rules of length 3 and more.
    params = yaml.safe_load((repo / "params.yaml").read_text())
    (repo / "params.yaml").write_text(
        yaml.safe_dump(deep_update(params, {"train": {"max_len": None}}), sort_keys=False)
    )
    run(["python", "-m", "panier.stages.check_params.check"], repo)
    run(["dvc", "repro"], repo)
    unlimited = json.loads((repo / "metrics/train.json").read_text())
    assert unlimited["rules"] >= trained["rules"]
    assert max(map(int, unlimited["itemsets_by_size"])) >= max(
        map(int, trained["itemsets_by_size"])
    )


def test_the_rejected_percentage_is_one_figure_in_the_log_the_report_and_the_failure(
    tmp_path, monkeypatch, capsys
):
    """The former default (big invoices rejected at 100 items) on the wholesale-shaped export:
    validation fails, and the log line, validation.md and the failure message give the same
    share of rows rejected, the failure message then saying which part passed which limit."""
    recipe = readme_recipe()
    export = wholesale_export_frame(n_invoices=1500)
    root = tmp_path / "ws"
    (root / "data").mkdir(parents=True)
    shutil.copy(ROOT / "data/reference_schema.json", root / "data")
    write_export(root / recipe["ingest"]["path"], export)
    params = deep_update(yaml.safe_load((ROOT / "params.yaml").read_text()), recipe)
    params["validate"]["max_basket_items"] = 100
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(root)
    run_stage("ingest", ingest.main, argv=[])
    with pytest.raises(SystemExit):
        run_stage("validate", validate.main, argv=[])
    err = capsys.readouterr().err
    validation = json.loads((root / "metrics/validation.json").read_text())
    assert validation["rejected_by_reason"]["basket_too_large"] > 0.2 * validation["rows_in"]
    share = (
        f"{validation['rows_rejected']:,} of {validation['rows_in']:,} rows rejected "
        f"({validation['rejected_share']:.2%})"
    )
    log_line = next(line for line in err.splitlines() if "rows rejected" in line)
    failure = err[err.index("validate failed: ") :]
    assert share in log_line
    assert failure.startswith(f"validate failed: {recipe['ingest']['path']}: {share}.\n")
    assert "count towards validate.max_rejected_share (5.00%), above it" in failure
    report = (root / "metrics/validation.md").read_text()
    assert share in report and "## Why the stage failed" in report
    assert len(re.findall(r"\(\d+\.\d\d%\)", log_line)) == 1
