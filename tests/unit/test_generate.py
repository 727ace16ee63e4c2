"""The embedded data source: deterministic, retail-like, with known planted truth."""

import numpy as np
import pandas as pd
import pytest

from panier.core import schema as S
from panier.core.config import GeneratorParams, PlantedRule, ValidateParams
from panier.core.errors import ConfigError
from panier.stages.ingest.generate import generate_line_items
from panier.stages.validate.validation import validate_line_items

RULES = [
    PlantedRule(antecedent=["10040"], consequent="10055", confidence=0.8, antecedent_share=0.05),
    PlantedRule(
        antecedent=["10070", "10085"], consequent="10100", confidence=0.6, antecedent_share=0.04
    ),
]


def small(**changes) -> GeneratorParams:
    base = {"n_invoices": 6000, "n_customers": 1500, "planted_rules": RULES}
    return GeneratorParams(**{**base, **changes})


@pytest.fixture(scope="module")
def lines() -> pd.DataFrame:
    return generate_line_items(small())


def baskets_of(frame: pd.DataFrame) -> pd.Series:
    clean = frame[~frame[S.INVOICE].str.startswith("C")]
    return clean.groupby(S.INVOICE)[S.ITEM].agg(lambda s: set(s.dropna()))


def confidence(baskets: pd.Series, antecedent: list[str], consequent: str) -> float:
    holders = baskets[baskets.map(lambda b: set(antecedent) <= b)]
    return float(holders.map(lambda b: consequent in b).mean())


def test_same_seed_same_frame_and_another_seed_another(lines):
    pd.testing.assert_frame_equal(lines, generate_line_items(small()))
    assert not lines.equals(generate_line_items(small(seed=43)))


def test_canonical_columns_and_types(lines):
    assert list(lines.columns) == S.COLUMNS
    assert {c: str(t) for c, t in lines.dtypes.items()} == S.DTYPES


def test_looks_like_retail_data(lines):
    per_item = lines[S.ITEM].value_counts()
    top_tenth = per_item.head(len(per_item) // 10).sum() / per_item.sum()
    assert top_tenth > 0.3  # skewed popularity: a tenth of the items sell a third or more
    sizes = lines.groupby(S.INVOICE)[S.ITEM].nunique()
    assert sizes.min() == 1 and sizes.max() >= 4 * sizes.median()  # long-tailed baskets
    per_customer = lines.dropna(subset=[S.CUSTOMER]).groupby(S.CUSTOMER)[S.INVOICE].nunique()
    assert (per_customer >= 3).mean() > 0.2  # repeat customers
    assert lines[S.COUNTRY].nunique() >= 4
    span = lines[S.TIMESTAMP].max() - lines[S.TIMESTAMP].min()
    assert span > pd.Timedelta(days=300)
    guest_invoices = lines.drop_duplicates(S.INVOICE)[S.CUSTOMER].isna().mean()
    assert 0.005 < guest_invoices < 0.05


def test_planted_rules_hold_with_their_confidence(lines):
    baskets = baskets_of(lines)
    for rule in RULES:
        measured = confidence(baskets, rule.antecedent, rule.consequent)
        assert measured == pytest.approx(rule.confidence, abs=0.05)


def test_dirt_is_added_at_the_asked_share_and_validation_catches_it():
    clean_only = generate_line_items(small(dirty_share=0.0))
    dirty = generate_line_items(small(dirty_share=0.02))
    added = len(dirty) - len(clean_only)
    assert added == round(len(clean_only) * 0.02)
    result = validate_line_items(dirty, ValidateParams())
    assert result.report["rows_rejected"] == pytest.approx(added, rel=0.05)


def test_no_drift_is_planted_by_default(lines):
    window = lines[S.TIMESTAMP] >= lines[S.TIMESTAMP].max() - pd.Timedelta(days=30)
    before, after = lines.loc[~window, S.PRICE], lines.loc[window, S.PRICE]
    assert after.median() == pytest.approx(before.median(), rel=0.1)


def test_planted_drift_changes_only_the_last_window():
    drift = {
        "window_days": 30,
        "price_shift": 0.5,
        "weakened_rule": 0,
        "weakened_confidence": 0.3,
        "new_country_share": 0.2,
    }
    frame = generate_line_items(small(drift=drift))
    start = pd.Timestamp("2025-01-01") + pd.Timedelta(days=365 - 30)
    window = frame[S.TIMESTAMP] >= start
    valid = frame[S.PRICE] > 0
    ratio = frame.loc[window & valid, S.PRICE].mean() / frame.loc[~window & valid, S.PRICE].mean()
    assert ratio == pytest.approx(1.5, rel=0.1)
    assert confidence(baskets_of(frame[window]), ["10040"], "10055") == pytest.approx(0.3, abs=0.1)
    assert confidence(baskets_of(frame[~window]), ["10040"], "10055") == pytest.approx(
        0.8, abs=0.05
    )
    assert "Atlantis" in set(frame.loc[window, S.COUNTRY])
    assert "Atlantis" not in set(frame.loc[~window, S.COUNTRY])


def test_a_planted_item_outside_the_catalog_is_a_config_error():
    rule = PlantedRule(
        antecedent=["99999"], consequent="10001", confidence=0.5, antecedent_share=0.1
    )
    with pytest.raises(ConfigError, match="99999"):
        generate_line_items(small(planted_rules=[rule]))


def test_prices_are_positive_cents_and_quantities_whole(lines):
    real = lines[~lines[S.INVOICE].str.startswith("C") & (lines[S.ITEM] != "POST")]
    priced = real[real[S.PRICE] > 0]
    assert np.allclose(priced[S.PRICE], priced[S.PRICE].round(2))
    assert (real[S.QUANTITY] >= 1).all()
