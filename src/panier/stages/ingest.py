"""Stage ``ingest``: write the canonical line-item table from the configured source."""

import logging

from panier import io, paths
from panier.config import load_params
from panier.generate import generate_line_items
from panier.stages._runner import run_stage

log = logging.getLogger("panier")


def main() -> None:
    params = load_params().ingest
    log.info("source: %s (seed %d)", params.source, params.generator.seed)
    lines = generate_line_items(params.generator)
    log.info("%s line items on %s invoices", f"{len(lines):,}",
             f"{lines['invoice_id'].nunique():,}")
    io.write_parquet(lines, paths.RAW_LINES)


if __name__ == "__main__":
    run_stage("ingest", main)
