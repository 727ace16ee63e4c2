"""The loop from serving back to drift-check: serve a model the pipeline trained, send it the
baskets of shoppers from a drifted generator, and drift-check the request log against the
training data: drift is reported, naming the planted changes. The same traffic without
planted drift reports none.

Drift-check reads the log by params alone (``drift.current.source: requests``) and runs
its basket-level tests on it: item shares and mix, basket size, rule confidences and
supports, and the share of baskets the model cannot recommend for.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
import yaml

from panier.core import schema as S
from panier.core.config import load_params
from panier.stages.ingest.generate import generate_line_items
from support.repos import make_pipeline_repo, run
from support.service_support import Service, read_log

pytestmark = pytest.mark.slow

WEAKENED_RULE = 0  # planted rule 10040 -> 10055, trained at confidence 0.8
BOOSTED_RANK = 25  # item 10025


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Path:
    """A pipeline repository after ``dvc repro``: its model and validated data."""
    repo = make_pipeline_repo(tmp_path_factory.mktemp("loop"))
    run(["dvc", "repro", "-q"], repo)
    return repo


def shopper_baskets(repo: Path, seed: int, drift: dict) -> list[list[str]]:
    """Baskets of the generator's last ``drift.window_days`` (where drift is planted), as a
    shop would send them: products only, no cancellations, postage or missing codes."""
    params = load_params(repo / "params.yaml")
    generator = params.ingest.generator
    generator = generator.model_copy(
        update={
            "seed": seed,
            "n_invoices": 18_000,
            "drift": generator.drift.model_copy(update=drift),
        }
    )
    lines = generate_line_items(generator)
    window_start = lines[S.TIMESTAMP].max() - pd.Timedelta(days=generator.drift.window_days)
    keep = (lines[S.TIMESTAMP] > window_start) & lines[S.ITEM].notna()
    keep &= ~lines[S.ITEM].isin(params.validate_.non_product_codes)
    keep &= ~lines[S.INVOICE].str.startswith(params.validate_.cancelled_prefix)
    return [
        list(dict.fromkeys(items)) for _, items in lines[keep].groupby(S.INVOICE, sort=True)[S.ITEM]
    ]


def serve_traffic(repo: Path, baskets: list[list[str]], log_dir: Path) -> list[dict]:
    """Send every basket to a real service on ``repo``'s model; returns the request log."""
    service = Service(
        "--model",
        str(repo / "models"),
        "--unknown-items",
        "ignore",
        "--request-log",
        str(log_dir / "requests.jsonl"),
    )
    with service, ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda b: service.recommend(b, k=5).status, baskets))
    assert statuses == [200] * len(baskets)
    return read_log(log_dir)


def drift_report(repo: Path, log_dir: Path) -> dict:
    """Run the drift-check stage with the request log as its current window, chosen by
    params alone (``drift.current``); returns ``metrics/drift.json`` plus the set of
    drifted tests as ``"kind: feature"``. The repository's params are restored after."""
    params_file = repo / "params.yaml"
    original = params_file.read_text()
    params = yaml.safe_load(original)
    params["drift"]["current"] = {"source": "requests", "path": str(log_dir / "requests.jsonl*")}
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        run(["python", "-m", "panier.stages.drift_check.stage"], repo)
        report = json.loads((repo / "metrics" / "drift.json").read_text())
    finally:
        params_file.write_text(original)
    report["drifted"] = {f"{t['kind']}: {t['feature']}" for t in report["tests"] if t["drifted"]}
    return report


def test_served_traffic_from_a_drifted_generator_makes_drift_check_report_drift(pipeline, tmp_path):
    baskets = shopper_baskets(
        pipeline,
        seed=901,
        drift={
            "weakened_rule": WEAKENED_RULE,
            "weakened_confidence": 0.2,
            "boosted_item_rank": BOOSTED_RANK,
            "boost_factor": 4.0,
        },
    )
    records = serve_traffic(pipeline, baskets, tmp_path)

    assert len(records) == len(baskets) > 1000  # one log record per request
    assert sorted(map(tuple, (r["basket"] for r in records))) == sorted(map(tuple, baskets))

    report = drift_report(pipeline, tmp_path)
    assert report["data_drift"] and report["concept_drift"]
    assert f"item_share: {10_000 + BOOSTED_RANK}" in report["drifted"]
    assert "rule_confidence: {10040} -> 10055" in report["drifted"]

    # The log's fallback flag is drift-check's "no recommendation": the same share.
    no_rule = next(t for t in report["tests"] if t["kind"] == "no_recommendation_share")
    logged = sum(r["fallback"] for r in records) / len(records)
    assert logged == pytest.approx(no_rule["current"])


def test_the_same_traffic_without_planted_drift_reports_none(pipeline, tmp_path):
    serve_traffic(pipeline, shopper_baskets(pipeline, seed=902, drift={}), tmp_path)
    report = drift_report(pipeline, tmp_path)
    assert report["drifted"] == set()
    assert not report["data_drift"] and not report["concept_drift"]
