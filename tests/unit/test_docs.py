"""The documentation: a short README that points into a site, and a site that builds."""

from __future__ import annotations

import re

import yaml

from support.repos import ROOT

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
