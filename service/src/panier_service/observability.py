"""What the service tells its operators in Prometheus metrics (``GET /metrics``): software
health (requests by endpoint and status, latency) and business health (how many answers
fall back to popularity or are empty, unknown items, basket sizes, which model is loaded,
refused reloads, the request log's health). The request log is ``request_log``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

ENDPOINTS = (
    "/recommend",
    "/health",
    "/version",
    "/metrics",
    "/admin/reload",
    "/docs",
    "/openapi.json",
)
OUTCOMES = ("rules", "mixed", "fallback", "empty")
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)
BASKET_BUCKETS = (1, 2, 3, 5, 8, 13, 20, 35, 50, 100, 200)

if TYPE_CHECKING:
    from panier_service.request_log import RequestLog

POLL_OUTCOMES = ("unchanged", "reloaded", "refused", "known_refused", "error")


class Metrics:
    """The service's Prometheus metrics, in a registry of their own (one per app)."""

    def __init__(self):
        disable_created_metrics()  # the *_created series only add noise to every scrape
        self.registry = registry = CollectorRegistry()
        self.requests = Counter(
            "panier_http_requests",
            "HTTP requests answered, by endpoint, method and status",
            ["endpoint", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "panier_http_request_duration_seconds",
            "Time from request received to response sent, by endpoint",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.answers = Counter(
            "panier_recommendations",
            "Recommendation answers by outcome: rules, mixed (rules then popularity), "
            "fallback (popularity only: no rule applied), empty",
            ["outcome"],
            registry=registry,
        )
        self._answers = {o: self.answers.labels(o) for o in OUTCOMES}
        self._answer_counts = dict.fromkeys(OUTCOMES, 0)  # for the ratios below
        Gauge(
            "panier_fallback_answer_ratio",
            "Share of answers since start where no rule applied (popularity only)",
            registry=registry,
        ).set_function(lambda: self.share("fallback"))
        Gauge(
            "panier_empty_answer_ratio",
            "Share of answers since start that were empty",
            registry=registry,
        ).set_function(lambda: self.share("empty"))
        self.unknown_items = Counter(
            "panier_unknown_items",
            "Item codes in requests that the model's catalog lacks",
            registry=registry,
        )
        self.basket_items = Histogram(
            "panier_basket_items",
            "Distinct items per recommendation request",
            buckets=BASKET_BUCKETS,
            registry=registry,
        )
        self.model_info = Gauge(
            "panier_model_info",
            "The model being served (value 1)",
            ["model_version", "stage", "data_fingerprint"],
            registry=registry,
        )
        self.model_rules = Gauge(
            "panier_model_rules", "Rules in the model being served", registry=registry
        )
        self.model_loaded = Gauge(
            "panier_model_loaded_timestamp_seconds",
            "When the model being served was loaded",
            registry=registry,
        )
        self.reloads = Counter(
            "panier_model_reloads",
            "Reload attempts: loaded, or refused (the old model kept)",
            ["result"],
            registry=registry,
        )
        for result in ("loaded", "refused"):
            self.reloads.labels(result)
        self.registry_polls = Counter(
            "panier_registry_polls",
            "Checks of the registry stage: unchanged, reloaded, refused (the new version "
            "failed its checks; the old model kept), known_refused (still the refused "
            "version: not retried) or error (the registry could not be read)",
            ["outcome"],
            registry=registry,
        )
        for outcome in POLL_OUTCOMES:
            self.registry_polls.labels(outcome)
        self.refused_model = Gauge(
            "panier_model_refused_info",
            "The version the registry stage points at but which was refused (value 1; "
            "absent when none)",
            ["model_version", "stage"],
            registry=registry,
        )
        self._latency = {e: self.latency.labels(e) for e in (*ENDPOINTS, "other")}

    def watch_request_log(self, request_log: RequestLog) -> None:
        """Gauges of the request log's health: lines waiting, failed writes, lines dropped."""
        for name, text, read in (
            (
                "panier_request_log_pending_lines",
                "Request-log lines waiting to be written (grows while the disk is full)",
                lambda: request_log.pending_lines,
            ),
            (
                "panier_request_log_write_errors",
                "Failed request-log writes since start (disk full, folder gone)",
                lambda: request_log.write_errors,
            ),
            (
                "panier_request_log_dropped_lines",
                "Request-log lines lost since start because too many waited",
                lambda: request_log.dropped_lines,
            ),
        ):
            Gauge(name, text, registry=self.registry).set_function(read)

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

    def set_model(
        self, version: str, stage: str | None, fingerprint: str, rules: int, loaded_at: float
    ) -> None:
        self.model_info.clear()
        self.model_info.labels(version, stage or "", fingerprint).set(1)
        self.model_rules.set(rules)
        self.model_loaded.set(loaded_at)
