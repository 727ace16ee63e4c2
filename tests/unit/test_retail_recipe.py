"""The own-data guide's recipe for the common retail-export layout, unchanged, on an export with the
shape of a real one (tests/support/retail_export.py: wholesale invoices of 100 to 1,100 items
holding a quarter of the rows, guest checkouts mostly in them, cancellations, returns, postage,
duplicates): it passes on the first try, with big invoices kept, left out of mining only,
and reported; and the rejected percentage is one figure wherever it is printed."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml

from panier.core.runner import run_stage
from panier.stages.ingest import stage as ingest
from panier.stages.validate import stage as validate
from support.repos import ROOT, deep_update
from support.retail_export import readme_recipe, wholesale_export_frame, write_export


def test_the_readme_recipe_is_the_retail_export_layout_and_nothing_more():
    recipe = readme_recipe()
    assert recipe["ingest"]["mapping"] == {"preset": "retail_export"}
    assert set(recipe) <= {"ingest", "validate"}  # no train or basket-size setting needed


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
