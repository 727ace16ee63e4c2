"""Loading from the model registry: the version in a stage, resolved with GTO from git tags
and fetched with DVC, in a real temporary git repository with a local DVC cache."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import pytest
import yaml

from panier_service.artifact import ModelError, load_model
from panier_service.registry import ModelSource
from support.repos import make_pipeline_repo, run, tool_env
from support.service_support import Service

pytestmark = pytest.mark.slow
ARTIFACT = "basket-rules"


def declare_artifact(repo: Path) -> None:
    """The registry's artifact declaration in dvc.yaml (added here when the repository does
    not declare it yet)."""
    dvc_yaml = repo / "dvc.yaml"
    if ARTIFACT not in (yaml.safe_load(dvc_yaml.read_text()).get("artifacts") or {}):
        with dvc_yaml.open("a") as out:
            out.write(
                f"\nartifacts:\n  {ARTIFACT}:\n    path: models\n    type: model\n"
                "    desc: association rules and item popularity\n"
            )


def train_and_commit(repo: Path, message: str) -> None:
    run(["dvc", "repro", "-q"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", message], repo)


def gto(repo: Path, *args: str) -> None:
    run(["gto", *args], repo)


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Path:
    """A pipeline repository whose model v1.0.0 is registered and assigned to prod."""
    repo = make_pipeline_repo(tmp_path_factory.mktemp("registry"))
    declare_artifact(repo)
    train_and_commit(repo, "model v1")
    gto(repo, "register", ARTIFACT, "--version", "v1.0.0")
    gto(repo, "assign", ARTIFACT, "--version", "v1.0.0", "--stage", "prod")
    return repo


@pytest.fixture
def own_registry(registry, tmp_path) -> Path:
    """A private copy (git history, tags and DVC cache) for a test that promotes versions."""
    return Path(shutil.copytree(registry, tmp_path / "registry", symlinks=True))


def test_the_version_in_a_stage_is_fetched_and_loaded(registry, tmp_path):
    model = ModelSource(registry=str(registry), stage="prod", cache_dir=tmp_path).load()
    assert (model.version, model.stage) == ("v1.0.0", "prod")
    assert f"{ARTIFACT}@v1.0.0" in model.source
    # The same bytes the train stage wrote.
    assert model.content_sha256 == load_model(registry / "models").content_sha256
    fetched = sorted(p.name for p in (tmp_path / ARTIFACT).iterdir())
    assert len(fetched) == 1 and fetched[0].startswith("v1.0.0-")


def test_a_stage_without_a_version_is_a_clear_error(registry, tmp_path):
    with pytest.raises(ModelError) as caught:
        ModelSource(registry=str(registry), stage="staging", cache_dir=tmp_path).load()
    message = str(caught.value)
    assert f"no version of '{ARTIFACT}' is in stage 'staging'" in message
    assert f"gto assign {ARTIFACT} --version vX.Y.Z --stage staging" in message


def test_a_registry_that_is_not_a_repository_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError) as caught:
        ModelSource(registry=str(tmp_path), cache_dir=tmp_path / "cache").load()
    assert f"registry {tmp_path}: cannot read artifact '{ARTIFACT}'" in str(caught.value)


def test_the_service_follows_promotions(own_registry, tmp_path):
    repo = own_registry
    version_1 = ModelSource(registry=str(repo), cache_dir=tmp_path / "c1").load()

    # A second version, trained with other params, registered and put in staging only.
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"]["min_confidence"] = 0.5
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    train_and_commit(repo, "model v2: stricter rules")
    gto(repo, "register", ARTIFACT, "--version", "v1.1.0")
    gto(repo, "assign", ARTIFACT, "--version", "v1.1.0", "--stage", "staging")

    cache = tmp_path / "cache"
    with Service(
        "--registry",
        str(repo),
        "--stage",
        "prod",
        "--cache-dir",
        str(cache),
        "--no-request-log",
        env=tool_env(),
        cwd=tmp_path,
    ) as service:
        version = service.get("/version").json()
        assert version["model"]["model_version"] == "v1.0.0"
        assert version["model"]["stage"] == "prod"
        assert version["model"]["content_sha256"] == version_1.content_sha256
        assert version["model"]["params"]["train"]["min_confidence"] == 0.3

        staged = ModelSource(registry=str(repo), stage="staging", cache_dir=cache).load()
        assert staged.version == "v1.1.0" and staged.n_rules < version_1.n_rules

        gto(repo, "assign", ARTIFACT, "--version", "v1.1.0", "--stage", "prod")
        service.signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while service.get("/health").json()["model_version"] != "v1.1.0":
            assert time.monotonic() < deadline, service.get("/version").json()
            time.sleep(0.2)
        version = service.get("/version").json()
        assert version["model"]["params"]["train"]["min_confidence"] == 0.5
        assert version["model"]["content_sha256"] == staged.content_sha256
        assert (
            service.metric(
                "panier_model_info",
                model_version="v1.1.0",
                stage="prod",
                data_fingerprint=staged.card["data"]["fingerprint_sha256"],
            )
            == 1
        )


def test_the_command_line_refuses_an_empty_stage_with_one_message(registry, tmp_path):
    service = Service(
        "--registry",
        str(registry),
        "--stage",
        "staging",
        "--cache-dir",
        str(tmp_path),
        env=tool_env(),
    )
    with pytest.raises(RuntimeError):
        service.start()
    assert "cannot load the model: registry" in service.stderr
    assert "Traceback" not in service.stderr
