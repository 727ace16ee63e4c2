"""Helpers for the repository's tests that involve the service with the pipeline: build a
model artifact with the pipeline's own code, and run the service as a real process (the
service's own ``ServiceProcess``, on a port the system picks).

The tests may import ``panier`` (to train models and compare rankings); the service may not.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pandas as pd

from panier.core import io
from panier.core.baskets import baskets_from_lines
from panier.core.config import Params, load_params
from panier.stages.ingest.generate import generate_line_items
from panier.stages.train.mining import association_rules, frequent_itemsets
from panier.stages.train.model import describe_items, model_card

ROOT = Path(__file__).resolve().parents[2]

# The service's test clients (service/tests/clients.py), one implementation for both suites.
sys.path.insert(0, str(ROOT / "service" / "tests"))
from clients import Reply, read_log  # noqa: E402
from clients import ServiceProcess as Service  # noqa: E402

__all__ = [
    "ROOT",
    "Load",
    "Reply",
    "Service",
    "read_log",
    "serving",
    "train_lines",
    "wait_for",
    "write_model",
]


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


class Load:
    """Requests sent one after another from a thread until stopped: every status kept."""

    def __init__(self, service: Service, basket: list[str]):
        self.service, self.basket = service, basket
        self.statuses: list[int] = []
        self.versions: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                reply = self.service.recommend(self.basket, k=5)
                self.statuses.append(reply.status)
                self.versions.add(reply.json().get("model_version", "?"))
            except OSError as exc:  # a refused connection is a failed request too
                self.statuses.append(-1)
                self.versions.add(type(exc).__name__)
            time.sleep(0.01)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def wait_for(service: Service, check, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        version = service.get("/version").json()
        if check(version):
            return version
        assert time.monotonic() < deadline, version
        time.sleep(0.2)


def serving(version: str):
    return lambda v: v["model"]["model_version"] == version
