"""The Spark session the spark engines share (``train.engine`` and ``validate.engine``), from
``train.spark``'s settings. pyspark is imported only when a session is made."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, Row, SparkSession


def aggregate(frame: DataFrame, *columns: Column) -> Row:
    """``frame.agg(*columns).first()``: an aggregate without groups always has one row."""
    row = frame.agg(*columns).first()
    assert row is not None, "an aggregate without groups has one row"
    return row


def java_available() -> bool:
    """Whether a Java runtime for Spark can be found (``JAVA_HOME`` or ``java`` on PATH)."""
    home = os.environ.get("JAVA_HOME")
    return bool(home and os.path.exists(os.path.join(home, "bin", "java"))) or bool(
        shutil.which("java")
    )


_LOCAL_DEFAULTS = {
    # Local mode serves this machine only: stay on the loopback interface, no web UI.
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
    "spark.ui.enabled": "false",
}
_DEFAULTS = {
    "spark.app.name": "panier-train",
    "spark.ui.showConsoleProgress": "false",
}


def spark_session(settings: Mapping[str, Any], app: str = "panier-train") -> SparkSession:
    """The Spark session for ``settings`` (``master``, ``conf``): started on first use and
    reused by later calls in this process (Spark allows one per process). ``app`` names the
    application in the cluster's UI."""
    from pyspark.sql import SparkSession

    master = str(settings.get("master", "local[*]"))
    conf = dict(_DEFAULTS) | {"spark.app.name": app}
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        conf.update(_LOCAL_DEFAULTS)
        conf["spark.sql.shuffle.partitions"] = str(os.cpu_count() or 2)
    conf.update({key: str(value) for key, value in dict(settings.get("conf") or {}).items()})
    builder = SparkSession.builder.master(master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def stop_spark() -> None:
    """Stop this process's Spark session, if one was started (a no-op otherwise)."""
    if importlib.util.find_spec("pyspark") is None:
        return
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()
