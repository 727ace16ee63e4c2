"""Real servers for tests, started from the packages installed on the machine: an S3 server
(moto, ``S3Server``), a PostgreSQL server (``postgres_server``) and a Spark standalone cluster
(``spark_cluster``), all on 127.0.0.1 only, in temporary directories, torn down at the end.

Each server binds a port the system chooses (port 0) and the test reads it back from the
server's log, so two test sessions side by side (pytest-xdist workers) never race for one.
PostgreSQL cannot take port 0: it gets a random port and another one if that is taken.

When a server's binaries are missing the tests that need it skip, unless
``PANIER_REQUIRE_TOOLS=1`` (set by CI) makes them fail: CI installs PostgreSQL and Java.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import pwd
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Ports PostgreSQL is started on: above the common services and below Linux's ephemeral range
# (which the system hands out for port 0), so a port 0 server never takes one first.
POSTGRES_PORTS = range(20_000, 32_000)


def _missing(what: str, fix: str) -> None:
    if os.environ.get("PANIER_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{what} is required (PANIER_REQUIRE_TOOLS is set): {fix}")
    pytest.skip(f"{what} not found: {fix}")


def unused_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now: the address of a server that is
    down. Not for starting a server on (another process may take it first): bind port 0."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_log(
    pattern: str, process: subprocess.Popen, what: str, log: Path, timeout: float
) -> re.Match:
    """The first match of ``pattern`` in the server's ``log``, once the server writes it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, _tail(log, 10_000))
        if found:
            return found
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{_tail(log)}")
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not log {pattern!r} in {timeout:g} s:\n{_tail(log)}")


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


# --- S3 (moto) ----------------------------------------------------------------------------------


class S3Server:
    """A moto S3 server in a subprocess. The first ``start`` binds a port the system chooses;
    tests may ``stop`` it and ``start`` it again on that same port."""

    def __init__(self):
        self.port = 0
        self.endpoint = ""
        self.log = Path(tempfile.mkdtemp(prefix="panier-s3-")) / "moto.log"
        self._process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        moto = Path(sys.executable).parent / "moto_server"
        with open(self.log, "w") as handle:
            self._process = subprocess.Popen(
                [str(moto), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        running = r"Running on http://127\.0\.0\.1:(\d+)"
        found = _wait_for_log(running, self._process, "moto_server", self.log, timeout)
        self.port = int(found.group(1))
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        _stop(self._process, timeout=10)
        self._process = None


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 (port 0) in front of ``target`` (``http://host:port``) that
    lets exactly ``allow`` HTTP requests of ``method`` through: a connection that sends one
    more is held from then on (nothing it sends is forwarded). ``cut()`` then closes
    the listener and every connection, like a server that goes away mid-transfer, at a
    point the test chose rather than one a race between the test and the client decides."""

    def __init__(self, target: str, method: bytes = b"PUT", allow: int = 10):
        host, port = target.removeprefix("http://").rsplit(":", 1)
        self._target = host, int(port)
        self._marker = method + b" /"
        self._allowed = allow
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.held = threading.Event()  # set once a request beyond ``allow`` came and was held
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # cut
                return
            upstream = socket.create_connection(self._target)
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, counted: bool) -> None:
        holding = False  # this connection sent a request beyond the allowance
        try:
            while chunk := source.recv(65536):
                if counted and not holding and (requests := chunk.count(self._marker)):
                    # A request line starts a send of its own, so it is never split across
                    # chunks; the body of an allowed request still goes through.
                    with self._lock:
                        self._allowed -= requests
                        holding = self._allowed < 0
                if holding:
                    self.held.set()
                    continue  # never forwarded
                sink.sendall(chunk)
        except OSError:
            pass

    def cut(self) -> None:
        """Close the listener and every connection: the client sees resets, then refusals."""
        # shutdown, not only close: it wakes the accept() blocked in the other thread, and
        # the port refuses connections instead of queueing them.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):  # already closed by its peer
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


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
    port: int = 0  # chosen by ``start``
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
        for attempt in range(5):
            self.port = random.choice(POSTGRES_PORTS)
            self._process = self._start_postgres(data, log, owner)
            try:
                ready = "ready to accept connections"
                _wait_for_log(ready, self._process, "postgres", log, timeout)
                break
            except RuntimeError:
                # Another process held the port: PostgreSQL cannot bind port 0, so try another.
                if attempt == 4 or "Address already in use" not in _tail(log):
                    raise
                _stop(self._process)
        deadline = time.monotonic() + timeout
        while True:  # listening is not yet accepting logins (startup, recovery)
            try:
                self.execute("SELECT 1")
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _start_postgres(self, data: Path, log: Path, owner: dict) -> subprocess.Popen:
        with open(log, "w") as handle:
            if owner:
                os.chown(log, owner["user"], owner["group"])
            # Throwaway data: no fsync; small memory; TCP on the loopback interface only and
            # the Unix socket inside the temporary directory.
            return subprocess.Popen(
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
    port: int = 0  # the master's, read from its log by ``start``
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
                "0",
                "--webui-port",
                "0",
            ],
        )
        started = r"Starting Spark master at spark://127\.0\.0\.1:(\d+)"
        self.port = int(_wait_for_log(started, master, "the Spark master", log, timeout).group(1))
        for number in range(self.workers):
            self._start(
                f"worker-{number + 1}",
                [
                    "org.apache.spark.deploy.worker.Worker",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--webui-port",
                    "0",
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
