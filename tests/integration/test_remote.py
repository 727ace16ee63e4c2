"""Versions in remote storage, against a real S3 server on 127.0.0.1 (moto): push, pull into
a fresh clone, reuse the run cache, go back to a tagged version and compare two, and the
faults a team meets: a server that dies in the middle of a push, wrong credentials, a
missing bucket, an unreachable endpoint, a corrupted object."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from support.remote import VERSION_CHANGES, VersionedRepo, output_digests, s3_client, use_remote
from support.repos import deep_update, run, tool_env
from support.servers import CuttingProxy, S3Server
from support.servers import unused_port as _free_port

pytestmark = pytest.mark.slow

STAGES = ["ingest", "validate", "train", "evaluate", "drift-check"]
UP_TO_DATE = "Data and pipelines are up to date"


def ran_stages(output: str) -> list[str]:
    return [s for s in STAGES if f"Running stage '{s}'" in output]


def panier_remote(
    repo: Path, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "panier.ops.remote", *args], repo, check=check, env=env)


def assert_one_line_failure(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """The command failed with exit 1 and one line on stderr holding every fragment."""
    message = result.stderr.strip()
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "\n" not in message and "Traceback" not in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def object_keys(s3, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def copy_bucket(s3, source: str, target: str) -> None:
    s3.create_bucket(Bucket=target)
    for key in object_keys(s3, source):
        s3.copy_object(Bucket=target, Key=key, CopySource={"Bucket": source, "Key": key})


def locked_md5(repo: Path, path: str) -> str:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return next(
        out["md5"]
        for stage in lock["stages"].values()
        for out in stage.get("outs", [])
        if out["path"] == path
    )


# ---------------------------------------------------------------------------------------
# Push, then a fresh clone pulls.


def test_a_fresh_clone_pulls_byte_identical_outputs_and_is_up_to_date(
    versioned_repo: VersionedRepo, tmp_path: Path, s3_env
):
    clone = versioned_repo.clone(tmp_path)
    assert not (clone / ".dvc" / "cache").exists()
    assert "models/rules.parquet" not in output_digests(clone)  # data is not in git

    run(["dvc", "pull"], clone)

    assert output_digests(clone) == versioned_repo.digests["v2"]
    assert UP_TO_DATE in run(["dvc", "status"], clone).stdout
    # Nothing was re-run: dvc.lock and the metrics in git are untouched.
    assert run(["git", "status", "--porcelain"], clone).stdout == ""


def test_check_reports_a_fully_pushed_workspace(versioned_repo: VersionedRepo, s3_env):
    result = panier_remote(versioned_repo.path, "check")
    assert "reachable" in result.stdout
    assert "every output of this workspace is in the remote" in result.stdout


def test_repro_pull_reuses_the_run_cache_instead_of_recomputing(
    versioned_repo: VersionedRepo, tmp_path: Path, s3_env
):
    """A teammate on v1 makes the params change that produced v2. Its results are in the
    pushed run cache, so no stage runs: train, evaluate and drift-check are restored
    (evaluate and drift-check only because panier.ops.remote push also uploads their
    cache: false metrics), ingest and validate are pulled."""
    clone = versioned_repo.clone(tmp_path, rev="v1")
    params_file = clone / "params.yaml"
    params_file.write_text(
        yaml.safe_dump(
            deep_update(yaml.safe_load(params_file.read_text()), VERSION_CHANGES["v2"]),
            sort_keys=False,
        )
    )

    result = run(["dvc", "repro", "--pull"], clone)

    output = result.stdout + result.stderr
    assert ran_stages(output) == []
    for stage in ["train", "evaluate", "drift-check"]:
        assert f"Stage '{stage}' is cached - skipping run" in output
    assert output_digests(clone) == versioned_repo.digests["v2"]
    assert UP_TO_DATE in run(["dvc", "status"], clone).stdout


# ---------------------------------------------------------------------------------------
# Time travel.


def test_checking_out_a_tag_restores_that_version_exactly(
    versioned_repo: VersionedRepo, tmp_path: Path, s3_env
):
    """From the remote into an empty cache, then back again from the local cache alone."""
    clone = versioned_repo.clone(tmp_path)
    assert versioned_repo.digests["v1"] != versioned_repo.digests["v2"]
    for tag in ["v1", "v2"]:
        run(["git", "checkout", "-q", tag], clone)
        run(["dvc", "pull"], clone)
        assert output_digests(clone) == versioned_repo.digests[tag], tag
    run(["git", "checkout", "-q", "v1"], clone)
    run(["dvc", "checkout"], clone)
    assert output_digests(clone) == versioned_repo.digests["v1"]
    assert UP_TO_DATE in run(["dvc", "status"], clone).stdout


def test_params_and_metrics_diff_compare_two_tagged_versions(versioned_repo: VersionedRepo):
    params = json.loads(
        run(["dvc", "params", "diff", "v1", "v2", "--json"], versioned_repo.path).stdout
    )
    changed = params["params.yaml"]
    assert list(changed) == ["train.min_confidence"]
    assert (changed["train.min_confidence"]["old"], changed["train.min_confidence"]["new"]) == (
        0.3,
        0.4,
    )

    metrics = json.loads(
        run(["dvc", "metrics", "diff", "v1", "v2", "--json"], versioned_repo.path).stdout
    )
    assert list(metrics) == ["metrics/summary.json"]  # the headline; the details are outputs
    rules = metrics["metrics/summary.json"]["rules"]
    assert rules["new"] < rules["old"]  # a higher confidence floor keeps fewer rules
    assert "rows" not in metrics["metrics/summary.json"]  # ingest and validate did not change


# ---------------------------------------------------------------------------------------
# Faults.


def test_a_push_cut_off_mid_transfer_completes_on_retry_and_pulls_intact(
    pipeline_repo, s3_server, tmp_path: Path, s3_env
):
    s3 = s3_client(s3_server)
    bucket = "panier-interrupted"
    s3.create_bucket(Bucket=bucket)
    repo = pipeline_repo()
    extra = repo / "data" / "extra"
    extra.mkdir(parents=True)
    rng = random.Random(5)
    for i in range(120):
        (extra / f"part-{i:03d}.bin").write_bytes(rng.randbytes(512))
    run(["dvc", "add", "data/extra"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", "extra data"], repo)
    # The connection goes away after exactly ten uploads, wherever the push is then.
    proxy = CuttingProxy(s3_server, method=b"PUT", allow=10)
    use_remote(repo, proxy.endpoint, bucket)
    push = subprocess.Popen(
        [sys.executable, "-m", "panier.ops.remote", "push"],
        cwd=repo,
        env=tool_env(repo) | {"AWS_MAX_ATTEMPTS": "2"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 180
    while not (proxy.held.is_set() and len(object_keys(s3, bucket)) == 10):
        if push.poll() is not None:
            pytest.fail(f"the push ended before it was cut off: {push.communicate()}")
        assert time.monotonic() < deadline, "the push did not reach its eleventh upload"
        time.sleep(0.05)
    proxy.cut()
    _, stderr = push.communicate(timeout=600)
    cut_off = subprocess.CompletedProcess(push.args, push.returncode, "", stderr)
    assert_one_line_failure(cut_off, "cannot connect to the endpoint", "run the same command again")
    assert len(object_keys(s3, bucket)) == 10

    use_remote(repo, s3_server, bucket)  # the server is reachable again
    retry = panier_remote(repo, "push")
    assert "the remote holds all 121 objects" in retry.stdout
    assert len(object_keys(s3, bucket)) == 121  # 120 files and the folder manifest

    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(repo), str(clone)], tmp_path)
    use_remote(clone, s3_server, bucket)
    panier_remote(clone, "pull", "data/extra.dvc")  # the pipeline itself never ran here
    pulled = sorted(p.name for p in (clone / "data" / "extra").iterdir())
    assert pulled == sorted(p.name for p in extra.iterdir())
    for name in pulled:
        assert (clone / "data" / "extra" / name).read_bytes() == (extra / name).read_bytes()
    assert UP_TO_DATE in run(["dvc", "status", "data/extra.dvc"], clone).stdout


@pytest.fixture(scope="module")
def checking_server() -> Iterator[tuple[str, dict[str, str]]]:
    """An S3 server that checks credentials (moto with IAM authentication on); yields its
    endpoint and a valid access key, allowed everything, that owns bucket ``panier``."""
    with pytest.MonkeyPatch.context() as patch:
        # moto lets the first N requests through unauthenticated: enough to make a user.
        patch.setenv("INITIAL_NO_AUTH_ACTION_COUNT", "20")
        server = S3Server()
        server.start()
    try:
        import boto3

        iam = boto3.client(
            "iam",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id="bootstrap",
            aws_secret_access_key="bootstrap",
        )
        iam.create_user(UserName="ci")
        iam.put_user_policy(
            UserName="ci",
            PolicyName="s3",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                }
            ),
        )
        key = iam.create_access_key(UserName="ci")["AccessKey"]
        good = {
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        }
        anonymous = s3_client(server.endpoint)
        for _ in range(25):  # use up the unauthenticated requests
            try:
                anonymous.list_buckets()
            except Exception:  # authentication is on from here
                break
        else:
            pytest.fail("moto never started checking credentials")
        s3_client(
            server.endpoint,
            aws_access_key_id=good["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=good["AWS_SECRET_ACCESS_KEY"],
        ).create_bucket(Bucket="panier")
        yield server.endpoint, good
    finally:
        server.stop()


@pytest.fixture
def bare_clone(versioned_repo: VersionedRepo, tmp_path: Path, s3_env) -> Path:
    """A fresh clone: nothing in its DVC cache, so push and pull must reach the remote."""
    return versioned_repo.clone(tmp_path)


def test_wrong_credentials_give_one_line_with_the_fix(checking_server, bare_clone: Path):
    endpoint, good = checking_server
    use_remote(bare_clone, endpoint, "panier")
    base = tool_env(bare_clone)
    assert panier_remote(bare_clone, "check", env=base | good).returncode == 0

    unknown_key = base | {"AWS_ACCESS_KEY_ID": "AKIANOTAKEY", "AWS_SECRET_ACCESS_KEY": "x"}
    for command in ["push", "pull"]:
        assert_one_line_failure(
            panier_remote(bare_clone, command, env=unknown_key, check=False),
            f"{command} failed",
            "wrong credentials",
            "AWS_ACCESS_KEY_ID",
        )
    wrong_secret = base | good | {"AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    assert_one_line_failure(
        panier_remote(bare_clone, "pull", env=wrong_secret, check=False),
        "secret access key does not match",
        "dvc remote modify --local",
    )


def test_missing_credentials_give_one_line_with_the_fix(bare_clone: Path, tmp_path: Path):
    env = {k: v for k, v in tool_env(bare_clone).items() if not k.startswith("AWS_")}
    env["HOME"] = str(tmp_path)  # no ~/.aws either
    assert_one_line_failure(
        panier_remote(bare_clone, "pull", env=env, check=False),
        "no S3 credentials found",
        "AWS_ACCESS_KEY_ID",
    )


def test_a_missing_bucket_gives_one_line_with_the_fix(
    bare_clone: Path, versioned_repo: VersionedRepo
):
    use_remote(bare_clone, versioned_repo.endpoint, "panier-no-such-bucket")
    for command in ["push", "pull"]:
        assert_one_line_failure(
            panier_remote(bare_clone, command, check=False),
            "bucket 'panier-no-such-bucket' does not exist",
            "dvc remote modify --local storage url s3://BUCKET/PREFIX",
        )


def test_an_unreachable_endpoint_gives_one_line_with_the_fix(
    bare_clone: Path, versioned_repo: VersionedRepo
):
    use_remote(bare_clone, f"http://127.0.0.1:{_free_port()}", versioned_repo.bucket)
    assert_one_line_failure(
        panier_remote(bare_clone, "pull", check=False),
        "cannot connect to the endpoint",
        "dvc remote modify --local storage endpointurl",
    )


def test_a_corrupted_object_is_refused_on_pull_and_repaired_from_a_good_copy(
    versioned_repo: VersionedRepo, tmp_path: Path, s3_env
):
    s3 = s3_client(versioned_repo.endpoint)
    bucket = "panier-corrupted"
    copy_bucket(s3, versioned_repo.bucket, bucket)
    md5 = locked_md5(versioned_repo.path, "models/rules.parquet")
    key = f"panier/files/md5/{md5[:2]}/{md5[2:]}"
    good = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=bucket, Key=key, Body=good[:-8] + b"garbage!")

    clone = versioned_repo.clone(tmp_path)
    use_remote(clone, versioned_repo.endpoint, bucket)
    assert_one_line_failure(
        panier_remote(clone, "pull", check=False), "corrupted", "models/rules.parquet", key
    )
    # dvc pull (which the command ran) re-hashed the file and refused it; the rest arrived.
    assert not (clone / "models/rules.parquet").exists()
    assert (clone / "models/items.parquet").exists()

    # The fix the message gives: delete the object, push from a cache with a good copy
    # (here: fetch one from the intact bucket first).
    s3.delete_object(Bucket=bucket, Key=key)
    use_remote(clone, versioned_repo.endpoint, versioned_repo.bucket)
    run(["dvc", "pull", "models/rules.parquet"], clone)
    use_remote(clone, versioned_repo.endpoint, bucket)
    panier_remote(clone, "push")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == good
    assert output_digests(clone) == versioned_repo.digests["v2"]
