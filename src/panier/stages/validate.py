"""Stage ``validate``: split line items into clean and rejected rows, with a report."""

import logging

from panier import io, paths
from panier.config import load_params
from panier.errors import DataError
from panier.stages._runner import run_stage
from panier.validation import rejection_error, validate_line_items

log = logging.getLogger("panier")


def main() -> None:
    params = load_params().validate_
    lines = io.read_parquet(paths.RAW_LINES)
    result = validate_line_items(lines, params, source=str(paths.RAW_LINES))
    report = result.report
    log.info("%s rows in, %s clean, %s rejected (%.2f%%)", f"{report['rows_in']:,}",
             f"{report['rows_clean']:,}", f"{report['rows_rejected']:,}",
             100 * result.rejected_share)
    for code, count in report["rejected_by_reason"].items():
        if count:
            log.info("  rejected %s: %s", code, f"{count:,}")
    # Written even when the stage fails, so that the rejected rows can be inspected.
    io.write_parquet(result.clean, paths.CLEAN_LINES)
    io.write_parquet(result.rejected, paths.REJECTED_LINES)
    io.write_json(report, paths.VALIDATION_METRICS)
    message = rejection_error(result, params.max_rejected_share)
    if message:
        raise DataError(message)


if __name__ == "__main__":
    run_stage("validate", main)
