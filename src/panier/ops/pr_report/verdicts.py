"""What the comment says in words: the one-line verdict under its title, and when the
validation and drift sections count as unchanged. Pure: ``ReportData`` in, text out."""

from __future__ import annotations

from panier.core import paths
from panier.ops.pr_report.formatting import code
from panier.ops.pr_report.model import ReportData, find, is_number
from panier.ops.pr_report.rules import compare_rules

DRIFT_FLAGS = ("drift_detected", "data_drift", "concept_drift", "retrain_recommended")
# The figures of metrics/validation.json that make validation "unchanged" when all are equal.
VALIDATION_FIGURES = (
    "rows_in",
    "rows_clean",
    "rows_rejected",
    "rejected_share",
    "rejected_by_reason",
    "unexpected_columns",
    "passed",
)


def verdict(data: ReportData) -> str:
    """The comment's first line, read in ten seconds: whether the model changed (its rules)
    with the primary hit rate and the rule count on both sides, then the drift, gate and
    validation verdicts, e.g. "**Verdict:** model changed — hit rate@5 0.204 → 0.221
    (+0.017), 171 → 240 rules; no drift; gate passed; validation unchanged (passed)".

    In: the gathered ``ReportData``. Out: one Markdown line. Pure."""
    k = data.param("evaluate.primary_k", default=5)
    base_rules, head_rules = (t.rules for t in data.rules)
    figures = []
    hit = find(data.metrics, paths.EVALUATE_METRICS, f"model.hit_rate@{k}")
    if hit is not None and is_number(hit.new):
        if not hit.changed:
            figures.append(f"hit rate@{k} {hit.new:.3f} (unchanged)")
        elif is_number(hit.old):
            figures.append(f"hit rate@{k} {hit.old:.3f} → {hit.new:.3f} ({hit.delta:+.3f})")
        else:
            figures.append(f"hit rate@{k} {hit.new:.3f} (new)")
    if base_rules is not None and head_rules is not None:
        moved = compare_rules(base_rules, head_rules).any
        what = "model changed" if moved else "model unchanged"
        figures.append(
            f"{len(base_rules):,} → {len(head_rules):,} rules"
            if moved
            else f"{len(head_rules):,} rules"
        )
    else:
        what = "model compared by metrics only (the base's rules are not available)"
    parts = [what + (" — " + ", ".join(figures) if figures else "")]
    parts.append(drift_phrase(*data.drift, data.base.label))
    if data.gate:
        parts.append("gate passed" if data.gate.get("passed") else "gate **refused**")
    parts.append(validation_phrase(data))
    return "**Verdict:** " + "; ".join(parts)


def drift_verdict(report: dict | None) -> str:
    """One side's drift in words: "no report", "no drift" or "**drift** (what kind)"."""
    if report is None:
        return "no report"
    if not report.get("drift_detected"):
        return "no drift"
    kinds = [name.replace("_", " ") for name in ("data_drift", "concept_drift") if report.get(name)]
    return f"**drift** ({', '.join(kinds) or 'detected'})"


def drift_phrase(base: dict | None, head: dict | None, base_label: str) -> str:
    """The drift part of the verdict: raised, cleared, still there or none."""
    if head is None:
        return "no drift report"
    if not head.get("drift_detected"):
        return "drift cleared" if (base or {}).get("drift_detected") else "no drift"
    kinds = drift_verdict(head).removeprefix("**drift** ")
    if (base or {}).get("drift_detected"):
        return f"**drift** {kinds}, as on `{code(base_label)}`"
    return f"**drift raised** {kinds}"


def drift_quiet(data: ReportData) -> bool:
    """Whether the drift section is one line: the same flags on both sides and nothing
    drifted on the branch."""
    base, head = data.drift
    flags_same = all((base or {}).get(f) == (head or {}).get(f) for f in DRIFT_FLAGS)
    return (
        flags_same and not (head or {}).get("drift_detected") and not (head or {}).get("findings")
    )


def validation_passed(report: dict | None, limit: float | None) -> bool | None:
    """Whether one side's validation passed: its own ``passed``, else its rejected share
    against ``limit``; ``None`` when that cannot be told."""
    if report is None:
        return None
    if "passed" in report:
        return bool(report["passed"])
    share = report.get("rejected_share")
    return None if share is None or limit is None else share <= limit


def validation_verdict(data: ReportData, side: int) -> str:
    """Side 0 (base) or 1 (branch) in words, e.g. "passed (1.00% rejected)"."""
    report = data.validation[side]
    limit = data.param("validate.max_rejected_share", "old" if side == 0 else "new")
    if report is None:
        return "no report"
    passed = validation_passed(report, limit)
    if passed is None:
        return "unknown"
    share = report.get("rejected_share")
    detail = f" ({share:.2%} rejected)" if is_number(share) else ""
    return ("passed" if passed else "**failed**") + detail


def validation_same(data: ReportData) -> bool:
    """Whether validation is unchanged: the same figures and the same verdict on both
    sides."""
    base, head = data.validation
    if base is None or head is None:
        return base is head
    return all(base.get(key) == head.get(key) for key in VALIDATION_FIGURES) and validation_verdict(
        data, 0
    ) == validation_verdict(data, 1)


def validation_phrase(data: ReportData) -> str:
    """The validation part of the verdict; never "passed → passed"."""
    old, new = validation_verdict(data, 0), validation_verdict(data, 1)
    if validation_same(data):
        return f"validation unchanged ({new.split(' (')[0]})"
    if old == new:
        return f"validation {new}, figures changed"
    return f"validation {old} → {new}"
