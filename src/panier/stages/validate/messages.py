"""What validation says to people: the one summary of rejected rows, and the messages that fail
the stage (too many rows rejected, or no data a model can be trained on), each naming the
source, the reason, its column, example rows and the fix."""

from __future__ import annotations

from panier.core import schema as S
from panier.core.config import ValidateParams
from panier.stages.validate.reasons import FIXES, RANK, REASON_COLUMNS, REASONS, column_label
from panier.stages.validate.validation import REASON_COLUMN, ROW_COLUMN, ValidationResult

REJECTED_FILE = "data/validated/rejected.parquet"
REPORT_FILE = "metrics/validation.md"


def example_rows(result: ValidationResult, code: str, n: int) -> tuple[str, list[str]]:
    """Source rows and a small table of original values for ``code``: the reason's column
    beside the invoice and item, so the row can be found in the source."""
    sample = result.rejected[result.rejected[REASON_COLUMN] == code].head(n)
    rows = ", ".join(str(r) for r in sample[ROW_COLUMN])
    focus = REASON_COLUMNS[code]
    shown = [c for c in (S.MALFORMED,) if code == "malformed_row" and c in sample.columns]
    if not shown:
        shown = [c for c in dict.fromkeys([S.INVOICE, S.ITEM, focus]) if c in sample.columns]
        if code == "duplicate_row":
            shown = [c for c in S.COLUMNS if c in sample.columns]
    table = sample[[ROW_COLUMN, *shown]].to_string(index=False, max_colwidth=60).splitlines()
    return rows, table


def rejected_summary(report: dict) -> str:
    """The one statement of how much was rejected, used alike by the log, the Markdown report
    and the failure message: every rejected row over every row in, whatever its limit."""
    return (
        f"{report['rows_rejected']:,} of {report['rows_in']:,} rows rejected "
        f"({report['rejected_share']:.2%})"
    )


def rejection_error(
    result: ValidationResult, params: ValidateParams | float, examples: int = 3
) -> str | None:
    """The message that fails the stage when too many rows are rejected, else ``None``.

    Reasons with their own limit (``validate.max_rejected_share_by_reason``) are judged
    against it alone; all other reasons together against ``validate.max_rejected_share``.
    The message names the source, each offending reason with its column, a few example rows
    (with their original values) and the fix.
    """
    if isinstance(params, float | int):
        params = ValidateParams(max_rejected_share=params)
    report = result.report
    rows_in = max(report["rows_in"], 1)
    by_reason = report["rejected_by_reason"]
    own = params.max_rejected_share_by_reason
    breaches: list[tuple[str, list[str]]] = []
    pooled = {code: n for code, n in by_reason.items() if code not in own and n}
    pooled_total = sum(pooled.values())
    if pooled_total / rows_in > params.max_rejected_share:
        if pooled_total == report["rows_rejected"]:
            head = f"above validate.max_rejected_share ({params.max_rejected_share:.2%})"
        else:
            head = (
                f"{pooled_total:,} of them ({pooled_total / rows_in:.2%} of all rows; the "
                "others have their own limit in validate.max_rejected_share_by_reason) "
                f"count towards validate.max_rejected_share "
                f"({params.max_rejected_share:.2%}), above it"
            )
        breaches.append((head, sorted(pooled, key=lambda c: (-pooled[c], RANK[c]))[:3]))
    for code, limit in own.items():
        if by_reason.get(code, 0) / rows_in > limit:
            head = (
                f"{by_reason[code]:,} of them rejected as {code} "
                f"({by_reason[code] / rows_in:.2%} of all rows), above "
                f"validate.max_rejected_share_by_reason.{code} ({limit:.2%})"
            )
            breaches.append((head, [code]))
    if not breaches:
        return None
    lines = [f"{report['source']}: {rejected_summary(report)}."]
    for head, codes in breaches:
        if head.startswith("above") and len(lines) == 1:  # every rejected row counted: one line
            lines[0] = f"{lines[0][:-1]}, {head}."
        else:
            lines.append(f"  {head[0].upper()}{head[1:]}.")
        for code in codes:
            rows, table = example_rows(result, code, examples)
            lines.append(
                f"  {code}: {by_reason[code]:,} rows with {REASONS[code]}, column "
                f"{column_label(report, code)}, e.g. source rows {rows}:"
            )
            lines.extend("      " + line for line in table)
            lines.append(f"    fix: {FIXES[code]}")
    lines.append(
        f"Or raise the limit in params.yaml if these rows are expected. Every rejected row: "
        f"{REJECTED_FILE}; summary: {REPORT_FILE}."
    )
    return "\n".join(lines)


def dataset_error(result: ValidationResult) -> str | None:
    """A message when the clean data cannot train a model at all, else ``None``."""
    report = result.report
    if report["rows_clean"] == 0:
        return (
            f"{report['source']}: no row passed validation ({report['rows_in']:,} rows "
            f"in); see {REPORT_FILE} for the reasons."
        )
    if report["invoices_multi_item"] == 0:
        return (
            f"{report['source']}: every one of the {report['invoices_clean']:,} clean "
            "invoices holds a single distinct item, so there are no associations to mine. "
            "Check the column mapped to invoice_id (ingest.mapping.columns.invoice_id): it "
            "must group the lines of one purchase, not number each line."
        )
    return None
