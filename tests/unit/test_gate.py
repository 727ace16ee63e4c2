"""The champion/challenger gate: the model just trained is compared with the registry's
champion on the same cases, and blessed or refused by the rule in ``params.yaml``
(``gate``); no champion is a defined outcome; the stage's verdict follows the champion
recorded in ``data/champion.json``, which ``dvc status`` sees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from panier.core.config import GateParams
from panier.core.errors import DataError
from panier.core.evaluation import Cases
from panier.core.io import file_md5 as md5
from panier.stages.gate.gate import (
    Figures,
    champion_files,
    decide,
    model_figures,
    paired_bootstrap,
    render_markdown,
)

K = 5


def figures(hits: list[int], coverage: float = 0.5, unanswered: float = 0.2) -> Figures:
    array = np.asarray(hits, dtype=np.int8)
    return Figures(array, float(array.mean()), coverage, unanswered, rules=10)


def test_the_paired_bootstrap_interval_is_reproducible_and_centred_on_the_difference():
    rng = np.random.default_rng(1)
    champion = rng.integers(0, 2, 2000)
    better = np.where(rng.random(2000) < 0.1, 1, champion)  # about 5 points more hits
    first = paired_bootstrap(better, champion, 500, seed=3, confidence=0.95)
    assert first == paired_bootstrap(better, champion, 500, seed=3, confidence=0.95)
    diff, low, high = first
    assert diff == pytest.approx((better - champion).mean())
    assert 0 < low < diff < high
    assert paired_bootstrap(champion, champion, 500, 3, 0.95) == (0.0, 0.0, 0.0)


def test_no_champion_accepts_the_challenger_as_the_first_version():
    result = decide(figures([1, 0, 1]), None, GateParams(), K)
    assert result["passed"] is True
    assert result["decision"] == "accepted_first_version"
    assert "no champion in registry stage 'prod'" in result["reasons"][0]
    assert result["champion"] is None


def test_a_challenger_as_good_as_the_champion_passes_and_says_so():
    hits = [1, 0] * 500
    result = decide(
        figures(hits), figures(hits), GateParams(), K, {"version": "v1.0.0", "commit": "abc"}
    )
    assert (result["passed"], result["decision"]) == (True, "accepted")
    assert [c["passed"] for c in result["checks"]] == [True, True, True]
    assert result["champion"]["version"] == "v1.0.0"
    assert result["champion"]["hit_rate@5"] == 0.5


def test_a_clearly_worse_hit_rate_is_refused_with_its_interval():
    champion = figures([1, 0] * 500)
    challenger = figures([1, 0, 0, 0] * 250)  # 0.25 against 0.5
    result = decide(challenger, champion, GateParams(), K, {"version": "v1.0.0"})
    assert (result["passed"], result["decision"]) == (False, "refused")
    assert len(result["reasons"]) == 1 and "hit rate@5" in result["reasons"][0]
    hit = result["checks"][0]
    assert hit["interval"][1] < -0.01 and "goes below -0.01" in hit["detail"]


def test_a_small_drop_inside_the_margin_passes_and_a_wide_margin_forgives_more():
    champion = figures([1] * 100 + [0] * 900)
    challenger = figures([1] * 99 + [0] * 901)
    assert decide(challenger, champion, GateParams(hit_rate_margin=0.02), K)["passed"]
    worse = figures([1] * 60 + [0] * 940)
    assert not decide(worse, champion, GateParams(hit_rate_margin=0.01), K)["passed"]
    assert decide(worse, champion, GateParams(hit_rate_margin=0.2), K)["passed"]


def test_coverage_and_unanswered_cases_have_their_own_margins():
    hits = [1, 0] * 500
    champion = figures(hits, coverage=0.5, unanswered=0.2)
    narrow = decide(figures(hits, coverage=0.3), champion, GateParams(), K)
    assert not narrow["passed"] and "coverage@5" in narrow["reasons"][0]
    silent = decide(figures(hits, unanswered=0.5), champion, GateParams(), K)
    assert not silent["passed"] and "no rule answers" in silent["reasons"][0]
    lenient = GateParams(coverage_margin=0.3, no_recommendation_margin=0.4)
    assert decide(figures(hits, coverage=0.3, unanswered=0.5), champion, lenient, K)["passed"]


def test_figures_answer_like_the_service_rules_first_then_popularity():
    rules = pd.DataFrame(
        {"antecedent": [["a"]], "consequent": ["b"], "confidence": [0.9], "lift": [2.0]}
    )
    items = pd.DataFrame({"item_code": ["c", "b", "a", "d"], "baskets": [9, 5, 4, 1]})
    cases = Cases(visible=[["a"], ["d"], ["a"]], hidden=["b", "c", "d"])
    result = model_figures(rules, items, cases, k=1, catalog=4)
    # "a" -> b by the rule (hit); "d" -> c by popularity (hit); "a" -> b, not d (miss).
    assert result.hits.tolist() == [1, 1, 0]
    assert result.no_recommendation_share == pytest.approx(1 / 3)
    assert result.coverage == pytest.approx(2 / 4)


def test_the_markdown_section_names_the_verdict_the_champion_and_each_check():
    result = decide(
        figures([1, 0, 0, 0] * 250),
        figures([1, 0] * 500),
        GateParams(),
        K,
        {"version": "v1.0.0", "commit": "0123456789"},
    )
    result.update(stage="prod", window="current")
    text = render_markdown(result)
    assert "### Champion vs challenger gate" in text and "**refused**" in text
    assert "`v1.0.0`" in text and "`0123456`" in text
    assert "**FAIL**: hit rate@5" in text and "pass: coverage@5" in text
    assert "first version" in render_markdown(decide(figures([1]), None, GateParams(), K))


def test_a_missing_or_different_champion_file_names_it_and_the_command_that_fetches_it(
    tmp_path: Path,
):
    for name in ("rules.parquet", "items.parquet", "model_card.json"):
        (tmp_path / name).write_text(name)
    pointer = {
        "stage": "prod",
        "champion": {
            "version": "v1.0.0",
            "files": {
                name: md5(tmp_path / name)
                for name in ("rules.parquet", "items.parquet", "model_card.json")
            },
        },
    }
    assert set(champion_files(pointer, tmp_path)) == {
        "rules.parquet",
        "items.parquet",
        "model_card.json",
    }
    assert champion_files({"stage": "prod", "champion": None}, tmp_path) is None
    (tmp_path / "items.parquet").write_text("changed")
    with pytest.raises(
        DataError,
        match=r"items.parquet hashes to .* `panier gate "
        r"champion",
    ):
        champion_files(pointer, tmp_path)
    (tmp_path / "rules.parquet").unlink()
    with pytest.raises(DataError, match=r"rules.parquet is missing \(champion v1.0.0"):
        champion_files(pointer, tmp_path)


# ---------------------------------------------------------------------------------------
# The stage in a real DVC repository.


@pytest.mark.parametrize(
    ("retrain", "passed", "scheduled", "expected", "why"),
    [
        (True, True, False, True, "drift-check recommends retraining"),
        (False, True, True, True, "scheduled retraining"),
        (False, True, False, False, "no drift calls for retraining"),
        (True, False, True, False, "the gate refused the challenger: worse (drift-check"),
        (False, False, True, False, "the gate refused the challenger: worse"),
    ],
)
def test_a_new_model_is_proposed_only_when_it_passed_and_drift_or_the_schedule_asks(
    retrain, passed, scheduled, expected, why
):
    from panier.ops.champion import should_propose

    gate = {"passed": passed, "reasons": ["worse"]}
    proposed, reason = should_propose({"retrain_recommended": retrain}, gate, scheduled)
    assert proposed is expected and why in reason
    assert should_propose(None, None, True)[0] is False
