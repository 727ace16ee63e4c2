"""``ingest.generator``: the synthetic retail data, with planted rules and planted drift."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from panier.core.config.base import PositiveShare, Section, Share


class PlantedRule(Section):
    """An association the generator plants: baskets holding ``antecedent`` also hold
    ``consequent`` with probability ``confidence``."""

    antecedent: list[str] = Field(min_length=1)
    consequent: str
    confidence: PositiveShare
    antecedent_share: PositiveShare = Field(
        description="share of baskets into which the antecedent items are placed together"
    )

    @model_validator(mode="after")
    def _consequent_not_in_antecedent(self) -> PlantedRule:
        if self.consequent in self.antecedent:
            raise ValueError(f"consequent {self.consequent!r} is also in the antecedent")
        return self


class PlantedDrift(Section):
    """Changes the generator applies to its last ``window_days`` days (the current window)."""

    window_days: int = Field(
        60, ge=1, description="the last days of the generated span, which get the changes below"
    )
    price_shift: float = Field(0.0, gt=-1.0, description="relative change of all prices")
    boosted_item_rank: int | None = Field(None, ge=1, description="popularity rank of the item")
    boost_factor: float = Field(1.0, gt=0.0, description="popularity multiplier of that item")
    weakened_rule: int | None = Field(None, ge=0, description="index into planted_rules")
    weakened_confidence: PositiveShare = Field(
        0.6, description="the weakened rule's confidence in that window"
    )
    basket_size_shift: float = Field(0.0, ge=0.0, description="extra items per basket on average")
    new_country: str = Field("Atlantis", description="a country never seen before the window")
    new_country_share: Share = Field(0.0, description="share of the window's invoices from it")
    missing_column: Literal["customer_id", "description", "country"] = Field(
        "description", description="the column that goes missing more often"
    )
    missing_share: Share = Field(0.0, description="its share of missing values in the window")


#: Generator sizes are bounded here, so that a typo (``n_invoices: 1e13``) is a message naming
#: the key, not a ``MemoryError``: 20 million line items take about 4 GB while generated.
MAX_GENERATED_INVOICES = 5_000_000
MAX_GENERATED_LINES = 20_000_000


# The associations the default data is generated with (params.yaml shows the same).
DEFAULT_PLANTED_RULES = [
    {"antecedent": ["10040"], "consequent": "10055", "confidence": 0.8, "antecedent_share": 0.05},
    {
        "antecedent": ["10070", "10085"],
        "consequent": "10100",
        "confidence": 0.7,
        "antecedent_share": 0.03,
    },
    {"antecedent": ["10120"], "consequent": "10130", "confidence": 0.6, "antecedent_share": 0.04},
    {"antecedent": ["10150"], "consequent": "10160", "confidence": 0.9, "antecedent_share": 0.03},
    {"antecedent": ["10200"], "consequent": "10210", "confidence": 0.5, "antecedent_share": 0.05},
]


class GeneratorParams(Section):
    """The embedded default source: a seeded generator of retail line items."""

    seed: int = Field(42, description="seed of every random draw: equal params give equal data")
    n_invoices: int = Field(
        20_000, ge=10, le=MAX_GENERATED_INVOICES, description="invoices (baskets) to generate"
    )
    n_items: int = Field(
        500,
        ge=10,
        le=1_000_000,
        description="catalogue size; item codes run from 10001 (most popular) upward",
    )
    n_customers: int = Field(4_000, ge=1, le=10_000_000, description="distinct customers")
    start_date: date = Field(date(2025, 1, 1), description="the first day of the invoices")
    days: int = Field(365, ge=2, le=36_500, description="time span of the invoices")
    mean_basket_size: float = Field(
        6.0, ge=1.0, le=1_000.0, description="mean distinct items per basket"
    )
    popularity_skew: float = Field(
        0.7, ge=0.0, description="Zipf exponent of item popularity: higher, fewer items sell most"
    )
    countries: dict[str, PositiveShare] = Field(
        default_factory=lambda: {
            "United Kingdom": 0.85,
            "Germany": 0.05,
            "France": 0.04,
            "EIRE": 0.03,
            "Netherlands": 0.03,
        },
        description="country of each customer, by weight",
    )
    guest_share: Share = Field(0.02, description="share of invoices with no customer id")
    description_missing_share: Share = Field(
        0.01, description="share of lines without a description"
    )
    dirty_share: Share = Field(0.01, description="share of extra rows with real-world dirt")
    planted_rules: list[PlantedRule] = Field(
        default_factory=lambda: [PlantedRule(**rule) for rule in DEFAULT_PLANTED_RULES],
        description="associations planted in the data: the ground truth mining must find",
    )
    drift: PlantedDrift = Field(default_factory=PlantedDrift)

    @model_validator(mode="after")
    def _check_references(self) -> GeneratorParams:
        lines = self.n_invoices * self.mean_basket_size
        if lines > MAX_GENERATED_LINES:
            raise ValueError(
                f"n_invoices x mean_basket_size is about {lines:,.0f} line items, more than "
                f"the generator makes ({MAX_GENERATED_LINES:,}, a few GB of memory): lower "
                "n_invoices or mean_basket_size"
            )
        if self.drift.weakened_rule is not None and self.drift.weakened_rule >= len(
            self.planted_rules
        ):
            raise ValueError(
                f"drift.weakened_rule is {self.drift.weakened_rule} but only "
                f"{len(self.planted_rules)} planted_rules exist (indices start at 0)"
            )
        if self.drift.boosted_item_rank is not None and self.drift.boosted_item_rank > self.n_items:
            raise ValueError(f"drift.boosted_item_rank must be <= n_items ({self.n_items})")
        if self.drift.window_days >= self.days:
            raise ValueError("drift.window_days must be shorter than days")
        return self
