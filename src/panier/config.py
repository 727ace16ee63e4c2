"""The configuration schema: the one place that knows what ``params.yaml`` may hold.

``load_params`` reads the file and returns typed, validated settings; a wrong key or
value is reported as a short message naming the key path, the value and the fix.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from panier.errors import ConfigError

PARAMS_FILE = Path("params.yaml")

Share = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveShare = Annotated[float, Field(gt=0.0, le=1.0)]


class _Section(BaseModel):
    # Unknown keys are typos far more often than intent: reject them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlantedRule(_Section):
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


class PlantedDrift(_Section):
    """Changes the generator applies to its last ``window_days`` days (the current window)."""

    window_days: int = Field(30, ge=1)
    price_shift: float = Field(0.0, gt=-1.0, description="relative change of all prices")
    boosted_item_rank: int | None = Field(None, ge=1, description="popularity rank of the item")
    boost_factor: float = Field(1.0, gt=0.0, description="popularity multiplier of that item")
    weakened_rule: int | None = Field(None, ge=0, description="index into planted_rules")
    weakened_confidence: PositiveShare = 0.6
    basket_size_shift: float = Field(0.0, ge=0.0, description="extra items per basket on average")
    new_country: str = "Atlantis"
    new_country_share: Share = 0.0
    missing_column: Literal["customer_id", "description", "country"] = "description"
    missing_share: Share = 0.0


class GeneratorParams(_Section):
    """The embedded default source: a seeded generator of retail line items."""

    seed: int = 42
    n_invoices: int = Field(20_000, ge=10)
    n_items: int = Field(400, ge=10)
    n_customers: int = Field(4_000, ge=1)
    start_date: date = date(2025, 1, 1)
    days: int = Field(365, ge=2)
    mean_basket_size: float = Field(6.0, ge=1.0)
    popularity_skew: float = Field(1.0, ge=0.0, description="Zipf exponent of item popularity")
    countries: dict[str, PositiveShare] = Field(
        default_factory=lambda: {"United Kingdom": 0.85, "Germany": 0.05, "France": 0.05,
                                 "Netherlands": 0.05}
    )
    guest_share: Share = Field(0.02, description="share of invoices with no customer id")
    description_missing_share: Share = 0.01
    dirty_share: Share = Field(0.01, description="share of extra rows with real-world dirt")
    planted_rules: list[PlantedRule] = Field(default_factory=list)
    drift: PlantedDrift = Field(default_factory=PlantedDrift)

    @model_validator(mode="after")
    def _check_references(self) -> GeneratorParams:
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


class IngestParams(_Section):
    source: Literal["generator"] = "generator"
    generator: GeneratorParams = Field(default_factory=GeneratorParams)


class ValidateParams(_Section):
    max_rejected_share: Share = Field(
        0.1, description="the stage fails when more than this share of rows is rejected"
    )
    max_basket_items: int = Field(
        100, ge=1, description="invoices with more distinct items are rejected as outliers"
    )
    non_product_codes: list[str] = Field(
        default_factory=lambda: ["POST", "DOT", "M", "C2", "BANK CHARGES", "AMAZONFEE", "D", "S"]
    )
    cancelled_prefix: str = "C"
    max_timestamp: date | None = Field(
        None, description="rows after this date are rejected as future; null means today"
    )


class WindowParams(_Section):
    """Time windows, counted back from the newest validated timestamp."""

    current_days: int = Field(30, ge=1, description="latest period: the drift-check window")
    holdout_days: int = Field(30, ge=1, description="period before it: the evaluation window")


class SparkParams(_Section):
    """Where the ``spark`` engine runs: ``local[*]`` on this machine, or a cluster's master URL
    (``spark://host:7077``, ``yarn``, ``k8s://https://host:443``)."""

    master: str = Field("local[*]", min_length=1)
    conf: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="extra Spark settings, e.g. spark.executor.memory")


class TrainParams(_Section):
    min_support: PositiveShare = 0.005
    min_confidence: PositiveShare = 0.3
    max_len: int = Field(3, ge=2, description="most items in a rule, antecedent plus consequent")
    # How to mine, not what: every engine gives identical itemsets and rules.
    engine: Literal["auto", "mlxtend", "pyfim", "spark"] = "auto"
    spark: SparkParams = Field(default_factory=SparkParams)

    #: Keys that choose how the model is computed and never change it: kept out of the model
    #: card, so that the card (a DVC output) is identical whichever engine ran.
    EXECUTION_KEYS: ClassVar[frozenset[str]] = frozenset({"engine", "spark"})

    def model_settings(self) -> dict:
        """The keys that determine the model (everything but ``EXECUTION_KEYS``)."""
        return self.model_dump(exclude=set(self.EXECUTION_KEYS))


class EvaluateParams(_Section):
    ks: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [1, 3, 5, 10])
    primary_k: int = Field(5, ge=1)
    seed: int = 7

    @model_validator(mode="after")
    def _primary_in_ks(self) -> EvaluateParams:
        if self.primary_k not in self.ks:
            raise ValueError(f"primary_k ({self.primary_k}) must be one of ks {self.ks}")
        return self


class DriftParams(_Section):
    fdr: PositiveShare = Field(0.05, description="false discovery rate for Benjamini-Hochberg")
    min_effect_numeric: float = Field(0.05, ge=0, description="Wasserstein / reference std")
    min_effect_categorical: float = Field(0.05, ge=0, description="Jensen-Shannon distance")
    min_effect_share: float = Field(0.1, ge=0, description="Cohen's h for proportions")
    min_effect_confidence: float = Field(0.1, ge=0, description="absolute confidence change")
    min_rule_baskets: int = Field(
        20, ge=1, description="rules whose antecedent is rarer are skipped")
    fail_on_drift: bool = False


class Params(_Section):
    ingest: IngestParams = Field(default_factory=IngestParams)
    validate_: ValidateParams = Field(default_factory=ValidateParams, alias="validate")
    windows: WindowParams = Field(default_factory=WindowParams)
    train: TrainParams = Field(default_factory=TrainParams)
    evaluate: EvaluateParams = Field(default_factory=EvaluateParams)
    drift: DriftParams = Field(default_factory=DriftParams)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def parse_params(raw: object, source: str = str(PARAMS_FILE)) -> Params:
    """Validate a parsed ``params.yaml`` mapping; raise ``ConfigError`` naming each bad key."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(raw).__name__}")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(part) for part in err["loc"]) or "(top level)"
            value = err.get("input")
            shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
            problems.append(f"  {key}: {err['msg']}{shown}")
        raise ConfigError(
            f"{source} has {len(problems)} invalid setting(s):\n" + "\n".join(problems)
            + "\nFix these keys; README.md lists every param and its meaning."
        ) from None


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    """Read and validate ``params.yaml``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path} not found: run from the repository root") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    return parse_params(raw, str(path))
