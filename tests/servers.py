"""Real servers for tests, started from the packages installed on the machine: a PostgreSQL
server (``postgres_server``) and a Spark standalone cluster (``spark_cluster``), both on
127.0.0.1 only, in temporary directories, torn down at the end of the session.

When a server's binaries are missing the tests that need it skip, unless
``PANIER_REQUIRE_TOOLS=1`` (set by CI) makes them fail: CI installs PostgreSQL and Java.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def _missing(what: str, fix: str) -> None:
    if os.environ.get("PANIER_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{what} is required (PANIER_REQUIRE_TOOLS is set): {fix}")
    pytest.skip(f"{what} not found: {fix}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(
    port: int, process: subprocess.Popen, what: str, log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{_tail(log)}")
        with socket.socket() as sock:
            sock.settimeout(1)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} in {timeout:g} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# --- PostgreSQL --------------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The folder holding ``initdb`` and ``postgres``: Debian's newest
    ``/usr/lib/postgresql/<version>/bin``, else the folder of ``initdb`` on PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


@dataclass
class PostgresServer:
    """A PostgreSQL server on 127.0.0.1 with password (SCRAM) authentication only.

    ``superuser``/``superuser_password`` administer it; ``url(database, user, password)``
    gives a SQLAlchemy URL through psycopg."""

    bindir: Path
    port: int = field(default_factory=free_port)
    superuser: str = "postgres"
    superuser_password: str = field(default_factory=lambda: secrets.token_hex(12))
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="panier-pg-")))
    _process: subprocess.Popen | None = None

    def _as_owner(self) -> dict:
        # PostgreSQL refuses to run as root: as root, run it as the unprivileged user nobody.
        if os.geteuid() != 0:
            return {}
        nobody = pwd.getpwnam("nobody")
        os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
        return {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}

    def start(self, timeout: float = 60) -> None:
        owner = self._as_owner()
        os.chmod(self.root, 0o700)
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.superuser_password + "\n")
        if owner:
            os.chown(pwfile, owner["user"], owner["group"])
        data = self.root / "data"
        result = subprocess.run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                self.superuser,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            cwd=self.root,
            **owner,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
        log = self.root / "server.log"
        with open(log, "w") as handle:
            if owner:
                os.chown(log, owner["user"], owner["group"])
            # Throwaway data: no fsync; small memory; TCP on the loopback interface only and
            # the Unix socket inside the temporary directory.
            self._process = subprocess.Popen(
                [
                    str(self.bindir / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(self.port),
                    "-h",
                    "127.0.0.1",
                    "-k",
                    str(self.root),
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "shared_buffers=32MB",
                    "-c",
                    "max_connections=20",
                ],
                stdout=handle,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                start_new_session=True,
                **owner,
            )
        _wait_for_port(self.port, self._process, "postgres", log, timeout)
        deadline = time.monotonic() + timeout
        while True:  # listening is not yet accepting logins (startup, recovery)
            try:
                self.execute("SELECT 1")
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        _stop(self._process, signal.SIGINT)  # "fast" shutdown
        self._process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str, user: str, password: str) -> str:
        return f"postgresql+psycopg://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def connect(
        self, database: str = "postgres", user: str | None = None, password: str | None = None
    ):
        import psycopg

        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            dbname=database,
            user=user or self.superuser,
            password=password or self.superuser_password,
            autocommit=True,
            connect_timeout=10,
        )

    def execute(self, statement: str, database: str = "postgres") -> None:
        with self.connect(database) as connection:
            connection.execute(statement)

    def create_database(self, name: str, owner: str, password: str) -> None:
        """A login role ``owner`` with ``password`` and a database ``name`` it owns."""
        self.execute(f"CREATE ROLE {owner} LOGIN PASSWORD '{password}'")
        self.execute(f"CREATE DATABASE {name} OWNER {owner}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the machine's installed version (see ``PostgresServer``)."""
    bindir = postgres_bin()
    if bindir is None:
        _missing("PostgreSQL (initdb, postgres)", "apt-get install postgresql")
    if importlib.util.find_spec("psycopg") is None:
        _missing("The PostgreSQL driver psycopg", "pip install 'panier[postgres]'")
    server = PostgresServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


# --- Spark standalone cluster ------------------------------------------------------------------


@dataclass
class SparkCluster:
    """A Spark standalone master and ``workers`` workers on 127.0.0.1, each worker with
    ``cores`` cores and ``memory`` for executors, started from the installed pyspark's
    ``spark-class`` (the same JVM classes ``sbin/start-master.sh`` runs)."""

    workers: int = 2
    cores: int = 1
    memory: str = "1g"
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="panier-spark-")))
    _processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def master(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        import pyspark

        env = dict(os.environ)
        env.update(
            {
                "SPARK_HOME": str(Path(pyspark.__file__).parent),
                "SPARK_LOCAL_IP": "127.0.0.1",
                "SPARK_LOCAL_DIRS": str(self.root / "tmp"),
                "SPARK_WORKER_DIR": str(self.root / "work"),
                "SPARK_DAEMON_MEMORY": "256m",
                "PYSPARK_PYTHON": sys.executable,
            }
        )
        return env

    def _start(self, name: str, args: list[str]) -> tuple[subprocess.Popen, Path]:
        import pyspark

        spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
        log = self.root / f"{name}.log"
        with open(log, "w") as handle:
            process = subprocess.Popen(
                [str(spark_class), *args],
                env=self.env(),
                cwd=self.root,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._processes.append(process)
        return process, log

    def start(self, timeout: float = 90) -> None:
        (self.root / "tmp").mkdir()
        (self.root / "work").mkdir()
        master, log = self._start(
            "master",
            [
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--webui-port",
                str(free_port()),
            ],
        )
        _wait_for_port(self.port, master, "the Spark master", log, timeout)
        for number in range(self.workers):
            self._start(
                f"worker-{number + 1}",
                [
                    "org.apache.spark.deploy.worker.Worker",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(free_port()),
                    "--webui-port",
                    str(free_port()),
                    "--cores",
                    str(self.cores),
                    "--memory",
                    self.memory,
                    "--work-dir",
                    str(self.root / "work"),
                    self.master,
                ],
            )
        self._wait_for_workers(log, timeout)

    def _wait_for_workers(self, master_log: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self._processes:
                if process.poll() is not None:
                    raise RuntimeError(
                        f"a Spark daemon exited with {process.returncode}:\n"
                        + "\n".join(_tail(p) for p in self.root.glob("*.log"))
                    )
            if _tail(master_log, 10_000).count("Registering worker") >= self.workers:
                return
            time.sleep(0.3)
        raise RuntimeError(
            f"{self.workers} Spark workers did not register in {timeout:g} s:\n" + _tail(master_log)
        )

    def stop(self) -> None:
        for process in reversed(self._processes):
            _stop(process)
        self._processes.clear()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def spark_cluster() -> Iterator[SparkCluster]:
    """A Spark standalone cluster on 127.0.0.1: one master and two one-core workers."""
    from panier.stages.train import engines

    if not engines.java_available():
        _missing("Java (for Spark)", "apt-get install openjdk-17-jre-headless")
    if importlib.util.find_spec("pyspark") is None:
        _missing("pyspark", "pip install 'panier[spark]'")
    cluster = SparkCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
