"""The continuous-training loop, end to end, with real parts: a bare git repository as
origin, a local S3 server (moto) as the DVC remote, the workflows' own steps run as GitHub
would (``tests/support/gha.py``; stand-ins only for actions, GitHub's API (``gh``) and the install
from PyPI), and a real service process following the registry's prod stage.

Day 1: the shop's export is trained on, merged, released: v1 in prod, served. Day 2: a new
export with planted drift arrives; the scheduled retraining finds the drift, the challenger
passes the gate, the bot opens a pull request; merged and released, prod moves to v2 and the
service swaps with no failed request. Day 3: an export whose baskets lost their associations
trains a challenger the gate refuses: no pull request. Then a rollback dispatch puts v1 back
and the service follows, again with no failed request.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from panier.core import io
from panier.core.config import load_params
from panier.stages.ingest.generate import generate_line_items
from support.gha import Job
from support.remote import S3_CREDENTIALS, s3_client
from support.repos import ROOT, SMALL_PARAMS, deep_update, make_pipeline_repo, run
from support.service_support import Load, Service, serving, wait_for

pytestmark = pytest.mark.slow

WORKFLOWS = ROOT / ".github" / "workflows"
VENV = Path(sys.executable).parent.parent
STANDINS = ROOT / "tests" / "support" / "standins"
REPOSITORY = "panier-org/panier"
BUCKET = "panier-dvc"  # the committed remote's bucket (.dvc/config)
BRANCH = "panier-bot/retrain"

DAY_1 = {"seed": 11, "days": 365, "n_invoices": 3000, "n_customers": 600}
# 60 more days, with a weakened planted rule and a boosted item in them.
DAY_2 = {
    "seed": 12,
    "days": 425,
    "n_invoices": 3500,
    "n_customers": 600,
    "drift": {
        "window_days": 60,
        "weakened_rule": 0,
        "weakened_confidence": 0.2,
        "boosted_item_rank": 25,
        "boost_factor": 4.0,
    },
}
# Baskets of random, equally popular items: no association left to learn.
DAY_3 = {
    "seed": 13,
    "days": 485,
    "n_invoices": 4000,
    "n_customers": 600,
    "planted_rules": [],
    "popularity_skew": 0.0,
}


def write_export(path: Path, repo: Path, changes: dict[str, Any]) -> None:
    """The shop's export of line items (canonical columns), made by the generator."""
    generator = load_params(repo / "params.yaml").ingest.generator
    update = dict(changes)
    if "drift" in update:
        update["drift"] = generator.drift.model_copy(update=update["drift"])
    io.write_parquet(generate_line_items(generator.model_copy(update=update)), path)


class Loop:
    """The origin, the remote, the runner's stand-ins, and the jobs run against them."""

    def __init__(self, root: Path, endpoint: str):
        self.root, self.endpoint = root, endpoint
        self.state = root / "state"
        self.state.mkdir()
        self.export = root / "shop" / "line_items.parquet"
        self.export.parent.mkdir()
        self.vars = {
            "PANIER_AWS_RETRAIN_ROLE_ARN": "arn:aws:iam::1:role/retrain",
            "PANIER_AWS_PUBLISH_ROLE_ARN": "arn:aws:iam::1:role/publish",
            "PANIER_DVC_REMOTE_URL": f"s3://{BUCKET}/panier",
            "PANIER_DVC_ENDPOINT_URL": endpoint,
        }
        self.runs = 0
        # The project: the shop's export as its source; margins for a small window.
        params = deep_update(
            json.loads(json.dumps(SMALL_PARAMS)),
            {
                "ingest": {"source": "file", "path": str(self.export)},
                "gate": {"hit_rate_margin": 0.05},
            },
        )
        dev = make_pipeline_repo(root, params, name="dev")
        write_export(self.export, dev, DAY_1)
        self.origin = root / "origin.git"
        run(["git", "clone", "-q", "--bare", str(dev), str(self.origin)], root)
        self.maintainer = root / "maintainer"
        run(["git", "clone", "-q", str(self.origin), str(self.maintainer)], root)

    # --- stand-ins ---------------------------------------------------------------------

    def actions(self) -> dict[str, Any]:
        def checkout(job: Job, inputs: dict[str, Any]) -> None:
            assert inputs["persist-credentials"] is False and inputs["fetch-depth"] == 0

        def setup_python(job: Job, inputs: dict[str, Any]) -> None:
            assert inputs["python-version"]

        def aws(job: Job, inputs: dict[str, Any]) -> None:
            assert inputs["role-to-assume"].startswith("arn:aws:iam::1:role/")
            for name, value in {**S3_CREDENTIALS, "AWS_REGION": inputs["aws-region"]}.items():
                job.set_env(name, value)

        return {
            "actions/checkout": checkout,
            "actions/setup-python": setup_python,
            "aws-actions/configure-aws-credentials": aws,
        }

    def job(
        self,
        workflow: str,
        job_id: str,
        github: dict[str, Any],
        inputs: dict[str, Any] | None = None,
        needs: dict[str, Any] | None = None,
        ref: str = "main",
    ) -> Job:
        """A job of ``workflow`` in a fresh checkout of ``ref`` of the origin."""
        self.runs += 1
        workspace = self.root / f"run-{self.runs}" / "workspace"
        workspace.parent.mkdir()
        run(["git", "clone", "-q", str(self.origin), str(workspace)], self.root)
        run(["git", "checkout", "-q", ref], workspace)
        sha = run(["git", "rev-parse", "HEAD"], workspace).stdout.strip()

        def install(job: Job) -> None:  # scripts/setup.sh needs PyPI: use this environment
            (job.workspace / ".venv").symlink_to(VENV)

        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GITHUB_"))}
        env.update(
            {
                "PYTHONPATH": str(workspace / "src"),
                "STANDIN_STATE": str(self.state),
                "PATH": f"{STANDINS / 'gh'}:{env['PATH']}",
                "GIT_AUTHOR_NAME": "Runner",
                "GIT_AUTHOR_EMAIL": "runner@panier.invalid",
                "GIT_COMMITTER_NAME": "Runner",
                "GIT_COMMITTER_EMAIL": "runner@panier.invalid",
            }
        )
        contexts = {
            "github": {
                "repository": REPOSITORY,
                "token": "ghs_fake",
                "sha": sha,
                "actor": "ada",
                **github,
            },
            "vars": self.vars,
            "inputs": inputs or {},
            "needs": needs or {},
        }
        return Job(
            WORKFLOWS / workflow,
            job_id,
            workspace,
            contexts,
            self.actions(),
            base_env=env,
            replace_run={"bash scripts/setup.sh": install},
        )

    # --- what people and GitHub do ------------------------------------------------------

    def retrain(self, scheduled: bool) -> Job:
        github = {"event_name": "schedule" if scheduled else "workflow_dispatch"}
        job = self.job("retrain.yml", "retrain", github, {"force": False})
        assert job.runs
        job.run()
        return job

    def merge(self, message: str) -> None:
        """A maintainer merges the bot's pull request into main."""
        repo = self.maintainer
        run(["git", "fetch", "-q", "origin"], repo)
        run(["git", "checkout", "-q", "main"], repo)
        run(["git", "reset", "-q", "--hard", "origin/main"], repo)
        run(["git", "merge", "-q", "--no-ff", "-m", message, f"origin/{BRANCH}"], repo)
        run(["git", "push", "-q", "origin", "main"], repo)
        pulls = self.pulls()  # GitHub closes the pull request as merged
        for pull in pulls:
            if pull["head"] == BRANCH and pull["state"] == "open":
                pull["state"] = "merged"
        (self.state / "pulls.json").write_text(json.dumps(pulls))

    def release(self) -> str:
        """release.yml after a push to main: staging, then prod once approved."""
        staging = self.job("release.yml", "staging", {"event_name": "push"})
        assert staging.runs
        staging.run()
        version = staging.contexts["steps"]["register"]["outputs"]["version"]
        prod = self.job(
            "release.yml",
            "prod",
            {"event_name": "push"},
            needs={"staging": {"outputs": {"version": version}}},
        )
        prod.run()
        return version

    def rollback(self, reason: str) -> Job:
        job = self.job(
            "rollback.yml",
            "rollback",
            {"event_name": "workflow_dispatch"},
            {"stage": "prod", "reason": reason},
        )
        job.run()
        return job

    def pulls(self) -> list[dict[str, Any]]:
        file = self.state / "pulls.json"
        return json.loads(file.read_text()) if file.exists() else []

    def tag_message(self, tag: str) -> str:
        return run(
            ["git", "for-each-ref", f"refs/tags/{tag}", "--format=%(contents:subject)"], self.origin
        ).stdout.strip()

    def registry_stage(self, stage: str) -> str:
        out = run(
            [sys.executable, "-m", "panier.ops.registry", "--repo", str(self.origin), "show"],
            self.root,
        ).stdout
        return next(line for line in out.splitlines() if line.startswith(f"{stage} ")).split()[1]


def test_the_loop_retrains_on_drift_gates_promotes_and_rolls_back(tmp_path: Path, s3_server):
    s3_client(s3_server).create_bucket(Bucket=BUCKET)
    loop = Loop(tmp_path, s3_server)

    # Day 1: the first model. Dispatched by hand; no champion yet, so the gate accepts it
    # as the first version; the pull request is merged and released to prod.
    first = loop.retrain(scheduled=True)
    assert (
        "no champion"
        in first.record("Refresh the source, record the champion, run the pipeline").output
    )
    gate = json.loads((first.workspace / "metrics" / "gate.json").read_text())
    assert gate["decision"] == "accepted_first_version"
    [pull] = loop.pulls()
    assert pull["head"] == BRANCH and pull["base"] == "main"
    loop.merge("Merge the first model")
    v1 = loop.release()
    assert loop.registry_stage("prod") == v1

    service_env = {
        **os.environ,
        **S3_CREDENTIALS,
        "AWS_ENDPOINT_URL": s3_server,
        "PYTHONPATH": str(ROOT / "src"),
    }
    with (
        Service(
            "--registry",
            str(loop.origin),
            "--stage",
            "prod",
            "--poll-seconds",
            "1",
            "--cache-dir",
            str(tmp_path / "service-cache"),
            "--no-request-log",
            env=service_env,
            cwd=tmp_path,
        ) as service,
        Load(service, ["10040"]) as load,
    ):
        assert service.get("/health").json()["model_version"] == v1

        # Day 2: a new export with planted drift; the scheduled run proposes a new model.
        write_export(loop.export, loop.maintainer, DAY_2)
        second = loop.retrain(scheduled=True)
        drift = json.loads((second.workspace / "metrics" / "drift.json").read_text())
        gate = json.loads((second.workspace / "metrics" / "gate.json").read_text())
        assert drift["drift_detected"], drift["top_drifted"]
        assert gate["decision"] == "accepted", gate["reasons"]
        assert gate["champion"]["version"] == v1
        merged, pull = loop.pulls()  # a new pull request from the same bot branch
        assert merged["state"] == "merged" and pull["state"] == "open"
        assert pull["head"] == BRANCH and len(pull["bodies"]) == 1
        assert "Champion vs challenger gate" in pull["bodies"][0]
        assert f"Champion: `{v1}`" in pull["bodies"][0]
        loop.merge("Merge the retrained model")
        v2 = loop.release()
        assert v2 != v1 and loop.registry_stage("prod") == v2
        wait_for(service, serving(v2), timeout=120)

        # Day 3: an export without associations; the challenger is refused, nothing proposed.
        write_export(loop.export, loop.maintainer, DAY_3)
        third = loop.retrain(scheduled=False)
        gate = json.loads((third.workspace / "metrics" / "gate.json").read_text())
        assert (gate["passed"], gate["decision"]) == (False, "refused")
        assert gate["champion"]["version"] == v2
        assert third.contexts["steps"]["decide"]["outputs"]["propose"] == "false"
        skipped = {r.name for r in third.records if r.skipped}
        assert "Open or update the pull request" in skipped
        assert [len(p["bodies"]) for p in loop.pulls()] == [1, 1]  # nothing opened or edited

        # v2 misbehaves in the shop: one dispatch puts v1 back.
        loop.rollback("v2 recommends what shoppers already bought")
        assert loop.registry_stage("prod") == v1
        wait_for(service, serving(v1), timeout=120)
        # Keep the load on across the switch back until v1 itself has answered it a while.
        answered = len(load.statuses) + 20
        deadline = time.monotonic() + 120
        while len(load.statuses) < answered:
            assert time.monotonic() < deadline, "the service stopped answering after the rollback"
            time.sleep(0.05)

    assert load.statuses and set(load.statuses) == {200}, sorted(set(load.statuses))
    assert {v1, v2} <= load.versions
    tags = run(["git", "tag", "--list", "basket-rules#prod#*"], loop.origin).stdout.split()
    messages = [loop.tag_message(t) for t in tags]
    assert any(m.startswith(f"rollback from {v2} to {v1}: v2 recommends") for m in messages)
    # main moved only by the maintainer's merges; the bot pushed its own branch only.
    log = run(["git", "log", "--format=%s", "main"], loop.origin).stdout
    assert "Merge the retrained model" in log
