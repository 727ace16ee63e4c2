"""Helpers for the recommendation-service tests: build a model artifact with the pipeline's
own code, run the service as a real uvicorn process on 127.0.0.1, and talk HTTP to it.

The tests may import ``panier`` (to train models and compare rankings); the service may not.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from panier.core import io
from panier.core.baskets import baskets_from_lines
from panier.core.config import Params, load_params
from panier.stages.ingest.generate import generate_line_items
from panier.stages.train.mining import association_rules, frequent_itemsets
from panier.stages.train.model import describe_items, model_card

ROOT = Path(__file__).resolve().parents[1]


def params_with(**generator) -> Params:
    """The repository's params with generator fields overridden."""
    params = load_params(ROOT / "params.yaml")
    gen = params.ingest.generator.model_copy(update=generator)
    return params.model_copy(update={"ingest": params.ingest.model_copy(update={"generator": gen})})


def train_lines(n_invoices: int = 4000, seed: int = 42) -> pd.DataFrame:
    """Generated line items without the rows validation would reject for a missing code."""
    generator = params_with(n_invoices=n_invoices, seed=seed).ingest.generator
    return generate_line_items(generator).dropna(subset=["item_code"])


def write_model(
    folder: Path,
    lines: pd.DataFrame,
    min_support: float = 0.01,
    min_confidence: float = 0.3,
    max_len: int = 3,
    params: Params | None = None,
) -> Path:
    """Mine ``lines`` and write the artifact exactly as the train stage does."""
    params = params or load_params(ROOT / "params.yaml")
    train = params.train.model_copy(
        update={"min_support": min_support, "min_confidence": min_confidence, "max_len": max_len}
    )
    params = params.model_copy(update={"train": train})
    baskets = baskets_from_lines(lines)
    itemsets = frequent_itemsets(baskets, min_support, max_len)
    rules = association_rules(itemsets, baskets.n_baskets, min_confidence)
    folder.mkdir(parents=True, exist_ok=True)
    io.write_parquet(rules, folder / "rules.parquet")
    io.write_parquet(describe_items(lines, baskets), folder / "items.parquet")
    io.write_json(model_card(lines, baskets, itemsets, rules, params), folder / "model_card.json")
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class Service:
    """``python -m panier_service`` in a subprocess on a free port of 127.0.0.1."""

    def __init__(self, *args: str, env: dict | None = None, cwd: Path | None = None):
        self.port = free_port()
        self.args = [sys.executable, "-m", "panier_service", "--port", str(self.port), *args]
        self.env, self.cwd = env, cwd
        self.process: subprocess.Popen | None = None
        self.stderr = ""

    def start(self, timeout: float = 60.0) -> Service:
        self.process = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stderr = self.process.stderr.read()
                raise RuntimeError(f"service exited with {self.process.returncode}:\n{self.stderr}")
            try:
                if self.get("/health").status == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"service did not answer /health in {timeout} s")

    def stop(self) -> str:
        """Stop gracefully (the request log is flushed); returns what it wrote to stderr."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process and self.process.stderr:
            self.stderr += self.process.stderr.read()
            self.process.stderr.close()
        return self.stderr

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict | None = None,
        chunked: bool = False,
    ) -> Reply:
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


def read_log(folder: Path, name: str = "requests.jsonl") -> list[dict]:
    """Every record of a rotated request log, oldest file first."""
    files = sorted(
        folder.glob(f"{name}*"), key=lambda p: -int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0
    )
    return [json.loads(line) for path in files for line in path.read_text().splitlines()]
