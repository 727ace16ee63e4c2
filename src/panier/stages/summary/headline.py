"""The headline metrics: one flat JSON object small enough for ``dvc metrics show``,
``dvc metrics diff`` and ``dvc exp show`` to fit in 120 columns. Every figure is copied
from a detailed metrics file of another stage; nothing is computed here.

In: the parsed detailed metrics files and the evaluation's primary k. Out: the summary dict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Summary key -> where it comes from, for the docs (docs/reference/outputs.md).
SOURCES = {
    "rows": "metrics/validation.json: rows_in",
    "rejected": "metrics/validation.json: rejected_share",
    "rules": "metrics/train.json: rules",
    "hit_rate": "metrics/evaluate.json: model.hit_rate@k (k = evaluate.primary_k)",
    "baseline": "metrics/evaluate.json: popularity.hit_rate@k",
    "coverage": "metrics/evaluate.json: model.coverage@k",
    "retrain": "metrics/drift.json: retrain_recommended",
    "gate": "metrics/gate.json: passed",
    "groups": "metrics/affinity.json: groups",
}


def headline_metrics(
    *,
    validation: Mapping[str, Any],
    train: Mapping[str, Any],
    evaluate: Mapping[str, Any],
    drift: Mapping[str, Any],
    gate: Mapping[str, Any],
    affinity: Mapping[str, Any],
    k: int,
) -> dict[str, Any]:
    """The summary, keyed as in ``SOURCES``. Drift-check's verdict is ``retrain``: whether
    the drift it found matters (its tests and findings are in ``metrics/drift.json``). A
    missing figure raises ``KeyError`` naming it: the detailed files are written by this
    project's own stages, so a gap is a bug."""
    return {
        "rows": validation["rows_in"],
        "rejected": validation["rejected_share"],
        "rules": train["rules"],
        "hit_rate": evaluate["model"][f"hit_rate@{k}"],
        "baseline": evaluate["popularity"][f"hit_rate@{k}"],
        "coverage": evaluate["model"][f"coverage@{k}"],
        "retrain": drift["retrain_recommended"],
        "gate": gate["passed"],
        "groups": affinity["groups"],
    }
