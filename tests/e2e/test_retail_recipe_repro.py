"""The own-data guide's recipe for the common retail-export layout, unchanged, under ``dvc repro``
on an export with the shape of a real one (tests/support/retail_export.py): it passes on the
first try (the recipe itself and the rejected percentage: tests/unit/test_retail_recipe.py)."""

from __future__ import annotations

import json

import pytest
import yaml

from panier.stages.validate.reasons import REASONS
from support.repos import deep_update, make_pipeline_repo, run
from support.retail_export import readme_recipe, wholesale_export_frame, write_export

STAGES = ["check-params", "ingest", "validate", "train", "evaluate", "drift-check"]


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
