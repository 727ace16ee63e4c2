"""Shared fixtures: the public datasets beside the project, and throwaway DVC repositories."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

# The headless-Chromium fixture ``browser_page`` (tests/browser.py); real PostgreSQL and Spark
# standalone servers, ``postgres_server`` and ``spark_cluster`` (tests/servers.py).
pytest_plugins = ["browser", "servers"]

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"public basket datasets not found at {SHARED_DATA}")
    return SHARED_DATA


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


@pytest.fixture
def pipeline_repo(tmp_path: Path) -> Callable[..., Path]:
    """A factory: ``pipeline_repo(params=None, name="repo")`` -> a fresh copy of this
    repository (see ``make_pipeline_repo``)."""

    def make(params: dict | None = None, name: str = "repo") -> Path:
        return make_pipeline_repo(tmp_path, params, name)

    return make


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A real S3-compatible HTTP server (moto) on 127.0.0.1; yields its endpoint URL.

    Credentials are fake but required by the S3 clients: tests that use this fixture should
    set ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (see ``s3_env``)."""
    server = S3Server()
    server.start()
    try:
        yield server.endpoint
    finally:
        server.stop()


class S3Server:
    """A moto S3 server in a subprocess, which tests may stop and restart on the same port."""

    def __init__(self, port: int | None = None):
        self.port = port or _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        moto = Path(sys.executable).parent / "moto_server"
        self._process = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self._process.returncode}")
            try:
                with urllib.request.urlopen(self.endpoint, timeout=1):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"moto_server did not answer on {self.endpoint} in {timeout} s")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)
        self._process = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def s3_env(monkeypatch) -> dict[str, str]:
    """Fake credentials for the local S3 server, set in this process's environment (and so in
    subprocesses started with ``run``); returns them."""
    for key, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    return dict(S3_CREDENTIALS)


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


@pytest.fixture(scope="session")
def pr_branch_repo(tmp_path_factory) -> Path:
    """A repository as a pull request finds it: ``main`` with the pipeline's outputs committed
    (``dvc.lock``, metrics, plots), and the branch ``lower-support`` that lowers
    ``train.min_support``, re-ran the pipeline and committed the results; checked out on the
    branch, with both sides' outputs in its DVC cache. Tests must not change it."""
    return build_pr_branch_repo(tmp_path_factory.mktemp("pr-branch"))


class HttpServer:
    """A real HTTP server on 127.0.0.1, serving the files of ``root`` from a thread.

    Like most web servers and object stores it sends an ``ETag`` (here: a hash of the file),
    which DVC uses to notice that a URL dependency changed. ``requests`` records the path and
    headers of every request; when ``required_headers`` is set, a request without them gets
    401 Unauthorized."""

    def __init__(self, root: Path):
        import functools
        import hashlib
        import http.server
        import threading

        self.root = root
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.required_headers: dict[str, str] = {}
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def send_head(self):
                server.requests.append((self.path, dict(self.headers)))
                if any(self.headers.get(k) != v for k, v in server.required_headers.items()):
                    self.send_error(401, "Unauthorized")
                    return None
                return super().send_head()

            def end_headers(self):
                target = Path(self.translate_path(self.path))
                if target.is_file():
                    tag = hashlib.md5(target.read_bytes()).hexdigest()
                    self.send_header("ETag", f'"{tag}"')
                super().end_headers()

            def log_message(self, *args):  # keep test output quiet
                pass

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                # Clients (DVC among them) may hang up once they have the headers they need.
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self._httpd = Server(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[HttpServer]:
    """A local HTTP server (see ``HttpServer``) serving ``tmp_path / "www"``."""
    root = tmp_path / "www"
    root.mkdir()
    server = HttpServer(root)
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------
# Remote storage and the model registry (issue 5): a pipeline repository with two tagged
# versions pushed to the local S3 server, shared by tests/test_remote.py and
# tests/test_registry.py.

# Every file the pipeline writes: data and models (pushed to the remote) and metrics (git).
PIPELINE_OUTPUTS = [
    "data/raw/line_items.parquet",
    "data/validated/clean.parquet",
    "data/validated/rejected.parquet",
    "models/rules.parquet",
    "models/items.parquet",
    "models/model_card.json",
    "metrics/validation.json",
    "metrics/train.json",
    "metrics/evaluate.json",
    "metrics/drift.json",
    "metrics/plots/metrics_by_k.csv",
    "metrics/plots/rules.csv",
    "models/rules.pmml",
]

# v2 changes one train param: train, evaluate and drift-check re-run, ingest and validate not.
VERSION_CHANGES = {"v1": {}, "v2": {"train": {"min_confidence": 0.4}}}


def output_digests(repo: Path) -> dict[str, str]:
    """sha256 of every pipeline output in ``repo``'s workspace (absent files are skipped)."""
    import hashlib

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


@pytest.fixture(scope="session")
def versioned_repo(tmp_path_factory, s3_server: str) -> VersionedRepo:
    """Build v1 (small params), commit, tag, push; then v2 (``VERSION_CHANGES``), the same.
    About a minute, once per session."""
    parent = tmp_path_factory.mktemp("versioned")
    repo = make_pipeline_repo(parent, name="origin")
    env = tool_env(repo) | S3_CREDENTIALS
    bucket = "panier-versions"
    s3_client(s3_server).create_bucket(Bucket=bucket)
    use_remote(repo, s3_server, bucket, env=env)
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
    return VersionedRepo(repo, s3_server, bucket, digests)
