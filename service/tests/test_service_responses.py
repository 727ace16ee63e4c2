"""The bodies of ``GET /health``, ``GET /version`` and ``POST /admin/reload``: the OpenAPI
description names each one's model (``panier_service.schemas``), and a real answer
validates against it with nothing left over (its keys and values survive a round trip
through the model). ``/version`` of a service following a registry stage, with a poll and a
refused version, runs on a stand-in for GTO and DVC."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pydantic import BaseModel

from clients import InProcess, Reply, wait_until
from model_files import shopping_baskets, write_model
from panier_service import registry
from panier_service.artifact import load_model
from panier_service.observability import POLL_OUTCOMES
from panier_service.schemas import (
    HealthResponse,
    RegistryPoll,
    ReloadResponse,
    VersionResponse,
)

TOKEN = "test-token"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return write_model(tmp_path_factory.mktemp("model"), shopping_baskets(1000))


@pytest.fixture
def service(model_dir, monkeypatch):
    monkeypatch.setenv("PANIER_SERVICE_ADMIN_TOKEN", TOKEN)
    with InProcess("--model", str(model_dir), "--no-request-log") as running:
        yield running


def documented(service: InProcess, method: str, path: str) -> str:
    """The name of the schema OpenAPI gives the endpoint's 200 answer."""
    spec = service.get("/openapi.json").json()
    answer = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    return answer["schema"]["$ref"].removeprefix("#/components/schemas/")


def assert_described(reply: Reply, model: type[BaseModel]) -> BaseModel:
    """The answer is a 200 that ``model`` validates, keys and values unchanged."""
    assert reply.status == 200, reply.body
    body = reply.json()
    parsed = model.model_validate_json(reply.body)
    assert parsed.model_dump(mode="json") == body
    return parsed


def test_health_is_described_by_health_response(service, model_dir):
    assert documented(service, "get", "/health") == "HealthResponse"
    health = assert_described(service.get("/health"), HealthResponse)
    assert health.model_version == load_model(model_dir).version


def test_version_is_described_by_version_response(service, model_dir):
    assert documented(service, "get", "/version") == "VersionResponse"
    version = assert_described(service.get("/version"), VersionResponse)
    assert version.model.model_version == load_model(model_dir).version
    assert version.model_source == f"path:{model_dir.resolve()}"
    assert version.registry_poll is None and version.refused_version is None


def test_a_reload_is_described_by_reload_response(service, model_dir):
    assert documented(service, "post", "/admin/reload") == "ReloadResponse"
    reply = service.request("POST", "/admin/reload", b"", {"Authorization": f"Bearer {TOKEN}"})
    reload = assert_described(reply, ReloadResponse)
    assert reload.previous_version == reload.model_version == load_model(model_dir).version
    spec = service.get("/openapi.json").json()
    refusals = spec["paths"]["/admin/reload"]["post"]["responses"]
    for status in ("403", "409"):
        schema = refusals[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}


def test_the_polls_outcomes_are_those_the_metrics_count():
    outcome = RegistryPoll.model_json_schema()["properties"]["last_outcome"]["anyOf"][0]
    assert set(outcome["enum"]) == set(POLL_OUTCOMES)


def test_version_of_a_service_following_a_stage_that_refused_a_version(
    model_dir, tmp_path, monkeypatch
):
    """Polls and a refusal in ``/version``: GTO's stage resolution and DVC's fetch replaced
    by a stage that points where the test says, and a folder per version."""
    broken = Path(shutil.copytree(model_dir, tmp_path / "broken"))
    card = json.loads((broken / "model_card.json").read_text())
    card["schema_version"] = 2
    (broken / "model_card.json").write_text(json.dumps(card))
    folders = {"v1.0.0": model_dir, "v1.1.0": broken}
    stage = ["v1.0.0"]
    monkeypatch.setattr(registry, "resolve_stage", lambda *_: (stage[0], "0" * 40))
    monkeypatch.setattr(registry, "fetch_version", lambda _r, _a, version, *_: folders[version])

    with InProcess(
        "--registry", "stand-in", "--poll-seconds", "0.05", "--no-request-log"
    ) as service:
        stage[0] = "v1.1.0"

        def version() -> VersionResponse:
            return assert_described(service.get("/version"), VersionResponse)

        wait_until(lambda: version().registry_poll.last_outcome == "known_refused")
        answer = version()
    assert answer.model.model_version == "v1.0.0" and answer.model.stage == "prod"
    assert answer.refused_version.model_version == "v1.1.0"
    assert "schema_version 2 is not supported" in answer.refused_version.reason
    assert answer.last_refused_reload == answer.refused_version.reason
    assert answer.registry_poll.interval_seconds == 0.05
    assert answer.registry_poll.last_checked_at and answer.registry_poll.last_error is None
