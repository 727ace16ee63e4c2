"""Stage ``drift-check``: compare the current window with the training window."""

import logging

from panier.core import io, paths
from panier.core.baskets import baskets_from_lines, split_windows
from panier.core.config import load_params
from panier.core.errors import DataError, DriftDetected
from panier.core.runner import run_stage
from panier.stages.drift_check.check import check_drift
from panier.stages.drift_check.dashboard import descriptions_of, render_dashboard
from panier.stages.drift_check.plots import PLOTS, plot_tables
from panier.stages.drift_check.reference import prepare_reference
from panier.stages.drift_check.report import render_markdown
from panier.stages.drift_check.summary import summarize_lines
from panier.stages.drift_check.window import current_window, split_rejected

log = logging.getLogger("panier")


def main() -> None:
    params = load_params()
    windows = split_windows(io.read_parquet(paths.CLEAN_LINES), params.windows)
    rejected = split_rejected(
        io.read_parquet(paths.REJECTED_LINES), windows.holdout_start, windows.current_start
    )
    rules = io.read_parquet(paths.RULES)
    items = io.read_parquet(paths.ITEMS)
    evaluated = io.read_json(paths.EVALUATE_METRICS)["model"]
    if windows.holdout.empty:
        raise DataError("the holdout window is empty; raise windows.holdout_days")
    reference = prepare_reference(
        summarize_lines(windows.train, rejected.train),
        baskets_from_lines(windows.holdout),
        rules,
        items,
        params.evaluate,
    )
    current, source = current_window(params.drift.current, windows, rejected, params.validate_)
    if current.baskets.n_baskets == 0:
        raise DataError(
            "the current window is empty; raise windows.current_days or check drift.current"
        )
    log.info(
        "current window (%s): %s baskets; reference: %s baskets",
        source["source"],
        f"{current.baskets.n_baskets:,}",
        f"{reference.train.baskets.n_baskets:,}",
    )
    result = check_drift(reference, current, params.drift, params.evaluate)
    result.windows["current"].update(source)
    k = params.evaluate.primary_k
    recomputed = result.top_k["metrics"][f"hit_rate@{k}"]["holdout"]
    if abs(recomputed - evaluated[f"hit_rate@{k}"]) > 1e-6:
        raise DataError(
            f"{paths.EVALUATE_METRICS} says hit_rate@{k} "
            f"{evaluated[f'hit_rate@{k}']:.6f} on the holdout, drift-check finds "
            f"{recomputed:.6f}: the file is stale; run dvc repro"
        )
    log.info(
        "%d tests, %d drifted: data drift %s, concept drift %s, retrain %s",
        result.tests_run,
        result.tests_drifted,
        result.data_drift,
        result.concept_drift,
        result.retrain_recommended,
    )
    for line in result.top_drifted_plain:
        log.info("  drifted: %s", line)
    tables = plot_tables(result, reference.train, current)
    io.write_text(result.to_json(), paths.DRIFT_METRICS)
    io.write_text(render_markdown(result, tables), paths.DRIFT_REPORT)
    io.write_text(render_dashboard(result, tables, descriptions_of(items)), paths.DRIFT_DASHBOARD)
    for stem in PLOTS:
        io.write_csv(tables[stem], paths.DRIFT_PLOTS / f"{stem}.csv")
    fail_on = params.drift.fail_on_drift
    if not fail_on:
        return
    flag = "drift_detected" if fail_on is True else fail_on
    if getattr(result, flag):
        found = "; ".join(result.top_drifted_plain[:3]) or "see the report"
        raise DriftDetected(
            f"{flag.replace('_', ' ')}: {found}. Details: {paths.DRIFT_REPORT}, "
            f"{paths.DRIFT_DASHBOARD} and {paths.DRIFT_METRICS}. This fails the stage because "
            f"drift.fail_on_drift is {fail_on!r}; set it to false to report without failing."
        )


if __name__ == "__main__":
    run_stage("drift-check", main)
