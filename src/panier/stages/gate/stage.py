"""Stage ``gate``: the model just trained (challenger) against the registry's champion, on
the same cases of the most recent window; writes the verdict (``panier.stages.gate.gate``)."""

import logging

import pandas as pd

from panier.core import io, paths
from panier.core.baskets import baskets_from_lines, split_windows
from panier.core.config import load_params
from panier.core.errors import DataError
from panier.core.evaluation import leave_one_out
from panier.core.runner import run_stage
from panier.stages.gate.gate import (
    GateRefused,
    champion_files,
    decide,
    model_figures,
    read_pointer,
    render_markdown,
)

log = logging.getLogger("panier")


def main() -> None:
    params = load_params()
    pointer = read_pointer()
    if pointer.get("stage") != params.gate.stage:
        raise DataError(
            f"{paths.CHAMPION_POINTER} records stage '{pointer.get('stage')}' but "
            f"gate.stage is '{params.gate.stage}': run `panier gate "
            "champion` to record the champion of the stage params.yaml names"
        )
    files = champion_files(pointer)
    windows = split_windows(io.read_parquet(paths.CLEAN_LINES), params.windows)
    window = getattr(windows, params.gate.window)
    if window.empty:
        raise DataError(
            f"the gate's window ({params.gate.window}) is empty: raise "
            f"windows.{params.gate.window}_days or set gate.window"
        )
    baskets = baskets_from_lines(window)
    cases = leave_one_out(baskets.as_lists(), params.evaluate.seed)
    k = params.evaluate.primary_k
    catalog = len(baskets.items)
    challenger = model_figures(
        io.read_parquet(paths.RULES), io.read_parquet(paths.ITEMS), cases, k, catalog
    )
    champion = info = None
    notes = []
    if files is not None:
        champion = model_figures(
            io.read_parquet(files["rules.parquet"]),
            io.read_parquet(files["items.parquet"]),
            cases,
            k,
            catalog,
        )
        info = {"version": pointer["champion"]["version"], "commit": pointer["champion"]["commit"]}
        trained_until = io.read_json(files["model_card.json"]).get("data", {}).get("last_timestamp")
        start = windows.current_start if params.gate.window == "current" else windows.holdout_start
        if trained_until is not None and pd.Timestamp(trained_until) > start:
            notes.append(
                f"the champion was trained on data up to {trained_until}, inside "
                f"the gate's window (from {start.isoformat()}): its figures are "
                "optimistic"
            )
    result = decide(challenger, champion, params.gate, k, info)
    result.update(
        stage=params.gate.stage,
        window=params.gate.window,
        window_start=(
            windows.current_start if params.gate.window == "current" else windows.holdout_start
        ).isoformat(),
        notes=notes,
    )
    log.info(
        "%s cases: %s (%s)", f"{len(cases):,}", result["decision"], "; ".join(result["reasons"])
    )
    io.write_json(result, paths.GATE_METRICS)
    io.write_text(render_markdown(result), paths.GATE_REPORT)
    if not result["passed"] and params.gate.fail_on_refusal:
        raise GateRefused(
            "the challenger is refused: "
            + "; ".join(result["reasons"])
            + f" (see {paths.GATE_METRICS}; gate.fail_on_refusal is true)"
        )


if __name__ == "__main__":
    run_stage("gate", main)
