"""The documentation site builds strictly with mkdocs and works offline in a real browser."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.repos import ROOT


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
