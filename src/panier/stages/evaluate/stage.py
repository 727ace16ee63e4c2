"""Stage ``evaluate``: leave-one-out top-k metrics on the holdout window, against a
most-popular-items baseline."""

import logging

from panier.core import io, paths
from panier.core.baskets import baskets_from_lines, split_windows
from panier.core.config import load_params
from panier.core.errors import DataError
from panier.core.evaluation import Recommender, evaluate, leave_one_out
from panier.core.recommend import FallbackRecommender, PopularityRecommender, RuleRecommender
from panier.core.runner import run_stage
from panier.stages.evaluate.plots import metrics_by_k_table, rules_plot_table

log = logging.getLogger("panier")


def main() -> None:
    params = load_params()
    windows = split_windows(io.read_parquet(paths.CLEAN_LINES), params.windows)
    rules = io.read_parquet(paths.RULES)
    items = io.read_parquet(paths.ITEMS)
    if windows.holdout.empty:
        raise DataError("the holdout window is empty; raise windows.holdout_days")
    cases = leave_one_out(baskets_from_lines(windows.holdout).as_lists(), params.evaluate.seed)
    log.info("%s holdout cases, %s rules", f"{len(cases):,}", f"{len(rules):,}")
    ks = params.evaluate.ks
    by_rules = RuleRecommender(rules)
    by_popularity = PopularityRecommender(items.set_index("item_code")["baskets"])
    models: dict[str, Recommender] = {
        "model": FallbackRecommender(by_rules, by_popularity),
        "rules_only": by_rules,
        "popularity": by_popularity,
    }
    results = {
        name: evaluate(model, cases, ks, n_catalog=len(items)) for name, model in models.items()
    }
    metrics = {name: flat for name, (flat, _) in results.items()}
    k = params.evaluate.primary_k
    for name, flat in metrics.items():
        log.info(
            "%s: hit_rate@%d %.3f, ndcg@%d %.3f",
            name,
            k,
            flat[f"hit_rate@{k}"],
            k,
            flat[f"ndcg@{k}"],
        )
    io.write_json(metrics, paths.EVALUATE_METRICS)
    io.write_csv(
        metrics_by_k_table({name: table for name, (_, table) in results.items()}),
        paths.METRICS_BY_K_PLOT,
    )
    io.write_csv(rules_plot_table(rules), paths.RULES_PLOT)


if __name__ == "__main__":
    run_stage("evaluate", main)
