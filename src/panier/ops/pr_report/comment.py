"""The whole pull-request comment: the header, the verdict, then a section per concern, cut
to what a pull-request comment may hold. Pure: ``ReportData`` in, Markdown out."""

from __future__ import annotations

from panier.ops.pr_report.formatting import code
from panier.ops.pr_report.model import ReportData
from panier.ops.pr_report.model_sections import groups_section, plots_section, rules_section
from panier.ops.pr_report.sections import (
    drift_section,
    gate_section,
    metrics_section,
    params_section,
    render_template,
    validation_section,
)
from panier.ops.pr_report.verdicts import verdict

TITLE = "Panier pipeline report"
# GitHub refuses comments over 65,536 characters; CML appends a watermark of ~150.
MAX_CHARS = 60_000


def render(data: ReportData) -> str:
    """The whole comment: the verdict first, then only what changed; sections whose content
    is the same on both sides are one line or collapsed into ``<details>``. A comment over
    ``MAX_CHARS`` is cut after its last whole paragraph that fits, with a note saying how to
    see all of it."""
    sections = [
        header(data),
        verdict(data),
        params_section(data),
        metrics_section(data),
        validation_section(data),
        drift_section(data),
        gate_section(data),
        rules_section(data),
        groups_section(data),
        plots_section(data),
        render_template("footer.md", base=code(data.base.label)),
    ]
    text = "\n\n".join(s.strip("\n") for s in sections if s) + "\n"
    if len(text) > MAX_CHARS:
        # Keep the top of the report (verdict, params, headline); say where the rest is.
        cut = text.rfind("\n\n", 0, MAX_CHARS - 400)
        text = text[:cut] + "\n\n" + render_template("cut.md", base=data.base.label) + "\n"
    return text


def header(data: ReportData) -> str:
    """The title, the two revisions compared and the notes on how they were read."""
    return render_template(
        "header.md",
        title=TITLE,
        head=code(data.head.label),
        head_sha=data.head.short,
        dirty=data.head.dirty,
        base=code(data.base.label),
        base_sha=data.base.short,
        notes=data.notes,
    )
