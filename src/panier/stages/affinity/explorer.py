"""The rules explorer: one self-contained HTML page for reading the model's rules.

Everything it shows is embedded in the page as JSON and drawn by a few hundred lines of plain
JavaScript and inline SVG: no library, no CDN, no network, so it opens offline from a file,
an artifact download or an email. It holds a searchable, sortable, paginated rule table, a
support/confidence scatter coloured by lift, a graph of the affinity groups and a page per
group. The page is a pure function of its inputs: equal inputs give identical bytes.

The page, its style and its script are ``templates/explorer.html``, ``explorer.css`` and
``explorer.js``; the data comes from ``explorer_data``.
"""

from __future__ import annotations

import html
import json
from functools import cache
from importlib import resources

import pandas as pd

from panier.stages.affinity.explorer_data import explorer_data
from panier.stages.affinity.groups import AffinityGroups


@cache
def _template(name: str) -> str:
    return (
        resources.files("panier.stages.affinity")
        .joinpath("templates", name)
        .read_text(encoding="utf-8")
    )


def render_explorer(
    rules: pd.DataFrame, result: AffinityGroups, title: str = "Rules explorer", seed: int = 0
) -> str:
    """The explorer page as one HTML string (data, style and script inline): ``rules`` is the
    model's rules table, ``result`` its affinity groups, ``seed`` that of the groups' layout."""
    data = json.dumps(
        explorer_data(rules, result, title, seed),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    # Inside <script>, "</" could end the element early: escape it (JSON allows "\/").
    data = data.replace("</", "<\\/")
    # Plain placeholders, not a template engine: the script's own braces stay as written.
    return (
        _template("explorer.html")
        .replace("__TITLE__", html.escape(title))
        .replace("__STYLE__", _template("explorer.css"))
        .replace("__SCRIPT__", _template("explorer.js"))
        .replace("__DATA__", data)
    )
