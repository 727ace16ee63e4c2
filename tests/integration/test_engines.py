"""Every mining engine gives the same itemsets and rules, to the last count: on the public
datasets, on the generator and on the edges of the thresholds. The engine chooses how fast,
never what."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import itertools
import logging
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from pandas.testing import assert_frame_equal
from scipy import sparse

from panier.core.baskets import Baskets, baskets_from_lines, baskets_from_lists, min_count
from panier.core.config import GeneratorParams, ValidateParams, parse_params
from panier.core.errors import ConfigError
from panier.stages.ingest.generate import generate_line_items
from panier.stages.train import engines
from panier.stages.train.mining import association_rules, frequent_itemsets
from panier.stages.validate.validation import validate_line_items
from support.repos import make_pipeline_repo, run

SPARK_LOCAL = {"master": "local[2]", "conf": {}}


def _engine_param(name: str, slow: bool = False):
    marks = [pytest.mark.skipif(not engines.installed(name), reason=_missing(name))]
    if slow:
        marks.append(pytest.mark.slow)
    return pytest.param(name, marks=marks, id=name)


def _missing(name: str) -> str:
    if name == "spark" and importlib.util.find_spec("pyspark") and not engines.java_available():
        return "spark engine: no Java runtime (install Java 17+ or set JAVA_HOME)"
    return f"{name} engine not installed (pip install 'panier[{name}]')"


# Spark pays a JVM start and warm-up: its runs are marked slow (they still run in CI).
ALL_ENGINES = [_engine_param("mlxtend"), _engine_param("pyfim"), _engine_param("spark", True)]


@pytest.fixture(scope="module", autouse=True)
def _stop_spark_after_the_module():
    yield
    engines.stop_spark()
    # py4j's connections log at INFO when collected at interpreter exit, after pytest has
    # closed its log streams ("--- Logging error ---"): nothing left worth hearing from it.
    logging.getLogger("py4j").setLevel(logging.WARNING)


def mine(baskets: Baskets, support: float, max_len: int | None, engine: str) -> pd.DataFrame:
    return frequent_itemsets(baskets, support, max_len, engine=engine, spark=SPARK_LOCAL)


def rule_keys(rules: pd.DataFrame) -> set[tuple[tuple[str, ...], str]]:
    return {(tuple(a), c) for a, c in zip(rules["antecedent"], rules["consequent"])}


def brute_force_counts(transactions, threshold, max_len):
    counts: dict[tuple[str, ...], int] = {}
    for basket in transactions:
        items = sorted(set(basket))
        for size in range(1, min(len(items), max_len) + 1):
            for combo in itertools.combinations(items, size):
                counts[combo] = counts.get(combo, 0) + 1
    return {k: v for k, v in counts.items() if v >= threshold}


# --- choosing an engine ----------------------------------------------------------------------


def test_auto_runs_the_fastest_installed_engine():
    expected = "pyfim" if engines.installed("pyfim") else "mlxtend"
    assert engines.resolve("auto") == expected
    assert engines.resolve("mlxtend") == "mlxtend"  # always installed
    assert "spark" not in engines.AUTO_PREFERENCE  # a JVM start outlasts a local run


def test_an_engine_that_is_not_installed_is_a_config_error_that_says_how_to_install(monkeypatch):
    monkeypatch.setitem(engines._MODULE, "pyfim", "no_such_module_for_panier_tests")
    with pytest.raises(ConfigError, match=r"pip install 'panier\[pyfim\]'"):
        engines.resolve("pyfim")
    assert engines.resolve("auto") == "mlxtend"  # auto falls back instead of failing


@pytest.mark.skipif(not engines.installed("spark"), reason=_missing("spark"))
def test_spark_without_java_is_a_config_error_naming_java(monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ConfigError, match="Java 17"):
        engines.resolve("spark")


def test_params_accept_the_engines_and_reject_a_typo():
    params = parse_params(
        {
            "train": {
                "engine": "spark",
                "spark": {"master": "spark://head:7077", "conf": {"spark.executor.memory": "8g"}},
            }
        }
    )
    assert params.train.engine == "spark"
    assert params.train.spark.master == "spark://head:7077"
    with pytest.raises(ConfigError, match=r"train\.engine"):
        parse_params({"train": {"engine": "fpgrowth"}})


def test_the_model_card_params_leave_out_how_the_model_was_computed():
    params = parse_params({"train": {"engine": "pyfim", "spark": {"master": "yarn"}}})
    # max_basket_items changes what is mined; max_itemsets only whether mining runs.
    assert params.train.model_settings() == {
        "min_support": 0.005,
        "min_confidence": 0.3,
        "max_len": 3,
        "max_basket_items": 100,
    }


# --- identical results -----------------------------------------------------------------------


@pytest.mark.parametrize("engine", ALL_ENGINES)
@pytest.mark.parametrize("seed", [0, 1])
def test_itemsets_match_brute_force_enumeration(engine, seed):
    rng = np.random.default_rng(seed)
    transactions = [
        list(rng.choice(list("abcdefgh"), size=rng.integers(1, 7), replace=False))
        for _ in range(400)
    ]
    found = mine(baskets_from_lists(transactions), 0.03, 3, engine)
    assert dict(zip(found["itemset"], found["count"])) == brute_force_counts(
        transactions, min_count(0.03, 400), 3
    )


@pytest.mark.parametrize("engine", ALL_ENGINES)
def test_thresholds_are_exact_in_every_engine(engine):
    # {a, b} in exactly 7 of 100 baskets: support 0.07 keeps it (0.07 x 100 is
    # 7.000000000000001 in floats); 6 of 100 does not make it.
    on_edge = baskets_from_lists([["a", "b"]] * 7 + [["c"]] * 93)
    assert ("a", "b") in set(mine(on_edge, 0.07, None, engine)["itemset"])
    below = baskets_from_lists([["a", "b"]] * 6 + [["c"]] * 94)
    assert ("a", "b") not in set(mine(below, 0.07, None, engine)["itemset"])
    # count(a) = 180, count(a, b) = 144: confidence exactly 0.8, which float supports miss.
    baskets = baskets_from_lists([["a", "b"]] * 144 + [["a"]] * 36 + [["b"]] * 20)
    rules = association_rules(mine(baskets, 0.01, None, engine), baskets.n_baskets, 0.8)
    assert (("a",), "b") in rule_keys(rules)


@pytest.mark.parametrize("engine", ALL_ENGINES)
def test_items_in_every_basket_and_duplicate_baskets_are_counted(engine):
    # pyfim 6.28 on its own drops the single items that are in every transaction.
    found = mine(baskets_from_lists([["a", "b", "c", "d"]] * 10), 0.5, 2, engine)
    assert found["size"].tolist() == [1] * 4 + [2] * 6
    assert (found["count"] == 10).all()
    assert {("a",), ("d",), ("a", "b"), ("c", "d")} <= set(found["itemset"])


@pytest.mark.parametrize("engine", ALL_ENGINES)
def test_max_len_and_no_frequent_item(engine):
    baskets = baskets_from_lists([list("abcde")] * 5 + [["f"]])
    assert mine(baskets, 0.5, 3, engine)["size"].max() == 3
    assert mine(baskets, 0.5, None, engine)["size"].max() == 5
    assert mine(baskets_from_lists([["a"], ["b"], ["c"]]), 0.9, None, engine).empty


@pytest.fixture(scope="module")
def generated() -> Baskets:
    lines = generate_line_items(GeneratorParams(n_invoices=4000, n_items=300, seed=3))
    return baskets_from_lines(validate_line_items(lines, ValidateParams()).clean)


@pytest.fixture(scope="module")
def generated_reference(generated):
    itemsets = mine(generated, 0.004, 4, "mlxtend")
    return itemsets, association_rules(itemsets, generated.n_baskets, 0.2)


@pytest.mark.parametrize("engine", ALL_ENGINES)
def test_engines_agree_on_generated_data_to_the_byte(engine, generated, generated_reference):
    itemsets = mine(generated, 0.004, 4, engine)
    rules = association_rules(itemsets, generated.n_baskets, 0.2)
    assert len(generated_reference[1]) > 20  # enough rules for the comparison to mean much
    assert_frame_equal(itemsets, generated_reference[0], check_exact=True)
    assert_frame_equal(rules, generated_reference[1], check_exact=True)


# --- the public datasets ---------------------------------------------------------------------


def read_baskets(path: Path) -> Baskets:
    """A basket list (``.csv.gz``, comma-separated) or a FIMI file (space-separated)."""
    separator = "," if path.name.endswith(".csv.gz") else None
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return baskets_from_lists(line.rstrip("\n").split(separator) for line in handle)


@pytest.fixture(scope="module")
def groceries(shared_data) -> Baskets:
    return read_baskets(shared_data / "groceries.csv.gz")


@pytest.fixture(scope="module")
def retail(shared_data) -> Baskets:
    return read_baskets(shared_data / "retail.dat.gz")


@pytest.fixture(scope="module")
def t10(shared_data) -> Baskets:
    return read_baskets(shared_data / "T10I4D100K.dat.gz")


@pytest.fixture(scope="module")
def groceries_reference(groceries):
    itemsets = mine(groceries, 0.001, None, "mlxtend")
    return itemsets, association_rules(itemsets, groceries.n_baskets, 0.8)


@pytest.mark.parametrize("engine", ALL_ENGINES)
def test_every_engine_gives_the_published_410_groceries_rules(
    engine, groceries, groceries_reference
):
    itemsets = mine(groceries, 0.001, None, engine)
    assert len(itemsets) == 13492
    assert itemsets.groupby("size").size().tolist() == [157, 2981, 6831, 3137, 376, 10]
    rules = association_rules(itemsets, groceries.n_baskets, 0.8)
    assert len(rules) == 410
    assert (rules["antecedent_size"] + 1).value_counts().sort_index().to_dict() == {
        3: 29,
        4: 229,
        5: 140,
        6: 12,
    }
    assert_frame_equal(itemsets, groceries_reference[0], check_exact=True)
    assert_frame_equal(rules, groceries_reference[1], check_exact=True)


RETAIL_ENGINES = [
    _engine_param("mlxtend", slow=True),
    _engine_param("pyfim"),
    _engine_param("spark", slow=True),
]


@pytest.fixture(scope="module")
def retail_reference(retail):
    itemsets = mine(retail, 0.001, None, "auto")
    return itemsets, association_rules(itemsets, retail.n_baskets, 0.8)


@pytest.mark.parametrize("engine", RETAIL_ENGINES)
def test_every_engine_gives_the_711_retail_rules(engine, retail, retail_reference):
    itemsets = mine(retail, 0.001, None, engine)
    assert itemsets.groupby("size").size().tolist() == [2117, 3260, 1794, 382, 36]
    rules = association_rules(itemsets, retail.n_baskets, 0.8)
    assert len(rules) == 711
    # A rule on the threshold: its count is exactly 0.8 x its antecedent's count.
    assert (rules["count"] * 5 == rules["antecedent_count"] * 4).any()
    assert_frame_equal(itemsets, retail_reference[0], check_exact=True)
    assert_frame_equal(rules, retail_reference[1], check_exact=True)


@pytest.mark.parametrize(("support", "expected"), [(0.01, 159), (0.005, 580), (0.0025, 1882)])
def test_retail_itemset_counts(retail, support, expected):
    assert len(mine(retail, support, None, "auto")) == expected


@pytest.mark.slow
@pytest.mark.parametrize(
    ("support", "expected"), [(0.01, 385), (0.005, 1073), (0.0025, 7703), (0.001, 27532)]
)
def test_t10i4d100k_itemset_counts(t10, support, expected):
    auto = mine(t10, support, None, "auto")
    assert len(auto) == expected
    if support == 0.005:  # one cross-check: mlxtend's pure-Python growth is slow
        assert_frame_equal(mine(t10, support, None, "mlxtend"), auto, check_exact=True)


# --- memory follows the data -----------------------------------------------------------------


def test_mlxtend_engine_never_builds_a_dense_basket_matrix():
    # 40,000 baskets x 20,000 frequent items: a dense bool copy alone is 800 MB; the sparse
    # data is about 1 MB.
    rng = np.random.default_rng(0)
    n_baskets, n_items, per_basket = 40_000, 20_000, 4
    rows = np.repeat(np.arange(n_baskets), per_basket)
    cols = (np.arange(n_baskets * per_basket) * 7919) % n_items
    rng.shuffle(cols)
    matrix = sparse.csr_matrix(
        (np.ones(len(rows), dtype=bool), (rows, cols)), shape=(n_baskets, n_items)
    )
    matrix.sum_duplicates()
    matrix.sort_indices()
    baskets = Baskets(np.array([f"i{i:05d}" for i in range(n_items)], dtype=object), matrix)
    tracemalloc.start()
    try:
        found = frequent_itemsets(baskets, 2 / n_baskets, 2, engine="mlxtend")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (found["size"] == 1).sum() == n_items
    assert peak < 200e6, f"peak {peak / 1e6:.0f} MB: something densified the baskets"


# --- under DVC: the engine never changes an output -------------------------------------------

OUTPUTS = [
    "models/rules.parquet",
    "models/items.parquet",
    "models/model_card.json",
    "metrics/train.json",
    "metrics/evaluate.json",
    "metrics/drift.json",
]


def _digests(repo: Path) -> dict[str, str]:
    return {rel: hashlib.sha256((repo / rel).read_bytes()).hexdigest() for rel in OUTPUTS}


def _set_engine(repo: Path, engine: str) -> None:
    params_file = repo / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    params["train"]["engine"] = engine
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def mlxtend_repo(tmp_path_factory) -> tuple[Path, dict[str, str], dict]:
    """A small repository after ``dvc repro`` with the mlxtend engine: its output digests and
    its lock's train outputs."""
    repo = make_pipeline_repo(
        tmp_path_factory.mktemp("engines"), {"train": {"engine": "mlxtend", "min_support": 0.01}}
    )
    run(["dvc", "repro"], repo)
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return repo, _digests(repo), lock["stages"]["train"]["outs"]


# In this order, on one repository: each switch is from the engine before.
@pytest.mark.slow
@pytest.mark.parametrize("engine", [_engine_param("pyfim"), _engine_param("spark")])
def test_switching_engine_retrains_to_identical_outputs_and_skips_what_follows(
    engine, mlxtend_repo
):
    repo, digests, train_outs = mlxtend_repo
    params_file = repo / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    params["train"].update(
        engine=engine, spark={"master": "local[1]", "conf": {"spark.driver.memory": "1g"}}
    )
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    result = run(["dvc", "repro"], repo)
    assert f"mining with engine {engine}" in result.stderr + result.stdout
    # The params changed, so DVC re-runs train, to the same model: what follows is skipped.
    assert "Running stage 'train'" in result.stdout
    assert "Stage 'evaluate' didn't change, skipping" in result.stdout
    assert "Stage 'drift-check' didn't change, skipping" in result.stdout
    assert _digests(repo) == digests
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert lock["stages"]["train"]["outs"] == train_outs
    assert not (repo / "metrics/timing.json").exists()  # plain repro records no time
