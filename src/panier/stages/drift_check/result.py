"""The typed drift result: each test (``DriftTest``) with its evidence and verdict, each
drifted finding as the report lists it (``Finding``), and the whole check (``DriftResult``).

``DriftResult.to_json`` is the text of ``metrics/drift.json`` (sorted keys, floats to six
decimals, NaN as null, as ``core.io`` writes JSON); ``DriftResult.from_json`` reads it back,
so ``from_json(text).to_json() == text``. The sections nobody reads field by field in Python
(windows, items, rules, top-k, decision) stay plain dicts, exactly as written.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from panier.core import io


@dataclass
class DriftTest:
    """One test: what was compared, the evidence, and (after ``decide``) the verdict."""

    kind: str
    feature: str
    test: str
    statistic: float
    p_value: float
    effect: float
    effect_name: str
    reference: float | None = None
    current: float | None = None
    n_reference: int = 0
    n_current: int = 0
    direction: str = ""  # "up" or "down": how the current value moved
    effect_se: float | None = None  # standard error of the effect, where one is known
    floor: float = float("nan")
    p_adjusted: float = float("nan")
    drifted: bool = False
    detail: dict = field(default_factory=dict)
    noise_floor: float = 0.0  # largest effect the training window shows on its own
    group: str = ""
    label: str = ""  # what moved, in words, products by description with the code beside
    subject: str = ""  # what was tested, in words (the product or rule, else the feature)

    @property
    def name(self) -> str:
        return f"{self.kind}: {self.feature}"


@dataclass
class Finding:
    """A drifted test as the report lists it. ``detail`` holds what its kind adds (rule
    parts, the products a new one is bought with, the seasonal hint, what explains it),
    written beside the other fields, not nested."""

    group: str
    kind: str
    feature: str
    subject: str
    label: str
    effect: float
    p_adjusted: float
    floor: float
    reference: float | None
    current: float | None
    direction: str
    n_current: int
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "detail"}
        return {**out, **self.detail}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        named = {f.name for f in fields(cls)} - {"detail"}
        return cls(
            **{k: v for k, v in data.items() if k in named},
            detail={k: v for k, v in data.items() if k not in named},
        )


@dataclass
class DriftResult:
    """Everything one drift check found: the verdict and why, the findings in reading order,
    counts, what was not tested, and every test."""

    drift_detected: bool
    data_drift: bool
    concept_drift: bool
    retrain_recommended: bool
    retrain_reasons: list[str]  # what changed in what the model learned or reads
    investigate: list[str]  # drift that retraining would not fix
    top_drifted: list[str]  # the first ten findings' test names
    top_drifted_plain: list[str]  # ... and their labels
    findings: list[Finding]
    groups: dict[str, dict[str, int]]  # group -> {"tests": n, "drifted": m}
    tests_run: int
    tests_drifted: int
    tests_by_kind: dict[str, dict[str, int]]  # kind -> {"run": n, "drifted": m}
    skipped: list[dict[str, str]]  # {"test": ..., "reason": ...}
    windows: dict[str, Any]
    items: dict[str, Any]  # gained, lost, new, discontinued (lists), untested (count)
    rules: dict[str, Any]  # weakened, strengthened, less/more_frequent, untested
    top_k: dict[str, Any]
    decision: dict[str, Any]
    tests: list[DriftTest]

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data, values as computed (``to_json`` rounds them)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["findings"] = [f.to_dict() for f in self.findings]
        out["tests"] = [asdict(t) for t in self.tests]
        return out

    def to_json(self) -> str:
        """The text of ``metrics/drift.json``."""
        return io.json_text(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftResult:
        return cls(
            **{
                **data,
                "findings": [Finding.from_dict(f) for f in data["findings"]],
                "tests": [DriftTest(**t) for t in data["tests"]],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> DriftResult:
        """A result read back from the text of ``metrics/drift.json``."""
        return cls.from_dict(json.loads(text))
