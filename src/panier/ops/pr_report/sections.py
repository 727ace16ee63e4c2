"""The sections of the comment about figures: params, metrics, validation, drift and the
gate. Each decides what is worth showing (only what changed; one line when nothing did) and
renders its template from ``templates/``. Pure: ``ReportData`` in, Markdown out."""

from __future__ import annotations

from typing import Any

from panier.core import markdown, paths
from panier.ops.pr_report import formatting as fmt
from panier.ops.pr_report import verdicts
from panier.ops.pr_report.model import RECOMMENDERS, Change, ReportData, find
from panier.stages.gate.gate import render_markdown as render_gate

# Metrics of evaluate.json worth a line of their own, at the primary k.
HEADLINE = ("hit_rate", "ndcg", "mrr", "coverage")
TRAIN_HEADLINE = ("baskets", "itemsets", "rules", "min_count")
#: Rows of the collapsed table of the other metrics that changed; `dvc metrics diff` has all.
DETAIL_ROWS = 25
# The model's own figures first; drift and affinity figures largely follow from them.
METRICS_ORDER = tuple(
    f.as_posix()
    for f in (
        paths.EVALUATE_METRICS,
        paths.TRAIN_METRICS,
        paths.VALIDATION_METRICS,
        paths.GATE_METRICS,
    )
)
_FINDINGS_PER_GROUP = 3


def render_template(template: str, **context: Any) -> str:
    """``templates/<template>`` rendered with ``context``, without surrounding blank lines."""
    return markdown.render(__package__, template, **context).strip("\n")


def _row(change: Change, name: str | None = None) -> list[str]:
    """A table row: the name, both values and the change."""
    return [
        change.name if name is None else name,
        fmt.value(change.old),
        fmt.value(change.new),
        fmt.delta(change),
    ]


def params_section(data: ReportData) -> str:
    """The params that changed, one row each; one line when none did."""
    rows = []
    for c in (c for c in data.params if c.changed):
        name = c.name if c.file == "params.yaml" else f"{c.file}: {c.name}"
        change = fmt.delta(c) if c.delta is not None else "changed"
        rows.append([f"`{name}`", fmt.param_value(c.old), fmt.param_value(c.new), change])
    return render_template("params.md", rows=rows, base=fmt.code(data.base.label))


def headline_changes(data: ReportData) -> tuple[list[tuple[str, str, Change]], int]:
    """The headline rows that changed, as (recommender, metric, change), and how many
    headline rows did not."""
    k = data.param("evaluate.primary_k", default=5)
    changed, same = [], 0
    for recommender in RECOMMENDERS:
        for metric in (*[f"{m}@{k}" for m in HEADLINE], "no_recommendation_share"):
            c = find(data.metrics, paths.EVALUATE_METRICS, f"{recommender}.{metric}")
            if c is None:
                continue
            if c.changed:
                changed.append((recommender, metric, c))
            else:
                same += 1
    return changed, same


def metrics_section(data: ReportData) -> str:
    """The metrics that moved: the headline quality figures at the primary k (with arrows),
    the training figures, then the rest collapsed (at most ``DETAIL_ROWS``)."""
    numeric = [c for c in data.metrics if c.numeric]
    changed = [c for c in numeric if c.changed]
    headline, same = headline_changes(data)
    train = [
        c for c in changed if c.file == paths.TRAIN_METRICS.as_posix() and c.name in TRAIN_HEADLINE
    ]
    shown = {id(c) for *_, c in headline} | {id(c) for c in train}
    rest = sorted(
        (c for c in changed if id(c) not in shown),
        key=lambda c: (
            METRICS_ORDER.index(c.file) if c.file in METRICS_ORDER else len(METRICS_ORDER)
        ),
    )
    listed = rest[:DETAIL_ROWS]
    return render_template(
        "metrics.md",
        k=data.param("evaluate.primary_k", default=5),
        base=fmt.code(data.base.label),
        numeric=len(numeric),
        changed=len(changed),
        same=same,
        evaluate_file=paths.EVALUATE_METRICS.as_posix(),
        train_file=paths.TRAIN_METRICS.as_posix(),
        headline=[
            [r, m, fmt.value(c.old), fmt.value(c.new), fmt.delta(c, arrow=True)]
            for r, m, c in headline
        ],
        train=[_row(c) for c in train],
        rest=[[f"`{c.file}`", *_row(c)] for c in listed],
        rest_count=len(rest),
        unlisted=len(rest) - len(listed),
    )


def validation_section(data: ReportData) -> str:
    """Both sides' validation verdicts and the figures that moved (rows in, clean, rejected
    and rejections by reason); one line when unchanged."""
    base, head = data.validation
    file = paths.VALIDATION_METRICS.as_posix()
    rows = [
        Change(file, name, (base or {}).get(name), (head or {}).get(name))
        for name in ("rows_in", "rows_clean", "rows_rejected", "rejected_share")
    ]
    base_reasons = (base or {}).get("rejected_by_reason", {})
    head_reasons = (head or {}).get("rejected_by_reason", {})
    for reason in sorted(set(base_reasons) | set(head_reasons)):
        rows.append(
            Change(file, f"rejected: {reason}", base_reasons.get(reason), head_reasons.get(reason))
        )
    moved = [c for c in rows if c.changed]
    unexpected = (head or {}).get("unexpected_columns") or []
    limit = fmt.param_value(data.param("validate.max_rejected_share"))
    return render_template(
        "validation.md",
        same=verdicts.validation_same(data),
        old=verdicts.validation_verdict(data, 0),
        new=verdicts.validation_verdict(data, 1),
        limit=f"limit: `validate.max_rejected_share` = {limit}",
        base=fmt.code(data.base.label),
        moved=[_row(c) for c in moved],
        unchanged=len(rows) - len(moved),
        unexpected=", ".join(map(str, unexpected)),
    )


def drift_section(data: ReportData) -> str:
    """Both sides' drift verdicts; when they differ or the branch drifted, the flags that
    moved, the top drifted features (which are new, which left) and the branch's findings
    by group. One line when quiet on both sides."""
    base, head = data.drift
    file = paths.DRIFT_METRICS.as_posix()
    old, new = base or {}, head or {}
    tests = Change(file, "tests_run", old.get("tests_run"), new.get("tests_run"))
    label = fmt.code(data.base.label)
    flags = []
    for flag in verdicts.DRIFT_FLAGS:
        before, now = old.get(flag), new.get(flag)
        if before == now:
            continue
        change = "**raised**" if now else "cleared" if before is not None else "new"
        flags.append([flag, fmt.flag(before), fmt.flag(now), change])
    for name in ("tests_run", "tests_drifted"):
        c = Change(file, name, old.get(name), new.get(name))
        if (c.old is not None or c.new is not None) and (c.changed or name == "tests_drifted"):
            flags.append(_row(c))
    old_top = [_drifted_name(t) for t in old.get("top_drifted") or []]
    new_top = [_drifted_name(t) for t in new.get("top_drifted") or []]
    top_new = ", ".join(f"`{t}`" + ("" if t in old_top else " (new)") for t in new_top)
    items = new.get("items") or {}
    return render_template(
        "drift.md",
        reports=base is not None or head is not None,
        quiet=verdicts.drift_quiet(data),
        old=verdicts.drift_verdict(base),
        new=verdicts.drift_verdict(head),
        run=(
            f"{fmt.value(tests.new)} tests"
            if not tests.changed
            else f"{fmt.value(tests.new)} tests, {fmt.value(tests.old)} on `{label}`"
        ),
        drifted=fmt.value(new.get("tests_drifted", 0)),
        drift_file=file,
        drift_report=paths.DRIFT_REPORT.as_posix(),
        base=label,
        flags=flags,
        top_new=(top_new or "none") if new_top or old_top else "",
        gone=", ".join(f"`{t}`" for t in old_top if t not in new_top),
        findings=drift_findings(head),
        new_items=len(items.get("new") or []),
        gone_items=len(items.get("discontinued") or []),
    )


def drift_findings(report: dict | None) -> list[list[str]] | None:
    """The branch's drifted findings by group (catalogue, price, basket shape, rules, model
    quality, data quality), a few each so that one kind cannot crowd out the others, in
    words with products by description and code: a table row per group. ``None`` when the
    report has no findings."""
    if not report or not report.get("findings"):
        return None
    rows = []
    for group, counts in (report.get("groups") or {}).items():
        chosen = [f for f in report["findings"] if f.get("group") == group]
        if not chosen:
            continue
        words = "<br>".join(
            fmt.code(f.get("label", f.get("feature", "?"))) for f in chosen[:_FINDINGS_PER_GROUP]
        )
        more = len(chosen) - _FINDINGS_PER_GROUP
        if more > 0:
            words += f"<br>... {more} more"
        rows.append(
            [
                group.replace("_", " "),
                f"{counts.get('tests', 0):,}",
                f"{counts.get('drifted', 0):,}",
                words,
            ]
        )
    return rows


def _drifted_name(entry: Any) -> str:
    """An entry of ``top_drifted``: a "kind: feature" string, or a dict naming the feature."""
    if isinstance(entry, dict):
        feature = entry.get("feature") or entry.get("name") or "?"
        kind = entry.get("kind")
        return fmt.code(f"{kind}: {feature}" if kind else str(feature))
    return fmt.code(str(entry))


def gate_section(data: ReportData) -> str:
    """The gate's section (the gate stage's ``render_markdown``): open when the gate refused
    the branch's model, collapsed under a one-line summary when it passed."""
    gate = data.gate
    section = render_gate(gate).strip("\n")
    if not gate or not section:  # no verdict renders as nothing
        return ""
    body = section.split("\n", 1)[1].strip("\n") if "\n" in section else ""
    return render_template(
        "gate.md",
        passed=bool(gate.get("passed")),
        decision=str(gate.get("decision", "")).replace("_", " "),
        section=section,
        body=body,
    )
