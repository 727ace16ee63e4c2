"""The shared Markdown helpers every report is written with."""

import pytest

from panier.core import markdown


def test_a_table_has_a_header_an_alignment_row_and_one_line_per_row():
    text = markdown.table(["name", "count"], [["milk", "1,204"], ["sugar", 7]], align="lr")
    assert text.splitlines() == [
        "| name | count |",
        "|---|--:|",
        "| milk | 1,204 |",
        "| sugar | 7 |",
    ]


def test_a_pipe_or_line_break_in_a_value_cannot_break_the_table():
    text = markdown.table(["item"], [["A|B\nC"]])
    assert text.splitlines()[-1] == "| A\\|B C |"


def test_a_row_of_the_wrong_width_is_refused():
    with pytest.raises(ValueError, match="2 cells, the header 1"):
        markdown.table(["item"], [["a", "b"]])


def test_bars_share_one_scale_and_missing_values_say_so():
    chart = markdown.bar_chart([("base", 0.5), ("branch", 1.0), ("gone", None)], width=8)
    assert chart.splitlines() == [
        "base    ████      0.500",
        "branch  ████████  1.000",
        "gone              n/a",
    ]


def test_a_bar_is_drawn_to_an_eighth_of_a_character():
    assert markdown.bar(1, 8, width=1) == "▏"
    assert markdown.bar(0, 8) == "" and markdown.bar(float("nan"), 8) == ""


def test_a_delimiter_cell_can_be_written_out_and_anything_else_is_refused():
    text = markdown.table(["figure", "value"], [["rules", 7]], align=["left", "---:"])
    assert text.splitlines()[1] == "|---|---:|"
    with pytest.raises(ValueError, match="not an alignment"):
        markdown.table(["figure"], [["rules"]], align=["rightish"])


def test_an_empty_cell_is_written_as_it_is_typed_by_hand():
    text = markdown.table(["", "count"], [["milk", ""]], align="lr")
    assert text.splitlines() == ["| | count |", "|---|--:|", "| milk | |"]
