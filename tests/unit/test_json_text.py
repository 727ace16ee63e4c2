"""The pipeline's JSON text (``core.io.json_text``): what ``json.dumps(indent=2,
sort_keys=True)`` writes once values are normalised as the pipeline promises (floats to six
decimals, NaN and infinity as null, NumPy scalars as Python's, keys as text, timestamps in
ISO format), byte for byte, and a value JSON cannot hold refused as json refuses it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from panier.core.io import json_text
from support.json_reference import dumped

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),  # non-ASCII text too: json escapes it to ASCII
    st.integers(min_value=-(2**62), max_value=2**62).map(np.int64),
    st.floats(allow_nan=True, width=32).map(np.float32),
    st.floats(allow_nan=True).map(np.float64),
    st.booleans().map(np.bool_),
    st.datetimes().map(pd.Timestamp),
)
keys = st.one_of(st.text(max_size=8), st.integers(-5, 5))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(keys, inner, max_size=5),
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=6))
def test_the_text_is_what_json_dumps_writes_of_the_normalised_values(data):
    assert json_text(data) == dumped(data)


def test_a_report_shaped_value_reads_as_expected():
    report = {
        "tests": [{"p_value": 1 / 3, "effect": float("nan"), "n": np.int64(7), "ok": np.bool_(1)}],
        "empty": {},
        "none": [],
        "when": pd.Timestamp("2025-03-01 08:26"),
        3: "three",
    }
    assert json_text(report) == (
        "{\n"
        '  "3": "three",\n'
        '  "empty": {},\n'
        '  "none": [],\n'
        '  "tests": [\n'
        "    {\n"
        '      "effect": null,\n'
        '      "n": 7,\n'
        '      "ok": true,\n'
        '      "p_value": 0.333333\n'
        "    }\n"
        "  ],\n"
        '  "when": "2025-03-01T08:26:00"\n'
        "}\n"
    )


@pytest.mark.parametrize("value", [pd.NaT, object(), {1, 2}, b"bytes"])
def test_a_value_json_cannot_hold_is_refused_as_json_refuses_it(value):
    with pytest.raises(TypeError, match="is not JSON serializable"):
        json_text({"value": value})
    with pytest.raises(TypeError, match="is not JSON serializable"):
        dumped({"value": value})
