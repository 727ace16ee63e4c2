"""Real data through the whole pipeline by editing params only: a dirty retail export in the
common layout, the public Groceries basket list and the FIMI retail data."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from panier.stages.validate.reasons import REASONS
from support.repos import ROOT, make_pipeline_repo, run
from support.retail_export import PLANTED, retail_export_csv, retail_export_frame

pytestmark = pytest.mark.slow

STAGES = ["ingest", "validate", "train", "evaluate", "drift-check", "affinity"]


def repro(repo: Path) -> str:
    result = run(["dvc", "repro"], repo)
    assert [s for s in STAGES if f"Running stage '{s}'" in result.stdout] == STAGES
    assert "Traceback" not in result.stderr
    return result.stdout


def metrics(repo: Path, name: str) -> dict:
    return json.loads((repo / "metrics" / f"{name}.json").read_text())


def assert_accounted(validation: dict) -> None:
    assert validation["rows_in"] == validation["rows_clean"] + validation["rows_rejected"]
    assert sum(validation["rejected_by_reason"].values()) == validation["rows_rejected"]


def test_a_dirty_retail_export_runs_the_whole_pipeline_with_only_params_changed(tmp_path):
    params = {
        "ingest": {
            "source": "file",
            "path": "data/source/export.csv",
            "mapping": {"preset": "retail_export"},
        },
        "validate": {"max_rejected_share_by_reason": {"cancelled_invoice": 0.05, "return": 0.05}},
        "train": {"min_support": 0.01},
    }
    repo = make_pipeline_repo(tmp_path, params)
    export = retail_export_frame(seed=1)
    (repo / "data/source/export.csv").write_text(retail_export_csv(seed=1))
    run(["dvc", "add", "data/source/export.csv"], repo)
    repro(repo)

    validation = metrics(repo, "validation")
    assert_accounted(validation)
    assert validation["rows_in"] == len(export)
    assert validation["rejected_by_reason"] == {code: PLANTED.get(code, 0) for code in REASONS}
    assert validation["rows_clean"] == export.attrs["clean_rows"]
    assert validation["clean_rows_without_customer"] == export.attrs["clean_guest_rows"]
    assert validation["invoices_without_customer"] == 40
    assert validation["clean_rows_without_description"] == 15
    assert validation["source"] == "data/source/export.csv"

    # Rejected rows keep the export's own values, so they can be found in it.
    rejected = pd.read_parquet(repo / "data/validated/rejected.parquet")
    cancelled = rejected[rejected["reason"] == "cancelled_invoice"]
    assert cancelled["invoice_id"].str.startswith("C").all()
    assert cancelled["timestamp"].str.fullmatch(r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d").all()
    assert (cancelled["customer_id"].dropna().str.endswith(".0")).all()

    # The clean table is canonical: ids without the float export's ".0", parsed US dates.
    clean = pd.read_parquet(repo / "data/validated/clean.parquet")
    assert not clean["customer_id"].dropna().str.endswith(".0").any()
    assert clean["timestamp"].min() >= pd.Timestamp("2024-01-01")

    assert metrics(repo, "train")["rules"] > 0
    assert metrics(repo, "evaluate")["model"]["cases"] > 0
    report = (repo / "metrics/validation.md").read_text()
    assert "| `non_product` | item_code ('StockCode' in the source) | 13 |" in report

    # Code and pipeline are the repository's as shipped: only params.yaml was edited.
    shipped = run(
        ["git", "ls-files", "src", "dvc.yaml", "data/reference_schema.json"], repo
    ).stdout.split()
    assert "dvc.yaml" in shipped
    for rel in shipped:
        assert (repo / rel).read_bytes() == (ROOT / rel).read_bytes(), rel
    changed = run(["git", "status", "--porcelain", "--untracked-files=all"], repo).stdout
    assert not [line for line in changed.splitlines() if line[3:].startswith("src/")]


def test_groceries_runs_the_whole_pipeline_by_params_alone(tmp_path, shared_data):
    repo = make_pipeline_repo(
        tmp_path,
        {
            "ingest": {
                "source": "file",
                "path": str(shared_data / "groceries.csv.gz"),
                "format": "basket_list",
            },
            "train": {"min_support": 0.01},
        },
    )
    repro(repo)
    validation = metrics(repo, "validation")
    assert_accounted(validation)
    assert validation["rows_in"] == validation["rows_clean"] == 43_367
    assert validation["invoices_clean"] == 9_835 and validation["items_clean"] == 169
    assert validation["columns_not_provided"] == ["customer_id", "country", "unit_price"]
    assert metrics(repo, "train")["rules"] > 0
    items = pd.read_parquet(repo / "models/items.parquet")
    assert "whole milk" in set(items["item_code"])
    assert "cream cheese " in set(items["item_code"])  # labels are kept as published
    # Shelf groups come with the model: the two most common consequents stand together.
    groups = pd.read_parquet(repo / "affinity/groups.parquet").set_index("item_code")["group"]
    assert groups["whole milk"] == groups["other vegetables"] != 0
    assert metrics(repo, "affinity")["groups"] > 1
    assert (repo / "affinity/explorer.html").stat().st_size > 0


def test_fimi_retail_runs_the_whole_pipeline_by_params_alone(tmp_path, shared_data):
    repo = make_pipeline_repo(
        tmp_path,
        {
            "ingest": {"source": "file", "path": str(shared_data / "retail.dat.gz")},
            "train": {"min_support": 0.02},
        },
    )
    repro(repo)
    validation = metrics(repo, "validation")
    assert_accounted(validation)
    assert validation["rows_in"] == validation["rows_clean"] == 908_576
    assert validation["invoices_clean"] == 88_162 and validation["items_clean"] == 16_470
    source = json.loads((repo / "data/raw/source.json").read_text())
    assert source["format"] == "fimi" and source["mapping_preset"] == "fimi"
    assert metrics(repo, "train")["rules"] > 0
