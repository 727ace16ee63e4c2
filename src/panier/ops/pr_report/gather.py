"""Reading both sides of the comparison: the base revision (through git and DVC) and the
workspace, into a ``ReportData``. The only part of the report that does I/O."""

from __future__ import annotations

from pathlib import Path

from panier.core import paths
from panier.core.errors import PanierError
from panier.ops.pr_report.model import (
    ReportData,
    RuleTable,
    changes_from_dvc,
    changes_from_metrics,
)
from panier.ops.pr_report.rules import rules_from_model, rules_from_plot
from panier.ops.revisions import (
    Revision,
    base_revision,
    params_diff,
    read_csv,
    read_json,
    read_parquet,
    workspace_revision,
)

#: The metrics the comment compares, figure by figure: each stage's detailed file (DVC
#: outputs; ``metrics/summary.json`` repeats a few of their figures).
DETAILED_METRICS = [
    paths.VALIDATION_METRICS,
    paths.TRAIN_METRICS,
    paths.EVALUATE_METRICS,
    paths.DRIFT_METRICS,
    paths.AFFINITY_METRICS,
    paths.GATE_METRICS,
]


def load_rules(root: Path, rev: Revision) -> RuleTable:
    """The rules of ``rev``: from the model (``models/rules.parquet``, through DVC for a past
    revision); failing that from the rules plot committed to git; failing that, none."""
    model = read_parquet(root, paths.RULES, rev)
    if model is not None:
        return RuleTable(rules_from_model(model), str(paths.RULES))
    plot = read_csv(root, paths.RULES_PLOT, rev)
    if plot is not None:
        return RuleTable(
            rules_from_plot(plot),
            str(paths.RULES_PLOT),
            note=f"`{paths.RULES}` of `{rev.label}` is in neither the local DVC "
            f"cache nor a reachable DVC remote; its rules were read from "
            f"`{paths.RULES_PLOT}` instead",
        )
    return RuleTable(
        None,
        "",
        note=f"the rules of `{rev.label}` are not available: "
        f"`{paths.RULES}` is in neither the local DVC cache nor "
        f"a reachable DVC remote, and no `{paths.RULES_PLOT}` "
        f"was committed",
    )


def gather(
    root: Path,
    base: str,
    *,
    base_label: str | None = None,
    head_label: str | None = None,
    top: int = 5,
    artifacts_url: str | None = None,
) -> ReportData:
    """Read both sides: the base revision ``base`` and the workspace of the repository at
    ``root`` (which must hold the branch's pipeline outputs, i.e. run ``dvc repro`` first)."""
    base_rev = base_revision(root, base, base_label)
    head_rev = workspace_revision(root, head_label)
    if not (root / paths.RULES).is_file():
        raise PanierError(
            f"{paths.RULES} does not exist in {root}: run the pipeline first "
            f"(dvc repro), then the report"
        )
    head_rules = load_rules(root, head_rev)

    def both(read, path: Path) -> tuple:
        return read(root, path, base_rev), read(root, path, head_rev)

    # Each detailed file is read once per side (a past one may come from the DVC remote):
    # the metrics table, the validation and drift sections and the gate all use these.
    metrics = {path.as_posix(): both(read_json, path) for path in DETAILED_METRICS}
    unavailable = [file for file, (old, new) in metrics.items() if old is None or new is None]

    data = ReportData(
        base=base_rev,
        head=head_rev,
        params=changes_from_dvc(params_diff(root, base_rev)),
        metrics=changes_from_metrics(metrics),
        validation=metrics[paths.VALIDATION_METRICS.as_posix()],
        drift=metrics[paths.DRIFT_METRICS.as_posix()],
        rules=(load_rules(root, base_rev), head_rules),
        metrics_by_k=both(read_csv, paths.METRICS_BY_K_PLOT),
        top=top,
        artifacts_url=artifacts_url,
        groups=both(read_parquet, paths.AFFINITY_ITEMS),
        gate=metrics[paths.GATE_METRICS.as_posix()][1],
        items=both(read_parquet, paths.ITEMS),
    )
    if unavailable:
        data.notes.append(
            "Not compared: "
            + ", ".join(f"`{file}`" for file in unavailable)
            + f" of `{base_rev.label}` is in neither git, the local DVC cache nor a reachable "
            "DVC remote (a fork's run has no access to the remote); `metrics/summary.json` "
            "holds the headline figures of both sides."
        )
    if head_rev.dirty:
        data.notes.append(
            "The workspace differs from its last commit: changes are not committed yet, or the "
            "committed `dvc.lock` and metrics are not what `dvc repro` makes of this code and "
            "these params (run it and commit the results). The figures below are the "
            "workspace's."
        )
    return data
