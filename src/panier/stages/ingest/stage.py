"""Stage ``ingest``: write the canonical line-item table from the configured source, and a
record of what was read (with a content fingerprint) beside it."""

import logging

import numpy as np

from panier.core import io, paths
from panier.core import schema as S
from panier.core.config import load_params
from panier.core.mapping import apply_mapping, preset_name, resolve_mapping
from panier.core.runner import run_stage
from panier.stages.ingest.generate import generate_line_items
from panier.stages.ingest.sources import read_source

log = logging.getLogger("panier")


def main() -> None:
    params = load_params().ingest
    if params.source == "generator":
        log.info("source: generator (seed %d)", params.generator.seed)
        lines = generate_line_items(params.generator)
        lines[S.SOURCE_ROW] = np.arange(1, len(lines) + 1, dtype=np.int64)  # row numbers
        info = {
            "kind": "generator",
            "seed": params.generator.seed,
            "sha256": io.fingerprint(lines.drop(columns=S.SOURCE_ROW)),
            "rows": len(lines),
        }
    else:
        log.info(
            "source: %s %s",
            params.source,
            params.path if params.source != "sql" else params.sql.table or "query",
        )
        data = read_source(params)
        mapping = resolve_mapping(params)
        lines = apply_mapping(data.frame, mapping, data.info["location"])
        info = {**data.info, "mapping_preset": preset_name(params), "mapping": mapping}
    log.info(
        "%s line items on %s invoices", f"{len(lines):,}", f"{lines['invoice_id'].nunique():,}"
    )
    io.write_parquet(lines, paths.RAW_LINES)
    io.write_json(info, paths.SOURCE_INFO)


if __name__ == "__main__":
    run_stage("ingest", main)
