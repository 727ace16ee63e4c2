"""Validation: every row ends up clean or rejected with one reason, the counts add up, and a
failure says what is wrong, where, and how to fix it."""

from __future__ import annotations

import json
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest

from panier.core import schema as S
from panier.core.config import GeneratorParams, ParsingParams, ValidateParams, parse_params
from panier.core.errors import ConfigError, DataError
from panier.stages.ingest.generate import generate_line_items
from panier.stages.validate import input_schema
from panier.stages.validate.messages import dataset_error, rejection_error
from panier.stages.validate.reasons import FIXES, REASON_COLUMNS, REASONS
from panier.stages.validate.report import render_markdown
from panier.stages.validate.validation import REASON_COLUMN, ROW_COLUMN, validate_line_items

TODAY = date(2025, 6, 1)
PARAMS = ValidateParams(
    max_rejected_share=0.05, max_basket_items=5, max_quantity=10_000, min_timestamp=date(2000, 1, 1)
)


def row(invoice: str = "1001", item: str = "A", **changes) -> dict:
    """One valid line item as a text export holds it."""
    values = {
        S.INVOICE: invoice,
        S.TIMESTAMP: "2025-01-15 10:30:00",
        S.CUSTOMER: "17850",
        S.COUNTRY: "United Kingdom",
        S.ITEM: item,
        S.DESCRIPTION: f"ITEM {item}",
        S.QUANTITY: "2",
        S.PRICE: "1.25",
    }
    values.update(changes)
    return values


def base_rows() -> list[dict]:
    """Six valid invoices of three items each."""
    return [row(str(1000 + i), item) for i in range(6) for item in ("A", "B", "C")]


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, dtype="str")


def validate(rows: list[dict], params: ValidateParams = PARAMS, **kwargs):
    return validate_line_items(frame(rows), params, source="export.csv", today=TODAY, **kwargs)


# Reason -> rows that must be rejected for exactly that reason (added to valid invoices).
BAD_ROWS: dict[str, list[dict]] = {
    "malformed_row": [{**{c: None for c in S.COLUMNS}, S.MALFORMED: "1001;A;2"}],
    "missing_invoice_id": [row(None), row("  ")],
    "missing_timestamp": [row(timestamp=None)],
    "unparseable_timestamp": [row(timestamp="not a date"), row(timestamp="2025-13-45")],
    "future_timestamp": [row(timestamp="2999-01-01 00:00:00")],
    "too_old_timestamp": [row(timestamp="1900-01-01 00:00:00")],
    "missing_item_code": [row(item=None), row(item="")],
    "missing_quantity": [row(quantity=None)],
    "unparseable_quantity": [row(quantity="two"), row(quantity="1.5")],
    # would wrap to -9223372036854775808, or lose its last digit, in the canonical int64
    "quantity_out_of_range": [row(quantity="1e30"), row(quantity="9007199254740993")],
    "missing_unit_price": [row(unit_price=None)],
    "unparseable_unit_price": [row(unit_price="£2.50"), row(unit_price="inf")],
    "cancelled_invoice": [row("C1001", quantity="-2")],
    "return": [row(quantity="-2"), row(quantity="0")],
    "non_positive_price": [row(unit_price="0"), row(unit_price="-1.5")],
    "non_product": [row(item="POST"), row(item="post "), row(item="BANK CHARGES")],
    "quantity_too_large": [row(quantity="80995")],
    "duplicate_row": [row("1000", "A")],
    "basket_too_large": [row("2000", f"P{i}") for i in range(6)],
}


def test_every_reason_code_has_a_case_a_column_and_a_fix():
    assert set(BAD_ROWS) == set(REASONS) == set(REASON_COLUMNS) == set(FIXES)


@pytest.mark.parametrize("reason", list(REASONS))
def test_each_reason_code_rejects_its_rows_and_only_them(reason: str):
    bad = BAD_ROWS[reason]
    result = validate(base_rows() + bad)
    rejected = result.rejected
    assert list(rejected[REASON_COLUMN]) == [reason] * len(bad)
    assert list(rejected[ROW_COLUMN]) == list(range(18, 18 + len(bad)))
    assert result.report["rejected_by_reason"] == {
        code: (len(bad) if code == reason else 0) for code in REASONS
    }
    assert result.report["rows_clean"] == 18


def test_a_row_with_several_problems_gets_the_first_reason_in_priority_order():
    result = validate([*base_rows(), row("C9", item="POST", quantity="-1", unit_price="0")])
    assert list(result.rejected[REASON_COLUMN]) == ["cancelled_invoice"]
    result = validate([*base_rows(), row(None, timestamp="garbage", quantity="x")])
    assert list(result.rejected[REASON_COLUMN]) == ["missing_invoice_id"]


def test_a_value_that_does_not_parse_is_unparseable_not_missing():
    result = validate(
        [*base_rows(), row(timestamp="garbage"), row(quantity="abc"), row(unit_price="n/a")]
    )
    assert list(result.rejected[REASON_COLUMN]) == [
        "unparseable_timestamp",
        "unparseable_quantity",
        "unparseable_unit_price",
    ]


def test_every_row_is_accounted_for_exactly_and_rejected_rows_keep_their_original_values():
    rows = base_rows() + [r for bad in BAD_ROWS.values() for r in bad]
    result = validate(rows)
    report = result.report
    assert report["rows_in"] == len(rows)
    assert report["rows_in"] == report["rows_clean"] + report["rows_rejected"]
    assert sum(report["rejected_by_reason"].values()) == report["rows_rejected"]
    assert len(result.clean) == report["rows_clean"]
    assert len(result.rejected) == report["rows_rejected"]
    # Original text, not the parsed value: the user must recognise the row.
    originals = frame(rows)
    for rejected in result.rejected.itertuples(index=False):
        source = originals.iloc[rejected.source_row]
        assert rejected.quantity == source[S.QUANTITY] or pd.isna(source[S.QUANTITY])
        assert rejected.timestamp == source[S.TIMESTAMP] or pd.isna(source[S.TIMESTAMP])
    assert result.rejected[ROW_COLUMN].is_unique
    kept = set(range(len(rows))) - set(result.rejected[ROW_COLUMN])
    assert len(kept) == report["rows_clean"]


def test_the_generators_dirt_is_caught_and_the_counts_add_up():
    lines = generate_line_items(GeneratorParams(n_invoices=800, n_customers=200, dirty_share=0.05))
    result = validate_line_items(
        lines, ValidateParams(max_rejected_share=0.2), today=date(2026, 1, 1)
    )
    report = result.report
    assert report["rows_in"] == len(lines) == report["rows_clean"] + report["rows_rejected"]
    assert sum(report["rejected_by_reason"].values()) == report["rows_rejected"]
    for code in (
        "cancelled_invoice",
        "non_product",
        "non_positive_price",
        "missing_item_code",
        "duplicate_row",
    ):
        assert report["rejected_by_reason"][code] > 0, code
    assert report["clean_rows_without_customer"] > 0  # guests are kept, and counted
    assert list(result.clean.dtypes.astype(str)) == [
        "str",
        "datetime64[ns]",
        "str",
        "str",
        "str",
        "str",
        "int64",
        "float64",
        "int64",
    ]
    assert list(result.clean.columns) == [*S.COLUMNS, S.SOURCE_ROW]


def test_guest_checkouts_and_missing_descriptions_are_kept_and_counted():
    rows = base_rows()
    for r in rows[:3]:
        r[S.CUSTOMER] = None
    rows[4][S.DESCRIPTION] = ""
    report = validate(rows).report
    assert report["rows_rejected"] == 0
    assert report["clean_rows_without_customer"] == 3
    assert report["invoices_without_customer"] == 1
    assert report["clean_rows_without_description"] == 1


# --- the threshold failure ---------------------------------------------------------------------


def test_the_threshold_failure_names_the_file_the_column_the_reason_example_rows_and_the_fix():
    rows = base_rows() + [row(str(3000 + i), unit_price="0") for i in range(5)]
    result = validate(rows, source_columns={S.PRICE: "UnitPrice", S.INVOICE: "InvoiceNo"})
    message = rejection_error(result, PARAMS)
    assert message is not None
    assert message.startswith(
        "export.csv: 5 of 23 rows rejected (21.74%), above validate.max_rejected_share (5.00%)"
    )
    assert "non_positive_price" in message
    assert "column unit_price ('UnitPrice' in the source)" in message
    assert "e.g. source rows 18, 19, 20" in message
    assert re.search(r"18\s+3000\s+A\s+0", message)  # the example rows' original values
    assert "fix: check the column mapped to unit_price" in message
    assert "data/validated/rejected.parquet" in message
    assert len(message.splitlines()) < 15  # short: a few examples, not every row
    assert "Traceback" not in message


def test_below_the_threshold_there_is_no_failure():
    result = validate([*base_rows(), row(unit_price="0")])
    assert rejection_error(result, ValidateParams(max_rejected_share=0.1)) is None
    assert rejection_error(result, ValidateParams(max_rejected_share=0.01)) is not None


def test_a_reason_with_its_own_limit_is_judged_alone():
    rows = base_rows() + [row(f"C{i}") for i in range(6)]  # 25% cancellations
    result = validate(rows)
    assert "cancelled_invoice" in rejection_error(result, PARAMS)
    own = PARAMS.model_copy(update={"max_rejected_share_by_reason": {"cancelled_invoice": 0.3}})
    assert rejection_error(result, own) is None
    strict = PARAMS.model_copy(update={"max_rejected_share_by_reason": {"cancelled_invoice": 0.1}})
    message = rejection_error(result, strict)
    assert "validate.max_rejected_share_by_reason.cancelled_invoice (10.00%)" in message


def test_a_limit_on_an_unknown_reason_is_a_config_error():
    params = ValidateParams(max_rejected_share_by_reason={"retrun": 0.2})
    with pytest.raises(ConfigError, match=r"unknown reason code.*retrun"):
        validate(base_rows(), params)


def test_single_item_baskets_and_nothing_clean_fail_with_a_reason():
    single = validate([row(str(i), "A") for i in range(10)])
    assert "single distinct item" in dataset_error(single)
    assert "invoice_id" in dataset_error(single)
    nothing = validate([row(str(i), unit_price="0") for i in range(3)])
    assert "no row passed validation" in dataset_error(nothing)
    assert dataset_error(validate(base_rows())) is None


# --- columns -----------------------------------------------------------------------------------


def test_a_missing_column_beside_a_similar_one_is_reported_as_a_rename_with_the_params_fix():
    data = frame(base_rows()).rename(columns={S.QUANTITY: "Qty", S.ITEM: "item code"})
    with pytest.raises(DataError) as caught:
        validate_line_items(data, PARAMS, source="export.csv", today=TODAY)
    message = str(caught.value)
    assert message.startswith("export.csv: required column(s) missing")
    assert "item_code: found 'item code', a renamed column?" in message
    assert "ingest:\n    mapping:\n      columns:\n        item_code: item code" in message
    assert "quantity: map it to one of the source's columns" in message  # Qty is too far
    assert "Columns present:" in message


def test_a_column_the_source_does_not_provide_is_allowed_to_be_empty():
    rows = base_rows()
    for r in rows:
        r[S.PRICE] = None
    result = validate(rows, not_provided=[S.PRICE])
    assert result.report["rows_rejected"] == 0
    assert result.clean[S.PRICE].isna().all()
    assert result.report["columns_not_provided"] == [S.PRICE]
    assert validate(rows).report["rejected_by_reason"]["missing_unit_price"] == len(rows)


def test_unmapped_columns_are_reported_not_rejected():
    data = frame(base_rows()).assign(Region="North")
    result = validate_line_items(data, PARAMS, today=TODAY)
    assert result.report["unexpected_columns"] == ["Region"]
    assert result.report["rows_rejected"] == 0


# --- coercion ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsing", "expected"),
    [
        ("2025-01-15 10:30:00", ParsingParams(), "2025-01-15 10:30:00"),
        ("2025-01-15T10:30:00+02:00", ParsingParams(), "2025-01-15 08:30:00"),
        ("12/1/2010 8:26", ParsingParams(), "2010-12-01 08:26:00"),
        ("12/1/2010 8:26", ParsingParams(dayfirst=True), "2010-01-12 08:26:00"),
        (
            "15.01.2025 10:30",
            ParsingParams(timestamp_format="%d.%m.%Y %H:%M"),
            "2025-01-15 10:30:00",
        ),
    ],
)
def test_timestamps_parse_from_common_formats_to_naive_utc(text, parsing, expected):
    rows = base_rows()
    for r in rows:
        r[S.TIMESTAMP] = text
    result = validate(rows, parsing=parsing)
    assert result.report["rows_rejected"] == 0
    assert result.clean[S.TIMESTAMP].iloc[0] == pd.Timestamp(expected)


def test_decimal_commas_parse_when_configured_and_are_rejected_otherwise():
    rows = base_rows()
    for r in rows:
        r[S.PRICE] = "1.234,50"
    assert validate(rows).report["rejected_by_reason"]["unparseable_unit_price"] == 18
    result = validate(rows, parsing=ParsingParams(decimal=","))
    assert result.report["rows_rejected"] == 0
    assert result.clean[S.PRICE].iloc[0] == 1234.5


def test_typed_sources_are_coerced_without_losing_identifiers():
    data = pd.DataFrame(
        {
            S.INVOICE: np.repeat([536365, 536366], 2),
            S.TIMESTAMP: pd.to_datetime(["2025-01-15"] * 4),
            S.CUSTOMER: [17850.0, 17850.0, np.nan, np.nan],
            S.COUNTRY: "United Kingdom",
            S.ITEM: ["85123A", "71053"] * 2,
            S.DESCRIPTION: "x",
            S.QUANTITY: [6, 6, 8, 8],
            S.PRICE: [2.55, 3.39, 2.75, 3.39],
        }
    )
    result = validate_line_items(data, PARAMS, today=TODAY)
    assert result.report["rows_rejected"] == 0
    assert list(result.clean[S.CUSTOMER].fillna("-")) == ["17850", "17850", "-", "-"]
    assert list(result.clean[S.INVOICE]) == ["536365"] * 2 + ["536366"] * 2


def test_epoch_seconds_from_a_database_are_timestamps():
    data = frame(base_rows())
    data[S.TIMESTAMP] = 1_736_937_000  # 2025-01-15 10:30:00 UTC
    result = validate_line_items(data, PARAMS, today=TODAY)
    assert result.clean[S.TIMESTAMP].iloc[0] == pd.Timestamp("2025-01-15 10:30:00")


def test_non_product_codes_also_match_a_pattern():
    params = PARAMS.model_copy(update={"non_product_pattern": r"^gift_"})
    result = validate([*base_rows(), row(item="gift_0001_20")], params)
    assert list(result.rejected[REASON_COLUMN]) == ["non_product"]


def test_a_bad_pattern_or_unknown_key_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"validate.non_product_pattern"):
        parse_params({"validate": {"non_product_pattern": "(unclosed"}})
    with pytest.raises(ConfigError, match=r"ingest.mapping.columns"):
        parse_params({"ingest": {"mapping": {"columns": {"sku": "StockCode"}}}})


# --- the Markdown report -----------------------------------------------------------------------


def test_the_markdown_report_accounts_for_every_row_and_shows_examples_and_fixes():
    rows = base_rows() + BAD_ROWS["return"] + BAD_ROWS["non_product"]
    result = validate(rows)
    text = render_markdown(result, PARAMS, schema_changes=None)
    assert "# Validation report" in text
    assert "23 rows in = 18 clean + 5 rejected" in text
    assert "| `return` | quantity | 2 |" in text
    assert "| `non_product` | item_code | 3 |" in text
    assert "Usual cause and fix: returns are normal" in text
    assert "**FAILED**" in text and "## Why the stage failed" in text
    passed = render_markdown(validate(base_rows()), PARAMS)
    assert "**passed**" in passed and "FAILED" not in passed


# --- schema changes between runs ---------------------------------------------------------------


def test_the_observed_schema_names_each_column_and_the_kind_of_its_values():
    data = frame(base_rows()).assign(Region="North", Discount="0.1", Empty=None)
    observed = input_schema.observe(data)["columns"]
    assert observed == {
        S.INVOICE: "string",
        S.TIMESTAMP: "timestamp",
        S.CUSTOMER: "string",
        S.COUNTRY: "string",
        S.ITEM: "string",
        S.DESCRIPTION: "string",
        S.QUANTITY: "integer",
        S.PRICE: "number",
        "Region": "string",
        "Discount": "number",
        "Empty": "empty",
    }


def test_a_column_that_appears_disappears_or_changes_type_is_reported():
    reference = input_schema.observe(frame(base_rows()).assign(Region="North"))
    changed = frame(base_rows()).assign(Channel="web")
    changed[S.PRICE] = "£1.25"
    changes = input_schema.compare(reference, input_schema.observe(changed))
    assert changes["changed"] is True
    assert changes["added"] == {"Channel": "string"}
    assert changes["removed"] == {"Region": "string"}
    assert changes["retyped"] == {S.PRICE: {"from": "number", "to": "string"}}
    assert "column 'Channel' appeared" in input_schema.describe(changes)
    same = input_schema.compare(reference, reference)
    assert same["changed"] is False


def test_a_few_dirty_values_do_not_count_as_a_type_change():
    rows = base_rows() * 10
    rows[0] = {**rows[0], S.QUANTITY: "abc"}
    assert input_schema.observe(frame(rows))["columns"][S.QUANTITY] == "integer"


def test_accepting_copies_the_observed_schema_over_the_reference(tmp_path):
    observed, reference = tmp_path / "observed.json", tmp_path / "reference.json"
    observed.write_text(json.dumps({"columns": {"a": "string"}}))
    reference.write_text(json.dumps({"columns": {"b": "string"}}))
    input_schema.accept(observed, reference)
    assert json.loads(reference.read_text()) == {"columns": {"a": "string"}}


def test_the_shipped_reference_schema_matches_the_default_generator():
    from support.repos import ROOT

    reference = json.loads((ROOT / "data" / "reference_schema.json").read_text())
    lines = generate_line_items(GeneratorParams(n_invoices=200, n_customers=50))
    assert input_schema.observe(lines) == reference


def test_ids_written_as_floats_by_an_export_lose_the_trailing_zero():
    rows = base_rows()
    for r in rows:
        r[S.CUSTOMER] = "17850.0"
    rows[0][S.CUSTOMER] = None
    result = validate(rows)
    assert set(result.clean[S.CUSTOMER].dropna()) == {"17850"}
    rows[1][S.CUSTOMER] = "A17.0"  # not every value is a float-written number: kept as is
    assert "17850.0" in set(validate(rows).clean[S.CUSTOMER])
