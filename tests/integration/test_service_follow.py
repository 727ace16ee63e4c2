"""A service started on a registry stage follows it: it checks the stage on an interval and
swaps atomically to the version the stage points at, with no failed request; a version that
fails its checks is refused, the current one keeps serving, and the refusal shows in
``/version`` and ``/metrics``; a rollback in the registry brings the service back."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
import yaml

from support.repos import make_pipeline_repo, run, tool_env
from support.service_support import Load, Service, serving, wait_for
from test_service_registry import ARTIFACT, declare_artifact, gto, train_and_commit

pytestmark = pytest.mark.slow


def test_the_service_follows_the_stage_refuses_a_broken_version_and_follows_a_rollback(
    tmp_path: Path,
):
    repo = make_pipeline_repo(tmp_path, name="registry")
    declare_artifact(repo)
    train_and_commit(repo, "model v1")
    gto(repo, "register", ARTIFACT, "--version", "v1.0.0")
    gto(repo, "assign", ARTIFACT, "--version", "v1.0.0", "--stage", "prod")
    basket = ["10040"]  # antecedent of a planted rule

    with (
        Service(
            "--registry",
            str(repo),
            "--stage",
            "prod",
            "--poll-seconds",
            "0.5",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-request-log",
            env=tool_env(),
            cwd=tmp_path,
        ) as service,
        Load(service, basket) as load,
    ):
        version = service.get("/version").json()
        assert version["model"]["model_version"] == "v1.0.0"
        assert version["registry_poll"]["interval_seconds"] == 0.5
        assert version["refused_version"] is None

        # v1.1.0: stricter rules, promoted to prod; no signal, no admin call.
        params = yaml.safe_load((repo / "params.yaml").read_text())
        params["train"]["min_confidence"] = 0.5
        (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        train_and_commit(repo, "model v2: stricter rules")
        gto(repo, "register", ARTIFACT, "--version", "v1.1.0")
        gto(repo, "assign", ARTIFACT, "--version", "v1.1.0", "--stage", "prod")
        version = wait_for(service, serving("v1.1.0"))
        assert version["model"]["params"]["train"]["min_confidence"] == 0.5
        assert service.metric("panier_registry_polls_total", outcome="reloaded") == 1

        # v1.2.0: a model card of an unknown layout; promoted, fetched, refused.
        card_path = repo / "models" / "model_card.json"
        card = json.loads(card_path.read_text())
        card["schema_version"] = 99
        card_path.write_text(json.dumps(card))
        run(["dvc", "commit", "-f", "-q", "train"], repo)
        run(["git", "commit", "-q", "-am", "a model the service cannot read"], repo)
        gto(repo, "register", ARTIFACT, "--version", "v1.2.0")
        gto(repo, "assign", ARTIFACT, "--version", "v1.2.0", "--stage", "prod")
        version = wait_for(service, lambda v: v["refused_version"] is not None)
        assert version["model"]["model_version"] == "v1.1.0"
        assert version["refused_version"]["model_version"] == "v1.2.0"
        assert "schema_version" in version["refused_version"]["reason"]
        assert (
            service.metric("panier_model_refused_info", model_version="v1.2.0", stage="prod") == 1
        )
        # Not fetched again at every check.
        wait_for(service, lambda v: v["registry_poll"]["last_outcome"] == "known_refused")
        assert service.metric("panier_registry_polls_total", outcome="refused") == 1

        # Rollback in the registry: prod goes back to v1.1.0, then to v1.0.0.
        rollback = [sys.executable, "-m", "panier.ops.registry", "rollback", "--no-remote-check"]
        out = run([*rollback, "-m", "card layout 99 unknown to the service"], repo).stdout
        assert "from v1.2.0 to v1.1.0" in out
        version = wait_for(service, lambda v: v["refused_version"] is None)
        assert version["model"]["model_version"] == "v1.1.0"
        assert (
            service.metric("panier_model_refused_info", model_version="v1.2.0", stage="prod") == 0
        )
        out = run([*rollback, "-m", "stricter rules answer fewer baskets"], repo).stdout
        assert "from v1.1.0 to v1.0.0" in out
        wait_for(service, serving("v1.0.0"))
        time.sleep(0.5)

    assert load.statuses and set(load.statuses) == {200}, sorted(set(load.statuses))
    assert {"v1.0.0", "v1.1.0"} <= load.versions
