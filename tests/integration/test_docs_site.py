"""The documentation site builds strictly with mkdocs and works offline in a real browser; its
generated pages match what their scripts build from the code."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import support.service_support  # noqa: F401  (puts the service's test helpers on the path)
from support.repos import ROOT

# isort: split
from clients import InProcess
from model_files import shopping_baskets, write_model


def test_the_site_builds_strictly_and_works_offline(tmp_path: Path, http_server, browser_page):
    mkdocs = Path(sys.executable).parent / "mkdocs"
    if not mkdocs.exists() and not shutil.which("mkdocs"):
        pytest.skip("mkdocs is not installed (the docs extra)")
    site = http_server.root / "site"
    env = {"NO_MKDOCS_2_WARNING": "1", "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    result = subprocess.run(
        [
            str(mkdocs) if mkdocs.exists() else "mkdocs",
            "build",
            "--strict",
            "--site-dir",
            str(site),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    page = browser_page.open(f"{http_server.url}/site/get-started/")
    assert "Get started" in page.title()
    # The site's search runs in the browser from the built index, with no network.
    page.keyboard.press("s")
    page.keyboard.type("dvc repro")
    page.wait_for_selector(".md-search-result__item", timeout=10_000)
    assert browser_page.errors == []


# Pages generated from the code, each by its script; ``--check`` exits 1 when the committed
# page differs from a fresh build.
GENERATED_PAGES = {
    "scripts/params_reference.py": "docs/reference/params.md, from the params schema",
    "scripts/service_settings_reference.py": "docs/reference/service-settings.md, from the "
    "service's settings model",
    "scripts/http_api_reference.py": "docs/reference/http-api.md, from the OpenAPI description",
    "scripts/benchmarks_page.py": "docs/benchmarks.md, from the bench scripts' docstrings",
}


@pytest.mark.parametrize("script", sorted(GENERATED_PAGES))
def test_a_generated_page_matches_a_fresh_build(script: str):
    result = subprocess.run(
        [sys.executable, script, "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, f"{GENERATED_PAGES[script]}: {result.stderr}"


def test_the_http_api_reference_has_a_section_for_every_endpoint_served(tmp_path: Path):
    model = write_model(tmp_path / "model", shopping_baskets(500))
    with InProcess("--model", str(model), "--no-request-log") as service:
        spec = service.get("/openapi.json").json()
    endpoints = {
        f"{method.upper()} {path}" for path, ops in spec["paths"].items() for method in ops
    }
    assert {"POST /recommend", "GET /health", "POST /admin/reload"} <= endpoints
    page = (ROOT / "docs" / "reference" / "http-api.md").read_text(encoding="utf-8")
    headings = {line.lstrip("#").strip() for line in page.splitlines() if line.startswith("## ")}
    assert endpoints <= headings, sorted(endpoints - headings)


def test_the_benchmarks_page_lists_every_bench_script():
    scripts = {p.name for p in (ROOT / "bench").glob("*.py")} - {"_common.py", "run_all.py"}
    page = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    headings = {line[3:].strip() for line in page.splitlines() if line.startswith("## ")}
    assert {f"bench/{name}" for name in scripts} <= headings
    assert scripts
