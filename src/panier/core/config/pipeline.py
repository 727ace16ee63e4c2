"""``validate``, ``windows``, ``train`` and ``evaluate``: what a clean row is, how the data is
split in time, how rules are mined and how the model is scored."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from panier.core.config.base import PositiveShare, Section, Share


class ValidateParams(Section):
    max_rejected_share: Share = Field(
        0.05, description="the stage fails when more than this share of rows is rejected"
    )
    max_basket_items: int | None = Field(
        None,
        ge=1,
        description="invoices with more distinct items are rejected; null: none "
        "are (big wholesale invoices are real sales: train.max_basket_items keeps them out of "
        "mining only)",
    )
    non_product_codes: list[str] = Field(
        default_factory=lambda: ["POST", "DOT", "M", "C2", "BANK CHARGES", "AMAZONFEE", "D", "S"],
        description="item codes that are postage, fees or adjustments, not products",
    )
    cancelled_prefix: str = Field("C", description="invoice ids starting with it are cancellations")
    max_timestamp: date | None = Field(
        None, description="rows after this date are rejected as future; null means today"
    )
    non_product_pattern: str | None = Field(
        None, description="regular expression: matching item codes are fees, postage, etc."
    )
    min_timestamp: date | None = Field(
        None, description="rows before this date are rejected as too old; null: no limit"
    )
    max_quantity: int | None = Field(
        10_000, ge=1, description="larger quantities are rejected as implausible; null: no limit"
    )
    max_rejected_share_by_reason: dict[str, Share] = Field(
        default_factory=dict,
        description="reason code -> its own limit; such reasons do not count towards "
        "max_rejected_share",
    )
    on_schema_change: Literal["warn", "fail"] = Field(
        "warn", description="when the input's columns differ from data/reference_schema.json"
    )
    # How to validate, not what: both engines give identical clean and rejected rows.
    engine: Literal["pandas", "spark"] = Field(
        "pandas",
        description="where rows are parsed and checked (identical results): pandas in the "
        "stage's process, or spark on train.spark's master (Spark SQL on the executors; only "
        "counts and examples reach the stage's process; needs 'panier[spark]' and Java 17+)",
    )

    @field_validator("non_product_pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return pattern


class WindowParams(Section):
    """Time windows, counted back from the newest validated timestamp."""

    current_days: int = Field(60, ge=1, description="latest period: the drift-check window")
    holdout_days: int = Field(30, ge=1, description="period before it: the evaluation window")


class SparkParams(Section):
    """Where the ``spark`` engine runs: ``local[*]`` on this machine, or a cluster's master URL
    (``spark://host:7077``, ``yarn``, ``k8s://https://host:443``)."""

    master: str = Field(
        "local[*]", min_length=1, description="local[*] (this machine) or a cluster's master URL"
    )
    conf: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="extra Spark settings, e.g. spark.executor.memory"
    )


class TrainParams(Section):
    min_support: PositiveShare = Field(
        0.005, description="an itemset is frequent in at least ceil(min_support x baskets) baskets"
    )
    min_confidence: PositiveShare = Field(0.3, description="least confidence of a rule")
    max_len: int | None = Field(
        3, ge=2, description="most items in a rule, antecedent plus consequent; null: no limit"
    )
    max_basket_items: int | None = Field(
        100,
        ge=2,
        description="baskets with more distinct items are left out of mining (they "
        "stay in evaluation and drift-check, and are counted in metrics/train.json); null: "
        "mine every basket",
    )
    max_itemsets: int = Field(
        1_000_000,
        ge=1,
        le=100_000_000,
        description="mining stops with a message, before it "
        "starts where an estimate allows, when it would find more frequent itemsets",
    )
    # How to mine, not what: every engine gives identical itemsets and rules.
    engine: Literal["auto", "mlxtend", "pyfim", "spark"] = Field(
        "auto",
        description="how to mine (identical results): auto picks pyfim when installed, "
        "else mlxtend",
    )
    spark: SparkParams = Field(default_factory=SparkParams)

    #: Keys that choose how the model is computed and never change it: kept out of the model
    #: card, so that the card (a DVC output) is identical whichever engine ran.
    #: ``max_itemsets`` is a guard: it decides whether mining runs, never what it finds.
    EXECUTION_KEYS: ClassVar[frozenset[str]] = frozenset({"engine", "spark", "max_itemsets"})

    def model_settings(self) -> dict:
        """The keys that determine the model (everything but ``EXECUTION_KEYS``)."""
        return self.model_dump(exclude=set(self.EXECUTION_KEYS))


class EvaluateParams(Section):
    ks: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [1, 3, 5, 10], description="list lengths scored"
    )
    primary_k: int = Field(5, ge=1, description="the k of the headline figures")
    seed: int = Field(7, description="seed of the hidden item drawn from each basket")

    @model_validator(mode="after")
    def _primary_in_ks(self) -> EvaluateParams:
        if self.primary_k not in self.ks:
            raise ValueError(f"primary_k ({self.primary_k}) must be one of ks {self.ks}")
        return self
