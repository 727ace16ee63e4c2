"""The service's Swagger UI page (``GET /docs``) works in a real browser with no network:
its scripts and styles come from the service itself, not a CDN."""

from __future__ import annotations

from pathlib import Path

from support.service_support import Service  # also puts the service's test helpers on the path

# isort: split
from model_files import shopping_baskets, write_model


def test_the_docs_page_draws_every_endpoint_offline(browser_page, tmp_path: Path):
    model = write_model(tmp_path / "model", shopping_baskets(500))
    with Service("--model", str(model), "--no-request-log") as service:
        page = browser_page.open(f"http://127.0.0.1:{service.port}/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    assert {"/recommend", "/health", "/version", "/metrics"} <= paths
    assert browser_page.errors == []  # nothing failed to load, no script error
