"""Stage ``train``: mine association rules from the training window's baskets."""

import logging
import time

from panier.core import io, paths
from panier.core.baskets import (
    BigBaskets,
    baskets_from_lines,
    leave_out_big_baskets,
    min_count,
    split_windows,
)
from panier.core.config import load_params
from panier.core.errors import DataError
from panier.core.runner import run_stage
from panier.stages.train import engines, timing
from panier.stages.train.mining import association_rules, frequent_itemsets
from panier.stages.train.model import describe_items, model_card

log = logging.getLogger("panier")


def main() -> None:
    started = time.perf_counter()
    params = load_params()
    cfg = params.train
    engine = engines.resolve(cfg.engine)  # fail before reading data if it cannot run
    lines = io.read_parquet(paths.CLEAN_LINES)
    train = split_windows(lines, params.windows).train
    if train.empty:
        raise DataError(
            f"{paths.CLEAN_LINES}: the training window is empty; shorten "
            "windows.current_days or windows.holdout_days in params.yaml"
        )
    every_basket = baskets_from_lines(train)
    baskets, big = every_basket, BigBaskets(cfg.max_basket_items, 0, 0)
    if cfg.max_basket_items is not None and (every_basket.sizes() > cfg.max_basket_items).any():
        mined_lines, big = leave_out_big_baskets(train, cfg.max_basket_items)
        baskets = baskets_from_lines(mined_lines)
        log.info(
            "%s baskets (%s line items) with more than %d distinct items left out of "
            "mining (train.max_basket_items); they stay in evaluation and drift-check",
            f"{big.baskets:,}",
            f"{big.rows:,}",
            cfg.max_basket_items,
        )
    log.info(
        "%s baskets, %s items; support >= %d baskets, confidence >= %s",
        f"{baskets.n_baskets:,}",
        f"{len(baskets.items):,}",
        min_count(cfg.min_support, baskets.n_baskets),
        cfg.min_confidence,
    )
    try:
        itemsets = frequent_itemsets(
            baskets,
            cfg.min_support,
            cfg.max_len,
            engine=engine,
            spark=cfg.spark.model_dump(),
            max_itemsets=cfg.max_itemsets,
        )
    finally:
        if engine == "spark":
            engines.stop_spark()
    rules = association_rules(itemsets, baskets.n_baskets, cfg.min_confidence)
    log.info("%s frequent itemsets, %s rules", f"{len(itemsets):,}", f"{len(rules):,}")
    card = model_card(train, baskets, itemsets, rules, params)
    card["counts"].update(big.report())
    io.write_parquet(rules, paths.RULES)
    # Item popularity (the serving fallback) counts every basket, big ones too.
    io.write_parquet(describe_items(train, every_basket), paths.ITEMS)
    io.write_json(card, paths.MODEL_CARD)
    io.write_json(card["counts"], paths.TRAIN_METRICS)
    # Which engine ran and how long it took are facts of this run, not of the model: they
    # go to the experiment's timing file only, never into the outputs above.
    timing.record("train", time.perf_counter() - started, engine=engine)


if __name__ == "__main__":
    run_stage("train", main)
