"""Stage ``summary``: the headline metrics (``metrics/summary.json``), the one metrics file
DVC shows; the detailed files stay beside it (docs/reference/outputs.md)."""

from panier.core import io, paths
from panier.core.config import load_params
from panier.core.runner import run_stage
from panier.stages.summary.headline import headline_metrics


def main() -> None:
    params = load_params()
    summary = headline_metrics(
        validation=io.read_json(paths.VALIDATION_METRICS),
        train=io.read_json(paths.TRAIN_METRICS),
        evaluate=io.read_json(paths.EVALUATE_METRICS),
        drift=io.read_json(paths.DRIFT_METRICS),
        gate=io.read_json(paths.GATE_METRICS),
        affinity=io.read_json(paths.AFFINITY_METRICS),
        k=params.evaluate.primary_k,
    )
    io.write_json(summary, paths.SUMMARY_METRICS)


if __name__ == "__main__":
    run_stage("summary", main)
