"""Test tiers and shared fixtures.

Each test's tier is the folder it sits in, and is also its marker (``-m unit`` ...):

- ``tests/unit``: library functions in this process; no subprocess, DVC, server or browser
  (the ``_unit_tier_starts_no_process`` guard fails a test that tries). Seconds in all:
  the default loop, ``python -m pytest tests/unit``.
- ``tests/integration``: real servers (S3, HTTP, PostgreSQL, Spark, Chromium), DVC in
  temporary repositories, the command line as a process.
- ``tests/e2e``: whole journeys: the pipeline, the CI workflows, sweeps, continuous training.

Helpers shared by the tests live in ``tests/support`` (importable as ``support.*``)."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.http_server import HttpServer
from support.remote import S3_CREDENTIALS, VersionedRepo, build_versioned_repo
from support.repos import SHARED_DATA, build_pr_branch_repo, make_pipeline_repo

# tests/test_service_*.py import these from here (until they move beside the service).
from support.repos import run as run
from support.repos import tool_env as tool_env

# The headless-Chromium fixture ``browser_page``; real S3 (moto), PostgreSQL and Spark
# standalone servers: ``s3_server``, ``postgres_server`` and ``spark_cluster``.
pytest_plugins = ["support.browser", "support.servers"]

TIERS = ("unit", "integration", "e2e")


# Session fixtures that take a minute to build: under ``pytest -n`` (pytest-xdist) with
# ``--dist loadgroup``, their users share one worker so that each is built once.
SHARED_BUILDS = ("versioned_repo", "pr_branch_repo")


# tryfirst: pytest-xdist's own hook turns the xdist_group marks into the groups, so they must
# be on the items before it runs (as a plain hook this ran after it, and grouped nothing).
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = next((part for part in item.path.parts if part in TIERS), None)
        if tier:
            item.add_marker(getattr(pytest.mark, tier))
        # Otherwise one worker per file: module fixtures are built once as well.
        shared = [name for name in SHARED_BUILDS if name in getattr(item, "fixturenames", ())]
        group = shared[0] if shared else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Under ``--dist loadgroup``, stop if pytest-xdist did not group the tests: it would
    otherwise spread them silently, building each shared fixture once per worker."""
    config = session.config
    worker = hasattr(config, "workerinput") and config.getvalue("loadgroup")
    if worker and session.items and "@" not in session.items[0].nodeid:
        raise pytest.UsageError(
            "pytest-xdist did not apply the test groups (--dist loadgroup): with this "
            "pytest and pytest-xdist its nodeid suffix is lost (pytest-xdist#1386); "
            "install the versions of requirements.lock (bash scripts/setup.sh)"
        )


def _refuse(what: str) -> Callable:
    def refuse(*args, **kwargs):
        raise RuntimeError(
            f"a unit test may not {what}: move the test to tests/integration or tests/e2e"
        )

    return refuse


@pytest.fixture(autouse=True)
def _unit_tier_starts_no_process(request, monkeypatch) -> None:
    """In the unit tier, starting a process (subprocess, os.fork/system/exec/spawn: DVC, git,
    a server, Chromium) or listening on a socket raises, so the tier's rule holds by
    construction."""
    if request.node.get_closest_marker("unit") is None:
        return
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("start a process"))
    for name in ("fork", "forkpty", "system", "posix_spawn", "posix_spawnp", "execv", "execve"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, _refuse("start a process"))
    monkeypatch.setattr(socket.socket, "bind", _refuse("start a server"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"public basket datasets not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def pipeline_repo(tmp_path: Path) -> Callable[..., Path]:
    """A factory: ``pipeline_repo(params=None, name="repo")`` -> a fresh copy of this
    repository (see ``support.repos.make_pipeline_repo``)."""

    def make(params: dict | None = None, name: str = "repo") -> Path:
        return make_pipeline_repo(tmp_path, params, name)

    return make


@pytest.fixture
def s3_env(monkeypatch) -> dict[str, str]:
    """Fake credentials for the local S3 server, set in this process's environment (and so in
    subprocesses started with ``run``); returns them."""
    for key, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    return dict(S3_CREDENTIALS)


@pytest.fixture(scope="session")
def pr_branch_repo(tmp_path_factory) -> Path:
    """A repository as a pull request finds it: ``main`` with the pipeline's outputs committed
    (``dvc.lock``, metrics, plots), and the branch ``lower-support`` that lowers
    ``train.min_support``, re-ran the pipeline and committed the results; checked out on the
    branch, with both sides' outputs in its DVC cache. Tests must not change it."""
    return build_pr_branch_repo(tmp_path_factory.mktemp("pr-branch"))


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[HttpServer]:
    """A local HTTP server (see ``support.http_server.HttpServer``) serving
    ``tmp_path / "www"``."""
    root = tmp_path / "www"
    root.mkdir()
    server = HttpServer(root)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def versioned_repo(tmp_path_factory, s3_server: str) -> VersionedRepo:
    """A pipeline repository with tags v1 and v2 pushed to the local S3 server (see
    ``support.remote.build_versioned_repo``). About a minute, once per session (per worker
    under pytest-xdist)."""
    return build_versioned_repo(tmp_path_factory.mktemp("versioned"), s3_server)
