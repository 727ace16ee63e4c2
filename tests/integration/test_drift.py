"""Drift-check: quiet when nothing changed, names each planted change first, corrects for
testing many things at once, ignores trivial shifts in huge samples, catches a column that
goes half-empty, reads request logs, and can fail a CI gate with a readable message."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from panier.core import schema as S
from panier.core.baskets import baskets_from_lines, baskets_from_lists, split_windows
from panier.core.config import load_params, parse_params
from panier.core.errors import ConfigError, DataError
from panier.core.recommend import RuleRecommender
from panier.stages.drift_check.check import check_drift
from panier.stages.drift_check.data_tests import numeric_test, proportion_test
from panier.stages.drift_check.decisions import decide, explain, retrain_decision
from panier.stages.drift_check.findings import rank_key
from panier.stages.drift_check.model_quality import top_k_comparison
from panier.stages.drift_check.plots import plot_tables
from panier.stages.drift_check.reference import prepare_reference
from panier.stages.drift_check.report import render_markdown
from panier.stages.drift_check.requestlog import read_request_log
from panier.stages.drift_check.result import DriftResult, DriftTest
from panier.stages.drift_check.rule_tests import RuleMatches, match_rules, rule_support_tests
from panier.stages.drift_check.statistics import cohens_h
from panier.stages.drift_check.summary import summarize_lines
from panier.stages.drift_check.window import current_window, split_rejected
from panier.stages.ingest.generate import generate_line_items
from panier.stages.train.mining import association_rules, frequent_itemsets
from panier.stages.train.model import describe_items
from panier.stages.validate.validation import validate_line_items
from support.repos import make_pipeline_repo, run

ROOT = Path(__file__).resolve().parents[2]
PARAMS = load_params(ROOT / "params.yaml")
TODAY = pd.Timestamp("2030-01-01").date()
SEED = 11

PLANTED_RULE = "{10040} -> 10055"
# Planted change -> (generator drift params, test named first, retraining recommended).
PLANTED = {
    "price": ({"price_shift": 0.10}, "numeric: unit_price", False),
    "item": ({"boosted_item_rank": 50, "boost_factor": 2.0}, "item_share: 10050", True),
    "rule": (
        {"weakened_rule": 0, "weakened_confidence": 0.6},
        f"rule_confidence: {PLANTED_RULE}",
        True,
    ),
    "basket_size": ({"basket_size_shift": 1.0}, "numeric: basket_size", True),
    "new_country": ({"new_country_share": 0.05}, "categorical: country", False),
    "missing": (
        {"missing_column": "description", "missing_share": 0.192},
        "missing_rate: description",
        False,
    ),
}


def generate(drift: dict | None = None, seed: int = SEED) -> pd.DataFrame:
    generator = PARAMS.ingest.generator
    return generate_line_items(
        generator.model_copy(
            update={"seed": seed, "drift": generator.drift.model_copy(update=drift or {})}
        )
    )


class World:
    """One generated world at the default params: validated, split, a model trained on its
    training window, ready to be checked against any current window."""

    def __init__(self, raw: pd.DataFrame):
        validated = validate_line_items(raw, PARAMS.validate_, today=TODAY)
        self.windows = split_windows(validated.clean, PARAMS.windows)
        self.rejected = split_rejected(
            validated.rejected, self.windows.holdout_start, self.windows.current_start
        )
        baskets = baskets_from_lines(self.windows.train)
        train = PARAMS.train
        self.rules = association_rules(
            frequent_itemsets(baskets, train.min_support, train.max_len),
            baskets.n_baskets,
            train.min_confidence,
        )
        self.items = describe_items(self.windows.train, baskets)
        self.reference = prepare_reference(
            summarize_lines(self.windows.train, self.rejected.train),
            baskets_from_lines(self.windows.holdout),
            self.rules,
            self.items,
            PARAMS.evaluate,
        )

    def current(self, raw: pd.DataFrame | None = None):
        """The current window of ``raw`` (the same world regenerated with a change), or of
        this world itself."""
        if raw is None:
            return summarize_lines(self.windows.current, self.rejected.current)
        validated = validate_line_items(raw, PARAMS.validate_, today=TODAY)
        windows = split_windows(validated.clean, PARAMS.windows)
        rejected = split_rejected(validated.rejected, windows.holdout_start, windows.current_start)
        return summarize_lines(windows.current, rejected.current)

    def check(self, current, params=None) -> DriftResult:
        return check_drift(self.reference, current, params or PARAMS.drift, PARAMS.evaluate)


@pytest.fixture(scope="module")
def world() -> World:
    return World(generate())


# ---------------------------------------------------------------------------------------------
# The bar: quiet with no drift, each planted change named first


def test_a_world_with_no_planted_drift_reports_no_drift(world: World):
    report = world.check(world.current())
    assert report.tests_run > 100
    assert not report.drift_detected
    assert not report.data_drift and not report.concept_drift
    assert not report.retrain_recommended
    assert report.tests_drifted == 0 and report.top_drifted == []


@pytest.mark.parametrize("kind", list(PLANTED))
def test_each_planted_change_is_detected_and_named_first(world: World, kind: str):
    drift, first, retrain = PLANTED[kind]
    report = world.check(world.current(generate(drift)))
    assert report.drift_detected
    assert report.top_drifted[0] == first
    assert report.retrain_recommended is retrain
    if first.startswith("rule_confidence"):
        assert report.concept_drift
        assert report.rules["weakened"][0]["name"] == PLANTED_RULE
    else:
        assert report.data_drift
    if first.startswith("item_share"):
        assert report.items["gained"][0]["name"] == "10050"


def test_retraining_is_recommended_only_when_the_model_is_affected():
    def drifted(kind, feature, direction="up"):
        return DriftTest(
            kind,
            feature,
            "t",
            0.0,
            0.0,
            1.0,
            "e",
            0.1,
            0.2,
            100,
            100,
            direction,
            drifted=True,
            detail={"unit": "rows", "antecedent": ["a"], "consequent": "b"},
        )

    data_only = [
        drifted("numeric", "unit_price"),
        drifted("missing_rate", "description"),
        drifted("categorical", S.COUNTRY),
        drifted("top_k_metric", "hit_rate@5"),
    ]
    retrain, reasons, investigate = retrain_decision(data_only)
    assert not retrain and reasons == [] and len(investigate) == 4
    for finding in (
        drifted("rule_confidence", "{a} -> b", "down"),
        drifted("item_share", "10001"),
        drifted("numeric", "basket_size"),
        drifted("rule_support", "{a} -> b", "down"),
        drifted("top_k_metric", "hit_rate@5", "down"),
        drifted("no_recommendation_share", "baskets", "up"),
    ):
        assert retrain_decision([finding])[0], finding.name


def _rule_support_case(current_rule_baskets: int) -> tuple[DriftTest, list[DriftTest]]:
    """A rule {a} -> b in 100 of 1,000 training baskets (confidence 0.8), re-measured on 1,000
    current baskets; its support test and every test of the run, decided."""
    rules = pd.DataFrame(
        {
            "antecedent": [["a"]],
            "consequent": ["b"],
            "count": [100],
            "antecedent_count": [125],
            "support": [0.1],
            "lift": [2.0],
        }
    )
    matches = RuleMatches(
        np.array([current_rule_baskets * 5 // 4]),
        np.array([current_rule_baskets]),
        np.ones(1000, dtype=bool),
    )
    (support,), untested = rule_support_tests(rules, matches, 1000, 1000, fdr=0.025)
    assert untested == 0
    return support, decide([support], PARAMS.drift)


def test_a_rule_that_applies_twice_as_often_is_support_drift_even_at_equal_confidence():
    support, _ = _rule_support_case(current_rule_baskets=200)
    assert support.kind == "rule_support" and support.feature == "{a} -> b"
    assert (support.reference, support.current, support.direction) == (0.1, 0.2, "up")
    assert support.effect == pytest.approx(cohens_h(0.1, 0.2))
    assert support.drifted
    unchanged, _ = _rule_support_case(current_rule_baskets=104)
    assert not unchanged.drifted


def test_a_rule_support_change_is_named_after_the_item_that_caused_it():
    support, _ = _rule_support_case(current_rule_baskets=200)
    item = DriftTest(
        "item_share",
        "a",
        "t",
        0.0,
        1e-9,
        0.2,
        "cohens_h",
        0.12,
        0.24,
        1000,
        1000,
        "up",
        floor=0.07,
        p_adjusted=1e-9,
        drifted=True,
    )
    drifted = [support, item]
    explain(drifted)
    assert support.detail["explained_by"] == ["item_share: a"]
    assert sorted(drifted, key=rank_key)[0] is item


def test_a_rule_support_change_is_named_after_the_same_rule_s_confidence_change():
    support, _ = _rule_support_case(current_rule_baskets=40)
    confidence = DriftTest(
        "rule_confidence",
        "{a} -> b",
        "t",
        0.0,
        1e-9,
        0.3,
        "change",
        0.8,
        0.5,
        125,
        80,
        "down",
        floor=0.1,
        p_adjusted=1e-9,
        drifted=True,
        detail={"antecedent": ["a"], "consequent": "b"},
    )
    assert support.drifted and support.direction == "down"
    explain([support, confidence])
    assert support.detail["explained_by"] == ["rule_confidence: {a} -> b"]


# ---------------------------------------------------------------------------------------------
# Calibrated decisions


def test_benjamini_hochberg_corrects_all_tests_of_a_run_together():
    rng = np.random.default_rng(0)
    tests = [
        DriftTest("item_share", str(i), "t", 0.0, float(p), 1.0, "cohens_h")
        for i, p in enumerate(rng.uniform(0.2, 1.0, size=99))
    ]
    lonely = DriftTest("numeric", "unit_price", "t", 0.0, 0.004, 1.0, "wasserstein_std")
    decide([*tests, lonely], PARAMS.drift)
    # Significant alone (0.004 < 0.05), not among 100 tests: 0.004 x 100 / 1 > 0.05.
    assert lonely.p_adjusted == pytest.approx(0.4)
    assert not lonely.drifted
    strong = DriftTest("numeric", "unit_price", "t", 0.0, 0.0001, 1.0, "wasserstein_std")
    decide([*tests, strong], PARAMS.drift)
    assert strong.drifted


def test_the_report_adjusts_every_p_value_in_one_family(world: World):
    report = world.check(world.current(generate(PLANTED["rule"][0])))
    p_values = np.array([t.p_value for t in report.tests])
    expected = stats.false_discovery_control(p_values, method="bh")
    assert np.allclose([t.p_adjusted for t in report.tests], expected)
    assert {t.kind for t in report.tests} >= {
        "numeric",
        "categorical",
        "missing_rate",
        "item_share",
        "rule_confidence",
        "rule_support",
        "no_recommendation_share",
        "top_k_metric",
    }


def test_an_effect_floor_stops_a_trivial_shift_in_a_huge_sample():
    rng = np.random.default_rng(1)
    reference = np.sort(rng.normal(10.0, 1.0, size=2_000_000))
    current = np.sort(rng.normal(10.02, 1.0, size=1_000_000))
    shift = numeric_test("unit_price", reference, current)
    share = proportion_test("item_share", "10001", 500_000, 5_000_000, 515_000, 5_000_000)
    decide([shift, share], PARAMS.drift)
    for test in (shift, share):
        assert test.p_adjusted < 1e-6, test.name  # certainly different ...
        assert test.effect < test.floor and not test.drifted  # ... but by a trivial amount


# ---------------------------------------------------------------------------------------------
# Missing values


def test_a_half_empty_optional_column_is_caught(world: World):
    raw = generate()
    late = raw[S.TIMESTAMP] > world.windows.current_start
    half = late & (np.random.default_rng(2).random(len(raw)) < 0.5)
    raw.loc[half, S.CUSTOMER] = None
    report = world.check(world.current(raw))
    assert report.top_drifted[0] == "missing_rate: customer_id"
    assert not report.retrain_recommended
    assert "customer_id missing in" in report.investigate[0]


def test_a_half_empty_required_column_is_caught_through_the_rejected_rows(world: World):
    raw = generate()
    late = raw[S.TIMESTAMP] > world.windows.current_start
    half = late & (np.random.default_rng(3).random(len(raw)) < 0.5)
    raw[S.QUANTITY] = raw[S.QUANTITY].astype(object)
    raw.loc[half, S.QUANTITY] = None
    current = world.current(raw)
    report = world.check(current)
    # Validation drops those rows, so the quantities left look as before ...
    quantity = next(t for t in report.tests if t.kind == "numeric" and t.feature == "quantity")
    assert not quantity.drifted
    # ... but the missing rate counts the rejected rows.
    assert report.top_drifted[0] == "missing_rate: quantity"
    missing = next(t for t in report.tests if t.kind == "missing_rate" and t.feature == "quantity")
    assert missing.current == pytest.approx(0.5, abs=0.03)
    # Baskets lost half their lines, so items and sizes moved too; retraining on them would
    # learn the fault.
    assert not report.retrain_recommended
    assert report.investigate[0].startswith("not retraining: quantity went missing")


# ---------------------------------------------------------------------------------------------
# Request logs as the current window


def write_logs(folder: Path, baskets: list[list[str]], times: list[pd.Timestamp]) -> Path:
    """The serving application's log, rotated in three files (the oldest gzipped), with one
    line cut off mid-write and one request repeated across files."""
    records = [
        json.dumps(
            {
                "time": t.isoformat() + "Z",
                "request_id": f"r{i}",
                "basket": b,
                "k": 5,
                "recommended": [],
                "fallback": False,
                "model_version": "v1",
            }
        )
        for i, (t, b) in enumerate(zip(times, baskets))
    ]
    third = len(records) // 3
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "requests.jsonl.2.gz", "wt") as handle:
        handle.write("\n".join(records[:third]) + "\n")
    (folder / "requests.jsonl.1").write_text(
        "\n".join([*records[third : 2 * third], records[0]]) + "\n"
    )
    (folder / "requests.jsonl").write_text(
        "\n".join(records[2 * third :]) + '\n{"time": "2025-12-31T10:00:00Z", "bask'
    )
    return folder / "requests.jsonl"


def logged(lines: pd.DataFrame) -> tuple[list[list[str]], list[pd.Timestamp]]:
    baskets = baskets_from_lines(lines).as_lists()
    times = lines.groupby(S.INVOICE)[S.TIMESTAMP].min().sort_index().tolist()
    return baskets, times


def request_params(path: Path, **extra):
    return PARAMS.drift.current.model_copy(
        update={"source": "requests", "path": str(path), **extra}
    )


def test_request_logs_serve_as_the_current_window(world: World, tmp_path: Path):
    raw = generate(PLANTED["item"][0])
    windows = split_windows(
        validate_line_items(raw, PARAMS.validate_, today=TODAY).clean, PARAMS.windows
    )
    path = write_logs(tmp_path / "logs", *logged(windows.current))
    current, source = current_window(
        request_params(path), world.windows, world.rejected, PARAMS.validate_
    )
    assert current.baskets.n_baskets == windows.current[S.INVOICE].nunique()
    assert source["lines_read"] == source["requests_used"] + source["lines_rejected"]
    assert source["rejected_by_reason"]["malformed_json"] == 1
    assert source["rejected_by_reason"]["duplicate_request"] == 1
    assert len(source["files"]) == 3
    report = world.check(current)
    assert report.top_drifted[0] == "item_share: 10050"
    skipped = {s["test"]: s["reason"] for s in report.skipped}
    for name in (
        "numeric: unit_price",
        "numeric: quantity",
        "numeric: basket_value",
        "categorical: country",
    ):
        assert "request logs carry no" in skipped[name]
    assert not any(t.kind == "missing_rate" for t in report.tests)


def test_request_logs_of_an_unchanged_world_report_no_drift(world: World, tmp_path: Path):
    path = write_logs(tmp_path / "logs", *logged(world.windows.current))
    current, _ = current_window(
        request_params(path), world.windows, world.rejected, PARAMS.validate_
    )
    assert not world.check(current).drift_detected


def test_request_logs_keep_the_last_days_and_count_the_rest(tmp_path: Path):
    log = tmp_path / "requests.jsonl"
    log.write_text(
        "\n".join(
            json.dumps({"time": f"2025-12-{day:02d}T12:00:00+01:00", "basket": ["1", "2"]})
            for day in range(1, 31)
        )
    )
    read = read_request_log(str(tmp_path / "requests.jsonl*"), days=10)
    assert read.report["requests_used"] == 10 and read.report["outside_days"] == 20
    assert read.times.iloc[0] == pd.Timestamp("2025-12-21T11:00:00")  # in UTC


def test_an_unreadable_request_log_gets_one_clear_message(tmp_path: Path):
    log = tmp_path / "requests.jsonl"
    log.write_text(
        '{"time": "2025-12-01T10:00:00Z", "basket": ["1"]}\n'
        '{"time": "yesterday", "basket": ["1"]}\n'
        '{"time": "2025-12-01T10:00:00Z", "basket": "1, 2"}\n'
    )
    with pytest.raises(DataError) as error:
        read_request_log(str(log))
    message = str(error.value)
    assert "2 of 3 lines rejected" in message
    assert "unparseable_time" in message and f"{log}:2" in message
    assert "invalid_basket" in message and "drift.current.max_rejected_share" in message
    with pytest.raises(DataError, match="no request log matches"):
        read_request_log(str(tmp_path / "nothing*.jsonl"))


def test_a_current_source_other_than_the_window_needs_a_path():
    with pytest.raises(ConfigError, match=r"drift\.current: .*needs a path"):
        parse_params({"drift": {"current": {"source": "requests"}}})


# ---------------------------------------------------------------------------------------------
# Pieces


def test_rule_counts_match_the_recommender_on_every_basket():
    rng = np.random.default_rng(4)
    items = [str(i) for i in range(12)]
    baskets = [list(rng.choice(items, size=rng.integers(1, 7), replace=False)) for _ in range(400)]
    rules = pd.DataFrame(
        {
            "antecedent": [["0"], ["1", "2"], ["3"], ["99"], ["4", "5"]],
            "consequent": ["1", "3", "99", "0", "0"],
            "confidence": [0.5] * 5,
            "lift": [1.0] * 5,
        }
    )
    matches = match_rules(rules, baskets_from_lists(baskets))
    recommender = RuleRecommender(rules)
    for r, (antecedent, consequent) in enumerate(zip(rules["antecedent"], rules["consequent"])):
        held = [set(antecedent) <= set(b) for b in baskets]
        assert matches.antecedent_baskets[r] == sum(held)
        assert matches.rule_baskets[r] == sum(h and consequent in b for h, b in zip(held, baskets))
    answered = [bool(recommender.recommend(b, 1)) for b in baskets]
    assert matches.answered.tolist() == answered


def test_bootstrap_intervals_are_seeded_and_match_resampling_cases():
    rng = np.random.default_rng(5)
    holdout = rng.choice(6, size=3000, p=[0.7, 0.1, 0.08, 0.05, 0.04, 0.03])
    current = rng.choice(6, size=2000, p=[0.8, 0.06, 0.05, 0.04, 0.03, 0.02])
    first = top_k_comparison(holdout, current, [1, 5], 2000, seed=0, level=0.95)
    assert first == top_k_comparison(holdout, current, [1, 5], 2000, seed=0, level=0.95)
    assert first != top_k_comparison(holdout, current, [1, 5], 2000, seed=1, level=0.95)
    hit = first["hit_rate@5"]
    assert hit["difference"] == pytest.approx((current > 0).mean() - (holdout > 0).mean())
    low, high = hit["difference_ci"]
    assert low < hit["difference"] < high < 0  # fewer hits now, and surely so
    # The same interval as resampling the cases themselves.
    draws = [
        rng.choice(current, current.size).astype(bool).mean()
        - rng.choice(holdout, holdout.size).astype(bool).mean()
        for _ in range(2000)
    ]
    assert np.quantile(draws, [0.025, 0.975]) == pytest.approx([low, high], abs=0.005)


def test_the_drift_result_reads_back_from_its_json_unchanged(world: World):
    result = world.check(world.current(generate(PLANTED["rule"][0])))
    text = result.to_json()
    again = DriftResult.from_json(text)
    assert again.to_json() == text
    assert again.top_drifted == result.top_drifted and again.tests[0].name == result.tests[0].name
    assert [f.label for f in again.findings] == [f.label for f in result.findings]


def test_the_report_and_plots_are_byte_identical_across_runs(world: World):
    current = world.current(generate(PLANTED["price"][0]))
    outputs = []
    for _ in range(2):
        report = world.check(current)
        tables = plot_tables(report, world.reference.train, current)
        outputs.append(
            (
                report.to_json(),
                render_markdown(report, tables),
                {k: t.to_csv(index=False) for k, t in tables.items()},
            )
        )
    assert outputs[0] == outputs[1]
    markdown = outputs[0][1]
    assert markdown.startswith("# Drift check: drift found, retraining would not help")
    assert "unit_price shifted: mean" in markdown and "```mermaid" in markdown


# ---------------------------------------------------------------------------------------------
# The stage


SMALL_DRIFTED = {
    "ingest": {
        "generator": {"n_invoices": 3000, "n_customers": 600, "drift": {"price_shift": 0.3}}
    },
    "train": {"min_support": 0.01},
}


def drift_check(repo: Path, fail_on) -> object:
    params_file = repo / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    params["drift"]["fail_on_drift"] = fail_on
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    return run(["python", "-m", "panier.stages.drift_check.stage"], repo, check=False)


@pytest.mark.slow
def test_fail_on_drift_fails_the_stage_with_a_readable_message(tmp_path: Path):
    repo = make_pipeline_repo(tmp_path, SMALL_DRIFTED)
    for stage in ("ingest", "validate", "train", "evaluate"):
        run(["python", "-m", f"panier.stages.{stage}.stage"], repo)
    result = drift_check(repo, True)
    assert result.returncode == 3  # drift found: not 1, so CI can tell it from a crash
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("drift-check: drift detected: unit_price shifted")
    assert "metrics/drift.md" in message and "fail_on_drift" in message
    assert "Traceback" not in result.stderr
    # The evidence is written before the stage fails.
    report = json.loads((repo / "metrics/drift.json").read_text())
    assert report["data_drift"] and report["top_drifted"][0] == "numeric: unit_price"
    assert (repo / "metrics/drift.md").read_text().startswith("# Drift check: drift found")
    # A gate on concept drift lets data drift through; the default only reports.
    assert drift_check(repo, "concept_drift").returncode == 0
    assert drift_check(repo, False).returncode == 0
