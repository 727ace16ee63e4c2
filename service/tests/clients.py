"""Two ways to talk HTTP to the service in tests, with one interface (``request``, ``get``,
``recommend``, ``metric``):

- ``InProcess``: the application built from command-line flags, as ``panier-serve`` builds
  it, driven in this process by Starlette's ``TestClient`` (lifespan included): fast, and
  what a test of the API needs;
- ``ServiceProcess``: ``python -m panier_service`` as a real uvicorn process on a port the
  system picks (``--port 0``, read back from uvicorn's start line), for what only a process
  has: signals, the server's own socket, standard output.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from panier_service.__main__ import load_settings, model_source
from panier_service.app import create_app


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class Client:
    """What a test asks of a running service; subclasses send the requests."""

    def request(
        self, method: str, path: str, body=None, headers: dict | None = None, chunked: bool = False
    ) -> Reply:
        raise NotImplementedError

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def recommend(self, items, k: int | None = None, **extra) -> Reply:
        payload = {"items": items, **({} if k is None else {"k": k}), **extra}
        return self.request(
            "POST", "/recommend", json.dumps(payload).encode(), {"Content-Type": "application/json"}
        )

    def metric(self, name: str, **labels: str) -> float:
        """One sample of ``GET /metrics`` (0.0 when absent)."""
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in self.get("/metrics").body.decode().splitlines():
            if line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            metric, _, rest = key.partition("{")
            found = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
            if metric == name and found == wanted:
                return float(value)
        return 0.0


class InProcess(Client):
    """``panier-serve ARGS`` built in this process; ``with`` runs its lifespan (the request
    log is flushed and closed on exit)."""

    def __init__(self, *args: str):
        from fastapi.testclient import TestClient

        settings = load_settings(list(args))
        self.app = create_app(model_source(settings), settings)
        self.client = TestClient(self.app, raise_server_exceptions=False)

    def __enter__(self) -> InProcess:
        self.client.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.client.__exit__(*exc)

    def request(self, method, path, body=None, headers=None, chunked=False) -> Reply:
        if chunked:  # an iterator: sent without Content-Length
            body = iter(list(body))
        response = self.client.request(method, path, content=body, headers=headers or {})
        return Reply(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            response.content,
        )


STARTED = re.compile(r"Uvicorn running on http://[^:]+:(\d+)")


class ServiceProcess(Client):
    """``python -m panier_service ARGS --port 0`` in a subprocess."""

    def __init__(self, *args: str, env: dict | None = None, cwd: Path | None = None):
        self.args = [sys.executable, "-m", "panier_service", "--port", "0", *args]
        self.env, self.cwd = env, cwd
        self.process: subprocess.Popen | None = None
        self.port: int | None = None
        self.stderr_lines: list[str] = []
        self._started = threading.Event()

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)

    def _read_stderr(self) -> None:
        for line in self.process.stderr:
            self.stderr_lines.append(line)
            found = STARTED.search(line)
            if found and self.port is None:
                self.port = int(found.group(1))
                self._started.set()
        self._started.set()  # the process ended: stop waiting

    def start(self, timeout: float = 60.0) -> ServiceProcess:
        self.process = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        if not self._started.wait(timeout) or self.port is None:
            self.stop()
            raise RuntimeError(f"service exited with {self.process.returncode}:\n{self.stderr}")
        return self

    def stop(self) -> str:
        """Stop gracefully (the request log is flushed); returns what it wrote to stderr."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self._reader.join(timeout=10)
        return self.stderr

    def stdout(self) -> str:
        """What the stopped process wrote to standard output."""
        return self.process.stdout.read()

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def request(self, method, path, body=None, headers=None, chunked=False) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(
                method, path, body=body, headers=headers or {}, encode_chunked=chunked
            )
            response = connection.getresponse()
            return Reply(
                response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
            )
        finally:
            connection.close()


def wait_until(check, timeout: float = 30.0, every: float = 0.05) -> None:
    """Poll ``check`` until it is true (a condition, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)


def read_log(folder: Path, name: str = "requests.jsonl") -> list[dict]:
    """Every record of a rotated request log, oldest file first."""
    files = sorted(
        folder.glob(f"{name}*"), key=lambda p: -int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0
    )
    return [json.loads(line) for path in files for line in path.read_text().splitlines()]
