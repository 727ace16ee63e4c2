"""The artifact contract: the service loads an artifact of the documented schema, and refuses
anything else with one message naming the file and the problem. (That the train stage
writes this schema is tested in the repository's tests/test_service_ranking.py; that the
service never imports the pipeline, by import-linter's contracts.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from model_files import shopping_baskets, write_model
from panier_service.artifact import SCHEMA_VERSION, ModelError, load_model


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    return write_model(tmp_path_factory.mktemp("trained"), shopping_baskets(2500))


@pytest.fixture
def model_dir(trained, tmp_path) -> Path:
    """A fresh copy of the trained model, for a test to break."""
    return Path(shutil.copytree(trained, tmp_path / "model"))


def edit_card(folder: Path, change) -> None:
    card = json.loads((folder / "model_card.json").read_text())
    change(card)
    (folder / "model_card.json").write_text(json.dumps(card))


def edit_table(path: Path, change) -> None:
    table = pq.read_table(path)
    pq.write_table(change(table), path)


def refused(folder: Path) -> str:
    with pytest.raises(ModelError) as caught:
        load_model(folder)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_loads_what_the_train_stage_writes(model_dir):
    card = json.loads((model_dir / "model_card.json").read_text())
    model = load_model(model_dir)
    assert card["schema_version"] == SCHEMA_VERSION
    assert model.n_rules == card["counts"]["rules"] > 0
    assert len(model.items) == card["counts"]["items"]
    assert model.version.startswith("local-") and model.stage is None
    described = model.describe()
    assert described["data_fingerprint_sha256"] == card["data"]["fingerprint_sha256"]
    assert described["params"] == card["params"]


def test_the_version_of_a_folder_follows_its_content(model_dir, tmp_path):
    first = load_model(model_dir).version
    assert load_model(shutil.copytree(model_dir, tmp_path / "copy")).version == first
    edit_table(model_dir / "rules.parquet", lambda t: t.slice(1))
    edit_card(model_dir, lambda c: c["counts"].update(rules=c["counts"]["rules"] - 1))
    assert load_model(model_dir).version != first


def test_an_unknown_schema_version_is_refused(model_dir):
    edit_card(model_dir, lambda c: c.update(schema_version=2))
    message = refused(model_dir)
    assert "model_card.json" in message and "schema_version 2 is not supported" in message
    assert f"reads schema_version {SCHEMA_VERSION} only" in message


@pytest.mark.parametrize("version", [True, 1.0, "1"])
def test_a_schema_version_that_only_equals_1_is_refused(model_dir, version):
    edit_card(model_dir, lambda c: c.update(schema_version=version))
    assert f"schema_version {version!r} is not supported" in refused(model_dir)


@pytest.mark.parametrize("key", ["params", "counts", "libraries"])
def test_card_sections_that_are_not_objects_are_refused(model_dir, key):
    edit_card(model_dir, lambda c: c.update({key: [1, 2]}))
    message = refused(model_dir)
    assert "model_card.json" in message and f"{key} must be a JSON object, not list" in message


def test_a_card_without_schema_version_is_refused(model_dir):
    edit_card(model_dir, lambda c: c.pop("schema_version"))
    assert "schema_version None is not supported" in refused(model_dir)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c.update(model="neural_net"), "serves 'association_rules' models only"),
        (
            lambda c: c.update(files={"rules": "../rules.parquet", "items": "items.parquet"}),
            "files must name the rules and items files of the same folder",
        ),
        (lambda c: c["data"].pop("fingerprint_sha256"), "data.fingerprint_sha256 is missing"),
    ],
)
def test_a_card_that_breaks_the_schema_is_refused(model_dir, change, expected):
    edit_card(model_dir, change)
    assert expected in refused(model_dir)


def test_a_card_that_is_not_json_is_refused(model_dir):
    (model_dir / "model_card.json").write_text('{"schema_version": 1,')
    assert "model_card.json: not valid JSON" in refused(model_dir)


def test_a_missing_folder_or_file_is_named(model_dir, tmp_path):
    assert "no such model folder" in refused(tmp_path / "nowhere")
    (model_dir / "items.parquet").unlink()
    message = refused(model_dir)
    assert "items.parquet: missing" in message


def test_a_truncated_parquet_file_is_refused(model_dir):
    path = model_dir / "rules.parquet"
    path.write_bytes(path.read_bytes()[:200])
    assert "rules.parquet: not a readable Parquet file" in refused(model_dir)


def test_a_missing_column_is_named(model_dir):
    edit_table(model_dir / "rules.parquet", lambda t: t.drop_columns(["lift"]))
    assert "rules.parquet: missing column(s) lift" in refused(model_dir)


def test_a_column_of_the_wrong_type_is_named(model_dir):
    edit_table(
        model_dir / "rules.parquet",
        lambda t: t.set_column(
            t.column_names.index("confidence"),
            "confidence",
            pa.array([str(v) for v in t.column("confidence").to_pylist()]),
        ),
    )
    assert "column confidence is string, expected float" in refused(model_dir)


def test_nulls_in_an_antecedent_are_refused(model_dir):
    def null_first(table):
        antecedents = table.column("antecedent").to_pylist()
        antecedents[0] = [None]
        return table.set_column(
            table.column_names.index("antecedent"),
            "antecedent",
            pa.array(antecedents, pa.list_(pa.string())),
        )

    edit_table(model_dir / "rules.parquet", null_first)
    assert "column antecedent has 1 null value(s)" in refused(model_dir)


def test_a_rule_whose_consequent_is_in_its_antecedent_is_refused(model_dir):
    def self_rule(table):
        consequents = table.column("consequent").to_pylist()
        consequents[0] = table.column("antecedent").to_pylist()[0][0]
        return table.set_column(
            table.column_names.index("consequent"), "consequent", pa.array(consequents)
        )

    edit_table(model_dir / "rules.parquet", self_rule)
    assert "rule 0" in (message := refused(model_dir))
    assert "the consequent is also in the antecedent" in message


def test_a_confidence_out_of_range_is_refused(model_dir):
    edit_table(
        model_dir / "rules.parquet",
        lambda t: t.set_column(
            t.column_names.index("confidence"), "confidence", pa.array([1.5] * t.num_rows)
        ),
    )
    assert "out of range" in refused(model_dir)


def test_files_from_different_training_runs_are_refused(model_dir):
    edit_table(model_dir / "rules.parquet", lambda t: t.slice(0, t.num_rows - 2))
    message = refused(model_dir)
    assert "counts.rules" in message and "different training runs" in message


def test_a_rule_naming_an_item_outside_the_catalog_is_refused(model_dir):
    rules = pq.read_table(model_dir / "rules.parquet")
    consequent = rules.column("consequent")[0].as_py()
    edit_table(
        model_dir / "items.parquet",
        lambda t: t.filter(pc.not_equal(t.column("item_code"), consequent)),
    )
    assert f"item(s) {consequent} are not in the items file" in refused(model_dir)


def test_duplicate_item_codes_are_refused(model_dir):
    edit_table(model_dir / "items.parquet", lambda t: pa.concat_tables([t, t.slice(0, 1)]))
    assert "appears more than once" in refused(model_dir)
