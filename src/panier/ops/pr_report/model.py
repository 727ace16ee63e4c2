"""What the pull-request report compares, as typed values: a param or metric on both sides
(``Change``), each side's rules (``RuleTable``) and how they differ (``RuleChanges``), and
everything the comment is rendered from (``ReportData``). No I/O, no Markdown."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from panier.ops.revisions import Revision

RECOMMENDERS = ("model", "rules_only", "popularity")
# Confidences read back from the rules plot carry 6 significant digits: smaller changes are
# rounding, not a change of the rule.
CONFIDENCE_TOLERANCE = 1e-5


def is_number(value: Any) -> bool:
    """Whether ``value`` is a finite int or float (a bool is not a number here)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (not isinstance(value, float) or math.isfinite(value))
    )


@dataclass(frozen=True)
class Change:
    """One value on both sides: a param or a metric. ``old`` is the base's value, ``new`` the
    workspace's; either is ``None`` where that side does not have it."""

    file: str
    name: str
    old: Any
    new: Any

    @property
    def numeric(self) -> bool:
        return all(is_number(v) for v in (self.old, self.new) if v is not None) and (
            self.old is not None or self.new is not None
        )

    @property
    def delta(self) -> float | None:
        if is_number(self.old) and is_number(self.new):
            return self.new - self.old
        return None

    @property
    def relative(self) -> float | None:
        delta = self.delta
        if delta is None or self.old == 0:
            return None
        return delta / abs(self.old)

    @property
    def changed(self) -> bool:
        """Numbers change beyond 1e-12 (float noise is not a change); anything else when
        it differs."""
        if is_number(self.old) and is_number(self.new):
            return not math.isclose(self.old, self.new, rel_tol=0.0, abs_tol=1e-12)
        return self.old != self.new


def changes_from_dvc(diff: dict[str, dict[str, dict[str, Any]]]) -> list[Change]:
    """Flatten the JSON of ``dvc params diff --json`` / ``dvc metrics diff --json`` into
    ``Change`` rows, in file then name order."""
    rows = []
    for file, entries in sorted(diff.items()):
        for name, values in sorted(entries.items()):
            rows.append(Change(file, name, values.get("old"), values.get("new")))
    return rows


def scalar_leaves(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The scalar values of a metrics file, nested keys joined with ``.``, as DVC reads
    metrics: numbers, booleans and strings; lists and nulls are left out."""
    leaves: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            leaves |= scalar_leaves(value, f"{name}.")
        elif isinstance(value, bool | int | float | str):
            leaves[name] = value
    return leaves


def changes_from_metrics(sides: dict[str, tuple[dict | None, dict | None]]) -> list[Change]:
    """Every value of each metrics file, ``{file: (base, workspace)}`` as parsed, as
    ``Change`` rows keyed as ``dvc metrics diff --all`` keys them, in file then name order.
    A file one side does not have is left out rather than shown as appearing or vanishing."""
    rows = []
    for file, (old, new) in sorted(sides.items()):
        if old is None or new is None:
            continue
        old, new = scalar_leaves(old), scalar_leaves(new)
        for name in sorted(old.keys() | new.keys()):
            rows.append(Change(file, name, old.get(name), new.get(name)))
    return rows


def find(changes: Iterable[Change], file: Path, name: str) -> Change | None:
    """The change of metric or param ``name`` of ``file``, or ``None``."""
    return next((c for c in changes if c.file == file.as_posix() and c.name == name), None)


@dataclass(frozen=True)
class RuleTable:
    """The rules of one side, one row per rule keyed by ``rule`` ("A + B -> C", antecedent
    items sorted), with support, confidence and lift; ``source`` says which file they came
    from. ``rules`` is ``None`` when the side's model could not be read, and ``note`` why."""

    rules: pd.DataFrame | None
    source: str
    note: str = ""


@dataclass
class RuleChanges:
    """Rules gained (only in the workspace), lost (only in the base) and kept (in both, with
    the confidence of each side and the change)."""

    gained: pd.DataFrame
    lost: pd.DataFrame
    kept: pd.DataFrame

    @property
    def confidence_changed(self) -> pd.DataFrame:
        """The kept rules whose confidence moved by more than ``CONFIDENCE_TOLERANCE``,
        largest change first."""
        changed = self.kept[self.kept["delta"].abs() > CONFIDENCE_TOLERANCE]
        order = changed["delta"].abs().sort_values(ascending=False, kind="stable").index
        return changed.loc[order]

    @property
    def any(self) -> bool:
        """Whether a rule was gained or lost or changed its confidence."""
        return bool(len(self.gained) or len(self.lost) or len(self.confidence_changed))


@dataclass
class ReportData:
    """Everything the Markdown is rendered from; ``gather`` fills it from two revisions."""

    base: Revision
    head: Revision
    params: list[Change]
    metrics: list[Change]
    validation: tuple[dict | None, dict | None]
    drift: tuple[dict | None, dict | None]
    rules: tuple[RuleTable, RuleTable]
    metrics_by_k: tuple[pd.DataFrame | None, pd.DataFrame | None]
    top: int = 5
    artifacts_url: str | None = None
    notes: list[str] = field(default_factory=list)
    #: Each side's affinity groups (``affinity/groups.parquet``), None where unavailable.
    groups: tuple[pd.DataFrame | None, pd.DataFrame | None] = (None, None)
    gate: dict | None = None  # the branch's metrics/gate.json (champion vs challenger)
    #: Each side's ``models/items.parquet`` (item code, description), None where unavailable:
    #: products are named by description in the rule tables.
    items: tuple[pd.DataFrame | None, pd.DataFrame | None] = (None, None)

    def param(self, name: str, side: str = "new", default: Any = None) -> Any:
        """The value of param ``name`` on one side (``"old"`` or ``"new"``), or ``default``."""
        for change in self.params:
            if change.name == name:
                value = getattr(change, side)
                return default if value is None else value
        return default
