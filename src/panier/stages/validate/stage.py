"""Stage ``validate``: split line items into clean and rejected rows, with a report (JSON and
Markdown) and the input's observed schema compared with the committed reference."""

import logging

from panier.core import io, paths
from panier.core.config import load_params
from panier.core.errors import DataError
from panier.core.mapping import not_provided, resolve_mapping
from panier.core.redact import source_label
from panier.core.runner import run_stage
from panier.stages.validate import input_schema
from panier.stages.validate.messages import dataset_error, rejected_summary, rejection_error
from panier.stages.validate.report import render_markdown
from panier.stages.validate.validation import BIG_BASKET_ITEMS, validate_line_items

log = logging.getLogger("panier")


def main() -> None:
    all_params = load_params()
    params, ingest = all_params.validate_, all_params.ingest
    if params.engine == "spark":
        # Imported here: pyspark only when this engine runs. It writes the tables itself.
        from panier.stages.validate.spark_stage import validate_on_spark

        result, observed = validate_on_spark(
            all_params, source_label(ingest), not_provided(ingest), resolve_mapping(ingest)
        )
    else:
        lines = io.read_parquet(paths.RAW_LINES)
        result = validate_line_items(
            lines,
            params,
            source=source_label(ingest),
            parsing=ingest.parsing,
            not_provided=not_provided(ingest),
            source_columns=resolve_mapping(ingest),
        )
        observed = input_schema.observe(lines)
    report = result.report
    log.info(
        "%s; %s clean; %s clean invoices (baskets), %s of them with 2+ items, %s with "
        "over %d distinct items (kept)",
        rejected_summary(report),
        f"{report['rows_clean']:,}",
        f"{report['invoices_clean']:,}",
        f"{report['invoices_multi_item']:,}",
        f"{report['invoices_over_100_items']:,}",
        BIG_BASKET_ITEMS,
    )
    for code, count in report["rejected_by_reason"].items():
        if count:
            log.info("  rejected %s: %s", code, f"{count:,}")

    changes = input_schema.compare(
        input_schema.read_reference(input_schema.REFERENCE), observed, str(input_schema.REFERENCE)
    )
    report["schema_changes"] = changes
    if changes["changed"]:
        log.warning("input schema changed: %s", input_schema.describe(changes))

    # Written even when the stage fails, so that the rejected rows can be inspected.
    if params.engine == "pandas":
        io.write_parquet(result.clean, paths.CLEAN_LINES)
        io.write_parquet(result.rejected, paths.REJECTED_LINES)
    io.write_json(report, paths.VALIDATION_METRICS)
    io.write_json(observed, paths.INPUT_SCHEMA)
    io.write_text(render_markdown(result, params, changes), paths.VALIDATION_REPORT)
    if changes["changed"] and params.on_schema_change == "fail":
        raise DataError(
            f"{report['source']}: the input's columns changed against "
            f"{input_schema.REFERENCE}: {input_schema.describe(changes)}. If this is intended, "
            "accept it with `panier schema accept` and commit "
            f"{input_schema.REFERENCE}; or set validate.on_schema_change: warn."
        )
    message = rejection_error(result, params) or dataset_error(result)
    if message:
        if changes["changed"]:  # often the cause: say so
            message += (
                f"\nNote: the input's columns changed against {input_schema.REFERENCE}: "
                f"{input_schema.describe(changes)}."
            )
        raise DataError(message)


if __name__ == "__main__":
    run_stage("validate", main)
