"""The pull-request report: what a change does to the model, as one Markdown comment.

``panier report --base main`` (or ``panier-report``) compares the workspace, meaning
the branch's pipeline outputs after ``dvc repro``, with a base revision and prints Markdown
meant to be read in ten seconds: a one-line verdict first (``verdict``), then only what
changed (params, the metrics that moved, the rules gained, lost and most changed with
products by description, plots of the figures that moved by 1% or more); sections the same
on both sides are one line or collapsed into ``<details>``. CI posts the same Markdown as
the pull request's comment (``.github/workflows/pr-report*.yml``); anyone can preview it
locally before pushing.

It is not a pipeline stage: it compares two revisions, so it is not in ``dvc.yaml`` and
writes nothing DVC tracks. Plots are rendered as Markdown-native text charts and tables, so
no image is uploaded anywhere.

Everything below ``gather`` is pure: ``ReportData`` in, Markdown out.
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from panier.core import paths
from panier.core.errors import PanierError
from panier.ops.revisions import (
    Revision,
    base_revision,
    metrics_diff,
    params_diff,
    read_csv,
    read_json,
    read_parquet,
    workspace_revision,
)
from panier.stages.affinity import groups as affinity
from panier.stages.gate.gate import render_markdown as render_gate

log = logging.getLogger(__name__)

TITLE = "Panier pipeline report"
# GitHub refuses comments over 65,536 characters; CML appends a watermark of ~150.
MAX_CHARS = 60_000
DRIFT_FLAGS = ("drift_detected", "data_drift", "concept_drift", "retrain_recommended")
RECOMMENDERS = ("model", "rules_only", "popularity")
# Metrics of evaluate.json worth a line of their own, at the primary k.
HEADLINE = ("hit_rate", "ndcg", "mrr", "coverage")
# Direction of improvement, for the arrows of the headline table.
LOWER_IS_BETTER = ("no_recommendation_share", "rejected_share", "tests_drifted")
# Confidences read back from the rules plot carry 6 significant digits: smaller changes are
# rounding, not a change of the rule.
CONFIDENCE_TOLERANCE = 1e-5


# ---------------------------------------------------------------------------------------------
# What the report compares


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
        return all(_is_number(v) for v in (self.old, self.new) if v is not None) and (
            self.old is not None or self.new is not None
        )

    @property
    def delta(self) -> float | None:
        if _is_number(self.old) and _is_number(self.new):
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
        if _is_number(self.old) and _is_number(self.new):
            return not math.isclose(self.old, self.new, rel_tol=0.0, abs_tol=1e-12)
        return self.old != self.new


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
        changed = self.kept[self.kept["delta"].abs() > CONFIDENCE_TOLERANCE]
        order = changed["delta"].abs().sort_values(ascending=False, kind="stable").index
        return changed.loc[order]


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
        for change in self.params:
            if change.name == name:
                value = getattr(change, side)
                return default if value is None else value
        return default


def changes_from_dvc(diff: dict[str, dict[str, dict[str, Any]]]) -> list[Change]:
    """Flatten the JSON of ``dvc params diff --json`` / ``dvc metrics diff --json`` into
    ``Change`` rows, in file then name order."""
    rows = []
    for file, entries in sorted(diff.items()):
        for name, values in sorted(entries.items()):
            rows.append(Change(file, name, values.get("old"), values.get("new")))
    return rows


def rule_key(antecedent: Iterable[str], consequent: str) -> str:
    return f"{' + '.join(sorted(map(str, antecedent)))} -> {consequent}"


def rules_from_model(frame: pd.DataFrame) -> pd.DataFrame:
    """``models/rules.parquet`` -> the rule table (``rule``, support, confidence, lift)."""
    keys = [rule_key(a, c) for a, c in zip(frame["antecedent"], frame["consequent"])]
    table = pd.DataFrame(
        {
            "rule": keys,
            "support": frame["support"].astype(float),
            "confidence": frame["confidence"].astype(float),
            "lift": frame["lift"].astype(float),
        }
    )
    return table.drop_duplicates("rule").reset_index(drop=True)


def rules_from_plot(frame: pd.DataFrame) -> pd.DataFrame:
    """``metrics/plots/rules.csv`` ("A + B -> C" strings) -> the same rule table."""

    def normalise(text: str) -> str:
        antecedent, consequent = str(text).split(" -> ")
        return rule_key(antecedent.split(" + "), consequent)

    table = frame[["rule", "support", "confidence", "lift"]].copy()
    table["rule"] = table["rule"].map(normalise)
    return table.drop_duplicates("rule").reset_index(drop=True)


def compare_rules(base: pd.DataFrame, head: pd.DataFrame) -> RuleChanges:
    """Rules gained, lost and kept between two rule tables. Gained and lost are ordered by
    support (the rules that touch most baskets first), kept by the size of the change."""
    merged = base.merge(head, on="rule", how="outer", suffixes=("_base", "_head"), indicator=True)
    gained = merged[merged["_merge"] == "right_only"]
    lost = merged[merged["_merge"] == "left_only"]
    kept = merged[merged["_merge"] == "both"].copy()
    kept["delta"] = kept["confidence_head"] - kept["confidence_base"]

    def by_support(frame: pd.DataFrame, side: str) -> pd.DataFrame:
        frame = frame.rename(columns={f"{c}_{side}": c for c in ("support", "confidence", "lift")})
        return frame.sort_values(["support", "rule"], ascending=[False, True], ignore_index=True)[
            ["rule", "support", "confidence", "lift"]
        ]

    return RuleChanges(
        gained=by_support(gained, "head"),
        lost=by_support(lost, "base"),
        kept=kept.sort_values("rule", ignore_index=True),
    )


# ---------------------------------------------------------------------------------------------
# Gathering both sides (git and DVC)


def load_rules(root: Path, rev: Revision) -> RuleTable:
    """The rules of ``rev``: from the model (``models/rules.parquet``, through DVC for a past
    revision); failing that from the rules plot committed to git; failing that, none."""
    model = read_parquet(root, paths.RULES, rev)
    if model is not None:
        return RuleTable(rules_from_model(model), str(paths.RULES))
    plot = read_csv(root, paths.RULES_PLOT, rev)
    if plot is not None:
        return RuleTable(
            rules_from_plot(plot),
            str(paths.RULES_PLOT),
            note=f"`{paths.RULES}` of `{rev.label}` is in neither the local DVC "
            f"cache nor a reachable DVC remote; its rules were read from "
            f"`{paths.RULES_PLOT}` instead",
        )
    return RuleTable(
        None,
        "",
        note=f"the rules of `{rev.label}` are not available: "
        f"`{paths.RULES}` is in neither the local DVC cache nor "
        f"a reachable DVC remote, and no `{paths.RULES_PLOT}` "
        f"was committed",
    )


def gather(
    root: Path,
    base: str,
    *,
    base_label: str | None = None,
    head_label: str | None = None,
    top: int = 5,
    artifacts_url: str | None = None,
) -> ReportData:
    """Read both sides: the base revision ``base`` and the workspace of the repository at
    ``root`` (which must hold the branch's pipeline outputs, i.e. run ``dvc repro`` first)."""
    base_rev = base_revision(root, base, base_label)
    head_rev = workspace_revision(root, head_label)
    if not (root / paths.RULES).is_file():
        raise PanierError(
            f"{paths.RULES} does not exist in {root}: run the pipeline first "
            f"(dvc repro), then the report"
        )
    head_rules = load_rules(root, head_rev)
    data = ReportData(
        base=base_rev,
        head=head_rev,
        params=changes_from_dvc(params_diff(root, base_rev)),
        metrics=changes_from_dvc(metrics_diff(root, base_rev)),
        validation=(
            read_json(root, paths.VALIDATION_METRICS, base_rev),
            read_json(root, paths.VALIDATION_METRICS, head_rev),
        ),
        drift=(
            read_json(root, paths.DRIFT_METRICS, base_rev),
            read_json(root, paths.DRIFT_METRICS, head_rev),
        ),
        rules=(load_rules(root, base_rev), head_rules),
        metrics_by_k=(
            read_csv(root, paths.METRICS_BY_K_PLOT, base_rev),
            read_csv(root, paths.METRICS_BY_K_PLOT, head_rev),
        ),
        top=top,
        artifacts_url=artifacts_url,
        groups=(
            read_parquet(root, paths.AFFINITY_ITEMS, base_rev),
            read_parquet(root, paths.AFFINITY_ITEMS, head_rev),
        ),
        gate=read_json(root, paths.GATE_METRICS, head_rev),
        items=(
            read_parquet(root, paths.ITEMS, base_rev),
            read_parquet(root, paths.ITEMS, head_rev),
        ),
    )
    if head_rev.dirty:
        data.notes.append(
            "The workspace differs from its last commit: changes are not committed yet, or the "
            "committed `dvc.lock` and metrics are not what `dvc repro` makes of this code and "
            "these params (run it and commit the results). The figures below are the "
            "workspace's."
        )
    return data


# ---------------------------------------------------------------------------------------------
# Markdown


def render(data: ReportData) -> str:
    """The whole comment: the verdict first, then only what changed; sections whose content
    is the same on both sides are one line or collapsed into ``<details>``."""
    sections = [
        _header(data),
        verdict(data),
        _params_section(data),
        _metrics_section(data),
        _validation_section(data),
        _drift_section(data),
        _gate_section(data),
        _rules_section(data),
        _groups_section(data),
        _plots_section(data),
        _footer(data),
    ]
    text = "\n\n".join(s.strip("\n") for s in sections if s) + "\n"
    if len(text) > MAX_CHARS:
        # Keep the top of the report (verdict, params, headline); say where the rest is.
        cut = text.rfind("\n\n", 0, MAX_CHARS - 400)
        text = (
            text[:cut] + "\n\n> The report is longer than a pull-request comment allows "
            "and was cut here. Run `panier report --base "
            f"{data.base.label}` locally for all of it.\n"
        )
    return text


def _header(data: ReportData) -> str:
    head = f"`{_code(data.head.label)}` (`{data.head.short}`"
    head += ", with uncommitted changes)" if data.head.dirty else ")"
    lines = [
        f"## {TITLE}",
        "",
        f"{head} compared with `{_code(data.base.label)}` (`{data.base.short}`).",
    ]
    lines += [f"\n> {note}" for note in data.notes]
    return "\n".join(lines)


def verdict(data: ReportData) -> str:
    """The comment's first line, read in ten seconds: whether the model changed (its rules)
    with the primary hit rate and the rule count on both sides, then the drift, gate and
    validation verdicts, e.g. "**Verdict:** model changed — hit rate@5 0.204 → 0.221
    (+0.017), 171 → 240 rules; no drift; gate passed; validation unchanged (passed)".

    In: the gathered ``ReportData``. Out: one Markdown line. Pure."""
    k = data.param("evaluate.primary_k", default=5)
    base_rules, head_rules = (t.rules for t in data.rules)
    figures = []
    hit = _find(data.metrics, paths.EVALUATE_METRICS, f"model.hit_rate@{k}")
    if hit is not None and _is_number(hit.new):
        if not hit.changed:
            figures.append(f"hit rate@{k} {hit.new:.3f} (unchanged)")
        elif _is_number(hit.old):
            figures.append(f"hit rate@{k} {hit.old:.3f} → {hit.new:.3f} ({hit.delta:+.3f})")
        else:
            figures.append(f"hit rate@{k} {hit.new:.3f} (new)")
    if base_rules is not None and head_rules is not None:
        changes = compare_rules(base_rules, head_rules)
        moved = bool(len(changes.gained) or len(changes.lost) or len(changes.confidence_changed))
        what = "model changed" if moved else "model unchanged"
        figures.append(
            f"{len(base_rules):,} → {len(head_rules):,} rules"
            if moved
            else f"{len(head_rules):,} rules"
        )
    else:
        what = "model compared by metrics only (the base's rules are not available)"
    parts = [what + (" — " + ", ".join(figures) if figures else "")]
    parts.append(_drift_phrase(*data.drift, data.base.label))
    if data.gate:
        parts.append("gate passed" if data.gate.get("passed") else "gate **refused**")
    parts.append(_validation_phrase(data))
    return "**Verdict:** " + "; ".join(parts)


def _drift_phrase(base: dict | None, head: dict | None, base_label: str) -> str:
    if head is None:
        return "no drift report"
    if not head.get("drift_detected"):
        return "drift cleared" if (base or {}).get("drift_detected") else "no drift"
    kinds = _drift_verdict(head).removeprefix("**drift** ")
    if (base or {}).get("drift_detected"):
        return f"**drift** {kinds}, as on `{_code(base_label)}`"
    return f"**drift raised** {kinds}"


_VALIDATION_FIGURES = (
    "rows_in",
    "rows_clean",
    "rows_rejected",
    "rejected_share",
    "rejected_by_reason",
    "unexpected_columns",
    "passed",
)


def _validation_same(data: ReportData) -> bool:
    base, head = data.validation
    if base is None or head is None:
        return base is head
    return all(
        base.get(key) == head.get(key) for key in _VALIDATION_FIGURES
    ) and _validation_verdict(data, 0) == _validation_verdict(data, 1)


def _validation_phrase(data: ReportData) -> str:
    old, new = _validation_verdict(data, 0), _validation_verdict(data, 1)
    if _validation_same(data):
        return f"validation unchanged ({new.split(' (')[0]})"
    if old == new:
        return f"validation {new}, figures changed"
    return f"validation {old} → {new}"


def _params_section(data: ReportData) -> str:
    changed = [c for c in data.params if c.changed]
    if not changed:
        return "**Params:** none changed."
    lines = [
        "### Params",
        "",
        f"| param | `{_code(data.base.label)}` | this branch | change |",
        "|---|--:|--:|--:|",
    ]
    for c in changed:
        name = c.name if c.file == "params.yaml" else f"{c.file}: {c.name}"
        lines.append(
            f"| `{name}` | {_param_value(c.old)} | {_param_value(c.new)} | "
            f"{_delta(c) if c.delta is not None else 'changed'} |"
        )
    return "\n".join(lines)


TRAIN_HEADLINE = ("baskets", "itemsets", "rules", "min_count")
#: Rows of the collapsed table of the other metrics that changed; `dvc metrics diff` has all.
DETAIL_ROWS = 25


def _headline_changes(data: ReportData) -> tuple[list[tuple[str, str, Change]], int]:
    """The headline rows that changed, as (recommender, metric, change), and how many
    headline rows did not."""
    k = data.param("evaluate.primary_k", default=5)
    changed, same = [], 0
    for recommender in RECOMMENDERS:
        for metric in (*[f"{m}@{k}" for m in HEADLINE], "no_recommendation_share"):
            c = _find(data.metrics, paths.EVALUATE_METRICS, f"{recommender}.{metric}")
            if c is None:
                continue
            if c.changed:
                changed.append((recommender, metric, c))
            else:
                same += 1
    return changed, same


def _metrics_section(data: ReportData) -> str:
    k = data.param("evaluate.primary_k", default=5)
    numeric = [c for c in data.metrics if c.numeric]
    changed = [c for c in numeric if c.changed]
    if not changed:
        return f"**Metrics:** none of {len(numeric)} changed."
    lines = ["### Metrics"]
    headline, same = _headline_changes(data)
    if headline:
        lines += [
            "",
            f"Recommendation quality at k={k} on the holdout window "
            f"(`{paths.EVALUATE_METRICS}`); {same} unchanged rows not shown:",
            "",
            f"| recommender | metric | `{_code(data.base.label)}` | this branch | change |",
            "|---|---|--:|--:|--:|",
        ]
        lines += [
            f"| {r} | {m} | {_value(c.old)} | {_value(c.new)} | {_delta(c, arrow=True)} |"
            for r, m, c in headline
        ]
    elif same:
        lines += ["", f"Recommendation quality at k={k}: all {same} headline figures unchanged."]
    train = [
        c
        for c in numeric
        if c.file == paths.TRAIN_METRICS.as_posix() and c.name in TRAIN_HEADLINE and c.changed
    ]
    if train:
        lines += [
            "",
            f"Training (`{paths.TRAIN_METRICS}`):",
            "",
            f"| metric | `{_code(data.base.label)}` | this branch | change |",
            "|---|--:|--:|--:|",
        ]
        lines += [f"| {c.name} | {_value(c.old)} | {_value(c.new)} | {_delta(c)} |" for c in train]
    shown = {id(c) for *_, c in headline} | {id(c) for c in train}
    # The model's own figures first; drift and affinity figures largely follow from them.
    order = [
        f.as_posix()
        for f in (
            paths.EVALUATE_METRICS,
            paths.TRAIN_METRICS,
            paths.VALIDATION_METRICS,
            paths.GATE_METRICS,
        )
    ]
    rest = sorted(
        (c for c in changed if id(c) not in shown),
        key=lambda c: order.index(c.file) if c.file in order else len(order),
    )
    if not rest:
        return "\n".join(lines)
    listed = rest[:DETAIL_ROWS]
    lines += [
        "",
        f"<details><summary>{len(rest)} more metrics changed ({len(changed)} of "
        f"{len(numeric)} in all; {len(numeric) - len(changed)} unchanged)</summary>",
        "",
        f"| file | metric | `{_code(data.base.label)}` | this branch | change |",
        "|---|---|--:|--:|--:|",
    ]
    lines += [
        f"| `{c.file}` | {c.name} | {_value(c.old)} | {_value(c.new)} | {_delta(c)} |"
        for c in listed
    ]
    if len(rest) > len(listed):
        lines += [
            "",
            f"{len(rest) - len(listed)} more not listed here: `dvc metrics diff "
            f"{_code(data.base.label)} --all` shows every one.",
        ]
    lines += ["", "</details>"]
    return "\n".join(lines)


def _validation_passed(report: dict | None, limit: float | None) -> bool | None:
    if report is None:
        return None
    if "passed" in report:
        return bool(report["passed"])
    share = report.get("rejected_share")
    return None if share is None or limit is None else share <= limit


def _validation_verdict(data: ReportData, side: int) -> str:
    report = data.validation[side]
    limit = data.param("validate.max_rejected_share", "old" if side == 0 else "new")
    passed = _validation_passed(report, limit)
    if passed is None:
        return "no report" if report is None else "unknown"
    share = report.get("rejected_share")
    detail = f" ({share:.2%} rejected)" if _is_number(share) else ""
    return ("passed" if passed else "**failed**") + detail


def _validation_section(data: ReportData) -> str:
    base, head = data.validation
    limit = (
        f"limit: `validate.max_rejected_share` = "
        f"{_param_value(data.param('validate.max_rejected_share'))}"
    )
    if _validation_same(data):
        return f"**Validation:** unchanged, {_validation_verdict(data, 1)} on both sides ({limit})."
    old, new = _validation_verdict(data, 0), _validation_verdict(data, 1)
    lines = [
        "### Validation",
        "",
        f"Verdict: {new} on this branch"
        + (f", {old} on `{_code(data.base.label)}`" if old != new else ", as on the base")
        + f" ({limit}).",
    ]
    rows = []
    for name in ("rows_in", "rows_clean", "rows_rejected", "rejected_share"):
        rows.append(
            Change(
                paths.VALIDATION_METRICS.as_posix(),
                name,
                (base or {}).get(name),
                (head or {}).get(name),
            )
        )
    reasons = sorted(
        set((base or {}).get("rejected_by_reason", {}))
        | set((head or {}).get("rejected_by_reason", {}))
    )
    for reason in reasons:
        rows.append(
            Change(
                paths.VALIDATION_METRICS.as_posix(),
                f"rejected: {reason}",
                (base or {}).get("rejected_by_reason", {}).get(reason),
                (head or {}).get("rejected_by_reason", {}).get(reason),
            )
        )
    moved = [c for c in rows if c.changed]
    if moved:
        lines += [
            "",
            f"| | `{_code(data.base.label)}` | this branch | change |",
            "|---|--:|--:|--:|",
        ]
        lines += [f"| {c.name} | {_value(c.old)} | {_value(c.new)} | {_delta(c)} |" for c in moved]
        if len(rows) > len(moved):
            lines += ["", f"{len(rows) - len(moved)} unchanged rows not shown."]
    unexpected = (head or {}).get("unexpected_columns") or []
    if unexpected:
        lines += ["", f"Unexpected columns on this branch: {', '.join(map(str, unexpected))}."]
    return "\n".join(lines)


def _drift_verdict(report: dict | None) -> str:
    if report is None:
        return "no report"
    if not report.get("drift_detected"):
        return "no drift"
    kinds = [name.replace("_", " ") for name in ("data_drift", "concept_drift") if report.get(name)]
    return f"**drift** ({', '.join(kinds) or 'detected'})"


def _drift_section(data: ReportData) -> str:
    base, head = data.drift
    if base is None and head is None:
        return "**Drift:** no report on either side."
    tests = Change(
        paths.DRIFT_METRICS.as_posix(),
        "tests_run",
        (base or {}).get("tests_run"),
        (head or {}).get("tests_run"),
    )
    flags_same = all((base or {}).get(f) == (head or {}).get(f) for f in DRIFT_FLAGS)
    quiet = not (head or {}).get("drift_detected") and not (head or {}).get("findings")
    if flags_same and quiet:
        run = (
            f"{_value(tests.new)} tests"
            if not tests.changed
            else f"{_value(tests.new)} tests, {_value(tests.old)} on `{_code(data.base.label)}`"
        )
        return (
            f"**Drift:** {_drift_verdict(head)} on either side ({run}, "
            f"{_value((head or {}).get('tests_drifted', 0))} drifted; "
            f"`{paths.DRIFT_METRICS}`: current window against the training window)."
        )
    lines = [
        "### Drift",
        "",
        f"Verdict: {_drift_verdict(head)} on this branch, {_drift_verdict(base)} on "
        f"`{_code(data.base.label)}` (`{paths.DRIFT_METRICS}`: current window against the "
        "training window).",
    ]
    rows = []
    for flag in DRIFT_FLAGS:
        old, new = (base or {}).get(flag), (head or {}).get(flag)
        if old == new:
            continue
        change = "**raised**" if new else "cleared" if old is not None else "new"
        rows.append(f"| {flag} | {_flag(old)} | {_flag(new)} | {change} |")
    for name in ("tests_run", "tests_drifted"):
        c = Change(
            paths.DRIFT_METRICS.as_posix(), name, (base or {}).get(name), (head or {}).get(name)
        )
        if (c.old is not None or c.new is not None) and (c.changed or name == "tests_drifted"):
            rows.append(f"| {name} | {_value(c.old)} | {_value(c.new)} | {_delta(c)} |")
    lines += [
        "",
        f"| flag | `{_code(data.base.label)}` | this branch | |",
        "|---|:-:|:-:|---|",
        *rows,
    ]
    old_top = [_drifted_name(t) for t in (base or {}).get("top_drifted") or []]
    new_top = [_drifted_name(t) for t in (head or {}).get("top_drifted") or []]
    if new_top or old_top:
        lines += [
            "",
            "Top drifted on this branch: "
            + (", ".join(f"`{t}`" + ("" if t in old_top else " (new)") for t in new_top) or "none"),
        ]
        gone = [t for t in old_top if t not in new_top]
        if gone:
            lines.append(f"No longer among them: {', '.join(f'`{t}`' for t in gone)}")
    lines += _drift_findings(head)
    return "\n".join(lines)


_FINDINGS_PER_GROUP = 3


def _drift_findings(report: dict | None) -> list[str]:
    """The branch's drifted findings by group (catalogue, price, basket shape, rules, model
    quality, data quality), a few each so that one kind cannot crowd out the others, in
    words with products by description and code; new and discontinued products counted."""
    if not report or not report.get("findings"):
        return []
    lines = ["", "| group | tests | drifted | first findings |", "|---|---|---|---|"]
    for group, counts in (report.get("groups") or {}).items():
        chosen = [f for f in report["findings"] if f.get("group") == group]
        if not chosen:
            continue
        words = "<br>".join(
            _code(f.get("label", f.get("feature", "?"))) for f in chosen[:_FINDINGS_PER_GROUP]
        )
        more = len(chosen) - _FINDINGS_PER_GROUP
        if more > 0:
            words += f"<br>... {more} more"
        lines.append(
            f"| {group.replace('_', ' ')} | {counts.get('tests', 0):,} | "
            f"{counts.get('drifted', 0):,} | {words} |"
        )
    items = report.get("items") or {}
    new, gone = len(items.get("new") or []), len(items.get("discontinued") or [])
    if new or gone:
        lines += [
            "",
            f"New products: {new}; discontinued products: {gone} "
            f"(`{paths.DRIFT_REPORT}` lists them).",
        ]
    return lines


def _drifted_name(entry: Any) -> str:
    """An entry of ``top_drifted``: a "kind: feature" string, or a dict naming the feature."""
    if isinstance(entry, dict):
        feature = entry.get("feature") or entry.get("name") or "?"
        kind = entry.get("kind")
        return _code(f"{kind}: {feature}" if kind else str(feature))
    return _code(str(entry))


def _gate_section(data: ReportData) -> str:
    """The gate's section (the gate stage's ``render_markdown``): open when the gate refused the
    branch's model, collapsed under a one-line summary when it passed."""
    section = render_gate(data.gate).strip("\n")
    if not section or not data.gate.get("passed"):
        return section
    body = section.split("\n", 1)[1].strip("\n") if "\n" in section else ""
    decision = str(data.gate.get("decision", "")).replace("_", " ")
    return "\n".join(
        [
            f"<details><summary>Champion vs challenger gate: passed ({decision})</summary>",
            "",
            body,
            "",
            "</details>",
        ]
    )


def describe_rule(rule: str, names: dict[str, str]) -> str:
    """A rule key ("A + B -> C") in words: each product by its description with its code
    beside, e.g. "RED STORAGE TIN (`10001`) + ... → ...". Codes without a description stay
    bare. In: the key and a code -> description map. Out: Markdown for a table cell."""
    antecedent, consequent = rule.split(" -> ")

    def one(code: str) -> str:
        name = names.get(code)
        return f"{_code(name)} (`{_code(code)}`)" if name else f"`{_code(code)}`"

    return " + ".join(one(c) for c in antecedent.split(" + ")) + " → " + one(consequent)


def item_names(*tables: pd.DataFrame | None) -> dict[str, str]:
    """Item code -> description from ``models/items.parquet`` tables; earlier tables win."""
    names: dict[str, str] = {}
    for table in tables:
        if table is None or "description" not in table.columns:
            continue
        for code, text in zip(table["item_code"].astype(str), table["description"]):
            if isinstance(text, str) and text.strip():
                names.setdefault(code, text.strip())
    return names


def _rules_section(data: ReportData) -> str:
    (base, head), top = data.rules, data.top
    lines = ["### Rule changes"]
    notes = [t.note for t in (base, head) if t.note]
    lines += [f"\n> {note}" for note in notes]
    if base.rules is None or head.rules is None:
        return "\n".join(lines)
    changes = compare_rules(base.rules, head.rules)
    moved = changes.confidence_changed
    if not (len(changes.gained) or len(changes.lost) or len(moved)) and not notes:
        return (
            f"**Rules:** unchanged, the same {len(head.rules):,} rules with the same "
            "confidence on both sides."
        )
    names = item_names(data.items[1], data.items[0])
    lines += [
        "",
        f"{len(base.rules):,} rules on `{_code(data.base.label)}`, "
        f"{len(head.rules):,} on this branch: {len(changes.gained):,} gained, "
        f"{len(changes.lost):,} lost, {len(changes.kept):,} kept, of which "
        f"{len(moved):,} with a different confidence.",
    ]

    def table(title: str, frame: pd.DataFrame) -> list[str]:
        if frame.empty:
            return []
        out = [
            "",
            f"**{title}** (top {min(top, len(frame))} of {len(frame):,}, by support)",
            "",
            "| rule | support | confidence | lift |",
            "|---|--:|--:|--:|",
        ]
        out += [
            f"| {describe_rule(r.rule, names)} | {r.support:.4f} | {r.confidence:.3f} | "
            f"{r.lift:.2f} |"
            for r in frame.head(top).itertuples()
        ]
        return out

    lines += table("Gained", changes.gained)
    lines += table("Lost", changes.lost)
    if not moved.empty:
        lines += [
            "",
            f"**Largest confidence changes** (top {min(top, len(moved))} of {len(moved):,})",
            "",
            f"| rule | confidence on `{_code(data.base.label)}` | this branch | change |",
            "|---|--:|--:|--:|",
        ]
        lines += [
            f"| {describe_rule(r.rule, names)} | {r.confidence_base:.3f} | "
            f"{r.confidence_head:.3f} | {r.delta:+.3f} |"
            for r in moved.head(top).itertuples()
        ]
    return "\n".join(lines)


def _groups_section(data: ReportData) -> str:
    """Affinity groups gained, lost and changed (``groups.compare_groups``): one
    line when nothing changed, else the counts with the tables collapsed; empty when neither
    side has groups."""
    base, head = data.groups
    if base is None and head is None:
        return ""
    if base is None or head is None:
        missing = data.base.label if base is None else data.head.label
        return (
            f"**Affinity groups:** the groups of `{_code(missing)}` are not available: "
            f"`{paths.AFFINITY_ITEMS}` is in neither the local DVC cache nor a reachable "
            "DVC remote, or that revision has no affinity stage."
        )
    changes = affinity.compare_groups(base, head)
    markdown = affinity.changes_markdown(
        changes, _code(data.base.label), top=min(data.top, 3)
    ).strip()
    counts, _, tables = markdown.partition("\n")
    if not (changes.gained or changes.lost or changes.changed):
        return f"**Affinity groups:** unchanged ({counts})"
    # GitHub does not render Markdown inside <summary>: code spans become <code> there.
    summary = re.sub(r"`([^`]*)`", r"<code>\1</code>", counts)
    return "\n".join(
        [
            f"<details><summary>Affinity groups: {summary}</summary>",
            "",
            tables.strip(),
            "",
            "</details>",
        ]
    )


#: Bars are drawn only for figures that moved by at least this share of the base's value.
MIN_PLOTTED_CHANGE = 0.01


def _plots_section(data: ReportData) -> str:
    base, head = data.metrics_by_k
    base_rules, head_rules = (t.rules for t in data.rules)
    charts = [
        ("Hit rate by k", metric_by_k_chart(base, head, "hit_rate", data.base.label)),
        ("NDCG by k", metric_by_k_chart(base, head, "ndcg", data.base.label)),
        ("Rules by confidence", confidence_histogram(base_rules, head_rules, data.base.label)),
    ]
    charts = [(title, chart) for title, chart in charts if chart]
    link = (
        f" The interactive plots (`dvc plots diff`) are in the [`pr-report` artifact of "
        f"this run]({data.artifacts_url})."
        if data.artifacts_url
        else ""
    )
    if not charts:
        return f"**Plots:** no plotted figure moved by {MIN_PLOTTED_CHANGE:.0%} or more.{link}"
    lines = [
        f"<details><summary>Plots: {', '.join(t for t, _ in charts)} (only figures that "
        f"moved by {MIN_PLOTTED_CHANGE:.0%} or more; drawn as text, no image is uploaded)"
        "</summary>"
    ]
    if link:
        lines += ["", link.strip()]
    for title, chart in charts:
        lines += ["", f"**{title}**", "", "```text", chart, "```"]
    lines += ["", "</details>"]
    return "\n".join(lines)


def _footer(data: ReportData) -> str:
    return (
        f"<sub>Made by `panier report --base {_code(data.base.label)}`; "
        f"run it after `dvc repro` to preview this comment locally.</sub>"
    )


# --- text charts -----------------------------------------------------------------------------

BAR_WIDTH = 40
_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(value: float, scale: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``value / scale`` of ``width`` characters, to an eighth."""
    if not _is_number(value) or scale <= 0 or value <= 0:
        return ""
    eighths = round(min(value / scale, 1.0) * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def bar_chart(rows: Sequence[tuple[str, float | None]], digits: int = 3) -> str:
    """Labelled horizontal bars on a common scale, one per row; a ``None`` value is shown
    as "n/a"."""
    values = [v for _, v in rows if _is_number(v)]
    scale = max(values, default=0.0)
    label_width = max(len(label) for label, _ in rows)
    lines = []
    for label, value in rows:
        shown = f"{value:.{digits}f}" if _is_number(value) else "n/a"
        lines.append(f"{label:<{label_width}}  {bar(value, scale):<{BAR_WIDTH}}  {shown}")
    return "\n".join(line.rstrip() for line in lines)


def moved_enough(
    old: float | None, new: float | None, threshold: float = MIN_PLOTTED_CHANGE
) -> bool:
    """Whether a plotted figure moved enough to draw: by at least ``threshold`` of the base's
    value, or appeared, or left zero. A missing new value is never drawn."""
    if new is None:
        return False
    if old is None:
        return True
    if old == 0:
        return new != 0
    return abs(new - old) / abs(old) >= threshold


def metric_by_k_chart(
    base: pd.DataFrame | None, head: pd.DataFrame | None, metric: str, base_label: str
) -> str:
    """``metric`` by k for each recommender, base and branch bars next to each other; only
    the (k, recommender) pairs that moved by ``MIN_PLOTTED_CHANGE`` or more. Empty when none
    did."""
    if head is None:
        return ""
    rows: list[tuple[str, float | None]] = []
    base_by_k = base.set_index("k") if base is not None else None
    for k in head["k"]:
        for recommender in RECOMMENDERS:
            column = f"{recommender}_{metric}"
            if column not in head.columns:
                continue
            old = None
            if base_by_k is not None and column in base_by_k.columns and k in base_by_k.index:
                old = float(base_by_k.loc[k, column])
            new = float(head.loc[head["k"] == k, column].iloc[0])
            if not moved_enough(old, new):
                continue
            rows.append((f"k={k:<2} {recommender:<10} {_short(base_label)}", old))
            rows.append((f"{'':4} {'':<10} {_short('branch')}", new))
    return bar_chart(rows) if rows else ""


def confidence_histogram(
    base: pd.DataFrame | None, head: pd.DataFrame | None, base_label: str, bins: int = 10
) -> str:
    """How many rules fall in each tenth of confidence, base and branch side by side; only
    the bins whose count moved by ``MIN_PLOTTED_CHANGE`` or more. Empty when none did."""
    if head is None:
        return ""
    edges = [i / bins for i in range(bins + 1)]

    def counts(frame: pd.DataFrame | None) -> list[int] | None:
        if frame is None:
            return None
        cut = pd.cut(frame["confidence"].clip(0, 1), edges, include_lowest=True, right=False)
        # The last bin is closed on the right: a confidence of 1.0 belongs to 0.9-1.0.
        cut = cut.fillna(pd.Interval(edges[-2], edges[-1], closed="left"))
        return cut.value_counts(sort=False).reindex(cut.cat.categories, fill_value=0).tolist()

    old, new = counts(base), counts(head)
    rows: list[tuple[str, float | None]] = []
    for i in range(bins):
        before = float(old[i]) if old else None
        if not moved_enough(before, float(new[i])):
            continue
        span = f"{edges[i]:.1f}-{edges[i + 1]:.1f}"
        rows.append((f"{span} {_short(base_label)}", before))
        rows.append((f"{'':7} {_short('branch')}", float(new[i])))
    return bar_chart(rows, digits=0) if rows else ""


# --- formatting ------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (not isinstance(value, float) or math.isfinite(value))
    )


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != 0 and abs(value) < 1e-5:
            return f"{value:.2e}"
        if value != 0 and abs(value) < 1e-3:
            return f"{value:.6f}"
        return f"{value:,.4f}" if abs(value) < 1e4 else f"{value:,.1f}"
    return _code(str(value))


def _param_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool | int | float):
        return f"`{value}`"
    return f"`{_code(str(value))}`"


def _delta(change: Change, arrow: bool = False) -> str:
    """The signed change, with the relative change when the base is not zero, e.g.
    "+0.0091 (+4.7%)"; "new" or "removed" when a side lacks the value."""
    if change.old is None and change.new is not None:
        return "new"
    if change.new is None and change.old is not None:
        return "removed"
    delta = change.delta
    if delta is None:
        return "" if not change.changed else "changed"
    if not change.changed:
        return "0"
    if isinstance(change.old, int) and isinstance(change.new, int):
        text = f"{delta:+,}"
    elif abs(delta) < 1e-5:
        text = f"{delta:+.2e}"
    elif abs(delta) < 1e-3:
        text = f"{delta:+.5f}"
    else:
        text = f"{delta:+.4f}"
    rel = change.relative
    if rel is not None:
        text += f" ({rel:+.1%})"
    if arrow:
        better = (delta < 0) if change.name.split(".")[-1] in LOWER_IS_BETTER else (delta > 0)
        text = (
            ("▲ " if delta > 0 else "▼ ")
            + text
            + (" :green_circle:" if better else " :red_circle:")
        )
    return text


def _flag(value: Any) -> str:
    if value is None:
        return "-"
    return ":warning: yes" if value else "no"


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}" if n else f"none {what}"


def _short(label: str, width: int = 8) -> str:
    """A fixed-width side label for text charts."""
    label = label.removeprefix("origin/")
    return (label if len(label) <= width else label[: width - 1] + "~").ljust(width)


def _code(text: str) -> str:
    """Text safe inside a Markdown code span and a table cell."""
    return str(text).replace("`", "'").replace("|", "/").replace("\n", " ")


def _find(changes: Iterable[Change], file: Path, name: str) -> Change | None:
    return next((c for c in changes if c.file == file.as_posix() and c.name == name), None)


# ---------------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="panier report",
        description="Compare the pipeline outputs in the workspace (run `dvc repro` first) "
        "with a base revision, and print the pull-request comment as Markdown.",
    )
    parser.add_argument(
        "--base",
        default="main",
        help="git revision to compare with (branch, tag, origin/main, sha); default: main",
    )
    parser.add_argument("--base-label", help="name shown for the base (default: --base)")
    parser.add_argument(
        "--head-label", help="name shown for the workspace (default: the current branch)"
    )
    parser.add_argument(
        "--output", "-o", type=Path, help="write the Markdown to this file instead of stdout"
    )
    parser.add_argument(
        "--top", type=int, default=5, help="rules listed per table of rule changes (default: 5)"
    )
    parser.add_argument(
        "--artifacts-url", help="link to the CI run whose artifacts hold the interactive plots"
    )
    parser.add_argument(
        "--repo",
        type=Path,
        default=Path.cwd(),
        help="repository root (default: the current directory)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="report: %(message)s", stream=sys.stderr)
    try:
        data = gather(
            args.repo.resolve(),
            args.base,
            base_label=args.base_label,
            head_label=args.head_label,
            top=args.top,
            artifacts_url=args.artifacts_url,
        )
        markdown = render(data)
    except PanierError as exc:
        print(f"report failed: {exc}", file=sys.stderr)
        return 1
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(markdown, encoding="utf-8")
    else:
        sys.stdout.write(markdown)
    return 0


def cli() -> None:
    """Entry point of the ``panier-report`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    cli()
