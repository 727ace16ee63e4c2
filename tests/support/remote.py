"""DVC remote storage on the local S3 server: fake credentials, clients, and a pipeline
repository with two tagged versions pushed (shared by the remote and registry tests)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import yaml

from support.repos import deep_update, make_pipeline_repo, pipeline_outputs, run, tool_env

S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


# Every file the pipeline writes: data and models (pushed to the remote), metrics and plots
# (git). Only the params check is left out: it says nothing about the data.
PIPELINE_OUTPUTS = pipeline_outputs(exclude_stages=("check-params",))

# v2 changes one train param: train, evaluate and drift-check re-run, ingest and validate not.
VERSION_CHANGES = {"v1": {}, "v2": {"train": {"min_confidence": 0.4}}}


def output_digests(repo: Path) -> dict[str, str]:
    """sha256 of every pipeline output in ``repo``'s workspace (absent files are skipped)."""
    return {
        rel: hashlib.sha256((repo / rel).read_bytes()).hexdigest()
        for rel in PIPELINE_OUTPUTS
        if (repo / rel).is_file()
    }


def s3_client(endpoint: str, **credentials):
    import boto3

    keys = {
        "aws_access_key_id": S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    } | credentials
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **keys)


def use_remote(
    repo: Path,
    endpoint: str,
    bucket: str,
    prefix: str = "panier",
    env: dict[str, str] | None = None,
) -> None:
    """Point the committed default remote ``storage`` at ``s3://bucket/prefix`` on
    ``endpoint``, for this clone only (``.dvc/config.local``), as a user would."""
    run(
        ["dvc", "remote", "modify", "--local", "storage", "url", f"s3://{bucket}/{prefix}"],
        repo,
        env=env,
    )
    run(["dvc", "remote", "modify", "--local", "storage", "endpointurl", endpoint], repo, env=env)


class VersionedRepo:
    """A built pipeline repository with git tags ``v1`` and ``v2``, both pushed (outputs and
    run cache) to ``s3://bucket/panier`` on ``endpoint``. ``digests[tag]`` holds the sha256
    of every output at that tag. Read only: tests work on clones."""

    def __init__(self, path: Path, endpoint: str, bucket: str, digests: dict[str, dict[str, str]]):
        self.path, self.endpoint, self.bucket, self.digests = path, endpoint, bucket, digests

    def clone(self, parent: Path, name: str = "clone", rev: str | None = None) -> Path:
        """A fresh clone (empty DVC cache) using the same remote."""
        target = parent / name
        run(["git", "clone", "-q", str(self.path), str(target)], parent)
        if rev:
            run(["git", "checkout", "-q", rev], target)
        use_remote(target, self.endpoint, self.bucket)
        return target


def build_versioned_repo(parent: Path, endpoint: str) -> VersionedRepo:
    """Under ``parent``, build v1 (small params), commit, tag, push to ``endpoint``; then v2
    (``VERSION_CHANGES``), the same. About a minute."""
    repo = make_pipeline_repo(parent, name="origin")
    env = tool_env(repo) | S3_CREDENTIALS
    bucket = "panier-versions"
    s3_client(endpoint).create_bucket(Bucket=bucket)
    use_remote(repo, endpoint, bucket, env=env)
    digests = {}
    for tag, changes in VERSION_CHANGES.items():
        if changes:
            params_file = repo / "params.yaml"
            params_file.write_text(
                yaml.safe_dump(
                    deep_update(yaml.safe_load(params_file.read_text()), changes), sort_keys=False
                )
            )
        run(["dvc", "repro"], repo, env=env)
        run(["git", "add", "-A"], repo, env=env)
        run(["git", "commit", "-q", "-m", f"pipeline {tag}"], repo, env=env)
        run(["git", "tag", tag], repo, env=env)
        run([sys.executable, "-m", "panier.ops.remote", "push"], repo, env=env)
        digests[tag] = output_digests(repo)
    return VersionedRepo(repo, endpoint, bucket, digests)
