"""Leave-one-out evaluation: the case construction and every metric, on hand-made cases."""

import numpy as np
import pytest

from panier.core.evaluation import Cases, evaluate, leave_one_out, ranking_metrics


class Fixed:
    """A recommender that always answers the same list."""

    def __init__(self, answer):
        self.answer = answer

    def recommend(self, basket, k):
        return [i for i in self.answer if i not in basket][:k]


def test_leave_one_out_hides_one_item_of_each_basket_with_two_or_more():
    cases = leave_one_out([["a", "b", "c"], ["d"], ["e", "f"]], seed=1)
    assert len(cases) == 2
    for visible, hidden, basket in zip(cases.visible, cases.hidden, [["a", "b", "c"], ["e", "f"]]):
        assert sorted([*visible, hidden]) == basket


def test_leave_one_out_is_seeded():
    baskets = [list("abcdef")] * 20
    assert leave_one_out(baskets, 3).hidden == leave_one_out(baskets, 3).hidden
    assert leave_one_out(baskets, 3).hidden != leave_one_out(baskets, 4).hidden


def test_ranking_metrics_from_ranks():
    ranks = np.array([1, 2, 0, 4])  # 0 = the hidden item was not recommended
    at_3 = ranking_metrics(ranks, 3)
    assert at_3["hit_rate"] == pytest.approx(2 / 4)
    assert at_3["recall"] == at_3["hit_rate"]
    assert at_3["precision"] == pytest.approx(2 / 4 / 3)
    assert at_3["mrr"] == pytest.approx((1 + 1 / 2) / 4)
    assert at_3["ndcg"] == pytest.approx((1 + 1 / np.log2(3)) / 4)
    assert ranking_metrics(ranks, 4)["hit_rate"] == pytest.approx(3 / 4)


def test_evaluate_reports_every_k_coverage_and_empty_answers():
    cases = Cases(visible=[["x"], ["y"], ["z"]], hidden=["a", "b", "q"])
    flat, table = evaluate(Fixed(["a", "c", "b"]), cases, ks=[1, 3], n_catalog=10)
    assert flat["hit_rate@1"] == pytest.approx(1 / 3)
    assert flat["hit_rate@3"] == pytest.approx(2 / 3)
    assert flat["coverage@1"] == pytest.approx(1 / 10)
    assert flat["coverage@3"] == pytest.approx(3 / 10)
    assert flat["no_recommendation_share"] == 0.0
    assert list(table["k"]) == [1, 3]
    empty, _ = evaluate(Fixed([]), cases, ks=[1], n_catalog=10)
    assert empty["no_recommendation_share"] == 1.0 and empty["hit_rate@1"] == 0.0
