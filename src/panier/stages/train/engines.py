"""Frequent-itemset mining engines: mlxtend, pyfim (Borgelt's FP-growth in C) and Spark MLlib.

Every engine takes the same input and gives the same answer. The input is the baskets
restricted to frequent items: a CSR matrix over item ids ``0..k-1`` with no empty rows. The
answer is every itemset of at most ``max_len`` items held by at least ``threshold`` baskets
(an integer), with its exact basket count. No engine compares a float with a threshold, so
the results are identical, and the choice of engine changes speed and memory, never output.

The compiled and JVM libraries are optional extras (``pip install 'panier[pyfim]'``,
``'panier[spark]'``) and are imported only when their engine runs.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import warnings
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import sparse

from panier.core.errors import ConfigError

# The session is shared with validate.engine: spark; kept importable from here.
from panier.core.spark import java_available, spark_session, stop_spark  # noqa: F401

log = logging.getLogger(__name__)

ENGINES = ("mlxtend", "pyfim", "spark")
#: ``auto`` runs the first installed engine of this list, the fastest first. Spark is not in
#: it: on one machine its start-up alone outlasts the other engines' whole run.
AUTO_PREFERENCE = ("pyfim", "mlxtend")
_MODULE = {"mlxtend": "mlxtend", "pyfim": "fim", "spark": "pyspark"}
_EXTRA = {"pyfim": "pyfim", "spark": "spark"}

#: Item-id tuples (ascending ids) and their basket counts, in no particular order.
Found = tuple[list[tuple[int, ...]], np.ndarray]


def installed(engine: str) -> bool:
    """Whether ``engine``'s library (and, for Spark, a Java runtime) is present."""
    if importlib.util.find_spec(_MODULE[engine]) is None:
        return False
    return engine != "spark" or java_available()


def available_engines() -> list[str]:
    """The engines that can run here, in ``ENGINES`` order."""
    return [name for name in ENGINES if installed(name)]


def resolve(engine: str) -> str:
    """The engine that runs for the setting ``engine``: ``auto`` becomes the fastest installed
    one; a named engine that is not installed is a ``ConfigError`` saying how to install it."""
    if engine == "auto":
        return next(name for name in AUTO_PREFERENCE if installed(name))
    if engine not in ENGINES:
        raise ConfigError(
            f"train.engine: unknown engine {engine!r}; choose one of auto, " + ", ".join(ENGINES)
        )
    if not installed(engine):
        if importlib.util.find_spec(_MODULE[engine]) is None:
            raise ConfigError(
                f"train.engine is {engine!r} but its library is not installed: run "
                f"pip install 'panier[{_EXTRA[engine]}]', or set train.engine: auto"
            )
        raise ConfigError(
            "train.engine is 'spark' but no Java runtime was found: install "
            "Java 17 or newer (or set JAVA_HOME), or set train.engine: auto"
        )
    return engine


def mine(
    matrix: sparse.csr_matrix,
    threshold: int,
    max_len: int | None,
    engine: str,
    spark: Mapping[str, Any] | None = None,
) -> Found:
    """Every itemset of ``matrix``'s rows held by at least ``threshold`` rows, with at most
    ``max_len`` items (``None``: no limit), found by ``engine`` (a name or ``auto``).

    ``spark`` holds the ``spark`` engine's settings: ``master`` and ``conf`` (see
    ``SparkParams``). Returns the itemsets as ascending item-id tuples and their counts."""
    name = resolve(engine)
    log.info("mining with engine %s%s", name, f" (train.engine {engine})" if engine != name else "")
    if name == "pyfim":
        found = _mine_pyfim(matrix, threshold, max_len)
    elif name == "mlxtend":
        found = _mine_mlxtend(matrix, threshold, max_len)
    else:
        found = _mine_spark(matrix, threshold, max_len, spark or {})
    itemsets, counts = found
    # The engines' contract, checked cheaply: a wrong threshold would change the model.
    if len(counts) and int(counts.min()) < threshold:
        raise AssertionError(f"engine {name} returned an itemset below the threshold")
    return itemsets, counts


def maximal_itemset_sizes(matrix: sparse.csr_matrix, threshold: int) -> np.ndarray:
    """The sizes of the maximal frequent itemsets of ``matrix``'s rows (those held by at least
    ``threshold`` rows with no frequent superset), with no length limit.

    Every frequent itemset is a subset of a maximal one, so these sizes bound how many
    frequent itemsets there are; finding them prunes what makes full mining explode (a
    frequent set of 40 items is one maximal set, not 2^40 itemsets). pyfim's FP-growth when
    installed, else mlxtend's FPMax.
    """
    if installed("pyfim"):
        import fim

        found = fim.fpgrowth(
            _pyfim_transactions(matrix), target="m", supp=-threshold, zmin=1, report="a"
        )
        return np.fromiter((len(items) for items, _ in found), dtype=np.int64, count=len(found))
    from mlxtend.frequent_patterns.fpmax import MFITree, fpmax_step

    tree, _ = _mlxtend_tree(matrix)
    sizes = [
        len(items) for _, items in fpmax_step(tree, threshold, MFITree(tree.rank), None, None, 0)
    ]
    return np.asarray(sizes, dtype=np.int64)


def count_itemsets(matrix: sparse.csr_matrix, threshold: int, max_len: int, cap: int) -> int:
    """How many itemsets of at most ``max_len`` items are held by at least ``threshold`` of
    ``matrix``'s rows, without keeping them: pyfim's pattern spectrum (counts per size, in C)
    when installed, else mlxtend's FP-growth counted as it streams and stopped past ``cap``.
    Memory stays that of the FP-tree whatever the count."""
    if installed("pyfim"):
        import fim

        spectrum = fim.fpgrowth(
            _pyfim_transactions(matrix),
            target="s",
            supp=-threshold,
            zmin=1,
            zmax=max_len,
            report="#",
        )
        return int(sum(spectrum.values()))
    from mlxtend.frequent_patterns.fpgrowth import fpg_step

    n_items = matrix.shape[1]
    tree, _ = _mlxtend_tree(matrix)
    return (
        sum(1 for _ in itertools.islice(fpg_step(tree, threshold, None, max_len, 0), cap + 1))
        if n_items
        else 0
    )


def _mlxtend_tree(matrix: sparse.csr_matrix):
    """mlxtend's FP-tree of ``matrix``'s rows, and the item ids by falling count.

    Items are relabelled by falling count, so that each row's sorted ids list the most
    frequent item first: the insertion order that keeps an FP-tree small. The tree's item
    ``i`` is the original item ``by_count[i]``."""
    from mlxtend.frequent_patterns.fpcommon import FPTree

    n_items = matrix.shape[1]
    item_counts = np.bincount(matrix.indices, minlength=n_items)
    by_count = np.argsort(-item_counts, kind="stable")
    relabel = np.empty(n_items, dtype=np.int64)
    relabel[by_count] = np.arange(n_items)
    ranked = sparse.csr_matrix(
        (matrix.data, relabel[matrix.indices], matrix.indptr), shape=matrix.shape
    )
    ranked.sort_indices()
    tree = FPTree({item: n_items - 1 - item for item in range(n_items)})
    # Identical baskets go in once, with their multiplicity.
    for row, multiplicity in Counter(map(tuple, _row_lists(ranked))).items():
        tree.insert_itemset(list(row), multiplicity)
    return tree, by_count


def _row_lists(matrix: sparse.csr_matrix) -> list[list[int]]:
    indices, indptr = matrix.indices.tolist(), matrix.indptr.tolist()
    return [indices[a:b] for a, b in itertools.pairwise(indptr)]


def _pyfim_transactions(matrix: sparse.csr_matrix) -> list[list[int]]:
    """The rows as pyfim's transactions. pyfim 6.28 never reports a single item that is in
    every transaction (its singleton goes missing, its supersets do not): one empty
    transaction more changes no count but means that no item is in every transaction."""
    return [*_row_lists(matrix), []]


def _mine_pyfim(matrix: sparse.csr_matrix, threshold: int, max_len: int | None) -> Found:
    import fim

    # A negative support is an absolute count: itemsets in at least `threshold` baskets.
    options = {"zmax": max_len} if max_len else {}
    found = fim.fpgrowth(
        _pyfim_transactions(matrix), target="s", supp=-threshold, zmin=1, report="a", **options
    )
    itemsets = [tuple(sorted(items)) for items, _ in found]
    return itemsets, np.fromiter((count for _, count in found), dtype=np.int64, count=len(found))


def _mine_mlxtend(matrix: sparse.csr_matrix, threshold: int, max_len: int | None) -> Found:
    """mlxtend's FP-tree and FP-growth, fed from the sparse matrix directly.

    ``mlxtend.frequent_patterns.fpgrowth`` first computes item supports from ``df.values``,
    a dense copy of baskets x items (1.7 GB on retail.dat at support 0.001), and reports
    supports as floats. Building its ``FPTree`` here from the CSR rows and running its
    ``fpg_step`` keeps memory to the tree and gives the integer counts themselves."""
    from mlxtend.frequent_patterns.fpgrowth import fpg_step

    tree, by_count = _mlxtend_tree(matrix)
    original = by_count.tolist()
    itemsets, counts = [], []
    for count, items in fpg_step(tree, threshold, None, max_len, 0):
        itemsets.append(tuple(sorted(original[i] for i in items)))
        counts.append(count)
    return itemsets, np.asarray(counts, dtype=np.int64)


# --- Spark -----------------------------------------------------------------------------------


def _mine_spark(
    matrix: sparse.csr_matrix, threshold: int, max_len: int | None, settings: Mapping[str, Any]
) -> Found:
    """Spark MLlib's parallel FP-growth on the cluster at ``settings['master']``.

    The driver (this process) ships the rows as Arrow batches of item ids; executors mine;
    the driver collects the frequent itemsets, which are far smaller than the baskets."""
    import pyarrow as pa
    from pyspark.ml.fpm import FPGrowth
    from pyspark.sql import functions as F

    session = spark_session(settings)
    rows = pa.ListArray.from_arrays(
        pa.array(matrix.indptr, type=pa.int64()), pa.array(matrix.indices, type=pa.int32())
    )
    with warnings.catch_warnings():
        # PySpark checks the pandas version even on this Arrow-only path.
        warnings.simplefilter("ignore", FutureWarning)
        frame = session.createDataFrame(pa.table({"items": rows}))
    # Spark keeps itemsets of count >= ceil(minSupport x rows), computed in floats: half a
    # row below the threshold lands that ceiling exactly on it.
    model = FPGrowth(itemsCol="items", minSupport=(threshold - 0.5) / matrix.shape[0]).fit(frame)
    itemsets = model.freqItemsets
    if max_len:  # MLlib's FP-growth has no length limit: cut before collecting
        itemsets = itemsets.where(F.size("items") <= max_len)
    table = itemsets.toArrow()
    found = [tuple(sorted(items)) for items in table.column("items").to_pylist()]
    return found, table.column("freq").to_numpy().astype(np.int64)
