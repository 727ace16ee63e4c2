"""``metrics/validation.md``: the validation report people read, rendered from
``templates/validation.md``; this module works out what the template shows."""

from __future__ import annotations

from panier.core import markdown
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
    own = params.max_rejected_share_by_reason
    applies = (
        f"the reasons without a limit of their own in "
        f"validate.max_rejected_share_by_reason "
        f"({', '.join(f'{c} {v:.2%}' for c, v in own.items())})"
        if own
        else "all of them"
    )
    counts = [
        ("clean invoices", f"{report['invoices_clean']:,}"),
        ("clean invoices with 2+ items", f"{report['invoices_multi_item']:,}"),
        ("distinct items", f"{report['items_clean']:,}"),
        (
            "guest checkouts (invoices without customer id, kept)",
            _count(report, S.CUSTOMER, "invoices_without_customer"),
        ),
        (
            "clean rows without description (kept)",
            _count(report, S.DESCRIPTION, "clean_rows_without_description"),
        ),
        (
            f"invoices over {BIG_BASKET_ITEMS} distinct items (kept; train.max_basket_items "
            "leaves big ones out of mining only)",
            f"{report.get('invoices_over_100_items', 0):,}",
        ),
    ]
    if params.max_basket_items is not None:
        counts.append(
            (
                f"invoices over validate.max_basket_items ({params.max_basket_items}, rejected)",
                f"{report['invoices_too_large']:,}",
            )
        )
    rejected = {code: count for code, count in report["rejected_by_reason"].items() if count}
    by_reason = [
        (
            f"`{code}`",
            column_label(report, code),
            f"{count:,}",
            f"{count / rows_in:.2%}",
            REASONS[code],
        )
        for code, count in rejected.items()
    ]
    if not report["rows_rejected"]:
        by_reason.append(("(none)", "", "0", "0.00%", ""))
    text = markdown.render(
        __package__,
        "validation.md",
        report=report,
        params=params,
        applies=applies,
        summary=rejected_summary(report),
        counts=counts,
        by_reason=by_reason,
        reasons=[
            (code, FIXES[code], "\n".join(example_rows(result, code, examples)[1]))
            for code in rejected
        ],
        schema_section=None if schema_changes is None else _schema_section(schema_changes),
        verdict=rejection_error(result, params) or dataset_error(result),
    )
    return text.rstrip() + "\n"


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
