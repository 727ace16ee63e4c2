"""The documentation: a short README that points into a site, and a site that builds."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _nav_pages(nav) -> list[str]:
    pages = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_the_readme_stays_short():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200, "move detail into a page under docs/"


def test_every_link_of_the_readme_to_a_file_of_the_repository_resolves():
    readme = (ROOT / "README.md").read_text()
    targets = [
        target.split("#")[0]
        for target in re.findall(r"\]\(([^)]+)\)", readme)
        if not target.startswith(("http://", "https://", "#"))
    ]
    assert targets, "the README links into the docs"
    missing = [target for target in targets if not (ROOT / target).exists()]
    assert missing == []


def test_every_page_under_docs_is_in_the_site_navigation():
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    listed = set(_nav_pages(config["nav"]))
    pages = {str(page.relative_to(DOCS)) for page in DOCS.rglob("*.md")}
    assert pages - listed == set(), "add these pages to nav in mkdocs.yml"
    assert listed - pages == set(), "mkdocs.yml lists pages that do not exist"


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


def test_the_service_settings_reference_is_generated_from_the_settings_model():
    result = subprocess.run(
        [sys.executable, "scripts/service_settings_reference.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
