"""Stage ``drift-check``: compare the current window with the training window."""

import logging

from panier import io, paths
from panier.baskets import split_windows
from panier.config import load_params
from panier.drift import check_drift
from panier.errors import DataError, DriftDetected
from panier.stages._runner import run_stage

log = logging.getLogger("panier")


def main() -> None:
    params = load_params()
    windows = split_windows(io.read_parquet(paths.CLEAN_LINES), params.windows)
    rules = io.read_parquet(paths.RULES)
    items = io.read_parquet(paths.ITEMS)
    holdout_metrics = io.read_json(paths.EVALUATE_METRICS)["model"]
    if windows.current.empty:
        raise DataError("the current window is empty; raise windows.current_days")
    report = check_drift(windows.train, windows.holdout, windows.current, rules, items,
                         holdout_metrics, params.evaluate, params.drift)
    log.info("%d tests, %d drifted: data drift %s, concept drift %s", report["tests_run"],
             report["tests_drifted"], report["data_drift"], report["concept_drift"])
    for name in report["top_drifted"]:
        log.info("  drifted: %s", name)
    io.write_json(report, paths.DRIFT_METRICS)
    if report["drift_detected"] and params.drift.fail_on_drift:
        raise DriftDetected(
            "drift detected (" + "; ".join(report["top_drifted"][:3]) + "); see "
            f"{paths.DRIFT_METRICS}. Set drift.fail_on_drift: false to report without failing."
        )


if __name__ == "__main__":
    run_stage("drift-check", main)
