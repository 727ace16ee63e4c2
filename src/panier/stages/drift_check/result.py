"""The typed drift result: each test (``DriftTest``) with its evidence and verdict, each
drifted finding as the report lists it (``Finding``), and the whole check (``DriftResult``).

``DriftResult.to_json`` is the text of ``metrics/drift.json`` (sorted keys, floats to six
decimals, NaN as null, as ``core.io`` writes JSON); ``DriftResult.from_json`` reads it back,
so ``from_json(text).to_json() == text``. The sections nobody reads field by field in Python
(windows, items, rules, top-k, decision) stay plain dicts, exactly as written.

``DriftResult.from_dict`` is the one place a report's dict becomes a result, older reports
included: those from before tests had a group and label and the report listed ``findings``
and ``groups`` (drift-check since d0e5ff9 wrote the windows and decision every reader
needs). What such a report lacks is filled there (see ``from_dict``), so that readers such
as the dashboard work on the typed result alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
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

    def to_dict(self) -> dict[str, Any]:
        """The test as plain data. Field by field rather than ``dataclasses.asdict``, which
        deep-copies every value: a report can hold hundreds of thousands of tests."""
        out = {name: getattr(self, name) for name in _TEST_FIELDS}
        out["detail"] = dict(self.detail)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftTest:
        """A test from its dict form; what an older report lacks is filled (``_filled``)."""
        return cls(**_filled(cls, data))


_TEST_FIELDS = tuple(f.name for f in fields(DriftTest))


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
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """A finding from its dict form: the named fields (what it lacks filled, as in
        ``_filled``), every other key into ``detail``."""
        named = {f.name for f in fields(cls)} - {"detail"}
        values = _filled(cls, {k: v for k, v in data.items() if k in named})
        values["detail"] = {k: v for k, v in data.items() if k not in named}
        return cls(**values)

    @classmethod
    def of_test(cls, test: DriftTest, detail: dict[str, Any] | None = None) -> Finding:
        """The finding of drifted ``test``, with ``detail`` (none for a report from before
        findings were listed)."""
        return cls(
            group=test.group,
            kind=test.kind,
            feature=test.feature,
            subject=test.subject,
            label=test.label,
            effect=test.effect,
            p_adjusted=test.p_adjusted,
            floor=test.floor,
            reference=test.reference,
            current=test.current,
            direction=test.direction,
            n_current=test.n_current,
            detail=detail or {},
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
        out["tests"] = [t.to_dict() for t in self.tests]
        return out

    def to_json(self) -> str:
        """The text of ``metrics/drift.json``."""
        return io.json_text(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftResult:
        """A result from its dict form (``to_dict``, or a ``metrics/drift.json`` read as JSON),
        this version's or an older one's. What an older report lacks is filled:

        - ``findings``: its drifted tests, the report's ``top_drifted`` order first, then by
          effect over floor, kind and feature (``Finding.of_test``, with the tests' group
          and label, which older tests lack);
        - ``groups``, ``tests_by_kind``, ``items``, ``rules``, ``top_k``: empty (readers
          count groups from the tests when ``groups`` is empty); the lists: empty; each
          group's ``tests`` and ``drifted`` counts as ints, a missing one 0;
        - in each test and finding: as in ``_filled`` (an empty ``group`` or ``label``: the
          reader derives one).

        Values are kept as given (a null stays ``None``); keys the result does not have are
        left out. Without the flags, counts, windows, decision or tests a dict is no report:
        ``ValueError``."""
        lacking = [k for k in _REQUIRED if k not in data]
        if lacking:
            raise ValueError(f"not a drift-check report: it has no {', '.join(lacking)}")
        tests = [DriftTest.from_dict(t) for t in data["tests"]]
        given = data.get("findings")
        top = data.get("top_drifted") or []
        groups = data.get("groups") or {}
        return cls(
            **{k: data[k] for k in _REQUIRED if k != "tests"},
            **{k: data.get(k) or empty() for k, empty in _OPTIONAL.items()},
            top_drifted=top,
            findings=(
                [Finding.from_dict(f) for f in given]
                if given is not None
                else [Finding.of_test(t) for t in _ranked(tests, top)]
            ),
            groups={
                g: {"tests": int(v.get("tests", 0)), "drifted": int(v.get("drifted", 0))}
                for g, v in groups.items()
            },
            tests=tests,
        )

    @classmethod
    def from_json(cls, text: str) -> DriftResult:
        """A result read back from the text of ``metrics/drift.json`` (older ones as in
        ``from_dict``)."""
        return cls.from_dict(json.loads(text))


# What every drift-check report since d0e5ff9 holds, and what older ones may lack (filled
# with an empty one of these).
_REQUIRED = (
    "drift_detected",
    "data_drift",
    "concept_drift",
    "retrain_recommended",
    "tests_run",
    "tests_drifted",
    "windows",
    "decision",
    "tests",
)
_OPTIONAL: dict[str, type] = {
    "retrain_reasons": list,
    "investigate": list,
    "top_drifted_plain": list,
    "tests_by_kind": dict,
    "skipped": list,
    "items": dict,
    "rules": dict,
    "top_k": dict,
}


def _missing(f: Field) -> Any:
    """What a dict that lacks field ``f`` reads as: its default (a number whose default is
    NaN: ``None``, as the JSON form writes NaN), else empty text, 0 for a count, False for a
    flag, ``None`` for a number."""
    if f.default_factory is not MISSING:
        return f.default_factory()
    if f.default is not MISSING:
        nan = isinstance(f.default, float) and math.isnan(f.default)
        return None if nan else f.default
    return {"str": "", "int": 0, "bool": False}.get(str(f.type))


def _filled(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The values of ``data`` for the fields of dataclass ``cls``, the ones it lacks filled
    by ``_missing``; keys ``cls`` does not have are left out."""
    return {f.name: data[f.name] if f.name in data else _missing(f) for f in fields(cls)}


def _ranked(tests: list[DriftTest], top_drifted: list[str]) -> list[DriftTest]:
    """The drifted tests of a report that does not list its findings: the report's top-ten
    order first, then by effect over floor (a missing one as 0), kind and feature."""
    rank = {name: i for i, name in enumerate(top_drifted)}

    def ratio(test: DriftTest) -> float:
        effect, floor = test.effect or 0.0, test.floor or 0.0
        return effect / floor if floor else effect

    return sorted(
        (t for t in tests if t.drifted),
        key=lambda t: (rank.get(t.name, len(rank)), -ratio(t), t.kind, t.feature),
    )
