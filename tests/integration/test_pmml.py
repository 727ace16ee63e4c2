"""The PMML export (docs/reference/pmml.md): a valid PMML 4.4 document by the standard's XML
schema, holding every rule exactly, byte-identical for equal inputs, and scored by an engine
the project did not write (JPMML-Evaluator on the JVM) to the same recommendations as
``panier.core.recommend`` and the service, up to the one documented difference: PMML ranks rules,
panier ranks items.

The schema and the engine come from the ``jpmml-evaluator`` package of the dev extra (its
bundled ``pmml-model`` jar carries the PMML 4.4 XSD); Java 17 comes from Debian. Without Java
the engine tests skip, or fail under ``PANIER_REQUIRE_TOOLS=1`` (CI).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import zipfile
from functools import cache
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree

from panier.core.baskets import baskets_from_lines, split_windows
from panier.core.config import load_params
from panier.core.errors import DataError
from panier.core.recommend import RuleRecommender
from panier.stages.export_pmml import pmml
from panier_service.artifact import load_model
from support.service_support import ROOT, train_lines, write_model

NS = {"p": pmml.NAMESPACE}


@cache
def pmml_schema() -> etree.XMLSchema:
    """The PMML 4.4 XML schema as shipped in JPMML-Model's jar inside ``jpmml-evaluator``."""
    import jpmml_evaluator

    jars = Path(jpmml_evaluator.__file__).parent / "dependencies"
    jar = next(j for j in sorted(jars.glob("pmml-model-*.jar")) if "metro" not in j.name)
    with zipfile.ZipFile(jar) as archive:
        xsd = archive.read("pmml.xsd")
    schema = etree.fromstring(xsd)
    assert schema.get("targetNamespace") == pmml.NAMESPACE
    return etree.XMLSchema(schema)


def validate(document: bytes) -> list[str]:
    """The schema's complaints about ``document``; empty when it is valid."""
    schema = pmml_schema()
    ok = schema.validate(etree.fromstring(document))
    return [] if ok else [f"line {e.line}: {e.message}" for e in schema.error_log]


def read_model(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    return (
        pd.read_parquet(folder / "rules.parquet"),
        pd.read_parquet(folder / "items.parquet"),
        json.loads((folder / "model_card.json").read_text()),
    )


@pytest.fixture(scope="module")
def windows():
    """Generated shop data split as the pipeline splits it: train, holdout, current."""
    return split_windows(train_lines(8000), load_params(ROOT / "params.yaml").windows)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, windows) -> Path:
    # Low support and max_len 4: hundreds of rules, antecedents of 1 to 3 items, many rules
    # per consequent and ties on confidence.
    return write_model(
        tmp_path_factory.mktemp("model"),
        windows.train,
        min_support=0.004,
        min_confidence=0.1,
        max_len=4,
    )


@pytest.fixture(scope="module")
def document(model_dir) -> bytes:
    return pmml.to_pmml(*read_model(model_dir))


def test_the_export_is_valid_pmml_4_4(model_dir, document):
    rules = pd.read_parquet(model_dir / "rules.parquet")
    assert set(rules["antecedent_size"]) == {1, 2, 3}
    assert validate(document) == []


#: Everything the export may use: elements of the DMG's PMML 4.4 schema. JPMML-Model's copy of
#: the schema adds vendor attributes named ``x-...`` (and elements of other model types);
#: keeping to this list keeps the file valid by the DMG's schema itself.
ELEMENTS = {
    "PMML",
    "Header",
    "Extension",
    "Application",
    "DataDictionary",
    "DataField",
    "AssociationModel",
    "MiningSchema",
    "MiningField",
    "Output",
    "OutputField",
    "Item",
    "Itemset",
    "ItemRef",
    "AssociationRule",
}


def test_the_export_uses_no_vendor_extension_of_the_schema(document):
    tree = etree.fromstring(document)
    tags = {etree.QName(e).localname for e in tree.iter()}
    assert tags <= ELEMENTS
    assert not [a for e in tree.iter() for a in e.attrib if a.startswith("x-")]
    assert tree.get("version") == "4.4"


def test_a_model_without_rules_is_still_a_valid_file(model_dir):
    rules, items, card = read_model(model_dir)
    empty = pmml.to_pmml(rules.iloc[0:0], items, card)
    assert validate(empty) == []
    model = etree.fromstring(empty).find("p:AssociationModel", NS)
    assert (model.get("numberOfRules"), model.get("numberOfItemsets")) == ("0", "0")
    assert len(model.findall("p:Item", NS)) == len(items)


def test_the_schema_check_catches_a_broken_document(document):
    tree = etree.fromstring(document)
    rule = tree.find(".//p:AssociationRule", NS)
    del rule.attrib["confidence"]  # a required attribute
    tree.find(".//p:AssociationModel", NS).set("functionName", "basketing")  # not an enum value
    errors = validate(etree.tostring(tree))
    assert any("confidence" in e for e in errors), errors
    assert any("functionName" in e for e in errors), errors


def test_every_rule_reads_back_exactly(model_dir, document):
    rules, items, card = read_model(model_dir)
    tree = etree.fromstring(document)
    model = tree.find("p:AssociationModel", NS)
    code_of = {i.get("id"): i.get("value") for i in model.findall("p:Item", NS)}
    itemsets = {
        s.get("id"): (
            tuple(code_of[r.get("itemRef")] for r in s.findall("p:ItemRef", NS)),
            float(s.get("support")),
        )
        for s in model.findall("p:Itemset", NS)
    }
    read = {}
    for rule in model.findall("p:AssociationRule", NS):
        antecedent, a_support = itemsets[rule.get("antecedent")]
        (consequent,), c_support = itemsets[rule.get("consequent")]
        read[antecedent, consequent] = tuple(
            float(rule.get(m)) for m in ("support", "confidence", "lift", "leverage")
        )
        read[antecedent, consequent] += (a_support, c_support)
    n = card["counts"]["baskets"]
    expected = {
        (tuple(r.antecedent), r.consequent): (
            r.support,
            r.confidence,
            r.lift,
            r.leverage,
            r.antecedent_count / n,
            r.consequent_count / n,
        )
        for r in rules.itertuples()
    }
    assert read == expected  # exact float equality: numbers are written to round-trip
    assert list(code_of.values()) == items["item_code"].tolist()  # popularity order kept
    assert model.get("numberOfRules") == str(len(rules))
    assert model.get("numberOfItemsets") == str(len(itemsets))
    assert model.get("numberOfTransactions") == str(n)
    assert float(model.get("minimumSupport")) == card["params"]["train"]["min_support"]
    assert float(model.get("minimumConfidence")) == card["params"]["train"]["min_confidence"]
    assert model.get("lengthLimit") == str(card["params"]["train"]["max_len"])


def test_the_header_names_the_model_and_its_data(model_dir, document):
    card = read_model(model_dir)[2]
    header = etree.fromstring(document).find("p:Header", NS)
    assert header.get("modelVersion") == card["data"]["fingerprint_sha256"]
    extensions = {e.get("name"): e.get("value") for e in header.findall("p:Extension", NS)}
    assert extensions["schema_version"] == str(card["schema_version"])
    assert extensions["data_fingerprint_sha256"] == card["data"]["fingerprint_sha256"]
    assert extensions["params.train.min_support"] == str(card["params"]["train"]["min_support"])
    assert header.find("p:Application", NS).get("version") == card["libraries"]["panier"]
    assert header.find("p:Timestamp", NS) is None  # no clock: equal inputs, equal bytes


def test_equal_inputs_give_identical_bytes_whatever_the_row_order(model_dir, document):
    rules, items, card = read_model(model_dir)
    shuffled = rules.sample(frac=1.0, random_state=3).reset_index(drop=True)
    assert pmml.to_pmml(rules, items, card) == document
    assert pmml.to_pmml(shuffled, items, card) == document


def test_text_xml_cannot_hold_is_replaced_not_left_to_break_the_file(model_dir):
    rules, items, card = read_model(model_dir)
    items = items.copy()
    items.loc[0, "description"] = 'BAG <"RED"> & \x01 TAB\tEND'
    tree = etree.fromstring(pmml.to_pmml(rules, items, card))
    first = tree.find(".//p:Item/p:Extension", NS)
    assert first.get("value") == 'BAG <"RED"> & \ufffd TAB\tEND'


def test_rules_that_name_an_unknown_item_get_one_message(model_dir):
    rules, items, card = read_model(model_dir)
    with pytest.raises(DataError, match=r"models/items.parquet, e\.g\. \['"):
        pmml.to_pmml(rules, items.iloc[5:], card)


def test_the_stage_writes_the_export(model_dir, document, tmp_path, monkeypatch):
    from panier.stages.export_pmml import stage as export_pmml

    shutil.copytree(model_dir, tmp_path / "models")
    monkeypatch.chdir(tmp_path)
    export_pmml.main()
    assert (tmp_path / "models" / "rules.pmml").read_bytes() == document


# --- The independent engine -------------------------------------------------------------


def _require_java() -> None:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        message = "Java is needed for the PMML engine test: apt-get install openjdk-17-jre-headless"
        if os.environ.get("PANIER_REQUIRE_TOOLS") == "1":
            pytest.fail(message + " (PANIER_REQUIRE_TOOLS=1)")
        pytest.skip(message)


ENGINE = Path(__file__).parents[1] / "support" / "pmml_engine.py"


def engine_ranked(path: Path, baskets: list[list[str]]) -> list[list[str]]:
    """JPMML-Evaluator's ranked consequents for each basket (tests/support/pmml_engine.py, in
    a child process: the JVM never enters the test process)."""
    result = subprocess.run(
        [sys.executable, str(ENGINE), str(path)],
        input=json.dumps(baskets),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def holdout_baskets(windows) -> list[list[str]]:
    baskets = baskets_from_lines(windows.holdout).as_lists()
    random.Random(5).shuffle(baskets)
    return baskets[:400]


@pytest.fixture(scope="module")
def lonely_item(model_dir) -> str:
    """The least popular item that starts no rule."""
    items = pd.read_parquet(model_dir / "items.parquet")["item_code"].tolist()
    rules = pd.read_parquet(model_dir / "rules.parquet")
    in_rules = {a for antecedent in rules["antecedent"] for a in antecedent}
    return next(i for i in reversed(items) if i not in in_rules)


@pytest.fixture(scope="module")
def engine_answers(document, holdout_baskets, lonely_item, tmp_path_factory) -> dict:
    """The engine's ranked consequents for the holdout baskets and a few edge cases, from one
    engine process (starting a JVM takes seconds)."""
    _require_java()
    path = tmp_path_factory.mktemp("pmml") / "rules.pmml"
    path.write_bytes(document)
    edge = [[lonely_item], ["not-an-item"], []]
    ranked = engine_ranked(path, holdout_baskets + edge)
    return {"holdout": ranked[: len(holdout_baskets)], "edge": ranked[len(holdout_baskets) :]}


def distinct(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def test_an_independent_engine_recommends_what_panier_and_the_service_do(
    model_dir, engine_answers, holdout_baskets
):
    """PMML's ``exclusiveRecommendation`` ranks applicable rules by confidence; the same item
    comes back once per rule recommending it. Keeping each item's first appearance gives
    exactly panier's ranking (the documented difference, and how a consumer reads it)."""
    rules = pd.read_parquet(model_dir / "rules.parquet")
    panier = RuleRecommender(rules)
    service = load_model(model_dir)
    compared = repeated = complete = 0
    for basket, ranked in zip(holdout_baskets, engine_answers["holdout"], strict=True):
        items = distinct(ranked)
        expected = panier.recommend(basket, len(items)) if items else []
        served = (
            [
                s.item_code
                for s in service.recommend(basket, len(items)).suggestions
                if s.rule is not None
            ]
            if items
            else []
        )
        assert items == expected == served, basket
        if len(ranked) < pmml.RANKED_OUTPUTS:  # the engine listed every applicable rule
            assert items == panier.recommend(basket, len(rules)), basket
            complete += 1
        compared += bool(items)
        repeated += len(items) < len(ranked)
    assert len(holdout_baskets) >= 300
    assert compared >= 100, "too few holdout baskets with an applicable rule to compare"
    assert repeated > 0, "no basket showed an item recommended by several rules"
    assert complete > 0


def test_a_basket_without_applicable_rules_gets_no_engine_recommendation(engine_answers):
    # The least popular item that starts no rule, an item the model does not know, nothing.
    assert engine_answers["edge"] == [[], [], []]
