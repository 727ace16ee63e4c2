"""Write docs/reference/outputs.md, the reference of what ``dvc repro`` writes, from the files
of a real run: the model artifact's Parquet schemas, the model card's keys and every metrics
file's keys, each with its type as found and its meaning from the tables below.

A column or key the run writes that this script does not describe, or one it describes that
the run no longer writes, stops the script: the page cannot drift from the outputs.
``tests/test_outputs_reference.py`` renders the page from the outputs of its own pipeline
run and fails when the committed page differs.

Usage: ``python scripts/outputs_reference.py [--check] [--repo PATH]`` after ``dvc repro``
(PATH: a repository with the outputs of a run; default this one).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow.parquet as pq
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _generated import ROOT, write_or_check

from panier.core.markdown import table
from panier.stages.summary.headline import SOURCES

TARGET = ROOT / "docs" / "reference" / "outputs.md"

RULES_COLUMNS = {
    "antecedent": "the items in the basket (item codes, sorted)",
    "consequent": "the item recommended (one item code)",
    "antecedent_size": "how many items the antecedent holds",
    "count": "training baskets holding antecedent and consequent",
    "antecedent_count": "training baskets holding the antecedent",
    "consequent_count": "training baskets holding the consequent",
    "support": "`count` / training baskets",
    "confidence": "`count` / `antecedent_count`: how often buyers of the antecedent also buy the "
    "consequent",
    "lift": "confidence / the consequent's support: above 1, the antecedent makes it likelier",
    "leverage": "support minus the support expected if the two were independent",
    "conviction": "how much likelier the rule is right than by chance; infinite for confidence 1",
}
ITEMS_COLUMNS = {
    "item_code": "the item (the serving fallback's ranking order: most baskets first)",
    "description": "its most frequent description in the training window",
    "baskets": "training baskets holding it",
    "support": "`baskets` / training baskets",
}
MODEL_CARD_KEYS = {
    "schema_version": "the artifact layout's version; a reader refuses one it does not know",
    "model": '`"association_rules"`',
    "files": "the artifact's files by role (`rules`, `items`)",
    "rule_columns": "the columns of `rules.parquet`, in order",
    "params": "the `train` and `windows` params that made the model",
    "data": "the training window: content fingerprint (SHA-256), rows, first and last time",
    "counts": "baskets, items, the support threshold as a basket count, itemsets and rules "
    "(also by size)",
    "libraries": "versions of the libraries that computed it",
}
METRICS = {
    "metrics/summary.json": {
        key: f"from `{source.split(': ')[0]}`: {source.split(': ')[1]}"
        for key, source in SOURCES.items()
    },
    "metrics/validation.json": {
        "source": "the source read (credentials and query strings redacted)",
        "rows_in": "line items read from the source",
        "rows_clean": "line items kept",
        "rows_rejected": "line items rejected, each kept in `data/validated/rejected.parquet` "
        "with its reason",
        "rejected_share": "`rows_rejected` / `rows_in`",
        "rejected_by_reason": "rejected line items by reason code",
        "invoices_clean": "invoices with at least one clean line",
        "invoices_multi_item": "clean invoices with two or more distinct items",
        "items_clean": "distinct items in the clean lines",
        "invoices_without_customer": "clean invoices without a customer id (guest checkouts, kept)",
        "clean_rows_without_customer": "clean lines without a customer id",
        "clean_rows_without_description": "clean lines without a description",
        "invoices_over_100_items": "clean invoices of more than 100 distinct items (kept)",
        "clean_rows_in_invoices_over_100_items": "clean lines in those invoices",
        "invoices_too_large": "invoices over `validate.max_basket_items`, rejected whole",
        "columns_not_provided": "canonical columns the source does not have (mapped to null)",
        "source_columns": "the source's columns and their types",
        "unexpected_columns": "source columns the mapping does not use",
        "schema_changes": "columns added, removed or retyped against the committed reference",
        "time_span": "first and last timestamp of the clean lines",
    },
    "metrics/train.json": {
        "baskets": "baskets of the training window",
        "items": "distinct items in them",
        "min_count": "`train.min_support` as a basket count",
        "itemsets": "frequent itemsets mined",
        "itemsets_by_size": "frequent itemsets by size",
        "rules": "rules kept",
        "rules_by_size": "rules by size (antecedent plus consequent)",
        "max_basket_items": "`train.max_basket_items`: larger baskets are left out of mining",
        "baskets_left_out_of_mining": "baskets over that size",
        "rows_left_out_of_mining": "their line items",
    },
    "metrics/evaluate.json": {
        "model": "the served recommender (rules, then the popularity fallback): `hit_rate@k`, "
        "`precision@k`, `recall@k`, `ndcg@k`, `mrr@k`, `coverage@k` for each k of "
        "`evaluate.k`, `no_recommendation_share` and the number of `cases`",
        "rules_only": "the same figures for the rules alone",
        "popularity": "the same figures for the popularity baseline",
    },
    "metrics/drift.json": {
        "retrain_recommended": "the verdict: whether to retrain",
        "retrain_reasons": "why, in words",
        "drift_detected": "any test drifted",
        "data_drift": "a data test drifted",
        "concept_drift": "a rule or model-quality test drifted",
        "decision": "the decision rule: correction, false-discovery rate, effect floors",
        "findings": "the drifted tests as findings people read, by group",
        "groups": "tests and drifted tests per group (catalogue, price, basket shape, rules, "
        "model quality, data quality)",
        "investigate": "what to look at first",
        "items": "items new, discontinued, gained, lost and untested",
        "rules": "rules strengthened, weakened, more or less frequent, untested",
        "skipped": "what could not be tested, and why",
        "tests": "every test: kind, feature, statistic, p-value, adjusted p, effect, floor",
        "tests_by_kind": "tests run per kind",
        "tests_run": "tests run",
        "tests_drifted": "tests drifted",
        "top_drifted": "the drifted tests, most important first",
        "top_drifted_plain": "the same, in words",
        "top_k": "the served model's quality on the current window, with bootstrap intervals",
        "windows": "the reference and current windows, and the holdout baskets",
    },
    "metrics/gate.json": {
        "decision": "`accepted`, `accepted_first_version` or `rejected`",
        "passed": "whether the challenger may be promoted",
        "reasons": "why, in words",
        "checks": "each check: figure, champion, challenger, interval, margin, passed",
        "champion": "the champion's figures (null: no champion yet)",
        "challenger": "this model's figures",
        "cases": "leave-one-out cases both models answered",
        "rule": "the gate's params",
        "stage": "the registry stage of the champion",
        "window": "the evaluation window",
        "window_start": "its first day",
        "notes": "anything else the reader should know",
    },
    "metrics/affinity.json": {
        "groups": "affinity groups found",
        "nodes": "items in the product graph",
        "edges": "item pairs linked by rules",
        "modularity": "how well the groups separate (Louvain modularity)",
        "grouped_items": "items in a group",
        "ungrouped_items": "items in none",
        "model_rules": "rules of the model",
        "rules_inside_groups": "rules whose items are all in one group",
        "rules_anchored_in_groups": "rules whose consequent's group holds an antecedent item",
    },
}


def _type(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "bool", int: "int", float: "float", str: "string", list: "list", dict: "object"}[
        type(value)
    ]


def _rows(found: dict[str, str], described: dict[str, str], where: str) -> list[list[str]]:
    """``found`` (name -> type) against ``described`` (name -> meaning), in written order."""
    missing = sorted(set(found) - set(described))
    gone = sorted(set(described) - set(found))
    if missing or gone:
        raise SystemExit(
            f"{where}: undescribed {missing}, described but not written {gone}; "
            "update scripts/outputs_reference.py"
        )
    return [[f"`{name}`", f"`{kind}`", described[name]] for name, kind in found.items()]


def _parquet(path: Path, described: dict[str, str]) -> str:
    schema = pq.read_schema(path)
    found = {field.name: str(field.type) for field in schema}
    return table(["column", "type", "meaning"], _rows(found, described, str(path)))


def _json(path: Path, described: dict[str, str]) -> str:
    data = json.loads(path.read_text(encoding="utf-8"))
    found = {key: _type(value) for key, value in data.items()}
    # The gate's champion is null before the first version: say what it is otherwise.
    if found.get("champion") == "null":
        found["champion"] = "object or null"
    return table(["key", "type", "meaning"], _rows(found, described, str(path)))


def build(repo: Path = ROOT) -> str:
    declared = []
    for stage in yaml.safe_load((repo / "dvc.yaml").read_text())["stages"].values():
        for entry in [*stage.get("metrics", []), *stage.get("outs", [])]:
            name = next(iter(entry)) if isinstance(entry, dict) else entry
            if name.startswith("metrics/") and name.endswith(".json"):
                declared.append(name)
    if sorted(declared) != sorted(METRICS):
        raise SystemExit(f"dvc.yaml declares {declared}; this script describes {list(METRICS)}")
    parts = [
        "# What `dvc repro` writes\n",
        "Generated by `python scripts/outputs_reference.py` from the files of a real run; "
        "`tests/test_outputs_reference.py` fails when a column or key is added, removed or "
        "retyped without this page. Types are Arrow's for Parquet and JSON's for the metrics "
        "files.\n",
        "## The model artifact (`models/`)\n",
        "Plain Parquet and JSON, never a pickle: loading it runs no code. The service and the "
        "PMML export read exactly these files.\n",
        "### `models/rules.parquet`: one row per rule\n",
        _parquet(repo / "models" / "rules.parquet", RULES_COLUMNS) + "\n",
        "### `models/items.parquet`: one row per item of the training window\n",
        _parquet(repo / "models" / "items.parquet", ITEMS_COLUMNS) + "\n",
        "### `models/model_card.json`: what the model is and what made it\n",
        "No creation time: the card is byte-identical when its inputs are.\n",
        _json(repo / "models" / "model_card.json", MODEL_CARD_KEYS) + "\n",
        "## Metrics files (`metrics/`)\n",
        "`metrics/summary.json` holds the headline figures, copied from the detailed files "
        "by the last stage, `summary`. It is the one file declared as `metrics:` in "
        "`dvc.yaml`, so `dvc metrics show`, `dvc metrics diff` and `dvc exp show` fit in 120 "
        "columns; it is committed to git. The detailed files are plain outputs of their "
        "stages, in the DVC cache and pushed with the data: DVC saves no stage with a plain "
        "`cache: false` output to its run cache, and `dvc repro --pull` would then re-run "
        "it. Read them directly, or compare them with `dvc metrics diff --targets "
        "metrics/evaluate.json` or `panier report`. The Markdown beside them "
        "(`validation.md`, `drift.md`, `gate.md`, `affinity.md`) says the same for "
        "people.\n",
    ]
    for name, described in METRICS.items():
        parts += [f"### `{name}`\n", _json(repo / name, described) + "\n"]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    repo = ROOT
    if argv is None:
        argv = sys.argv[1:]
    if "--repo" in argv:
        at = argv.index("--repo")
        repo = Path(argv[at + 1]).resolve()
        argv = argv[:at] + argv[at + 2 :]
    return write_or_check(TARGET, lambda: build(repo), __doc__.split("\n\n")[0], argv)


if __name__ == "__main__":
    sys.exit(main())
