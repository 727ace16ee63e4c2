"""Affinity groups of two revisions compared, for the pull-request comment: group numbers
mean nothing across revisions, so groups are matched by the products they hold."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from panier.core.markdown import table
from panier.stages.affinity.graph import UNGROUPED


def group_sets(items: pd.DataFrame) -> dict[int, frozenset[str]]:
    """Group number -> its item codes, from a GROUP_ITEM_COLUMNS table (group 0 left out)."""
    grouped = items[items["group"] != UNGROUPED]
    return {
        int(number): frozenset(frame["item_code"].astype(str))
        for number, frame in grouped.groupby("group", sort=True)
    }


@dataclass(frozen=True)
class GroupChanges:
    """Groups of two revisions, matched by their products. ``matched`` pairs base and head
    group numbers with their Jaccard similarity; ``gained``/``lost`` are unmatched numbers."""

    base: dict[int, frozenset[str]]
    head: dict[int, frozenset[str]]
    matched: list[tuple[int, int, float]]
    gained: list[int]
    lost: list[int]

    @property
    def changed(self) -> list[tuple[int, int, float]]:
        return [m for m in self.matched if self.base[m[0]] != self.head[m[1]]]


def compare_groups(
    base: pd.DataFrame, head: pd.DataFrame, min_jaccard: float = 0.5
) -> GroupChanges:
    """Match the groups of two item tables (GROUP_ITEM_COLUMNS). Group numbers mean nothing
    across revisions, so groups are paired greedily by Jaccard similarity of their item sets
    (highest first; ties by group numbers); a pair needs at least ``min_jaccard``. Head groups
    left over are gained, base groups left over are lost."""
    old, new = group_sets(base), group_sets(head)
    candidates = []
    for a, items_a in old.items():
        for b, items_b in new.items():
            shared = len(items_a & items_b)
            if shared:
                jaccard = shared / len(items_a | items_b)
                if jaccard >= min_jaccard:
                    candidates.append((-jaccard, a, b))
    candidates.sort()
    used_a: set[int] = set()
    used_b: set[int] = set()
    matched = []
    for negative, a, b in candidates:
        if a not in used_a and b not in used_b:
            used_a.add(a)
            used_b.add(b)
            matched.append((a, b, -negative))
    matched.sort(key=lambda m: m[1])
    return GroupChanges(old, new, matched, sorted(set(new) - used_b), sorted(set(old) - used_a))


def _codes(codes: frozenset[str] | set[str], shown: int = 8) -> str:
    ordered = sorted(codes)
    text = ", ".join(f"`{c}`" for c in ordered[:shown])
    return text + (f" and {len(ordered) - shown} more" if len(ordered) > shown else "")


def changes_markdown(
    changes: GroupChanges, base_label: str = "base", head_label: str = "this branch", top: int = 5
) -> str:
    """Markdown for the PR comment: how many groups each side has, then the groups gained,
    lost and changed (products moved in and out), at most ``top`` of each."""
    lines = [
        f"{len(changes.base)} affinity groups on `{base_label}`, {len(changes.head)} on "
        f"{head_label}: {len(changes.gained)} gained, {len(changes.lost)} lost, "
        f"{len(changes.changed)} changed, "
        f"{len(changes.matched) - len(changes.changed)} unchanged."
    ]
    sections = (
        ("Gained", [(b, len(changes.head[b]), _codes(changes.head[b])) for b in changes.gained]),
        ("Lost", [(a, len(changes.base[a]), _codes(changes.base[a])) for a in changes.lost]),
    )
    for title, rows in sections:
        if rows:
            lines += [
                "",
                f"**{title}** ({min(top, len(rows))} of {len(rows)})",
                "",
                table(["group", "products", "items"], rows[:top], align="rrl"),
            ]
    changed = sorted(changes.changed, key=lambda m: (m[2], m[1]))
    if changed:
        changed_rows = [
            (
                f"{a} -> {b}",
                f"{jaccard:.2f}",
                _codes(changes.head[b] - changes.base[a]) or "-",
                _codes(changes.base[a] - changes.head[b]) or "-",
            )
            for a, b, jaccard in changed[:top]
        ]
        header = ["group (base -> head)", "similarity", "products in", "products out"]
        lines += [
            "",
            f"**Changed** ({min(top, len(changed))} of {len(changed)}, least similar first)",
            "",
            table(header, changed_rows, align="lrll"),
        ]
    return "\n".join(lines) + "\n"
