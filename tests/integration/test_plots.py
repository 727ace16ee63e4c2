"""`dvc plots show` draws exactly the named plots, each titled and labelled, on a page that
works offline (Vega bundled by scripts/build_plots_page.py), in a real headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support.repos import run

ROOT = Path(__file__).resolve().parents[2]


def _named_plots() -> dict[str, dict]:
    """Every plot declared in dvc.yaml (stage plots, and any top-level ones), by id."""
    pipeline = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    declared = {}
    for stage in pipeline["stages"].values():
        for entry in stage.get("plots", []):
            declared.update(entry if isinstance(entry, dict) else {entry: {}})
    for entry in pipeline.get("plots", []):
        declared.update(entry)
    return declared


@pytest.fixture(scope="module")
def plots_json() -> dict:
    return json.loads(run(["dvc", "plots", "show", "--json"], ROOT).stdout)["data"]


def test_dvc_plots_show_lists_exactly_the_declared_plots_each_once(plots_json):
    assert sorted(plots_json) == sorted(_named_plots())
    assert all(len(renderers) == 1 for renderers in plots_json.values())


def test_every_plot_has_a_title_and_labelled_axes(plots_json):
    for name, renderers in plots_json.items():
        spec = renderers[0]["content"]
        assert spec["title"]["text"] == _named_plots()[name]["title"]
        encoding = spec.get("spec", spec)["encoding"]
        for axis in ("x", "y"):
            title = encoding[axis]["title"]
            assert title and title not in {"x", "y", "dvc_inferred_y_value"}, (name, axis)


def test_reference_and_current_are_drawn_side_by_side_not_stacked(plots_json):
    compared = [
        name
        for name, spec in _named_plots().items()
        if spec.get("template") in {"grouped_bars", "histogram"}
    ]
    assert len(compared) >= 6
    for name in compared:
        content = plots_json[name][0]["content"]
        assert {"fold": ["reference", "current"], "as": ["window", "share"]} in content["transform"]
        encoding = content["encoding"]
        offset = encoding.get("xOffset") or encoding.get("yOffset")
        assert offset["field"] == encoding["color"]["field"] == "series", name


def test_the_offline_page_is_built_from_the_pinned_vega_packages():
    if not (ROOT / "tests/tools/node_modules/vega").is_dir():
        if os.environ.get("PANIER_REQUIRE_TOOLS"):
            pytest.fail("run npm ci --prefix tests/tools")
        pytest.skip("npm packages not installed: npm ci --prefix tests/tools")
    result = subprocess.run(
        [sys.executable, "scripts/build_plots_page.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    page = (ROOT / ".dvc/plots/offline.html").read_text()
    assert "cdn" not in page.lower() and "{plot_divs}" in page and "{scripts}" not in page


def test_the_plots_page_draws_every_chart_offline(tmp_path, browser_page):
    out = tmp_path / "plots"
    run(["dvc", "plots", "show", "--out", str(out)], ROOT)
    html = (out / "index.html").read_text()
    assert "<script src=" not in html  # everything inline: nothing to fetch
    page = browser_page.open(out / "index.html")
    page.wait_for_function(
        f"document.querySelectorAll('.vega-embed svg, .vega-embed canvas').length"
        f" >= {len(_named_plots())}",
        timeout=20_000,
    )
    assert page.locator(".vega-embed").count() == len(_named_plots())
    assert browser_page.errors == []


def test_the_generated_plots_folder_is_not_tracked():
    assert shutil.which("git")
    ignored = subprocess.run(["git", "check-ignore", "dvc_plots/index.html"], cwd=ROOT)
    assert ignored.returncode == 0
