"""The pull-request report (``panier report``): what a reviewer reads about a change.

The first half checks the comparisons and the Markdown on small hand-made inputs; the second
runs the report in a real git repository whose branch lowers ``train.min_support`` against a
``main`` with committed pipeline outputs, and checks every row against the metrics files of
both commits.
"""

from __future__ import annotations

import io
import json
import math
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from panier.ops.pr_report import formatting as fmt
from panier.ops.pr_report import render
from panier.ops.pr_report.charts import confidence_histogram, metric_by_k_chart, moved_enough
from panier.ops.pr_report.comment import MAX_CHARS
from panier.ops.pr_report.model import RECOMMENDERS, Change, ReportData, RuleTable
from panier.ops.pr_report.rules import (
    compare_rules,
    describe_rule,
    item_names,
    rule_key,
    rules_from_model,
    rules_from_plot,
)
from panier.ops.pr_report.sections import TRAIN_HEADLINE
from panier.ops.pr_report.verdicts import verdict
from panier.ops.revisions import Revision
from support.repos import PR_MIN_SUPPORT, ROOT, SMALL_PARAMS, run

# ---------------------------------------------------------------------------------------------
# Comparisons and Markdown, on hand-made inputs


def test_a_change_is_shown_with_its_sign_and_relative_size():
    assert fmt.delta(Change("f", "hit_rate@5", 0.2, 0.25)) == "+0.0500 (+25.0%)"
    assert fmt.delta(Change("f", "hit_rate@5", 0.25, 0.2)) == "-0.0500 (-20.0%)"
    assert fmt.delta(Change("f", "rules", 59, 106)) == "+47 (+79.7%)"
    assert fmt.delta(Change("f", "rules", 0, 3)) == "+3"
    assert fmt.delta(Change("f", "rules", 7, 7)) == "0"
    assert fmt.delta(Change("f", "rules", None, 7)) == "new"
    assert fmt.delta(Change("f", "rules", 7, None)) == "removed"


def test_headline_arrows_follow_the_direction_of_improvement():
    better = fmt.delta(Change("f", "model.hit_rate@5", 0.2, 0.3), arrow=True)
    worse = fmt.delta(Change("f", "model.no_recommendation_share", 0.1, 0.3), arrow=True)
    assert better.startswith("▲ +") and better.endswith(":green_circle:")
    assert worse.startswith("▲ +") and worse.endswith(":red_circle:")


def _rules(*rows: tuple[str, float, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"rule": r, "support": s, "confidence": c, "lift": 2.0} for r, s, c in rows]
    )


def test_rules_gained_lost_and_changed_are_told_apart():
    base = _rules(("a -> b", 0.1, 0.5), ("c -> d", 0.2, 0.6), ("e -> f", 0.05, 0.7))
    head = _rules(
        ("a -> b", 0.1, 0.5), ("c -> d", 0.2, 0.4), ("g -> h", 0.3, 0.9), ("i -> j", 0.01, 0.9)
    )
    changes = compare_rules(base, head)
    assert changes.gained["rule"].tolist() == ["g -> h", "i -> j"]  # by support
    assert changes.lost["rule"].tolist() == ["e -> f"]
    moved = changes.confidence_changed
    assert moved["rule"].tolist() == ["c -> d"]
    assert moved["delta"].iloc[0] == pytest.approx(-0.2)


def test_the_model_and_the_rules_plot_name_a_rule_the_same_way():
    model = pd.DataFrame(
        {
            "antecedent": [["10085", "10070"]],
            "consequent": ["10100"],
            "support": [0.02],
            "confidence": [0.99],
            "lift": [21.0],
        }
    )
    plot = pd.DataFrame(
        {
            "rule": ["10070 + 10085 -> 10100"],
            "support": [0.02],
            "confidence": [0.99],
            "lift": [21.0],
        }
    )
    assert rules_from_model(model).equals(rules_from_plot(plot))


def _data(**changes) -> ReportData:
    base = Revision("main", "main", "a" * 40)
    head = Revision(None, "feature", "b" * 40)
    rules = _rules(("a -> b", 0.1, 0.5))
    data = ReportData(
        base=base,
        head=head,
        params=[
            Change("params.yaml", "train.min_support", 0.01, 0.004),
            Change("params.yaml", "validate.max_rejected_share", 0.05, 0.05),
            Change("params.yaml", "evaluate.primary_k", 5, 5),
        ],
        metrics=[Change("metrics/evaluate.json", "model.hit_rate@5", 0.15, 0.16)],
        validation=({"rejected_share": 0.01}, {"rejected_share": 0.01}),
        drift=({"drift_detected": False}, {"drift_detected": False}),
        rules=(
            RuleTable(rules, "models/rules.parquet"),
            RuleTable(rules, "models/rules.parquet"),
        ),
        metrics_by_k=(None, None),
    )
    for key, value in changes.items():
        setattr(data, key, value)
    return data


def test_the_verdict_says_in_one_line_what_the_change_does_to_the_model():
    base = _rules(("a -> b", 0.1, 0.5))
    head = _rules(("a -> b", 0.1, 0.5), ("c -> d", 0.1, 0.6))
    data = _data(
        rules=(RuleTable(base, "x"), RuleTable(head, "x")),
        metrics=[Change("metrics/evaluate.json", "model.hit_rate@5", 0.204, 0.221)],
        gate={"passed": True, "decision": "accepted", "challenger": {}},
    )
    assert verdict(data) == (
        "**Verdict:** model changed — hit rate@5 0.204 → 0.221 (+0.017), "
        "1 → 2 rules; no drift; gate passed; validation unchanged (passed)"
    )
    assert render(data).splitlines()[4] == verdict(data)  # right under the title


def test_the_verdict_of_a_change_that_leaves_the_model_alone_says_so():
    data = _data(metrics=[Change("metrics/evaluate.json", "model.hit_rate@5", 0.2, 0.2)])
    assert verdict(data) == (
        "**Verdict:** model unchanged — hit rate@5 0.200 (unchanged), "
        "1 rules; no drift; validation unchanged (passed)"
    )


def test_the_verdict_flags_a_refused_gate_failed_validation_and_drift_still_there():
    drifted = {"drift_detected": True, "data_drift": False, "concept_drift": True}
    data = _data(
        gate={"passed": False, "decision": "refused"},
        validation=({"rejected_share": 0.01}, {"rejected_share": 0.08}),
        drift=(drifted, drifted),
    )
    line = verdict(data)
    assert "; **drift** (concept drift), as on `main`; gate **refused**; " in line
    assert line.endswith("; validation passed (1.00% rejected) → **failed** (8.00% rejected)")
    cleared = verdict(_data(drift=(drifted, {"drift_detected": False})))
    assert "; drift cleared; " in cleared


def test_sections_the_same_on_both_sides_are_one_line_and_nothing_reads_passed_to_passed():
    params = [
        Change("params.yaml", "train.min_support", 0.01, 0.01),
        Change("params.yaml", "validate.max_rejected_share", 0.05, 0.05),
    ]
    markdown = render(
        _data(
            params=params,
            metrics=[Change("metrics/evaluate.json", "model.hit_rate@5", 0.15, 0.15)],
        )
    )
    for line in (
        "**Params:** none changed.",
        "**Metrics:** none of 1 changed.",
        "**Validation:** unchanged, passed (1.00% rejected) on both sides",
        "**Drift:** no drift on either side",
        "**Rules:** unchanged, the same 1 rules with the same confidence on both sides.",
    ):
        assert line in markdown
    assert "### " not in markdown.split("## Panier pipeline report", 1)[1]
    assert "passed -> passed" not in markdown and "| 0 |" not in markdown


def test_unchanged_headline_metrics_are_counted_not_listed():
    metrics = [
        Change("metrics/evaluate.json", "model.hit_rate@5", 0.15, 0.16),
        Change("metrics/evaluate.json", "model.ndcg@5", 0.10, 0.10),
        Change("metrics/evaluate.json", "popularity.hit_rate@5", 0.12, 0.12),
    ]
    markdown = render(_data(metrics=metrics))
    assert "2 unchanged rows not shown" in markdown
    assert "| model | hit_rate@5 | 0.1500 | 0.1600 | ▲ +0.0100 (+6.7%) :green_circle: |" in (
        markdown
    )
    assert "| model | ndcg@5 |" not in markdown and "| popularity |" not in markdown
    assert "more metrics changed" not in markdown  # the one that moved is already shown


def test_a_passed_gate_is_collapsed_under_one_line_and_a_refused_one_is_open():
    gate = {"passed": True, "decision": "accepted", "challenger": {"rules": 3}, "cases": 9}
    passed = render(_data(gate=gate))
    assert "<details><summary>Champion vs challenger gate: passed (accepted)</summary>" in passed
    refused = render(_data(gate={**gate, "passed": False, "decision": "refused"}))
    assert "### Champion vs challenger gate" in refused and "gate: passed" not in refused


def test_rules_name_products_by_description_with_the_code_beside():
    names = item_names(
        pd.DataFrame(
            {
                "item_code": ["10001", "10002"],
                "description": ["RED STORAGE TIN", "STRIPED | TEACUP"],
            }
        )
    )
    assert describe_rule("10001 + 10003 -> 10002", names) == (
        "RED STORAGE TIN (`10001`) + `10003` → STRIPED / TEACUP (`10002`)"
    )


def test_no_bars_are_drawn_for_figures_that_moved_less_than_one_percent():
    assert moved_enough(0.200, 0.202) and not moved_enough(0.200, 0.2019)
    assert moved_enough(None, 0.1) and moved_enough(0.0, 0.1) and not moved_enough(0, 0)
    base = pd.DataFrame(
        {"k": [1, 5], "model_hit_rate": [0.100, 0.200], "popularity_hit_rate": [0.05, 0.10]}
    )
    head = pd.DataFrame(
        {"k": [1, 5], "model_hit_rate": [0.1005, 0.230], "popularity_hit_rate": [0.05, 0.10]}
    )
    chart = metric_by_k_chart(base, head, "hit_rate", "main")
    assert chart.splitlines()[0].startswith("k=5  model") and len(chart.splitlines()) == 2
    assert metric_by_k_chart(base, base, "hit_rate", "main") == ""
    rules = _rules(("a -> b", 0.1, 0.5))
    assert confidence_histogram(rules, rules, "main") == ""
    assert "**Plots:** no plotted figure moved by 1% or more." in render(
        _data(metrics_by_k=(base, base))
    )


def test_without_the_base_model_the_rule_section_says_why_and_the_rest_stands():
    note = "the rules of `main` are not available: no DVC remote"
    markdown = render(
        _data(rules=(RuleTable(None, "", note=note), RuleTable(_rules(("a -> b", 0.1, 0.5)), "x")))
    )
    rules_section = markdown.split("### Rule changes")[1].split("###")[0]
    assert note in rules_section
    assert "**Rules:**" not in markdown  # no counts to summarise
    assert "| `train.min_support` | `0.01` | `0.004` | -0.0060 (-60.0%) |" in markdown


def test_affinity_groups_gained_and_lost_are_reported_and_a_missing_side_says_why():
    base = pd.DataFrame({"group": [1, 1, 2, 2], "item_code": ["a", "b", "x", "y"]})
    head = pd.DataFrame({"group": [1, 1, 2, 2], "item_code": ["a", "b", "p", "q"]})
    section = render(_data(groups=(base, head))).split("<summary>Affinity groups: ")[1]
    assert section.startswith(  # the counts in view, the tables collapsed
        "2 affinity groups on <code>main</code>, 2 on this branch: 1 gained, 1 lost, 0 changed, "
        "1 unchanged.</summary>"
    )
    assert "**Gained**" in section.split("</details>")[0]
    same = render(_data(groups=(base, base)))
    assert "**Affinity groups:** unchanged (2 affinity groups on `main`" in same
    assert "<summary>Affinity groups" not in same
    missing = render(_data(groups=(None, head)))
    assert "**Affinity groups:** the groups of `main` are not available" in missing
    assert "Affinity groups" not in render(_data())


def test_validation_fails_when_the_rejected_share_passes_its_limit():
    markdown = render(_data(validation=({"rejected_share": 0.01}, {"rejected_share": 0.08})))
    assert "; validation passed (1.00% rejected) → **failed** (8.00% rejected)" in markdown
    assert "| rejected_share | 0.0100 | 0.0800 |" in markdown


def test_drift_raised_on_the_branch_is_flagged_with_what_drifted():
    head = {
        "drift_detected": True,
        "data_drift": True,
        "concept_drift": False,
        "retrain_recommended": True,
        "tests_run": 10,
        "tests_drifted": 2,
        "top_drifted": ["numeric: unit_price", {"kind": "item_share", "feature": "10001"}],
    }
    base = {
        "drift_detected": False,
        "data_drift": False,
        "concept_drift": False,
        "retrain_recommended": False,
        "tests_run": 10,
        "tests_drifted": 0,
        "top_drifted": ["numeric: unit_price"],
    }
    markdown = render(_data(drift=(base, head)))
    assert "; **drift raised** (data drift);" in markdown.splitlines()[4]  # the verdict
    assert "| drift_detected | no | :warning: yes | **raised** |" in markdown
    assert "| concept_drift |" not in markdown  # unchanged flags are not listed
    assert "| tests_drifted | 0 | 2 | +2 |" in markdown
    assert "`numeric: unit_price`, `item_share: 10001` (new)" in markdown


def test_drift_findings_are_shown_by_group_with_products_named_in_words():
    def found(group, label):
        return {"group": group, "kind": "k", "feature": "f", "label": label}

    labels = [f"PRODUCT {i} (1000{i}): in 1.0% of baskets, now 2.0%" for i in range(5)]
    head = {
        "drift_detected": True,
        "data_drift": True,
        "concept_drift": False,
        "retrain_recommended": True,
        "tests_run": 10,
        "tests_drifted": 6,
        "top_drifted": ["item_share: 10000"],
        "findings": [
            *(found("catalogue", t) for t in labels),
            found("price", "unit_price shifted: mean 2 -> 2.2 (+10.0%)"),
        ],
        "groups": {"catalogue": {"tests": 8, "drifted": 5}, "price": {"tests": 2, "drifted": 1}},
        "items": {"new": [{"name": "90001"}], "discontinued": []},
    }
    markdown = render(_data(drift=({"drift_detected": False}, head)))
    row = next(line for line in markdown.splitlines() if line.startswith("| catalogue |"))
    assert "| 8 | 5 |" in row and labels[0] in row and labels[2] in row
    assert labels[3] not in row and "2 more" in row  # one group cannot crowd out the rest
    assert "| price | 2 | 1 | unit_price shifted" in markdown
    assert "New products: 1; discontinued products: 0" in markdown


def test_a_long_report_is_cut_to_fit_a_pull_request_comment():
    params = [
        Change("params.yaml", f"sweep.value_{i}", float(i), float(i) + 1.5) for i in range(3000)
    ]
    markdown = render(_data(params=params))
    assert len(markdown) <= MAX_CHARS
    assert markdown.startswith("## Panier pipeline report")
    assert "was cut here" in markdown


def test_labels_cannot_break_out_of_code_spans_or_tables():
    assert fmt.code("evil`|name") == "evil'/name"


def test_the_report_is_not_a_pipeline_stage():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert all("panier.ops.pr_report" not in stage["cmd"] for stage in stages.values())


# ---------------------------------------------------------------------------------------------
# The report of a real branch against main

METRICS_FILES = [
    "metrics/validation.json",
    "metrics/train.json",
    "metrics/evaluate.json",
    "metrics/drift.json",
    "metrics/gate.json",
    "metrics/affinity.json",
]


def _flat(data: object, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a metrics file, keyed like DVC does ("model.hit_rate@5")."""
    if isinstance(data, dict):
        out: dict[str, float] = {}
        for key, value in data.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    if isinstance(data, int | float) and not isinstance(data, bool):
        return {prefix[:-1]: data}
    return {}


def _metrics(repo: Path, rev: str | None) -> dict[tuple[str, str], float]:
    """Each metrics file of ``rev`` (``None``: the workspace), read through DVC's own API: the
    detailed files are DVC outputs, in the cache of the run that made them."""
    import dvc.api

    out = {}
    for file in METRICS_FILES:
        text = (
            (repo / file).read_text()
            if rev is None
            else dvc.api.read(file, repo=str(repo), rev=rev)
        )
        out.update({(file, k): v for k, v in _flat(json.loads(text)).items()})
    return out


def _number(cell: str) -> float:
    return float(cell.replace(",", "").strip())


def _report(repo: Path, *args: str) -> str:
    return run(["python", "-m", "panier.ops.pr_report", "--base", "main", *args], repo).stdout


@pytest.fixture(scope="module")
def branch_report(pr_branch_repo: Path) -> str:
    return _report(pr_branch_repo)


@pytest.mark.slow
def test_the_changed_param_is_shown_against_main(branch_report: str):
    before = SMALL_PARAMS["train"]["min_support"]
    change = (PR_MIN_SUPPORT - before) / before
    assert (
        f"| `train.min_support` | `{before}` | `{PR_MIN_SUPPORT}` | "
        f"{PR_MIN_SUPPORT - before:+.4f} ({change:+.1%}) |"
    ) in branch_report
    assert branch_report.count("`train.min_support`") == 1  # one param changed, once
    assert "`lower-support` (" in branch_report and "compared with `main` (" in branch_report


@pytest.mark.slow
def test_every_metric_that_moved_is_listed_once_with_both_values_and_the_right_sign(
    pr_branch_repo: Path, branch_report: str
):
    old, new = _metrics(pr_branch_repo, "main"), _metrics(pr_branch_repo, None)
    moved = {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}
    assert ("metrics/train.json", "rules") in moved  # the change does something
    metrics = branch_report.split("### Metrics")[1].split("</details>")[0]
    rows = {}
    for line in metrics.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`metrics/"):  # the collapsed table
            key = (cells[0].strip("`"), cells[1])
        elif len(cells) == 5 and cells[0] in RECOMMENDERS:  # the headline table
            key = ("metrics/evaluate.json", f"{cells[0]}.{cells[1]}")
        elif len(cells) == 4 and cells[0] in TRAIN_HEADLINE:  # the training table
            key = ("metrics/train.json", cells[0])
        else:
            continue
        assert key not in rows, key  # nothing listed twice
        rows[key] = cells[-3:]
    assert set(rows) <= moved
    for key, (old_cell, new_cell, change) in rows.items():
        assert math.isclose(_number(old_cell), old[key], rel_tol=1e-3, abs_tol=5e-5), key
        assert math.isclose(_number(new_cell), new[key], rel_tol=1e-3, abs_tol=5e-5), key
        assert change.lstrip("▲▼ ").startswith("+" if new[key] > old[key] else "-"), (key, change)
    unlisted = len(moved) - len(rows)
    assert f"({len(moved)} of " in metrics
    assert (
        (
            f"{unlisted} more not listed here: `dvc metrics diff main --all` shows every one"
            in metrics
        )
        if unlisted
        else "not listed here" not in metrics
    )


@pytest.mark.slow
def test_headline_rows_show_the_quality_that_moved_and_count_the_rest(
    pr_branch_repo: Path, branch_report: str
):
    old, new = _metrics(pr_branch_repo, "main"), _metrics(pr_branch_repo, None)
    signs, same = set(), 0
    for recommender in ("model", "rules_only", "popularity"):
        for metric in ("hit_rate@5", "ndcg@5", "mrr@5", "coverage@5", "no_recommendation_share"):
            key = ("metrics/evaluate.json", f"{recommender}.{metric}")
            row = next(
                (
                    line
                    for line in branch_report.splitlines()
                    if line.startswith(f"| {recommender} | {metric} |")
                ),
                None,
            )
            delta = new[key] - old[key]
            if delta == 0:
                assert row is None, row  # an unchanged row is not shown
                same += 1
                continue
            change = row.strip("|").split("|")[-1].strip()
            expected = "▲ +" if delta > 0 else "▼ -"
            assert change.startswith(expected), (row, delta)
            signs.add(expected)
    assert {"▲ +", "▼ -"} <= signs  # this change moves quality both ways
    assert same and f"; {same} unchanged rows not shown:" in branch_report


@pytest.mark.slow
def test_rule_changes_agree_with_the_rules_of_both_commits(
    pr_branch_repo: Path, branch_report: str
):
    base = rules_from_plot(
        pd.read_csv(
            io.StringIO(run(["git", "show", "main:metrics/plots/rules.csv"], pr_branch_repo).stdout)
        )
    )
    head = rules_from_plot(pd.read_csv(pr_branch_repo / "metrics/plots/rules.csv"))
    gained = set(head["rule"]) - set(base["rule"])
    lost = set(base["rule"]) - set(head["rule"])
    assert gained  # lowering the support threshold finds new rules
    assert (
        f"{len(base):,} rules on `main`, {len(head):,} on this branch: "
        f"{len(gained):,} gained, {len(lost):,} lost"
    ) in branch_report
    top_gained = branch_report.split("**Gained**")[1].split("\n\n")[1]
    names = pd.read_parquet(pr_branch_repo / "models/items.parquet").set_index("item_code")
    listed = []
    for row in top_gained.splitlines()[2:]:
        rule = row.strip("|").split("|")[0]
        codes = re.findall(r"\(`([^`]+)`\)", rule)
        for code in codes:  # each product by its description, the code beside
            assert f"{names.loc[code, 'description']} (`{code}`)" in rule
        listed.append(rule_key(codes[:-1], codes[-1]))
    assert listed and set(listed) <= gained
    # Read from the models through the DVC cache, not from the fallback.
    assert "neither the local DVC cache" not in branch_report


@pytest.mark.slow
def test_the_verdict_comes_first_and_unchanged_sections_are_one_line(branch_report: str):
    lines = branch_report.splitlines()
    assert lines[4].startswith("**Verdict:** model changed — hit rate@5 ")
    assert lines[4].endswith("; no drift; gate passed; validation unchanged (passed)")
    for heading in ("### Params", "### Metrics", "### Rule changes"):
        assert heading in branch_report
    for heading in ("### Validation", "### Drift"):  # the same on both sides: one line each
        assert heading not in branch_report
    assert "**Validation:** unchanged, passed (" in branch_report
    assert "**Drift:** no drift on either side" in branch_report
    assert "<summary>Affinity groups: " in branch_report  # both sides' groups were read
    assert "**Hit rate by k**" in branch_report and "**Rules by confidence**" in branch_report
    assert "![" not in branch_report  # no image: nothing to upload anywhere


@pytest.mark.slow
def test_the_comment_of_a_typical_change_is_short(branch_report: str):
    # Was 304 lines for this change before the verdict and the collapsing of unchanged parts.
    assert len(branch_report.splitlines()) < 200


@pytest.mark.slow
def test_the_example_comment_in_the_docs_is_this_changes_real_report(pr_branch_repo: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "docs_examples", ROOT / "scripts" / "docs_examples.py"
    )
    docs_examples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(docs_examples)
    committed = docs_examples.PR_REPORT_EXAMPLE.read_text(encoding="utf-8")
    fresh = docs_examples.pr_report_example(pr_branch_repo)
    assert committed == fresh, (
        "docs/pr-report-example.md is stale: run `python scripts/docs_examples.py` and commit it"
    )
    # The how-to quotes its verdict line and its length: they must be this run's too.
    howto = (ROOT / "docs" / "how-to" / "ci-reports.md").read_text(encoding="utf-8")
    quoted = " ".join(line[2:] for line in howto.splitlines() if line.startswith("> "))
    comment = fresh.split("\n---\n\n", 1)[1]
    assert comment.splitlines()[4] in quoted
    assert f"the comment is {len(comment.splitlines())} lines" in " ".join(howto.split())


@pytest.mark.slow
def test_without_the_base_model_in_dvc_the_rules_come_from_the_committed_plot(
    pr_branch_repo: Path, branch_report: str, tmp_path: Path
):
    copy = tmp_path / "no-cache"
    shutil.copytree(pr_branch_repo, copy, symlinks=True)
    shutil.rmtree(copy / ".dvc" / "cache")
    markdown = _report(copy)
    assert "is in neither the local DVC cache nor a reachable DVC remote" in markdown
    counts = re.compile(r"\d[\d,]* rules on `main`, .* different confidence\.")
    assert counts.search(markdown).group() == counts.search(branch_report).group()


@pytest.mark.slow
def test_the_console_script_writes_the_same_report_to_a_file(
    pr_branch_repo: Path, branch_report: str, tmp_path: Path
):
    out = tmp_path / "comment.md"
    run(["panier-report", "--base", "main", "--output", str(out)], pr_branch_repo)
    assert out.read_text() == branch_report


@pytest.mark.slow
def test_an_unknown_base_gets_one_clear_message(pr_branch_repo: Path):
    result = run(
        ["python", "-m", "panier.ops.pr_report", "--base", "no-such-branch"],
        pr_branch_repo,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "report failed: base revision 'no-such-branch' is not known to git in "
        f"{pr_branch_repo}: fetch it first (git fetch origin no-such-branch) or pass another "
        "--base"
    ]


@pytest.mark.slow
def test_the_gate_verdict_is_summarised_and_has_its_own_section(branch_report: str):
    # No registry in this repository: the branch's model is accepted as the first version.
    assert "; gate passed; " in branch_report.splitlines()[4]
    section = branch_report.split(
        "<summary>Champion vs challenger gate: passed (accepted first version)</summary>", 1
    )[1]
    assert "**passed** (no champion: first version)" in section
    assert "| hit_rate@5 | - |" in section
