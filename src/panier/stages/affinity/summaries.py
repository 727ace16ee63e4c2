"""This revision's affinity groups as files: ``affinity/groups.json`` and the Markdown
headline of ``affinity/report.md``."""

from __future__ import annotations

from typing import Any

from panier.core.markdown import table
from panier.stages.affinity.graph import UNGROUPED
from panier.stages.affinity.groups import AffinityGroups, AffinitySettings


def groups_json(result: AffinityGroups, settings: AffinitySettings) -> dict[str, Any]:
    """The groups as one JSON document (settings, summary, groups with their products)."""
    return {
        "settings": {
            "min_pair_count": settings.min_pair_count,
            "min_phi": settings.min_phi,
            "resolution": settings.resolution,
            "seed": settings.seed,
            "min_group_size": settings.min_group_size,
            "method": "louvain (networkx), edges weighted by phi",
        },
        "summary": result.summary,
        "groups": result.groups.to_dict(orient="records"),
        "ungrouped": result.items.loc[result.items["group"] == UNGROUPED, "item_code"].tolist(),
    }


def summary_markdown(result: AffinityGroups, top: int = 10) -> str:
    """This revision's groups as Markdown: a headline and the largest ``top`` groups."""
    s = result.summary
    lines = [
        "# Affinity groups",
        "",
        f"{s['groups']} groups hold {s['grouped_items']} of {s['nodes']} products "
        f"({s['ungrouped_items']} ungrouped); {s['rules_inside_groups']} of "
        f"{s['model_rules']} rules lie inside one group and "
        f"{s['rules_anchored_in_groups']} have their consequent in the group of an "
        f"antecedent item; {s['edges']} edges, modularity {s['modularity']:.3f}.",
        "",
    ]
    if result.groups.empty:
        return "\n".join(lines)
    rows = [
        (
            row.group,
            f"{row.label} ({row.size})",
            f"{row.basket_share:.1%}",
            row.rules_inside,
            f"`{row.top_rules[0]['rule'] if row.top_rules else '-'}`",
            ", ".join(str(n["group"]) for n in row.neighbours) or "-",
        )
        for row in result.groups.head(top).itertuples()
    ]
    header = [
        "group",
        "products",
        "baskets touched",
        "rules inside",
        "strongest rule",
        "nearest groups",
    ]
    lines.append(table(header, rows, align="rlrrll"))
    if len(result.groups) > top:
        lines.append(f"\n{len(result.groups) - top} smaller groups are in the explorer.")
    return "\n".join(lines) + "\n"
