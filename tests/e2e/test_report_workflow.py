"""The pull-request report workflows run as written: their own shell steps, in order, in a clone
of a repository with a pull request that lowers ``train.min_support``.

``tests/support/gha.py`` runs each ``run:`` step verbatim with the step's env and ``if:``
evaluated as GitHub would. Actions are stand-ins: checkout is the prepared clone, the artifact
actions copy a folder, configure-aws-credentials hands out the fake credentials of a local S3
server (moto), and setup-cml puts a stand-in ``cml`` on the PATH that records its arguments and
the comment body, and keeps comments per pull request the way CML's watermark and ``update`` do
(CML itself cannot be installed here). ``gh`` is a stand-in answering which commit a pull
request's head is. The one step not run is the install from PyPI (``scripts/setup.sh``),
replaced by this interpreter's environment; the test workflow runs it for real."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from support.gha import Job
from support.remote import S3_CREDENTIALS
from support.repos import PR_BRANCH, PR_MIN_SUPPORT, ROOT, run
from support.servers import S3Server

pytestmark = pytest.mark.slow

REPORT = ROOT / ".github" / "workflows" / "pr-report.yml"
COMMENT = ROOT / ".github" / "workflows" / "pr-report-comment.yml"
REPOSITORY = "panier-org/panier"
PR_NUMBER = 7
RUN_ID = 4242
VENV = Path(sys.executable).parent.parent

STANDINS = ROOT / "tests" / "support" / "standins"  # cml/cml and gh/gh: see their docstrings


class Stage:
    """Everything one scenario needs: the runner's folders, stand-ins and fake services."""

    def __init__(self, root: Path, upstream: Path):
        self.root = root
        self.upstream = upstream
        self.artifacts = root / "artifacts"
        self.state = root / "state"
        for folder in (self.artifacts, self.state):
            folder.mkdir(parents=True)
        self.head_sha = run(["git", "rev-parse", PR_BRANCH], upstream).stdout.strip()
        self.aws: dict[str, str] = {}
        self.set_pull_request_head(self.head_sha)

    def set_pull_request_head(self, sha: str) -> None:
        (self.state / "prs.json").write_text(json.dumps({str(PR_NUMBER): sha}))

    # --- stand-ins for actions -----------------------------------------------------------

    def checkout(self, job: Job, inputs: dict[str, Any]) -> None:
        assert inputs["persist-credentials"] is False
        assert inputs["fetch-depth"] == 0  # the report compares with the base branch

    def setup_python(self, job: Job, inputs: dict[str, Any]) -> None:
        assert inputs["cache"] == "pip" and inputs["python-version"]

    def aws_credentials(self, job: Job, inputs: dict[str, Any]) -> None:
        assert inputs["role-to-assume"] == job.contexts["vars"]["PANIER_AWS_ROLE_ARN"]
        self.aws = {**S3_CREDENTIALS, "AWS_REGION": inputs["aws-region"]}
        for name, value in self.aws.items():
            job.set_env(name, value)

    def upload(self, job: Job, inputs: dict[str, Any]) -> None:
        shutil.copytree(job.workspace / inputs["path"], self.artifacts / inputs["name"])

    def download(self, job: Job, inputs: dict[str, Any]) -> None:
        assert inputs["run-id"] == str(RUN_ID)
        shutil.copytree(self.artifacts / inputs["name"], job.workspace / inputs["path"])

    def setup_cml(self, job: Job, inputs: dict[str, Any]) -> None:
        assert inputs["vega"] is False and inputs["version"].startswith("v0.")
        job.add_path(STANDINS / "cml")

    def actions(self) -> dict[str, Any]:
        return {
            "actions/checkout": self.checkout,
            "actions/setup-python": self.setup_python,
            "aws-actions/configure-aws-credentials": self.aws_credentials,
            "actions/upload-artifact": self.upload,
            "actions/download-artifact": self.download,
            "iterative/setup-cml": self.setup_cml,
        }

    # --- the two jobs --------------------------------------------------------------------

    def clone(self) -> Path:
        """The checkout of a `pull_request` run: the merge of the branch into main, detached,
        with the base branch fetched (fetch-depth: 0)."""
        workspace = self.root / "workspace"
        run(["git", "clone", "-q", str(self.upstream), str(workspace)], self.root)
        run(["git", "checkout", "-q", "--detach", "origin/main"], workspace)
        run(["git", "merge", "-q", "--no-ff", "--no-edit", f"origin/{PR_BRANCH}"], workspace)
        return workspace

    def report_job(self, head_repo: str, variables: dict[str, str]) -> Job:
        workspace = self.clone()

        def install(job: Job) -> None:  # scripts/setup.sh needs PyPI: use this environment
            (job.workspace / ".venv").symlink_to(VENV)

        github = {
            "repository": REPOSITORY,
            "server_url": "https://github.example",
            "run_id": RUN_ID,
            "base_ref": "main",
            "head_ref": PR_BRANCH,
            "event_name": "pull_request",
            "event": {
                "pull_request": {
                    "number": PR_NUMBER,
                    "head": {
                        "repo": {"full_name": head_repo},
                        "sha": self.head_sha,
                        "label": f"{head_repo.split('/')[0]}:{PR_BRANCH}",
                    },
                }
            },
        }
        return Job(
            REPORT,
            "report",
            workspace,
            {"github": github, "vars": variables},
            self.actions(),
            base_env=self.env(workspace),
            replace_run={"bash scripts/setup.sh": install},
        )

    def comment_job(self, name: str = "comment-run") -> Job:
        workspace = self.root / name
        workspace.mkdir()
        github = {
            "repository": REPOSITORY,
            "server_url": "https://github.example",
            "token": "ghs_fake",
            "event_name": "workflow_run",
            "event": {
                "workflow_run": {
                    "id": RUN_ID,
                    "event": "pull_request",
                    "conclusion": "success",
                    "head_sha": self.head_sha,
                    "head_branch": PR_BRANCH,
                    "head_repository": {"full_name": "fork/panier"},
                }
            },
        }
        env = self.env(workspace)
        env["PATH"] = f"{STANDINS / 'gh'}:{env['PATH']}"
        return Job(
            COMMENT,
            "comment",
            workspace,
            {"github": github, "vars": {}},
            self.actions(),
            base_env=env,
        )

    def env(self, workspace: Path) -> dict[str, str]:
        # A runner's environment: no credentials of any kind unless a step provides them.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GITHUB_"))}
        env["PYTHONPATH"] = str(workspace / "src")  # the clone's code, not this checkout's
        env["GITHUB_SHA"] = "f" * 40
        env["STANDIN_STATE"] = str(self.state)
        return env

    def calls(self) -> list[dict[str, Any]]:
        file = self.state / "calls.json"
        return json.loads(file.read_text()) if file.exists() else []

    def comments(self) -> dict[str, list[str]]:
        file = self.state / "comments.json"
        return json.loads(file.read_text()) if file.exists() else {}


@pytest.fixture
def stage(tmp_path: Path, pr_branch_repo: Path) -> Stage:
    if not (VENV / "bin" / "dvc").exists():
        pytest.skip(f"{VENV} is not a virtual environment with DVC")
    return Stage(tmp_path, pr_branch_repo)


def ran(output: str, stage_name: str) -> bool:
    return f"Running stage '{stage_name}'" in output


def test_a_pull_request_from_a_fork_is_reported_from_the_embedded_data_and_commented_once(
    stage: Stage,
):
    # A fork: no variables reach it, and its head repository is not this one.
    report = stage.report_job(head_repo="someone/panier", variables={})
    records = report.run()
    skipped = {r.name for r in records if r.skipped}
    assert skipped == {
        "Get read-only credentials for the DVC remote (OIDC)",
        "Point DVC at the remote",
    }
    assert (
        "the pipeline runs on the embedded default data"
        in report.record("Decide where the data comes from").output
    )
    pipeline = report.record("Run the pipeline").output
    # From scratch: nothing to pull. (evaluate and drift-check keep no cached outputs and
    # their inputs come out byte-identical, so DVC rightly skips them.)
    assert all(ran(pipeline, s) for s in ("ingest", "validate", "train"))
    assert "Pulling data" not in pipeline
    assert not stage.aws  # no credentials were handed out

    artifact = stage.artifacts / "pr-report"
    assert (artifact / "pr-number").read_text().strip() == str(PR_NUMBER)
    assert (artifact / "plots" / "index.html").is_file()
    markdown = (artifact / "report.md").read_text()
    assert f"| `train.min_support` | `0.01` | `{PR_MIN_SUPPORT}` |" in markdown
    assert "`someone:lower-support` (" in markdown and "compared with `main` (" in markdown
    assert f"https://github.example/{REPOSITORY}/actions/runs/{RUN_ID}" in markdown
    # Without the DVC remote the base's rules come from its committed plot file.
    assert "its rules were read from `metrics/plots/rules.csv`" in markdown
    assert markdown in report.summary.read_text()

    comment = stage.comment_job()
    assert comment.runs
    comment.run()
    assert sorted(p.name for p in comment.workspace.iterdir()) == ["pr-report"]  # no checkout
    [call] = stage.calls()
    assert call["args"] == [
        "comment",
        "update",
        "--driver=github",
        f"--repo=https://github.example/{REPOSITORY}",
        f"--target=pr/{PR_NUMBER}",
        "--watermark-title=panier-pr-report",
        "--publish=false",
        "pr-report/report.md",
    ]
    assert call["token"]
    [posted] = stage.comments()[f"pr/{PR_NUMBER}"]
    assert posted.startswith(markdown)

    # The next push to the pull request: the same comment is updated, not a second one added.
    (artifact / "report.md").write_text(
        markdown.replace("## Panier pipeline report", "## Panier pipeline report (again)")
    )
    stage.comment_job("comment-run-2").run()
    [posted] = stage.comments()[f"pr/{PR_NUMBER}"]
    assert posted.startswith("## Panier pipeline report (again)")
    assert len(stage.calls()) == 2


def test_a_report_for_a_commit_the_pull_request_has_moved_on_from_is_not_posted(stage: Stage):
    (stage.artifacts / "pr-report").mkdir()
    (stage.artifacts / "pr-report" / "report.md").write_text("old report")
    (stage.artifacts / "pr-report" / "pr-number").write_text(f"{PR_NUMBER}\n")
    stage.set_pull_request_head("0" * 40)
    comment = stage.comment_job()
    records = comment.run()
    assert "has moved on" in comment.record("Find the pull request the report belongs to").output
    assert [r.name for r in records if r.skipped] == ["Set up CML", "Post or update the comment"]
    assert stage.calls() == []


def test_a_pull_request_number_that_is_not_a_number_stops_the_job(stage: Stage):
    (stage.artifacts / "pr-report").mkdir()
    (stage.artifacts / "pr-report" / "report.md").write_text("report")
    (stage.artifacts / "pr-report" / "pr-number").write_text("7; rm -rf /\n")
    with pytest.raises(AssertionError, match="is not a pull request number"):
        stage.comment_job().run()
    assert stage.calls() == []


def test_only_successful_pull_request_runs_are_commented(stage: Stage):
    comment = stage.comment_job()
    comment.contexts["github"]["event"]["workflow_run"]["conclusion"] = "failure"
    assert not comment.runs
    comment.contexts["github"]["event"]["workflow_run"].update(conclusion="success", event="push")
    assert not comment.runs


def test_a_branch_of_this_repository_pulls_from_the_dvc_remote_and_reruns_only_what_changed(
    stage: Stage,
):
    server = S3Server()
    server.start()
    try:
        boto3.client(
            "s3",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).create_bucket(Bucket="panier-dvc")
        remote = "s3://panier-dvc/store"
        # What the publish workflow leaves in the remote: main's outputs, nothing of the branch.
        main = stage.root / "main"
        run(["git", "clone", "-q", "-b", "main", str(stage.upstream), str(main)], stage.root)
        cache = stage.upstream / ".dvc" / "cache"
        env = {**stage.env(main), **S3_CREDENTIALS}
        for command in (
            ["dvc", "cache", "dir", "--local", str(cache)],
            ["dvc", "remote", "add", "--local", "--default", "ci", remote],
            ["dvc", "remote", "modify", "--local", "ci", "endpointurl", server.endpoint],
            ["dvc", "push"],
        ):
            run(command, main, env={**env, "PATH": f"{VENV / 'bin'}:{env['PATH']}"})

        variables = {
            "PANIER_AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/panier-pr-report",
            "PANIER_DVC_REMOTE_URL": remote,
            "PANIER_DVC_ENDPOINT_URL": server.endpoint,
        }
        report = stage.report_job(head_repo=REPOSITORY, variables=variables)
        records = report.run()
    finally:
        server.stop()
    assert not [r.name for r in records if r.skipped]
    assert stage.aws["AWS_REGION"] == "us-east-1"
    pipeline = report.record("Run the pipeline").output
    # ingest and validate come from the remote; train runs for the new param.
    assert not ran(pipeline, "ingest") and not ran(pipeline, "validate")
    assert ran(pipeline, "train")
    markdown = (stage.artifacts / "pr-report" / "report.md").read_text()
    assert f"| `train.min_support` | `0.01` | `{PR_MIN_SUPPORT}` |" in markdown
    # The base's model came from the remote: no fallback to the plot file.
    assert "neither the local DVC cache" not in markdown
    assert "gained" in markdown.split("### Rule changes")[1]


def test_the_stand_in_cml_refuses_options_cml_does_not_have(tmp_path: Path):
    env = {**os.environ, "STANDIN_STATE": str(tmp_path)}
    (tmp_path / "r.md").write_text("hi")
    cml = str(STANDINS / "cml" / "cml")
    bad = run([cml, "comment", "update", "--watermark=x", "r.md"], tmp_path, check=False, env=env)
    assert bad.returncode != 0 and "Unknown argument: watermark" in bad.stderr
    run([cml, "comment", "create", "--target=pr/1", "r.md"], tmp_path, env=env)
    run(
        [cml, "comment", "update", "--target=pr/1", "--watermark-title=w", "r.md"],
        tmp_path,
        env=env,
    )
    run(
        [cml, "comment", "update", "--target=pr/1", "--watermark-title=w", "r.md"],
        tmp_path,
        env=env,
    )
    comments = json.loads((tmp_path / "comments.json").read_text())["pr/1"]
    assert len(comments) == 2  # one without a watermark title, one updated in place
    assert comments[1].endswith('"CML watermark w")')
