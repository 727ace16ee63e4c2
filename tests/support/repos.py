"""Throwaway copies of this repository: commands run in them as a user would, small params
for quick runs, and the pull-request repository of the report tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# The public basket datasets beside the project (``shared_data`` skips without them).
SHARED_DATA = ROOT.parent / "shared" / "data"


def stage_paths(stage: dict, key: str) -> list[str]:
    """Paths of a ``dvc.yaml`` stage's deps/outs/metrics/plots, with or without options."""
    found = []
    for entry in stage.get(key, []):
        found.extend(entry if isinstance(entry, dict) else [entry])
    return found


def pipeline_outputs(*, exclude_stages: tuple[str, ...] = ()) -> list[str]:
    """Every file the stages of ``dvc.yaml`` write (``outs``, ``metrics`` and ``plots``), in
    stage order, read from the project's ``dvc.yaml`` so that no test keeps its own list."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    return [
        path
        for name, stage in stages.items()
        if name not in exclude_stages
        for kind in ("outs", "metrics", "plots")
        for path in stage_paths(stage, kind)
    ]


def tool_env(repo: Path | None = None) -> dict[str, str]:
    """The environment for subprocesses: this interpreter's bin first on PATH, so that
    ``python``, ``dvc`` and ``git`` resolve as in an activated virtual environment, and,
    for a copy of this repository, its own ``src`` first on the import path."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if repo is not None and (repo / "src" / "panier").is_dir():
        env["PYTHONPATH"] = str(repo / "src")
    env["DVC_NO_ANALYTICS"] = "1"
    env.setdefault("GIT_AUTHOR_NAME", "Panier Tests")
    env.setdefault("GIT_AUTHOR_EMAIL", "tests@panier.invalid")
    env.setdefault("GIT_COMMITTER_NAME", "Panier Tests")
    env.setdefault("GIT_COMMITTER_EMAIL", "tests@panier.invalid")
    return env


def run(args: list[str], cwd: Path, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, returning its result; on an unexpected exit show its output."""
    result = subprocess.run(
        args,
        cwd=cwd,
        env=kwargs.pop("env", None) or tool_env(cwd),
        capture_output=True,
        text=True,
        **kwargs,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


# Small enough for a test run of the whole pipeline in a few seconds.
SMALL_PARAMS = {
    "ingest": {"generator": {"n_invoices": 3000, "n_customers": 600}},
    "train": {"min_support": 0.01},
}


def deep_update(target: dict, changes: dict) -> dict:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            deep_update(target[key], value)
        else:
            target[key] = value
    return target


def make_pipeline_repo(parent: Path, params: dict | None = None, name: str = "repo") -> Path:
    """Copy this repository's source files (tracked, or new and not ignored) into
    ``parent/name`` as a fresh git repository with one commit, params overridden by
    ``params`` (``SMALL_PARAMS`` by default). Pipeline outputs, caches, ``dvc.lock`` and
    ``metrics/`` are left behind, so the copy starts from scratch."""
    repo = parent / name
    listed = run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT
    ).stdout.split("\0")
    for rel in filter(None, listed):
        source = ROOT / rel
        if rel == "dvc.lock" or rel.startswith("metrics/") or not source.is_file():
            continue
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    params_file = repo / "params.yaml"
    current = yaml.safe_load(params_file.read_text())
    deep_update(current, SMALL_PARAMS if params is None else params)
    params_file.write_text(yaml.safe_dump(current, sort_keys=False))
    run(["git", "init", "-q", "-b", "main"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", "initial"], repo)
    return repo


# A pull request that lowers train.min_support: tests of the report and of its CI workflow.
PR_BRANCH = "lower-support"
PR_MIN_SUPPORT = 0.004  # from SMALL_PARAMS' 0.01: more rules, and evaluation metrics move


def build_pr_branch_repo(parent: Path) -> Path:
    """Build, under ``parent``, the repository of ``pr_branch_repo`` (see there) and return
    it. ``scripts/docs_examples.py`` builds the same one for the docs' example comment."""
    repo = make_pipeline_repo(parent)
    run(["dvc", "repro"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", "Pipeline outputs"], repo)
    run(["git", "checkout", "-q", "-b", PR_BRANCH], repo)
    params_file = repo / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    params["train"]["min_support"] = PR_MIN_SUPPORT
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    run(["dvc", "repro"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", f"Lower train.min_support to {PR_MIN_SUPPORT}"], repo)
    return repo
