"""How products, groups and rules are named in the affinity tables, reports and explorer."""

from __future__ import annotations

from typing import Any


def rule_text(antecedent: Any, consequent: str) -> str:
    """``a + b -> c``: how a rule is written in tables and reports."""
    return f"{' + '.join(map(str, antecedent))} -> {consequent}"


def item_name(code: str, description: Any) -> str:
    """A product's description, or its code when it has none (missing, NaN or blank)."""
    text = str(description) if description is not None and str(description) != "nan" else ""
    return text.strip() or code


def group_label(descriptions: list[str], shown: int = 3) -> str:
    """The group's name: its ``shown`` strongest products, then how many more."""
    label = ", ".join(descriptions[:shown])
    rest = len(descriptions) - shown
    return f"{label} (+{rest})" if rest > 0 else label
