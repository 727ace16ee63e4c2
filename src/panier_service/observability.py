"""What the service tells its operators: Prometheus metrics and the JSON Lines request log.

Metrics (``GET /metrics``) cover software health (requests by endpoint and status, latency)
and business health (how many answers fall back to popularity or are empty, unknown items,
basket sizes, which model is loaded, refused reloads).

The request log holds one JSON object per answered ``POST /recommend``, and nothing about
the caller (no address, no headers, no customer id)::

    {"time": "2025-11-21T13:05:00.123Z", "request_id": "3f1c...", "basket": ["10040"],
     "k": 5, "recommended": ["10055", "10001"], "fallback": false,
     "model_version": "v1.0.0"}

``time`` is ISO-8601 UTC; ``basket`` is the distinct item codes as sent (in request order),
``recommended`` the answer best first, ``fallback`` true when no rule applied (the answer is
popularity only). Files rotate by size: ``requests.jsonl``, then ``requests.jsonl.1`` (newer)
to ``requests.jsonl.N`` (older). Lines are written in batches, at most ``FLUSH_SECONDS``
after the answer, and all of them on shutdown.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

ENDPOINTS = ("/recommend", "/health", "/version", "/metrics", "/admin/reload", "/docs",
             "/openapi.json")
OUTCOMES = ("rules", "mixed", "fallback", "empty")
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                   1.0, 2.5)
BASKET_BUCKETS = (1, 2, 3, 5, 8, 13, 20, 35, 50, 100, 200)


def utc_now() -> str:
    """The current time as ISO-8601 UTC with milliseconds, e.g. 2025-11-21T13:05:00.123Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


POLL_OUTCOMES = ("unchanged", "reloaded", "refused", "known_refused", "error")


class Metrics:
    """The service's Prometheus metrics, in a registry of their own (one per app)."""

    def __init__(self):
        disable_created_metrics()  # the *_created series only add noise to every scrape
        self.registry = registry = CollectorRegistry()
        self.requests = Counter(
            "panier_http_requests", "HTTP requests answered, by endpoint, method and status",
            ["endpoint", "method", "status"], registry=registry)
        self.latency = Histogram(
            "panier_http_request_duration_seconds",
            "Time from request received to response sent, by endpoint", ["endpoint"],
            buckets=LATENCY_BUCKETS, registry=registry)
        self.answers = Counter(
            "panier_recommendations",
            "Recommendation answers by outcome: rules, mixed (rules then popularity), "
            "fallback (popularity only: no rule applied), empty", ["outcome"],
            registry=registry)
        self._answers = {o: self.answers.labels(o) for o in OUTCOMES}
        self._answer_counts = dict.fromkeys(OUTCOMES, 0)  # for the ratios below
        Gauge("panier_fallback_answer_ratio",
              "Share of answers since start where no rule applied (popularity only)",
              registry=registry).set_function(lambda: self.share("fallback"))
        Gauge("panier_empty_answer_ratio", "Share of answers since start that were empty",
              registry=registry).set_function(lambda: self.share("empty"))
        self.unknown_items = Counter(
            "panier_unknown_items", "Item codes in requests that the model's catalog lacks",
            registry=registry)
        self.basket_items = Histogram(
            "panier_basket_items", "Distinct items per recommendation request",
            buckets=BASKET_BUCKETS, registry=registry)
        self.model_info = Gauge(
            "panier_model_info", "The model being served (value 1)",
            ["model_version", "stage", "data_fingerprint"], registry=registry)
        self.model_rules = Gauge("panier_model_rules", "Rules in the model being served",
                                 registry=registry)
        self.model_loaded = Gauge("panier_model_loaded_timestamp_seconds",
                                  "When the model being served was loaded",
                                  registry=registry)
        self.reloads = Counter("panier_model_reloads",
                               "Reload attempts: loaded, or refused (the old model kept)",
                               ["result"], registry=registry)
        for result in ("loaded", "refused"):
            self.reloads.labels(result)
        self.registry_polls = Counter(
            "panier_registry_polls",
            "Checks of the registry stage: unchanged, reloaded, refused (the new version "
            "failed its checks; the old model kept), known_refused (still the refused "
            "version: not retried) or error (the registry could not be read)", ["outcome"],
            registry=registry)
        for outcome in POLL_OUTCOMES:
            self.registry_polls.labels(outcome)
        self.refused_model = Gauge(
            "panier_model_refused_info",
            "The version the registry stage points at but which was refused (value 1; "
            "absent when none)", ["model_version", "stage"], registry=registry)
        self._latency = {e: self.latency.labels(e) for e in (*ENDPOINTS, "other")}

    def share(self, outcome: str) -> float:
        """The share of answers since start with ``outcome``."""
        total = sum(self._answer_counts.values())
        return self._answer_counts[outcome] / total if total else 0.0

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, method, str(status)).inc()
        self._latency[endpoint].observe(seconds)

    def observe_answer(self, outcome: str, basket_items: int) -> None:
        self._answers[outcome].inc()
        self._answer_counts[outcome] += 1
        self.basket_items.observe(basket_items)

    def set_model(self, version: str, stage: str | None, fingerprint: str, rules: int,
                  loaded_at: float) -> None:
        self.model_info.clear()
        self.model_info.labels(version, stage or "", fingerprint).set(1)
        self.model_rules.set(rules)
        self.model_loaded.set(loaded_at)


class RequestLog:
    """Appends one JSON object per line to ``path``; when the next line would take the file
    past ``max_bytes`` (0: never), the file is rotated: ``path`` becomes ``path.1``,
    ``path.1`` becomes ``path.2``, and so on; the oldest beyond ``backups`` is deleted.

    ``write`` only appends the encoded line to a buffer; ``flush`` writes the buffer with one
    system call per file (the service flushes every ``FLUSH_SECONDS`` and whenever
    ``BATCH_LINES`` lines wait), so a request pays for neither a disk write nor a hand-over
    to another thread. ``close`` flushes what is left. One process writes one log: give
    each instance its own path.
    """

    BATCH_LINES = 256
    FLUSH_SECONDS = 0.2

    def __init__(self, path: str | Path, max_bytes: int, backups: int):
        if backups < 1:
            raise ValueError("keep at least one rotated file (backups >= 1)")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes, self.backups = max_bytes, backups
        self._file = open(self.path, "ab")  # noqa: SIM115 - open for the service's lifetime
        self._size = self._file.tell()
        self._buffer: list[bytes] = []

    def write(self, record: dict) -> None:
        if self._file.closed:
            return
        self._buffer.append(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        if len(self._buffer) >= self.BATCH_LINES:
            self.flush()

    def flush(self) -> None:
        if not self._buffer or self._file.closed:
            return
        lines, self._buffer = self._buffer, []
        chunk = bytearray()
        for line in lines:
            if (self.max_bytes and self._size + len(chunk) + len(line) > self.max_bytes
                    and self._size + len(chunk) > 0):
                self._write(chunk)
                chunk = bytearray()
                self._rotate()
            chunk += line
        self._write(chunk)

    def _write(self, chunk: bytearray) -> None:
        if chunk:
            self._file.write(chunk)
            self._file.flush()
            self._size += len(chunk)

    def _rotate(self) -> None:
        self._file.close()
        for index in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._file = open(self.path, "ab")  # noqa: SIM115
        self._size = 0

    def close(self) -> None:
        if not self._file.closed:
            self.flush()
            self._file.close()
