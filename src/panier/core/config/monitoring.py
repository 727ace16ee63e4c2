"""``drift``, ``affinity`` and ``gate``: what is watched after training, the product groups,
and the rule that promotes a challenger."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from panier.core.config.base import PositiveShare, Section, Share


class CurrentWindowParams(Section):
    """What drift-check compares with the training window."""

    source: Literal["window", "lines", "requests"] = Field(
        "window",
        description="window: the last windows.current_days of validated data; "
        "lines: a line-item file (Parquet or CSV, canonical columns); requests: request logs "
        "of the serving application (JSON Lines)",
    )
    path: str | None = Field(
        None, description="the file (lines) or the file or glob (requests) to read"
    )
    days: int | None = Field(
        None, ge=1, description="keep only the last days of the file(s); null keeps all"
    )
    max_rejected_share: Share = Field(
        0.05, description="the stage fails when more of the file's rows are unusable"
    )

    @model_validator(mode="after")
    def _path_matches_source(self) -> CurrentWindowParams:
        if self.source == "window" and self.path is not None:
            raise ValueError(
                "path is only read when source is lines or requests; remove it or set source"
            )
        if self.source != "window" and not self.path:
            raise ValueError(f"source {self.source} needs a path (a file or a glob)")
        return self


DriftFlag = Literal["data_drift", "concept_drift", "retrain_recommended"]


class DriftParams(Section):
    fdr: PositiveShare = Field(0.025, description="false discovery rate for Benjamini-Hochberg")
    min_effect_numeric: float = Field(
        0.03,
        ge=0,
        description="smallest Wasserstein / reference std worth reporting; the "
        "training window's own variability raises it per test (noise_windows)",
    )
    min_effect_categorical: float = Field(
        0.03,
        ge=0,
        description="smallest Jensen-Shannon distance (in excess of sampling "
        "noise) worth reporting",
    )
    min_effect_share: float = Field(
        0.03,
        ge=0,
        description="smallest Cohen's h of a share (items, rules, missing values, "
        "model metrics) worth reporting",
    )
    min_effect_confidence: float = Field(
        0.05, ge=0, description="smallest absolute change of a rule's confidence worth reporting"
    )
    noise_windows: int = Field(
        20,
        ge=0,
        description="pseudo-current windows cut from the training window to "
        "measure what it does on its own; each test's floor is at least the largest effect "
        "among them (0: params floors only)",
    )
    fail_on_drift: bool | DriftFlag = Field(
        False, description="true: any drift fails the stage; or the flag that fails it"
    )
    current: CurrentWindowParams = Field(default_factory=CurrentWindowParams)
    bootstrap_samples: int = Field(1000, ge=100, description="resamples of each interval")
    bootstrap_seed: int = Field(0, description="seed of the bootstrap resamples")
    confidence_level: float = Field(0.95, gt=0.5, lt=1.0, description="of every interval")


class AffinityParams(Section):
    """Product affinity groups (stage ``affinity``): which products to place together."""

    min_pair_support: PositiveShare | None = Field(
        None,
        description="share of training baskets two products must share to be joined; "
        "null: train.min_support",
    )
    min_phi: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="weakest phi coefficient (correlation of two "
        "products' basket columns) kept as an edge; only "
        "positive correlations are ever kept",
    )
    resolution: float = Field(
        1.0, gt=0.0, description="Louvain resolution: higher gives more, smaller groups"
    )
    seed: int = Field(0, description="seed of the Louvain method and of the graph layout")
    min_group_size: int = Field(
        2, ge=1, description="smaller communities are listed as ungrouped (group 0)"
    )
    top_rules: int = Field(5, ge=0, description="strongest rules listed per group")
    neighbours: int = Field(3, ge=0, description="nearest groups listed per group")


class GateParams(Section):
    """Champion versus challenger (stage ``gate``): the model in a registry stage against the
    model just trained, on the same window, cases and seed; the rule that blesses the
    challenger. docs/how-to/continuous-training.md explains each figure."""

    stage: str = Field(
        "prod",
        min_length=1,
        description="registry stage holding the champion; `panier gate champion` "
        "records its version in data/champion.json before `dvc repro`",
    )
    window: Literal["current", "holdout"] = Field(
        "current",
        description="current: the most recent windows.current_days, which no "
        "model trained on; holdout: the evaluate stage's window",
    )
    hit_rate_margin: float = Field(
        0.01,
        ge=0.0,
        le=1.0,
        description="the challenger passes when the lower bound of the paired bootstrap "
        "interval of hit rate@primary_k (challenger minus champion) is above "
        "minus this margin",
    )
    coverage_margin: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="largest allowed drop of coverage@primary_k (absolute share of the "
        "window's items)",
    )
    no_recommendation_margin: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="largest allowed rise of the share of cases no rule answers (the "
        "popularity fallback alone)",
    )
    bootstrap_samples: int = Field(1000, ge=100, description="paired resamples of the cases")
    bootstrap_seed: int = Field(0, description="seed of the resampling")
    confidence_level: float = Field(0.95, gt=0.5, lt=1.0, description="of the interval")
    fail_on_refusal: bool = Field(
        False,
        description="true: a refused challenger fails the stage (and `dvc repro`); "
        "false: the refusal is written to metrics/gate.json only",
    )
