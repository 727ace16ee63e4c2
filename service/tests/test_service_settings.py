"""Settings come from defaults, then ``PANIER_SERVICE_*`` environment variables, then flags:
a flag given wins over its variable, and a bad value stops the start with a usage error
naming the setting."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from panier_service.__main__ import build_parser, load_settings
from panier_service.settings import STDOUT, Settings, env_name, is_flag


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No PANIER_SERVICE_* variable of the machine running the tests leaks in."""
    import os

    for name in list(os.environ):
        if name.startswith("PANIER_SERVICE_") or name == "PANIER_ADMIN_TOKEN":
            monkeypatch.delenv(name)


def test_the_defaults():
    settings = load_settings([])
    assert settings.port == 8000 and settings.host == "127.0.0.1"
    assert settings.max_k == 50 and settings.unknown_items == "ignore"
    assert settings.log_to == Path("logs/requests.jsonl") and settings.token is None


def test_environment_variables_set_what_no_flag_gives(monkeypatch):
    monkeypatch.setenv("PANIER_SERVICE_MAX_ITEMS", "30")
    monkeypatch.setenv("PANIER_SERVICE_UNKNOWN_ITEMS", "reject")
    monkeypatch.setenv("PANIER_SERVICE_ACCESS_LOG", "true")
    monkeypatch.setenv("PANIER_SERVICE_MODEL", "/srv/model")
    settings = load_settings([])
    assert settings.max_items == 30 and settings.unknown_items == "reject"
    assert settings.access_log is True and settings.model == Path("/srv/model")


def test_a_flag_wins_over_its_environment_variable(monkeypatch):
    monkeypatch.setenv("PANIER_SERVICE_MAX_ITEMS", "30")
    monkeypatch.setenv("PANIER_SERVICE_ACCESS_LOG", "true")
    settings = load_settings(["--max-items", "12", "--no-access-log"])
    assert settings.max_items == 12 and settings.access_log is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [("-", STDOUT), ("off", None), ("", None), ("logs/r.jsonl", Path("logs/r.jsonl"))],
)
def test_the_request_log_goes_to_a_file_to_stdout_or_nowhere(value, expected):
    assert load_settings(["--request-log", value]).log_to == expected


def test_no_request_log_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("PANIER_SERVICE_REQUEST_LOG", "-")
    assert load_settings(["--no-request-log"]).log_to is None


def test_the_admin_token_comes_from_the_environment_only(monkeypatch):
    monkeypatch.setenv("PANIER_SERVICE_ADMIN_TOKEN", "s3cret")
    settings = load_settings([])
    assert settings.token == "s3cret" and "s3cret" not in repr(settings)
    assert "--admin-token" not in build_parser().format_help()


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--max-k", "0"], {}, "max_k: Input should be greater than or equal to 1"),
        (["--default-k", "9", "--max-k", "5"], {}, "default_k must be between 1 and max_k"),
        (["--model", "m", "--registry", "."], {}, "give either model or registry"),
        ([], {"PANIER_SERVICE_PORT": "eighty"}, "port: Input should be a valid integer"),
        ([], {"PANIER_SERVICE_POLL_SECONDS": "-1"}, "poll_seconds: Input should be greater"),
    ],
)
def test_a_bad_value_is_a_usage_error_naming_the_setting(argv, env, message, monkeypatch, capsys):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        load_settings(argv)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_every_flag_is_documented_with_its_variable():
    help_text = " ".join(build_parser().format_help().split())
    for name in Settings.model_fields:
        if is_flag(name):
            assert f"--{name.replace('_', '-')}" in help_text
            assert env_name(name) in help_text


def test_a_registry_without_gto_and_dvc_installed_says_how_to_install_them(monkeypatch):
    from panier_service.artifact import ModelError
    from panier_service.registry import resolve_stage

    monkeypatch.setitem(sys.modules, "gto.api", None)  # as if not installed: import fails
    with pytest.raises(ModelError, match=r"pip install 'panier-service\[registry\]'"):
        resolve_stage(".", "basket-rules", "prod")
