"""The sections of the comment about the model itself: the rules gained, lost and changed,
the affinity groups, and the plots of the figures that moved. Each renders its template from
``templates/``. Pure: ``ReportData`` in, Markdown out."""

from __future__ import annotations

import re

import pandas as pd

from panier.core import paths
from panier.ops.pr_report import charts
from panier.ops.pr_report.formatting import code
from panier.ops.pr_report.model import ReportData
from panier.ops.pr_report.rules import compare_rules, describe_rule, item_names
from panier.ops.pr_report.sections import render_template
from panier.stages.affinity import changes as affinity


def rules_section(data: ReportData) -> str:
    """Rule counts on both sides, then the top ``data.top`` rules gained, lost (by support)
    and with the largest change of confidence, products by description; why a side's rules
    could not be read; one line when nothing changed."""
    (base, head), top = data.rules, data.top
    notes = [t.note for t in (base, head) if t.note]
    if base.rules is None or head.rules is None:
        return render_template("rules.md", unchanged=False, notes=notes, compared=False)
    changes = compare_rules(base.rules, head.rules)
    moved = changes.confidence_changed
    if not changes.any and not notes:
        return render_template("rules.md", unchanged=True, head_count=f"{len(head.rules):,}")
    names = item_names(data.items[1], data.items[0])

    def rows(frame: pd.DataFrame) -> list[list[str]]:
        return [
            [
                describe_rule(r.rule, names),
                f"{r.support:.4f}",
                f"{r.confidence:.3f}",
                f"{r.lift:.2f}",
            ]
            for r in frame.head(top).itertuples()
        ]

    return render_template(
        "rules.md",
        unchanged=False,
        notes=notes,
        compared=True,
        base=code(data.base.label),
        base_count=f"{len(base.rules):,}",
        head_count=f"{len(head.rules):,}",
        gained_count=f"{len(changes.gained):,}",
        lost_count=f"{len(changes.lost):,}",
        kept_count=f"{len(changes.kept):,}",
        moved_count=f"{len(moved):,}",
        tables=[
            (title, min(top, len(frame)), f"{len(frame):,}", rows(frame))
            for title, frame in (("Gained", changes.gained), ("Lost", changes.lost))
            if not frame.empty
        ],
        moved_shown=min(top, len(moved)),
        moved=[
            [
                describe_rule(r.rule, names),
                f"{r.confidence_base:.3f}",
                f"{r.confidence_head:.3f}",
                f"{r.delta:+.3f}",
            ]
            for r in moved.head(top).itertuples()
        ],
    )


def groups_section(data: ReportData) -> str:
    """Affinity groups gained, lost and changed (``affinity.changes.compare_groups``): one line when
    nothing changed, else the counts with the tables collapsed; empty when neither side has
    groups."""
    base, head = data.groups
    if base is None and head is None:
        return ""
    if base is None or head is None:
        missing = data.base.label if base is None else data.head.label
        return render_template(
            "groups.md", missing=code(missing), groups_file=paths.AFFINITY_ITEMS.as_posix()
        )
    changes = affinity.compare_groups(base, head)
    text = affinity.changes_markdown(changes, code(data.base.label), top=min(data.top, 3))
    counts, _, tables = text.strip().partition("\n")
    return render_template(
        "groups.md",
        missing="",
        unchanged=not (changes.gained or changes.lost or changes.changed),
        counts=counts,
        # GitHub does not render Markdown inside <summary>: code spans become <code> there.
        summary=re.sub(r"`([^`]*)`", r"<code>\1</code>", counts),
        tables=tables.strip(),
    )


def plots_section(data: ReportData) -> str:
    """Text charts of hit rate and NDCG by k and of the rules by confidence, only the
    figures that moved by ``charts.MIN_PLOTTED_CHANGE`` or more, collapsed; with a link to
    the interactive plots of the CI run when there is one."""
    base, head = data.metrics_by_k
    base_rules, head_rules = (t.rules for t in data.rules)
    label = data.base.label
    drawn = [
        ("Hit rate by k", charts.metric_by_k_chart(base, head, "hit_rate", label)),
        ("NDCG by k", charts.metric_by_k_chart(base, head, "ndcg", label)),
        ("Rules by confidence", charts.confidence_histogram(base_rules, head_rules, label)),
    ]
    drawn = [(title, chart) for title, chart in drawn if chart]
    link = (
        f" The interactive plots (`dvc plots diff`) are in the [`pr-report` artifact of "
        f"this run]({data.artifacts_url})."
        if data.artifacts_url
        else ""
    )
    return render_template(
        "plots.md",
        charts=drawn,
        titles=", ".join(title for title, _ in drawn),
        threshold=f"{charts.MIN_PLOTTED_CHANGE:.0%}",
        link=link,
    )
