"""A report's dict becomes a ``DriftResult`` in one place, ``DriftResult.from_dict``, older
reports included (before tests had a group and label and the report listed ``findings`` and
``groups``): what they lack is filled there, and the dashboard reads the typed result alone,
so an older report's dict and its equivalent ``DriftResult`` give the same page."""

from __future__ import annotations

import copy
import html
from dataclasses import asdict
from typing import Any

import pytest

from panier.stages.drift_check.dashboard import render_dashboard
from panier.stages.drift_check.dashboard_charts import charts
from panier.stages.drift_check.dashboard_findings import findings, group_counts, group_of, verdict
from panier.stages.drift_check.result import DriftResult, DriftTest, Finding

PRICE = DriftTest(
    kind="numeric",
    feature="unit_price",
    test="ks",
    statistic=0.2,
    p_value=1e-5,
    effect=0.3,
    effect_name="wasserstein",
    reference=2.5,
    current=2.75,
    n_reference=5000,
    n_current=900,
    direction="up",
    floor=0.1,
    p_adjusted=1e-4,
    drifted=True,
)
ITEM = DriftTest(
    kind="item_share",
    feature="85123A",
    test="fisher",
    statistic=3.0,
    p_value=1e-4,
    effect=0.2,  # 4 floors: more than the price's 3, yet after it (the report's top ten)
    effect_name="cohens_h",
    reference=0.01,
    current=0.02,
    n_current=900,
    direction="up",
    floor=0.05,
    p_adjusted=1e-3,
    drifted=True,
)
COUNTRY = DriftTest(
    kind="categorical",
    feature="country",
    test="chi2",
    statistic=1.0,
    p_value=0.5,
    effect=0.01,
    effect_name="cramers_v",
    floor=0.05,
    p_adjusted=0.9,
)
NEWER = {"group", "label", "subject", "noise_floor"}  # what tests hold since findings exist
PLAIN = "unit_price shifted: mean 2.5 -> 2.75 (+10.0%)"
# As drift-check wrote metrics/drift.json from d0e5ff9 until findings and groups existed.
OLDER: dict[str, Any] = {
    "drift_detected": True,
    "data_drift": True,
    "concept_drift": False,
    "retrain_recommended": True,
    "retrain_reasons": ["unit_price shifted"],
    "investigate": [],
    "top_drifted": ["numeric: unit_price"],
    "top_drifted_plain": [PLAIN],
    "tests_run": 3,
    "tests_drifted": 2,
    "tests_by_kind": {"numeric": {"run": 1, "drifted": 1}},
    "skipped": [{"test": "item_share: 12 items", "reason": "too rare to test"}],
    "windows": {
        "reference": {"first": "2029-01-01", "last": "2029-06-30", "baskets": 5000},
        "current": {"first": "2029-07-01", "last": "2029-07-31", "baskets": 900},
    },
    "items": {"gained": [], "lost": [], "untested": 12},
    "rules": {"weakened": [], "strengthened": [], "untested": 0},
    "top_k": {},
    "decision": {"fdr": 0.025, "correction": "benjamini-hochberg", "floors": {}},
    "tests": [
        {k: v for k, v in asdict(t).items() if k not in NEWER} for t in (PRICE, ITEM, COUNTRY)
    ],
}


def _finding(test: DriftTest) -> Finding:
    return Finding(
        group="",
        kind=test.kind,
        feature=test.feature,
        subject="",
        label="",
        effect=test.effect,
        p_adjusted=test.p_adjusted,
        floor=test.floor,
        reference=test.reference,
        current=test.current,
        direction=test.direction,
        n_current=test.n_current,
    )


# The same report, typed: the drifted tests as findings (the report's top ten first), no
# groups (the dashboard counts them from the tests), no group or label anywhere.
EQUIVALENT = DriftResult(
    **{k: copy.deepcopy(v) for k, v in OLDER.items() if k != "tests"},
    findings=[_finding(PRICE), _finding(ITEM)],
    groups={},
    tests=[PRICE, ITEM, COUNTRY],
)


def test_an_older_report_becomes_its_equivalent_result_in_one_place():
    assert DriftResult.from_dict(OLDER) == EQUIVALENT
    # A number the report lacks reads as the JSON form's null, not as NaN.
    bare = DriftResult.from_dict({**OLDER, "tests": [{"kind": "numeric", "feature": "quantity"}]})
    assert bare.tests[0].floor is None and bare.tests[0].p_adjusted is None
    assert bare.tests[0].group == bare.tests[0].label == "" and not bare.tests[0].drifted
    with pytest.raises(ValueError, match="no decision, tests"):
        DriftResult.from_dict({k: v for k, v in OLDER.items() if k not in {"decision", "tests"}})


def test_an_older_report_and_its_equivalent_result_give_the_same_page():
    descriptions = {"85123A": "WHITE HANGING HEART T-LIGHT HOLDER"}
    page = render_dashboard(copy.deepcopy(OLDER), {}, descriptions)
    assert page.encode() == render_dashboard(EQUIVALENT, {}, descriptions).encode()
    price = page[page.index('data-group="price"') :]
    assert html.escape(PLAIN) in price[: price.index("</section>")]  # the label from plain lines
    catalogue = page[page.index('data-group="catalogue"') :]
    catalogue = catalogue[: catalogue.index("</section>")]
    assert "item share 85123A: 1.0% -&gt; 2.0%" in catalogue  # ... or from the numbers
    assert "1 of 1 tests drifted" in catalogue  # groups counted from the tests


def test_the_dashboard_functions_read_the_typed_result():
    assert verdict(EQUIVALENT) == "drift found, retraining recommended"
    found = findings(EQUIVALENT)
    assert [(f.group, f.kind) for f in found] == [("price", "numeric"), ("catalogue", "item_share")]
    assert found[0].label == PLAIN and all(isinstance(f, Finding) for f in found)
    assert group_counts(EQUIVALENT) == {
        "price": {"tests": 1, "drifted": 1},
        "catalogue": {"tests": 1, "drifted": 1},
        "data_quality": {"tests": 1, "drifted": 0},
    }
    assert group_of(Finding.from_dict({"kind": "rule_confidence", "feature": "{1} -> 2"})) == (
        "rules"
    )
    assert group_of(COUNTRY) == "data_quality"
    assert charts(EQUIVALENT, {}) == []  # no plot tables, nothing to draw
