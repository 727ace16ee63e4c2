"""The headline metrics: a few figures copied, by name, from the detailed metrics files."""

from __future__ import annotations

import pytest

from panier.stages.summary.headline import SOURCES, headline_metrics

DETAILED = {
    "validation": {"rows_in": 1000, "rejected_share": 0.012, "rows_clean": 988},
    "train": {"rules": 42, "itemsets": 300},
    "evaluate": {
        "model": {"hit_rate@3": 0.1, "hit_rate@5": 0.2, "coverage@3": 0.3, "coverage@5": 0.4},
        "popularity": {"hit_rate@3": 0.05, "hit_rate@5": 0.15},
    },
    "drift": {"drift_detected": True, "retrain_recommended": False},
    "gate": {"passed": True, "decision": "promote"},
    "affinity": {"groups": 7, "modularity": 0.5},
}


def test_the_headline_copies_each_figure_at_the_primary_k():
    assert headline_metrics(**DETAILED, k=5) == {
        "rows": 1000,
        "rejected": 0.012,
        "rules": 42,
        "hit_rate": 0.2,
        "baseline": 0.15,
        "coverage": 0.4,
        "retrain": False,
        "gate": True,
        "groups": 7,
    }
    assert headline_metrics(**DETAILED, k=3)["hit_rate"] == 0.1


def test_every_figure_says_where_it_comes_from():
    assert set(SOURCES) == set(headline_metrics(**DETAILED, k=5))


def test_a_figure_missing_from_a_detailed_file_is_named():
    with pytest.raises(KeyError, match="hit_rate@10"):
        headline_metrics(**DETAILED, k=10)
