"""Write docs/reference/params.md from the params schema (src/panier/core/config/).

The schema is the one source of truth: each setting's key, default and description are
read from it, so the reference cannot drift from the code (tests/integration/test_docs_site.py
fails when the committed page differs from a fresh build). Usage:
``python scripts/params_reference.py [--check]``.
"""

from __future__ import annotations

import json
import sys
from datetime import date

from _generated import ROOT, write_or_check
from pydantic import BaseModel

from panier.core.config import Params

TARGET = ROOT / "docs" / "reference" / "params.md"

INTRO = """# Params

Every setting lives in `params.yaml`; `src/panier/core/config/` is its one schema. A wrong
key or value stops the stage with a message naming the key. `params.yaml` holds exactly the
defaults below (a test checks it), so deleting a key changes nothing, and `dvc.yaml`
declares which sections each stage reads: changing a key re-runs exactly the stages that
read it, and those after them.

This page is generated from the schema by `python scripts/params_reference.py`; edit the
descriptions in `src/panier/core/config/`, not here.
"""


def _plain(value: object) -> object:
    """Models, lists and dicts of them as plain data."""
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, mode="json")
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _shown(value: object) -> str:
    value = _plain(value)
    if isinstance(value, list) and len(json.dumps(value)) > 80:
        return f"{len(value)} entries: see params.yaml"
    if isinstance(value, date):
        value = value.isoformat()
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return value if value else '""'
    return json.dumps(value, default=str, ensure_ascii=False)


def _rows(model: type[BaseModel], instance: BaseModel, prefix: str) -> list[tuple[str, str, str]]:
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        value = getattr(instance, name)
        annotation = field.annotation
        nested = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if nested and field.description is None:
            rows += _rows(annotation, value, f"{key}.")
            continue
        rows.append((key, _shown(value), " ".join((field.description or "").split())))
    return rows


def build() -> str:
    """The page's Markdown: one table per params.yaml section."""
    defaults = Params()
    parts = [INTRO]
    for name, field in Params.model_fields.items():
        section = field.alias or name
        model = field.annotation
        parts.append(f"## `{section}`\n")
        if model.__doc__:
            parts.append(" ".join(model.__doc__.split()) + "\n")
        parts.append("| key | default | meaning |\n|---|---|---|")
        for key, default, description in _rows(model, getattr(defaults, name), f"{section}."):
            default, description = (text.replace("|", r"\|") for text in (default, description))
            parts.append(f"| `{key}` | `{default}` | {description} |")
        parts.append("")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    return write_or_check(TARGET, build, __doc__.split("\n\n")[0], argv)


if __name__ == "__main__":
    sys.exit(main())
