"""The reference side of every comparison, computed once per model: the training window's
summary, the served model's results on the holdout, and the noise floors (the largest
effect the training window shows against pseudo-current windows of its own)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from panier.core import schema as S
from panier.core.baskets import Baskets
from panier.core.config import EvaluateParams
from panier.core.recommend import FallbackRecommender
from panier.stages.drift_check import noise
from panier.stages.drift_check.model_quality import hidden_ranks, serving_model
from panier.stages.drift_check.rule_tests import RuleMatches, match_rules, rule_label
from panier.stages.drift_check.summary import WindowSummary


@dataclass(frozen=True)
class Reference:
    """The fixed side of every comparison: the training window's summary, the model, and the
    holdout window's baskets with the served model's results on them."""

    train: WindowSummary
    rules: pd.DataFrame
    items: pd.DataFrame
    holdout: Baskets
    holdout_ranks: np.ndarray
    holdout_answered: np.ndarray
    model: FallbackRecommender
    matches: RuleMatches | None = None  # the rules on the training baskets
    floors: dict = field(default_factory=dict)  # noise floors by current size, computed once


def prepare_reference(
    train: WindowSummary,
    holdout: Baskets,
    rules: pd.DataFrame,
    items: pd.DataFrame,
    evaluate_params: EvaluateParams,
) -> Reference:
    """Compute once what every drift check against this model needs."""
    model = serving_model(rules, items)
    ranks = hidden_ranks(model, holdout, evaluate_params.seed, max(evaluate_params.ks))
    return Reference(
        train,
        rules,
        items,
        holdout,
        ranks,
        match_rules(rules, holdout).answered,
        model,
        match_rules(rules, train.baskets),
    )


def noise_floors(reference: Reference, n_current: int, count: int) -> dict[tuple, float]:
    """Each test's noise floor, ``(kind, feature) -> effect``: the largest effect the
    training window shows between ``count`` pseudo-current windows of ``n_current`` baskets
    and the rest of it (``noise``). Kept on ``reference`` per size, since a
    benchmark checks many current windows against one reference."""
    key = (n_current, count)
    if key in reference.floors:
        return reference.floors[key]
    ref = reference.train
    n = ref.baskets.n_baskets
    windows = noise.pseudo_windows(ref.basket_time, n, n_current, count)
    floors: dict[tuple, float] = {}
    if not windows:
        reference.floors[key] = floors
        return floors
    size = len(windows[0])
    item_counts = noise.item_window_counts(ref.baskets.matrix, windows)
    totals = ref.baskets.item_counts()
    for item, f in zip(ref.baskets.items, noise.share_noise(totals, n, item_counts, size)):
        for kind in ("item_share", "lost_item"):
            floors[(kind, str(item))] = float(f)
    floors[("categorical", S.ITEM)] = noise.categorical_noise(totals, item_counts)
    if ref.basket_country is not None and len(ref.country_names):
        k = len(ref.country_names)
        floors[("categorical", S.COUNTRY)] = noise.categorical_noise(
            np.bincount(ref.basket_country, minlength=k),
            noise.category_window_counts(ref.basket_country, k, windows),
        )
    basket_level = {"basket_size": ref.baskets.sizes().astype(float)}
    if ref.basket_time is not None and "basket_value" in ref.numeric:
        assert ref.row_basket is not None  # summarize_lines sets it with basket_value
        value = np.bincount(
            ref.row_basket, weights=ref.rows["unit_price"] * ref.rows["quantity"], minlength=n
        )
        basket_level["basket_value"] = value
    for feature, values in basket_level.items():
        floors[("numeric", feature)] = noise.numeric_noise(values, None, n, windows)
    for feature, values in ref.rows.items():
        floors[("numeric", feature)] = noise.numeric_noise(values, ref.row_basket, n, windows)
    rules = reference.rules
    if len(rules) and reference.matches is not None and reference.matches.pairs is not None:
        labels = [rule_label(a, c) for a, c in zip(rules["antecedent"], rules["consequent"])]
        counts = noise.rule_window_counts(reference.matches.pairs, len(rules), n, windows)
        confidence = noise.confidence_noise(
            reference.matches.antecedent_baskets, reference.matches.rule_baskets, counts
        )
        support = noise.share_noise(
            reference.matches.rule_baskets, n, [hits for _, hits in counts], size
        )
        for label, c, s_ in zip(labels, confidence, support):
            floors[("rule_confidence", label)] = float(c)
            floors[("rule_support", label)] = float(s_)
    reference.floors[key] = floors
    return floors
