"""The data fingerprint in the model card and the source record: equal data gives an equal
fingerprint however it lies in memory, and any change of a value, a missing value or a column
name gives another."""

import pandas as pd
import pytest

from panier.core.io import fingerprint

LINES = pd.DataFrame(
    {
        "invoice_id": ["536365", "536365", "536366", None],
        "timestamp": pd.to_datetime(
            ["2025-01-01 08:26", "2025-01-01 08:26", "2025-01-02 11:04", None]
        ),
        "item_code": ["85123A", "71053", "", "22633"],
        "quantity": [6, 6, 2, 1],
        "unit_price": [2.55, 3.39, None, 1.85],
        "guest": [False, False, True, None],
    }
)


def test_equal_data_has_one_fingerprint_however_it_is_held():
    expected = fingerprint(LINES)
    assert fingerprint(LINES.copy()) == expected
    assert fingerprint(LINES.set_axis([10, 11, 12, 13])) == expected  # the index is not data
    arrow_text = {c: "string[pyarrow]" for c in ("invoice_id", "item_code")}
    assert fingerprint(LINES.astype(arrow_text)) == expected
    assert fingerprint(LINES.astype({"invoice_id": object})) == expected
    # A slice of a larger frame and a fresh copy of the same rows.
    rows = LINES.iloc[1:3]
    assert fingerprint(rows) == fingerprint(rows.copy().reset_index(drop=True))


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.assign(quantity=[6, 6, 2, 2]),
        lambda f: f.assign(item_code=["85123A", "71053", None, "22633"]),  # missing is not empty
        lambda f: f.assign(item_code=["85123A7", "1053", "", "22633"]),  # same characters, moved
        lambda f: f.assign(unit_price=[2.55, 3.39, 0.0, 1.85]),  # missing is not zero
        lambda f: f.rename(columns={"guest": "is_guest"}),
        lambda f: f.iloc[:3],
        lambda f: f.iloc[[1, 0, 2, 3]],  # row order is data: it decides ties downstream
    ],
    ids=[
        "value",
        "missing text",
        "moved characters",
        "missing number",
        "column name",
        "row dropped",
        "row order",
    ],
)
def test_any_change_of_the_data_changes_the_fingerprint(change):
    assert fingerprint(change(LINES)) != fingerprint(LINES)


def test_columns_arrow_cannot_hold_plainly_are_fingerprinted_too():
    mixed = pd.DataFrame({"code": [1, "A", 2.5], "kind": pd.Categorical(["a", "b", "a"])})
    assert fingerprint(mixed) == fingerprint(mixed.copy())
    assert fingerprint(mixed) != fingerprint(mixed.assign(code=[1, "B", 2.5]))
