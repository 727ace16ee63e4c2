"""Mining that would explode stops with one message naming train.min_support and
train.max_len, before mining where an estimate from the item supports can tell; big
baskets are left out of mining only, and counted; generator sizes are bounded by the schema."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd
import pytest

from panier.core import schema as S
from panier.core.baskets import (
    baskets_from_lines,
    baskets_from_lists,
    leave_out_big_baskets,
    min_count,
)
from panier.core.config import parse_params
from panier.core.errors import ConfigError
from panier.stages.train.mining import MiningTooLarge, frequent_itemsets, itemset_bound


def exploding_baskets() -> list[list[str]]:
    """40 identical baskets of 30 items among 200 small ones: at a support of one basket,
    every one of the 2^30 - 1 subsets of the big basket is frequent."""
    rng = np.random.default_rng(0)
    big = [f"B{i:02d}" for i in range(30)]
    small = [[f"I{j}" for j in rng.choice(50, 3, replace=False)] for _ in range(200)]
    return [big] * 40 + small


def test_an_exploding_configuration_stops_before_mining_naming_support_and_max_len():
    baskets = baskets_from_lists(exploding_baskets())
    started = time.perf_counter()
    with pytest.raises(MiningTooLarge) as caught:
        frequent_itemsets(baskets, 1e-9, None, max_itemsets=1_000_000)
    assert time.perf_counter() - started < 10  # an estimate, not a run of 2^30 itemsets
    message = str(caught.value)
    assert "\n" not in message
    assert "train.min_support" in message and "train.max_len" in message
    assert "1,073,741,823" in message  # 2^30 - 1: the 30-item set and all its parts
    assert "set train.max_len (now null" in message


def test_the_same_data_mines_when_the_settings_are_sane():
    baskets = baskets_from_lists(exploding_baskets())
    guarded = frequent_itemsets(baskets, 0.15, 3, max_itemsets=1_000_000)
    plain = frequent_itemsets(baskets, 0.15, 3)
    pd.testing.assert_frame_equal(guarded, plain)
    assert len(guarded) == 30 + 435 + 4060  # every 1-, 2- and 3-subset of the big basket


def test_a_count_over_the_limit_found_while_mining_is_refused_too():
    # The cheap bound cannot rule it out: the itemsets (75) are counted without being kept.
    baskets = baskets_from_lists(
        [["a", "b", "c"], ["d", "e", "f"], ["g", "h", "i"]] * 5
        + [["a", "d", "g"], ["b", "e", "h"]] * 5
    )
    with pytest.raises(MiningTooLarge, match=r"train.max_itemsets \(20\)"):
        frequent_itemsets(baskets, 0.01, 3, max_itemsets=20)


def test_without_pyfim_the_count_streams_from_mlxtend_and_stops_past_the_limit(monkeypatch):
    from panier.stages.train import engines

    monkeypatch.setattr(engines, "installed", lambda name: name == "mlxtend")
    baskets = baskets_from_lists(exploding_baskets())
    with pytest.raises(MiningTooLarge, match="at least 1,001 frequent itemsets"):
        frequent_itemsets(baskets, 0.15, 3, max_itemsets=1_000, engine="mlxtend")
    with pytest.raises(MiningTooLarge, match="1,073,741,823"):  # FPMax finds the 30-item set
        frequent_itemsets(baskets, 1e-9, None, max_itemsets=1_000, engine="mlxtend")


@pytest.mark.parametrize("seed", range(5))
def test_the_estimate_is_an_upper_bound_and_the_longest_itemset_is_not_longer(seed):
    rng = np.random.default_rng(seed)
    transactions = [
        [f"i{j}" for j in rng.choice(12, rng.integers(1, 9), replace=False)] for _ in range(60)
    ]
    baskets = baskets_from_lists(transactions)
    for support, max_len in itertools.product([0.05, 0.1, 0.3], [2, 3, None]):
        found = frequent_itemsets(baskets, support, max_len)
        threshold = min_count(support, baskets.n_baskets)
        frequent = np.flatnonzero(baskets.item_counts() >= threshold)
        matrix = baskets.matrix[:, frequent]
        sizes = np.diff(matrix.indptr)
        longest, bound = itemset_bound(
            sizes[sizes > 0], len(frequent), threshold, max_len, cap=10**9
        )
        assert len(found) <= bound
        assert found["size"].max() <= longest if len(found) else True


def test_max_len_null_means_no_length_limit():
    params = parse_params({"train": {"max_len": None}})
    assert params.train.max_len is None
    baskets = baskets_from_lists([list("abcdef")] * 5 + [list("ab")] * 5)
    found = frequent_itemsets(
        baskets, 0.5, params.train.max_len, max_itemsets=params.train.max_itemsets
    )
    assert found["size"].max() == 6 and len(found) == 63


def test_big_baskets_are_left_out_of_mining_and_counted():
    rows = [("1", "a"), ("1", "b"), ("2", "a"), ("2", "c")]
    rows += [("3", f"x{i}") for i in range(5)]
    lines = pd.DataFrame(rows, columns=[S.INVOICE, S.ITEM])
    kept, big = leave_out_big_baskets(lines, max_items=4)
    assert set(kept[S.INVOICE]) == {"1", "2"}
    assert big.report() == {
        "max_basket_items": 4,
        "baskets_left_out_of_mining": 1,
        "rows_left_out_of_mining": 5,
    }
    assert baskets_from_lines(kept).n_baskets == 2
    everything, none = leave_out_big_baskets(lines, max_items=None)
    assert len(everything) == len(lines) and none.baskets == none.rows == 0


@pytest.mark.parametrize(
    "generator, key",
    [
        ({"n_invoices": 1e13}, "ingest.generator.n_invoices"),
        ({"n_invoices": 10**13}, "ingest.generator.n_invoices"),
        ({"n_items": 10**12}, "ingest.generator.n_items"),
        ({"n_invoices": 4_000_000, "mean_basket_size": 50.0}, "mean_basket_size"),
    ],
)
def test_generator_sizes_are_bounded_by_the_schema(generator, key):
    with pytest.raises(ConfigError, match=key):
        parse_params({"ingest": {"generator": generator}})


def test_an_absurd_support_fails_the_train_stage_with_one_message(tmp_path, monkeypatch, capsys):
    """The whole train stage on generated data at train.min_support 1e-9 (one basket):
    exit 1, one message, no traceback, no model written."""
    import yaml

    from panier.core import io, paths
    from panier.core.config import GeneratorParams
    from panier.core.runner import run_stage
    from panier.stages.ingest.generate import generate_line_items
    from panier.stages.train import stage as train

    monkeypatch.chdir(tmp_path)
    lines = generate_line_items(
        GeneratorParams(n_invoices=3000, mean_basket_size=12.0, dirty_share=0.0)
    )
    io.write_parquet(lines.dropna(subset=[S.ITEM]).astype(S.DTYPES), paths.CLEAN_LINES)
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump({"train": {"min_support": 1e-9, "max_len": None}})
    )
    capsys.readouterr()  # only what the stage prints
    with pytest.raises(SystemExit) as exited:
        run_stage("train", train.main, argv=[])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    failure = [line for line in err.splitlines() if line.startswith("train failed:")]
    assert len(failure) == 1 and "train.min_support" in failure[0]
    assert "Traceback" not in err
    assert not (tmp_path / paths.RULES).exists()
