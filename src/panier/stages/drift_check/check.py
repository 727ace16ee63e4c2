"""The drift check: every test of a current window against the reference, decided together.

Each window is summarized once (``summarize_lines``, ``summarize_requests``) and every test
reads the summaries. The tests:

- data drift: numeric features (Kolmogorov-Smirnov, Wasserstein distance in reference
  standard deviations), categorical features (chi-square with rare categories pooled,
  Jensen-Shannon distance, share of never-seen values), missing-value rates (two-proportion,
  measured before any row is dropped), and each item's share of baskets (two-proportion);
- concept drift: each rule's confidence and support re-measured on the current baskets
  (two-proportion tests), the share of baskets no rule can answer (current against
  holdout), and the served model's top-k metrics (current against holdout, with bootstrap
  intervals).

``decide`` corrects all p-values of a run together (Benjamini-Hochberg) and counts a test as
drift only when its adjusted p-value is below the false discovery rate *and* its effect
passes a floor, so that a huge sample does not flag a trivial shift.
"""

from __future__ import annotations

import pandas as pd

from panier.core import schema as S
from panier.core.config import DriftParams, EvaluateParams
from panier.stages.drift_check.data_tests import (
    categorical_test,
    item_share_tests,
    missing_rate_tests,
    numeric_test,
    proportion_test,
)
from panier.stages.drift_check.decisions import (
    CONCEPT_KINDS,
    DATA_KINDS,
    decide,
    explain,
    retrain_decision,
)
from panier.stages.drift_check.findings import (
    GROUPS,
    finding,
    group_of,
    label,
    rank_key,
    ranked_findings,
    seasonal_hints,
    subject,
)
from panier.stages.drift_check.model_quality import hidden_ranks, top_k_comparison
from panier.stages.drift_check.reference import Reference, noise_floors
from panier.stages.drift_check.result import DriftResult, DriftTest
from panier.stages.drift_check.rule_tests import (
    co_bought,
    match_rules,
    rule_support_tests,
    rule_tests,
)
from panier.stages.drift_check.summary import CATEGORICAL_FEATURES, NUMERIC_FEATURES, WindowSummary

BLIND_CHANGE = 0.2  # a rule test that cannot see a confidence change this large is reported


def _skipped(current: WindowSummary) -> list[dict]:
    if current.source != "requests":
        return []
    why = {
        "unit_price": "request logs carry no prices",
        "quantity": "request logs carry no quantities",
        "basket_value": "request logs carry no prices or quantities",
        S.COUNTRY: "request logs carry no countries",
    }
    skipped = [
        {"test": f"numeric: {f}", "reason": why[f]}
        for f in NUMERIC_FEATURES
        if f not in current.numeric
    ]
    skipped.append({"test": f"categorical: {S.COUNTRY}", "reason": why[S.COUNTRY]})
    skipped.append(
        {
            "test": "missing_rate: every column",
            "reason": "request logs hold only complete baskets; there is no column "
            "that can be missing",
        }
    )
    return skipped


def run_tests(
    reference: Reference,
    current: WindowSummary,
    params: DriftParams,
    evaluate_params: EvaluateParams,
) -> tuple[list[DriftTest], dict]:
    """Run every test that applies to ``current``; returns the tests (undecided) and the
    context the report needs (skipped tests, top-k comparison, counts)."""
    ref = reference.train
    tests = [
        numeric_test(f, ref.numeric[f], current.numeric[f])
        for f in NUMERIC_FEATURES
        if f in current.numeric
    ]
    tests += [
        categorical_test(f, ref.categories[f], current.categories[f], "invoices")
        for f in CATEGORICAL_FEATURES
        if f in current.categories
    ]
    tests.append(
        categorical_test(
            S.ITEM,
            pd.Series(ref.baskets.item_counts(), index=ref.baskets.items),
            pd.Series(current.baskets.item_counts(), index=current.baskets.items),
            "basket items",
        )
    )
    tests += missing_rate_tests(ref, current)
    item_tests, items_untested = item_share_tests(ref.baskets, current.baskets, params.fdr)
    tests += item_tests

    matches = match_rules(reference.rules, current.baskets)
    found, rules_untested = rule_tests(
        reference.rules, matches, current.baskets.n_baskets, params.fdr
    )
    tests += found
    supports, supports_untested = rule_support_tests(
        reference.rules, matches, ref.baskets.n_baskets, current.baskets.n_baskets, params.fdr
    )
    tests += supports
    floors = noise_floors(reference, current.baskets.n_baskets, params.noise_windows)
    for test in tests:
        test.noise_floor = floors.get((test.kind, test.feature), 0.0)
    if any(t.kind == "new_item" for t in tests):
        co_bought(current.baskets, [t for t in tests if t.kind == "new_item"])
    holdout_unanswered = int((~reference.holdout_answered).sum())
    tests.append(
        proportion_test(
            "no_recommendation_share",
            "baskets no rule answers",
            holdout_unanswered,
            reference.holdout.n_baskets,
            int((~matches.answered).sum()),
            current.baskets.n_baskets,
            {"baseline": "holdout"},
        )
    )

    k = evaluate_params.primary_k
    current_ranks = hidden_ranks(
        reference.model, current.baskets, evaluate_params.seed, max(evaluate_params.ks)
    )
    holdout_ranks = reference.holdout_ranks
    hits_h = int(((holdout_ranks >= 1) & (holdout_ranks <= k)).sum())
    hits_c = int(((current_ranks >= 1) & (current_ranks <= k)).sum())
    tests.append(
        proportion_test(
            "top_k_metric",
            f"hit_rate@{k}",
            hits_h,
            len(holdout_ranks),
            hits_c,
            len(current_ranks),
            {"baseline": "holdout"},
        )
    )
    top_k = top_k_comparison(
        holdout_ranks,
        current_ranks,
        evaluate_params.ks,
        params.bootstrap_samples,
        params.bootstrap_seed,
        params.confidence_level,
    )
    skipped = _skipped(current)
    never = (
        f"in so few baskets of the two windows together that no split between them "
        f"could reach significance (smallest possible p-value above drift.fdr "
        f"{params.fdr:g})"
    )
    if items_untested:
        skipped.append({"test": f"item_share: {items_untested} items", "reason": never})
    if rules_untested:
        skipped.append(
            {
                "test": f"rule_confidence: {rules_untested} rules",
                "reason": never.replace("in so few baskets", "antecedent in so few baskets"),
            }
        )
    if supports_untested:
        skipped.append({"test": f"rule_support: {supports_untested} rules", "reason": never})
    blind = [t for t in found if t.detail["detectable_change"] > BLIND_CHANGE]
    if blind:
        worst = sorted(blind, key=lambda t: (-t.detail["detectable_change"], t.feature))[0]
        skipped.append(
            {
                "test": f"rule_confidence: {len(blind)} of {len(found)} tested rules",
                "reason": f"tested, but the current window holds their antecedent so rarely that "
                f"only a confidence change above {BLIND_CHANGE:g} could be found (e.g. "
                f"{worst.feature}: {worst.n_current} current baskets, changes below "
                f"{worst.detail['detectable_change']:.2f} unseen); a longer current "
                f"window sees more",
            }
        )
    if not floors:
        skipped.append(
            {
                "test": "noise floors",
                "reason": "the training window is too small "
                "to cut into pseudo-current windows; only the params floors apply",
            }
        )
    context = {
        "skipped": skipped,
        "top_k": top_k,
        "primary_k": k,
        "cases": {"holdout": len(holdout_ranks), "current": len(current_ranks)},
        "items_untested": items_untested,
        "rules_untested": rules_untested,
    }
    return tests, context


def _window_info(summary: WindowSummary) -> dict:
    return {
        "source": summary.source,
        "rows": summary.n_rows,
        "baskets": summary.baskets.n_baskets,
        "items": len(summary.baskets.items),
        "first": summary.first,
        "last": summary.last,
    }


def check_drift(
    reference: Reference,
    current: WindowSummary,
    params: DriftParams,
    evaluate_params: EvaluateParams,
) -> DriftResult:
    """Run and decide every drift test of ``current`` against ``reference``; returns the
    result written to ``metrics/drift.json`` (flags, counts, lists, and every test)."""
    tests, context = run_tests(reference, current, params, evaluate_params)
    decide(tests, params)
    names = {**reference.train.descriptions, **current.descriptions}
    if "description" in reference.items:
        names.update(
            dict(
                zip(
                    reference.items["item_code"].astype(str),
                    reference.items["description"].astype(str),
                )
            )
        )
    drifted = [t for t in tests if t.drifted]
    seasonal_hints(reference.train, current, drifted)
    explain(drifted, params.fdr)
    for test in tests:
        test.group = group_of(test)
        test.label = label(test, names)
        test.subject = subject(test, names)
    drifted = ranked_findings(drifted)
    data_drift = any(t.kind in DATA_KINDS for t in drifted)
    groups = {g: {"tests": 0, "drifted": 0} for g in GROUPS}
    for test in tests:
        groups[test.group]["tests"] += 1
        groups[test.group]["drifted"] += int(test.drifted)
    concept_drift = any(t.kind in CONCEPT_KINDS for t in drifted)
    retrain, reasons, investigate = retrain_decision(drifted)

    def listed(kind: str, direction: str) -> list[dict]:
        chosen = [t for t in drifted if t.kind == kind and t.direction == direction]
        return [
            {
                "name": t.feature,
                "subject": t.subject,
                "label": t.label,
                "reference": t.reference,
                "current": t.current,
                "effect": t.effect,
                "p_adjusted": t.p_adjusted,
                "n_current": t.n_current,
            }
            for t in sorted(chosen, key=rank_key)
        ]

    by_kind: dict[str, dict[str, int]] = {}
    for test in tests:
        entry = by_kind.setdefault(test.kind, {"run": 0, "drifted": 0})
        entry["run"] += 1
        entry["drifted"] += int(test.drifted)
    return DriftResult(
        drift_detected=data_drift or concept_drift,
        data_drift=data_drift,
        concept_drift=concept_drift,
        retrain_recommended=retrain,
        retrain_reasons=reasons,
        investigate=investigate,
        top_drifted=[t.name for t in drifted[:10]],
        top_drifted_plain=[t.label for t in drifted[:10]],
        findings=[finding(t) for t in drifted],
        groups=groups,
        tests_run=len(tests),
        tests_drifted=len(drifted),
        tests_by_kind=by_kind,
        skipped=context["skipped"],
        windows={
            "reference": _window_info(reference.train),
            "current": _window_info(current),
            "holdout_baskets": reference.holdout.n_baskets,
        },
        items={
            "gained": listed("item_share", "up"),
            "lost": listed("item_share", "down"),
            "new": listed("new_item", "up"),
            "discontinued": listed("lost_item", "down"),
            "untested": context["items_untested"],
        },
        rules={
            "weakened": listed("rule_confidence", "down"),
            "strengthened": listed("rule_confidence", "up"),
            "less_frequent": listed("rule_support", "down"),
            "more_frequent": listed("rule_support", "up"),
            "untested": context["rules_untested"],
        },
        top_k={
            "k": context["primary_k"],
            "cases": context["cases"],
            "bootstrap_samples": params.bootstrap_samples,
            "confidence_level": params.confidence_level,
            "metrics": context["top_k"],
        },
        decision={
            "fdr": params.fdr,
            "correction": "benjamini-hochberg over all tests",
            "floors": {
                "numeric": params.min_effect_numeric,
                "categorical": params.min_effect_categorical,
                "share": params.min_effect_share,
                "confidence": params.min_effect_confidence,
            },
            "noise_windows": params.noise_windows,
            "floor_rule": "the larger of the params floor and the largest effect "
            "of the training window's pseudo-current windows",
        },
        tests=sorted(tests, key=lambda t: (t.kind, t.feature)),
    )
