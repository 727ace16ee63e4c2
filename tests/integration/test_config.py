"""params.yaml is validated by one schema, with messages that name the key and the fix."""

from pathlib import Path

import pytest

from panier.core.config import load_params, parse_params
from panier.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_the_repository_params_file_is_valid():
    params = load_params(ROOT / "params.yaml")
    assert params.train.min_support > 0
    assert params.evaluate.primary_k in params.evaluate.ks


def test_an_empty_file_means_every_default():
    assert parse_params(None) == parse_params({})


def test_an_unknown_key_is_named_in_the_error():
    with pytest.raises(ConfigError) as excinfo:
        parse_params({"train": {"min_suport": 0.01}})
    assert "train.min_suport" in str(excinfo.value)
    assert "docs/reference/params.md" in str(excinfo.value)


def test_an_out_of_range_value_is_named_with_what_was_given():
    with pytest.raises(ConfigError) as excinfo:
        parse_params({"train": {"min_support": 1.5}, "windows": {"current_days": 0}})
    message = str(excinfo.value)
    assert "2 invalid setting(s)" in message
    assert "train.min_support" in message and "1.5" in message
    assert "windows.current_days" in message


def test_cross_field_rules_are_checked():
    with pytest.raises(ConfigError, match="primary_k"):
        parse_params({"evaluate": {"ks": [1, 3], "primary_k": 5}})
    with pytest.raises(ConfigError, match="weakened_rule"):
        parse_params(
            {"ingest": {"generator": {"planted_rules": [], "drift": {"weakened_rule": 0}}}}
        )


def test_malformed_yaml_and_a_missing_file_are_reported_plainly(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "missing.yaml")


# Settings whose value is a user's own table (names chosen by the user), documented as one key.
_FREE_FORM = {
    "ingest.generator.countries",
    "ingest.generator.planted_rules",
    "ingest.mapping.columns",
    "ingest.http.headers_from_env",
    "validate.max_rejected_share_by_reason",
    "train.spark.conf",
}


def _undescribed(model, prefix: str = "") -> list[str]:
    from pydantic import BaseModel

    missing = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        nested = isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
        if nested and not field.description:
            missing += _undescribed(field.annotation, f"{key}.")
        elif not field.description:
            missing.append(key)
    return missing


def test_params_yaml_holds_exactly_the_schema_defaults():
    """One source of truth: deleting a key of params.yaml changes nothing."""
    import json

    import yaml

    from panier.core.config import Params

    committed = yaml.safe_load((ROOT / "params.yaml").read_text())
    defaults = Params().model_dump(by_alias=True, mode="json")
    assert json.loads(json.dumps(committed, default=str)) == defaults


def test_every_setting_has_a_description():
    from panier.core.config import Params

    assert _undescribed(Params) == []
