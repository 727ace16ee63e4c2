"""Numbers, deltas and labels as the pull-request comment shows them. Pure: value in, text
out."""

from __future__ import annotations

from typing import Any

from panier.ops.pr_report.model import Change

# Direction of improvement, for the arrows of the headline table.
LOWER_IS_BETTER = ("no_recommendation_share", "rejected_share", "tests_drifted")


def code(text: str) -> str:
    """Text safe inside a Markdown code span and a table cell."""
    return str(text).replace("`", "'").replace("|", "/").replace("\n", " ")


def value(value: Any) -> str:
    """A metric's value: "-" when missing, yes/no, ints with thousands separators, floats
    to 4 decimals (more digits, or an exponent, for small ones)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != 0 and abs(value) < 1e-5:
            return f"{value:.2e}"
        if value != 0 and abs(value) < 1e-3:
            return f"{value:.6f}"
        return f"{value:,.4f}" if abs(value) < 1e4 else f"{value:,.1f}"
    return code(str(value))


def param_value(value: Any) -> str:
    """A param's value as written in params.yaml, in a code span; "-" when missing."""
    if value is None:
        return "-"
    if isinstance(value, bool | int | float):
        return f"`{value}`"
    return f"`{code(str(value))}`"


def delta(change: Change, arrow: bool = False) -> str:
    """The signed change, with the relative change when the base is not zero, e.g.
    "+0.0091 (+4.7%)"; "new" or "removed" when a side lacks the value. ``arrow`` adds the
    direction (▲/▼) and whether it is better (green) or worse (red)."""
    if change.old is None and change.new is not None:
        return "new"
    if change.new is None and change.old is not None:
        return "removed"
    diff = change.delta
    if diff is None:
        return "" if not change.changed else "changed"
    if not change.changed:
        return "0"
    if isinstance(change.old, int) and isinstance(change.new, int):
        text = f"{diff:+,}"
    elif abs(diff) < 1e-5:
        text = f"{diff:+.2e}"
    elif abs(diff) < 1e-3:
        text = f"{diff:+.5f}"
    else:
        text = f"{diff:+.4f}"
    rel = change.relative
    if rel is not None:
        text += f" ({rel:+.1%})"
    if arrow:
        better = (diff < 0) if change.name.split(".")[-1] in LOWER_IS_BETTER else (diff > 0)
        text = (
            ("▲ " if diff > 0 else "▼ ") + text + (" :green_circle:" if better else " :red_circle:")
        )
    return text


def flag(value: Any) -> str:
    """A drift flag: "-" when missing, a warning when raised."""
    if value is None:
        return "-"
    return ":warning: yes" if value else "no"


def short(label: str, width: int = 8) -> str:
    """A fixed-width side label for text charts."""
    label = label.removeprefix("origin/")
    return (label if len(label) <= width else label[: width - 1] + "~").ljust(width)
