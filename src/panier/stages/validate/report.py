"""``metrics/validation.md``: the validation report people read."""

from __future__ import annotations

from panier.core import schema as S
from panier.core.config import ValidateParams
from panier.stages.validate.messages import (
    dataset_error,
    example_rows,
    rejected_summary,
    rejection_error,
)
from panier.stages.validate.reasons import FIXES, REASONS, column_label
from panier.stages.validate.validation import BIG_BASKET_ITEMS, ValidationResult


def render_markdown(
    result: ValidationResult,
    params: ValidateParams,
    schema_changes: dict | None = None,
    examples: int = 3,
) -> str:
    """A human-readable validation report: the accounting, each reason with its column,
    examples and fix, guest checkouts, and changes of the input's columns."""
    report = result.report
    rows_in = max(report["rows_in"], 1)
    verdict = rejection_error(result, params) or dataset_error(result)
    own = params.max_rejected_share_by_reason
    applies = (
        f"the reasons without a limit of their own in "
        f"validate.max_rejected_share_by_reason "
        f"({', '.join(f'{c} {v:.2%}' for c, v in own.items())})"
        if own
        else "all of them"
    )
    out = [
        "# Validation report",
        "",
        f"Source: `{report['source']}`",
        "",
        f"**{'FAILED' if verdict else 'passed'}**: {report['rows_in']:,} rows in = "
        f"{report['rows_clean']:,} clean + {report['rows_rejected']:,} rejected: "
        f"{rejected_summary(report)}. The limit, validate.max_rejected_share "
        f"({params.max_rejected_share:.2%}), applies to {applies}.",
        "",
        "| | count |",
        "|---|---:|",
        f"| clean invoices | {report['invoices_clean']:,} |",
        f"| clean invoices with 2+ items | {report['invoices_multi_item']:,} |",
        f"| distinct items | {report['items_clean']:,} |",
        f"| guest checkouts (invoices without customer id, kept) | "
        f"{_count(report, S.CUSTOMER, 'invoices_without_customer')} |",
        f"| clean rows without description (kept) | "
        f"{_count(report, S.DESCRIPTION, 'clean_rows_without_description')} |",
        f"| invoices over {BIG_BASKET_ITEMS} distinct items (kept; train.max_basket_items "
        f"leaves big ones out of mining only) | {report.get('invoices_over_100_items', 0):,} |",
        *(
            [
                "| invoices over validate.max_basket_items "
                f"({params.max_basket_items}, rejected) | "
                f"{report['invoices_too_large']:,} |"
            ]
            if params.max_basket_items is not None
            else []
        ),
        "",
    ]
    span = report["time_span"]
    if span["first"] is not None:
        out += [f"Clean rows span {span['first']} to {span['last']}.", ""]
    if report["columns_not_provided"]:
        out += [
            "Not provided by the source (allowed to be empty): "
            + ", ".join(f"`{c}`" for c in report["columns_not_provided"])
            + ".",
            "",
        ]
    out += [
        "## Rejected rows by reason",
        "",
        "| reason | column | rows | share | meaning |",
        "|---|---|---:|---:|---|",
    ]
    for code, count in report["rejected_by_reason"].items():
        if count:
            out.append(
                f"| `{code}` | {column_label(report, code)} | {count:,} | "
                f"{count / rows_in:.2%} | {REASONS[code]} |"
            )
    if not report["rows_rejected"]:
        out.append("| (none) | | 0 | 0.00% | |")
    out.append("")
    for code, count in report["rejected_by_reason"].items():
        if count:
            _, table = example_rows(result, code, examples)
            out += [
                f"### `{code}`",
                "",
                f"Usual cause and fix: {FIXES[code]}.",
                "",
                "```",
                *table,
                "```",
                "",
            ]
    out += ["## Input columns", ""]
    if report["unexpected_columns"]:
        out += [
            "Not mapped to a canonical column (ignored): "
            + ", ".join(f"`{c}`" for c in report["unexpected_columns"])
            + ".",
            "",
        ]
    if schema_changes is not None:
        out += [_schema_section(schema_changes), ""]
    if verdict:
        out += ["## Why the stage failed", "", "```", verdict, "```", ""]
    return "\n".join(out).rstrip() + "\n"


def _count(report: dict, column: str, key: str) -> str:
    return "(not in the source)" if column in report["columns_not_provided"] else f"{report[key]:,}"


def _schema_section(changes: dict) -> str:
    if not changes.get("reference"):
        return "No reference schema to compare with."
    if not changes["changed"]:
        return f"Same columns and types as the reference (`{changes['reference']}`)."
    lines = [f"Changed since the reference (`{changes['reference']}`):", ""]
    lines += [f"- appeared: `{c}` ({kind})" for c, kind in changes["added"].items()]
    lines += [f"- disappeared: `{c}` (was {kind})" for c, kind in changes["removed"].items()]
    lines += [
        f"- type changed: `{c}` {d['from']} -> {d['to']}" for c, d in changes["retyped"].items()
    ]
    return "\n".join(lines)
