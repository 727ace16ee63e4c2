"""Stage ``affinity``: product affinity groups of the trained model, and the rules explorer."""

import logging

from panier.core import io, paths
from panier.core.baskets import baskets_from_lines, min_count, split_windows
from panier.core.config import load_params
from panier.core.errors import DataError
from panier.core.runner import run_stage
from panier.stages.affinity import groups as affinity
from panier.stages.affinity.explorer import render_explorer
from panier.stages.affinity.summaries import groups_json, summary_markdown

log = logging.getLogger("panier")


def main() -> None:
    params = load_params()
    cfg = params.affinity
    rules = io.read_parquet(paths.RULES)
    items = io.read_parquet(paths.ITEMS)
    lines = io.read_parquet(paths.CLEAN_LINES)
    train = split_windows(lines, params.windows).train
    if train.empty:
        raise DataError(
            f"{paths.CLEAN_LINES}: the training window is empty; shorten "
            "windows.current_days or windows.holdout_days in params.yaml"
        )
    baskets = baskets_from_lines(train)
    n = baskets.n_baskets
    pair_support = cfg.min_pair_support or params.train.min_support
    settings = affinity.AffinitySettings(
        min_pair_count=min_count(pair_support, n),
        min_phi=cfg.min_phi,
        resolution=cfg.resolution,
        seed=cfg.seed,
        min_group_size=cfg.min_group_size,
        top_rules=cfg.top_rules,
        neighbours=cfg.neighbours,
    )
    result = affinity.build_groups(
        baskets, items, rules, settings, min_item_count=min_count(params.train.min_support, n)
    )
    log.info(
        "%s products, %s edges: %s groups",
        f"{result.summary['nodes']:,}",
        f"{result.summary['edges']:,}",
        result.summary["groups"],
    )
    io.write_parquet(result.items, paths.AFFINITY_ITEMS)
    io.write_json(groups_json(result, settings), paths.AFFINITY_GROUPS)
    io.write_text(summary_markdown(result), paths.AFFINITY_REPORT)
    io.write_text(render_explorer(rules, result, seed=cfg.seed), paths.AFFINITY_EXPLORER)
    io.write_json(result.summary, paths.AFFINITY_METRICS)


if __name__ == "__main__":
    run_stage("affinity", main)
