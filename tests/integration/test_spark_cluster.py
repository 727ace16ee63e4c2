"""The spark engine on a real Spark standalone cluster (a master and two workers on
127.0.0.1, tests/support/servers.py), reached by params only: the train stage gives the same model
files, byte for byte, as the pyfim engine on the public retail data."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from panier.core import io
from support.repos import ROOT, tool_env

pytestmark = pytest.mark.slow  # JVMs: a master, two workers, a driver and two executors

MODEL_FILES = [
    "models/rules.parquet",
    "models/items.parquet",
    "models/model_card.json",
    "metrics/train.json",
]


def clean_lines_from_baskets(path: Path) -> pd.DataFrame:
    """A FIMI file as the validated line-item table, every basket in the training window:
    the baskets on one day, and one later invoice alone in the current window."""
    invoice, items = [], []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            for item in dict.fromkeys(line.split()):
                invoice.append(f"{number:07d}")
                items.append(item)
    invoice.append("9999999")
    items.append("~last-invoice")
    n = len(invoice)
    stamps = pd.Series(pd.Timestamp("2024-01-01"), index=range(n))
    stamps.iloc[-1] = pd.Timestamp("2024-12-31")
    return pd.DataFrame(
        {
            "invoice_id": pd.Series(invoice, dtype="str"),
            "timestamp": stamps.astype("datetime64[ns]"),
            "customer_id": pd.Series(["c1"] * n, dtype="str"),
            "country": pd.Series(["United Kingdom"] * n, dtype="str"),
            "item_code": pd.Series(items, dtype="str"),
            "description": pd.Series(items, dtype="str"),
            "quantity": pd.Series([1] * n, dtype="int64"),
            "unit_price": pd.Series([1.0] * n, dtype="float64"),
        }
    )


@pytest.fixture(scope="module")
def retail_workdir(shared_data, tmp_path_factory) -> Path:
    """A folder with retail.dat as ``data/validated/clean.parquet`` and the repository's
    params at support 0.001, confidence 0.8."""
    workdir = tmp_path_factory.mktemp("retail")
    io.write_parquet(
        clean_lines_from_baskets(shared_data / "retail.dat.gz"),
        workdir / "data/validated/clean.parquet",
    )
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["train"].update(min_support=0.001, min_confidence=0.8, max_len=10)
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return workdir


def train(workdir: Path, name: str, train_params: dict) -> tuple[Path, str]:
    """The train stage as DVC runs it, on a copy of ``workdir`` with ``train_params`` over
    params.yaml's ``train`` section; returns the copy and the stage's log."""
    copy = workdir.parent / name
    shutil.copytree(workdir, copy)
    params_file = copy / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    params["train"].update(train_params)
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    result = subprocess.run(
        [sys.executable, "-m", "panier.stages.train.stage"],
        cwd=copy,
        env=tool_env() | {"SPARK_LOCAL_IP": "127.0.0.1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return copy, result.stderr


def test_a_standalone_cluster_mines_the_711_retail_rules_to_the_byte_of_pyfim(
    retail_workdir, spark_cluster
):
    pyfim, _ = train(retail_workdir, "pyfim", {"engine": "pyfim"})
    cluster, log = train(
        retail_workdir,
        "cluster",
        {
            "engine": "spark",
            "spark": {
                "master": spark_cluster.master,
                # A driver on a cluster's network would advertise its routable address; here the
                # whole cluster is on the loopback interface.
                "conf": {
                    "spark.driver.host": "127.0.0.1",
                    "spark.driver.bindAddress": "127.0.0.1",
                    "spark.executor.memory": "1g",
                    "spark.ui.enabled": "false",
                },
            },
        },
    )
    assert "mining with engine spark" in log
    assert "88,162 baskets" in log and "711 rules" in log
    for rel in MODEL_FILES:
        assert (cluster / rel).read_bytes() == (pyfim / rel).read_bytes(), rel
    # The work ran on the cluster: each worker launched an executor for the train stage.
    for number in (1, 2):
        worker_log = (spark_cluster.root / f"worker-{number}.log").read_text()
        assert "Asked to launch executor" in worker_log and "panier-train" in worker_log
