"""params.yaml is validated by one schema, with messages that name the key and the fix."""

from pathlib import Path

import pytest

from panier.config import load_params, parse_params
from panier.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


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
        parse_params({"ingest": {"generator": {"drift": {"weakened_rule": 0}}}})


def test_malformed_yaml_and_a_missing_file_are_reported_plainly(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "missing.yaml")


# Settings whose value is a user's own table (names chosen by the user), documented as one key.
_FREE_FORM = {"ingest.generator.countries", "ingest.generator.planted_rules",
              "ingest.mapping.columns", "ingest.http.headers_from_env",
              "validate.max_rejected_share_by_reason", "train.spark.conf"}


def _leaf_keys(section: dict, prefix: str = "") -> set[str]:
    keys = set()
    for name, value in section.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and key not in _FREE_FORM:
            keys |= _leaf_keys(value, f"{key}.")
        else:
            keys.add(key)
    return keys


def _documented_keys(table: str) -> tuple[set[str], set[str]]:
    """Keys named in the first cell of the params reference table: ``a.b.c``, siblings after
    it as ``d`` (meaning ``a.b.d``), and whole sections as ``a.b.*``."""
    keys, sections = set(), set()
    for line in table.splitlines():
        if not line.startswith("| `"):
            continue
        cell = line.split("|")[1].replace(" or ", ", ")
        names = [name.strip().strip("`") for name in cell.split(", ")]
        parent = names[0].rsplit(".", 1)[0]
        for name in names:
            full = name if "." in name else f"{parent}.{name}"
            (sections if full.endswith(".*") else keys).add(full.removesuffix(".*"))
    return keys, sections


def test_every_setting_of_params_yaml_is_explained_in_the_params_reference():
    import yaml

    settings = _leaf_keys(yaml.safe_load((ROOT / "params.yaml").read_text()))
    keys, sections = _documented_keys((ROOT / "docs" / "reference" / "params.md").read_text())
    undocumented = {key for key in settings - keys
                    if not any(key.startswith(f"{section}.") for section in sections)}
    assert undocumented == set(), "add these to docs/reference/params.md"
    assert keys - settings == set(), "docs/reference/params.md documents settings params.yaml lacks"
