"""The model registry: the rules model is the DVC artifact ``basket-rules``; its versions
and stages are GTO git tags; ``panier registry`` registers, promotes (one
annotated tag with author and message), shows, and fetches the files of the version in a
stage from the S3 remote, for the serving application."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support.remote import VersionedRepo, use_remote
from support.repos import run

pytestmark = pytest.mark.slow

MODEL_FILES = ["rules.parquet", "items.parquet", "model_card.json", "rules.pmml"]
AUTHOR = ("Ada Lead", "ada@panier.invalid")


def registry(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "panier.ops.registry", *args], repo, check=check)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tag_record(repo: Path, tag: str) -> dict[str, str]:
    fields = ["objecttype", "taggername", "taggeremail", "contents:subject", "*objectname"]
    line = run(
        [
            "git",
            "for-each-ref",
            f"refs/tags/{tag}",
            "--format=" + "%00".join(f"%({f})" for f in fields),
        ],
        repo,
    ).stdout.strip()
    return dict(zip(["type", "name", "email", "message", "commit"], line.split("\0")))


def assert_one_line_failure(result: subprocess.CompletedProcess, *fragments: str) -> None:
    message = result.stderr.strip()
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "\n" not in message and "Traceback" not in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.fixture(scope="module")
def registered(versioned_repo: VersionedRepo, tmp_path_factory) -> Path:
    """A clone of the versioned repository where v1 is registered as v1.0.0 and promoted to
    prod, and v2 is registered as v1.1.0 and promoted to staging."""
    with pytest.MonkeyPatch.context() as patch:
        from support.remote import S3_CREDENTIALS

        for key, value in S3_CREDENTIALS.items():
            patch.setenv(key, value)
        repo = versioned_repo.clone(tmp_path_factory.mktemp("registry"))
        name, email = AUTHOR
        who = ["--author", name, "--author-email", email]
        registry(repo, "register", "v1.0.0", "--ref", "v1", "-m", "first rules model", *who)
        registry(repo, "register", "v1.1.0", "--ref", "v2", "-m", "confidence floor 0.4", *who)
        registry(repo, "promote", "v1.0.0", "prod", "-m", "go live", *who)
        registry(repo, "promote", "v1.1.0", "staging", "-m", "try the stricter rules", *who)
    return repo


def test_the_model_is_declared_as_a_dvc_artifact(registered: Path):
    artifact = yaml.safe_load((registered / "dvc.yaml").read_text())["artifacts"]["basket-rules"]
    assert artifact["type"] == "model"
    assert artifact["path"] == "models"
    assert artifact["desc"] and artifact["labels"]
    outs = {
        out if isinstance(out, str) else next(iter(out))
        for stage in yaml.safe_load((registered / "dvc.yaml").read_text())["stages"].values()
        for out in stage.get("outs", [])
    }
    assert {f"models/{name}" for name in MODEL_FILES} <= outs


def test_versions_and_stages_are_annotated_gto_tags_with_author_and_message(registered: Path):
    v1 = run(["git", "rev-parse", "v1^{commit}"], registered).stdout.strip()
    v2 = run(["git", "rev-parse", "v2^{commit}"], registered).stdout.strip()
    expected = {
        "basket-rules@v1.0.0": (v1, "first rules model"),
        "basket-rules@v1.1.0": (v2, "confidence floor 0.4"),
        "basket-rules#prod#1": (v1, "go live"),
        "basket-rules#staging#2": (v2, "try the stricter rules"),
    }
    for tag, (commit, message) in expected.items():
        record = tag_record(registered, tag)
        assert record["type"] == "tag", f"{tag} is not an annotated tag"
        assert (record["name"], record["email"]) == (AUTHOR[0], f"<{AUTHOR[1]}>")
        assert record["message"] == message
        assert record["commit"] == commit


def test_show_lists_versions_and_the_version_in_each_stage(registered: Path):
    out = registry(registered, "show").stdout
    lines = out.splitlines()
    prod = next(line for line in lines if line.startswith("prod "))
    staging = next(line for line in lines if line.startswith("staging "))
    assert "v1.0.0" in prod and "Ada Lead" in prod and "go live" in prod
    assert "v1.1.0" in staging and "try the stricter rules" in staging
    assert "2 registered version(s)" in out
    # GTO's own command reads the same tags.
    gto = run([str(Path(sys.executable).parent / "gto"), "show", "basket-rules"], registered)
    assert "v1.0.0" in gto.stdout and "v1.1.0" in gto.stdout


def test_fetch_gets_the_files_of_the_version_in_a_stage_into_a_folder(
    registered: Path, versioned_repo: VersionedRepo, tmp_path: Path, s3_env
):
    # A serving host: a fresh clone with an empty DVC cache.
    host = tmp_path / "serving"
    run(["git", "clone", "-q", str(registered), str(host)], tmp_path)
    use_remote(host, versioned_repo.endpoint, versioned_repo.bucket)
    for stage, tag, version in [("prod", "v1", "v1.0.0"), ("staging", "v2", "v1.1.0")]:
        out = tmp_path / stage
        result = registry(host, "fetch", "--stage", stage, "--out", str(out))
        assert f"basket-rules {version} ({stage})" in result.stdout
        assert sorted(p.name for p in out.iterdir()) == sorted([*MODEL_FILES, "artifact.json"])
        for name in MODEL_FILES:
            assert sha256(out / name) == versioned_repo.digests[tag][f"models/{name}"], name
        manifest = json.loads((out / "artifact.json").read_text())
        assert manifest["name"] == "basket-rules"
        assert (manifest["version"], manifest["stage"]) == (version, stage)
        assert (
            manifest["commit"]
            == run(["git", "rev-parse", f"{tag}^{{commit}}"], host).stdout.strip()
        )
        assert sorted(manifest["files"]) == sorted(MODEL_FILES)


def test_promoting_moves_the_stage_and_a_fetch_follows(
    registered: Path, versioned_repo: VersionedRepo, tmp_path: Path, s3_env
):
    repo = tmp_path / "release"
    run(["git", "clone", "-q", str(registered), str(repo)], tmp_path)
    use_remote(repo, versioned_repo.endpoint, versioned_repo.bucket)
    out = tmp_path / "model"
    registry(repo, "promote", "v1.1.0", "prod", "-m", "stricter rules won the test")
    registry(repo, "fetch", "--stage", "prod", "--out", str(out))
    assert sha256(out / "rules.parquet") == versioned_repo.digests["v2"]["models/rules.parquet"]
    assert json.loads((out / "artifact.json").read_text())["version"] == "v1.1.0"
    assert tag_record(repo, "basket-rules#prod#3")["message"] == "stricter rules won the test"


def test_dvc_artifacts_get_fetches_the_same_model_folder(
    registered: Path, versioned_repo: VersionedRepo, tmp_path: Path, s3_env
):
    """The artifact path is a folder made of three DVC outputs: DVC's own command fetches
    it too (plus the folder's .gitignore)."""
    out = tmp_path / "dvc-get"
    run(
        ["dvc", "artifacts", "get", ".", "basket-rules", "--stage", "prod", "-o", str(out)],
        registered,
    )
    for name in MODEL_FILES:
        assert sha256(out / name) == versioned_repo.digests["v1"][f"models/{name}"]


def test_registry_mistakes_give_one_line_with_the_fix(registered: Path, tmp_path: Path, s3_env):
    assert_one_line_failure(
        registry(registered, "promote", "v1.0.0", "production", check=False),
        "unknown stage 'production'",
        "staging, prod",
    )
    assert_one_line_failure(
        registry(registered, "promote", "v9.9.9", "prod", check=False), "v9.9.9 is not registered"
    )
    assert_one_line_failure(
        registry(
            registered, "fetch", "--version", "v9.9.9", "--out", str(tmp_path / "x"), check=False
        ),
        "not registered",
    )


def test_a_commit_whose_model_is_not_in_the_remote_cannot_be_registered(
    registered: Path, versioned_repo: VersionedRepo, tmp_path: Path, s3_env
):
    repo = tmp_path / "unpushed"
    run(["git", "clone", "-q", str(registered), str(repo)], tmp_path)
    use_remote(repo, versioned_repo.endpoint, versioned_repo.bucket)
    # A commit whose dvc.lock points at a model nobody pushed.
    lock_file = repo / "dvc.lock"
    lock = yaml.safe_load(lock_file.read_text())
    for out in lock["stages"]["train"]["outs"]:
        if out["path"] == "models/rules.parquet":
            out["md5"] = "0" * 32
    lock_file.write_text(yaml.safe_dump(lock, sort_keys=False))
    run(["git", "commit", "-q", "-am", "model trained but not pushed"], repo)

    result = registry(repo, "register", "v2.0.0", check=False)
    assert_one_line_failure(
        result, "models/rules.parquet", "not in remote 'storage'", "panier remote push"
    )
    assert "basket-rules@v2.0.0" not in run(["git", "tag"], repo).stdout


def test_rollback_puts_the_previous_prod_version_back_with_its_reason_in_the_tag(
    registered: Path, versioned_repo: VersionedRepo, tmp_path: Path, s3_env
):
    repo = tmp_path / "rollback"
    run(["git", "clone", "-q", str(registered), str(repo)], tmp_path)
    use_remote(repo, versioned_repo.endpoint, versioned_repo.bucket)
    registry(repo, "promote", "v1.1.0", "prod", "-m", "stricter rules won the test")

    result = registry(repo, "rollback", "-m", "hit rate fell in the shop")
    assert "prod goes back from v1.1.0 to v1.0.0" in result.stdout
    tags = [
        line.removeprefix("created tag ")
        for line in result.stdout.splitlines()
        if line.startswith("created tag ")
    ]
    assert [t.split("#")[1] for t in tags] == ["prod!", "prod"]  # unassign, assign again
    for tag in tags:
        record = tag_record(repo, tag)
        assert record["type"] == "tag"
        assert record["message"] == "rollback from v1.1.0 to v1.0.0: hit rate fell in the shop"
    prod = next(
        line for line in registry(repo, "show").stdout.splitlines() if line.startswith("prod ")
    )
    assert "v1.0.0" in prod
    # DVC agrees: the rollback is GTO's own unassignment of v1.1.0 from prod.
    out = tmp_path / "dvc-get"
    run(["dvc", "artifacts", "get", ".", "basket-rules", "--stage", "prod", "-o", str(out)], repo)
    assert sha256(out / "rules.parquet") == versioned_repo.digests["v1"]["models/rules.parquet"]
    # Every step is in the history, newest first.
    history = [line for line in registry(repo, "history").stdout.splitlines() if " prod " in line]
    assert " assignment prod" in history[0] and "v1.0.0" in history[0]
    assert "unassignment prod" in history[1] and "v1.1.0" in history[1]
    assert all("rollback from v1.1.0" in h for h in history[:2])
    assert " assignment prod" in history[2] and "stricter rules won" in history[2]
    # A fetch follows the stage.
    out = tmp_path / "model"
    registry(repo, "fetch", "--stage", "prod", "--out", str(out))
    assert sha256(out / "rules.parquet") == versioned_repo.digests["v1"]["models/rules.parquet"]

    # v1.0.0 is the only version prod held that was not rolled back from: nothing further.
    assert_one_line_failure(
        registry(repo, "rollback", "-m", "again", check=False), "nothing to roll back to"
    )
    assert_one_line_failure(
        registry(repo, "rollback", "--stage", "staging", check=False), "say why with -m"
    )
