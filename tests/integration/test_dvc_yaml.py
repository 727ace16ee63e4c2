"""dvc.yaml tells DVC the truth: every module a stage runs is a declared dependency, and the
paths it declares are the ones the code writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from panier.core import paths
from panier.stages.drift_check import plots as drift_plots
from support.repos import stage_paths

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = yaml.safe_load((ROOT / "dvc.yaml").read_text())
STAGES = PIPELINE["stages"]

# Prints the panier source files a stage module imports (run in a clean interpreter).
_IMPORTS = """
import importlib, sys
for module in sys.argv[1:]:
    importlib.import_module(module)
for name, module in sorted(sys.modules.items()):
    path = getattr(module, "__file__", None) or ""
    if name.startswith("panier") and not path.endswith("__init__.py"):
        print(path)
"""


def _modules(stage: dict) -> list[str]:
    """The modules a stage's command runs: ``panier stage NAME`` is the CLI and the stage."""
    from panier.cli import STAGES as CLI_STAGES
    from panier.cli import TOOLS

    words = stage["cmd"].split()
    assert words[0] == "panier", f"{stage['cmd']}: stages run through the panier command"
    if words[1] == "stage":
        return ["panier.cli", CLI_STAGES[words[2]]]
    return ["panier.cli", TOOLS[words[1]][0]]


@pytest.mark.parametrize("name", sorted(STAGES))
def test_every_imported_module_is_a_declared_dependency(name):
    """A stage depends on folders (its own, the shared core) and the CLI: every panier module
    it imports lies in one of them, and each declared one holds a module it imports."""
    stage = STAGES[name]
    printed = subprocess.run(
        [sys.executable, "-c", _IMPORTS, *_modules(stage)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    imported = {Path(p).resolve().relative_to(ROOT / "src").as_posix() for p in printed}
    declared = {p.removeprefix("src/") for p in stage_paths(stage, "deps") if p.startswith("src/")}

    def covers(dep: str, module: str) -> bool:
        return module == dep or module.startswith(dep + "/")

    uncovered = {m for m in imported if not any(covers(d, m) for d in declared)}
    unused = {d for d in declared if not any(covers(d, m) for m in imported)}
    assert uncovered == set(), f"stage {name} imports undeclared modules"
    assert unused == set(), f"stage {name} declares code it does not import"


def test_stages_depend_on_folders_not_file_lists():
    """Only the CLI is a single file; the rest of a stage's code is declared by folder."""
    for name, stage in STAGES.items():
        deps = stage_paths(stage, "deps")
        files = [p for p in deps if p.startswith("src/") and p.endswith(".py")]
        assert files == ["src/panier/cli.py"], name


def test_every_path_in_the_code_is_a_declared_output_or_dependency():
    declared = set()
    for stage in STAGES.values():
        for key in ("outs", "metrics", "plots", "deps"):
            declared.update(stage_paths(stage, key))
    # CHAMPION_DIR holds a fetched copy of the champion, pinned by the md5s of the declared
    # dependency CHAMPION_POINTER (panier.stages.gate.gate), so it is deliberately not declared.
    in_code = {
        str(value)
        for name, value in vars(paths).items()
        if name.isupper() and value not in (paths.DRIFT_PLOTS, paths.CHAMPION_DIR)
    }
    # DRIFT_PLOTS is a folder: drift-check writes one table per plot into it.
    in_code |= {str(paths.DRIFT_PLOTS / f"{stem}.csv") for stem in drift_plots.PLOTS}
    assert in_code <= declared


def test_metrics_and_plots_stay_in_git_and_data_and_models_go_to_the_cache():
    for stage in STAGES.values():
        for key in ("metrics", "plots"):
            for entry in stage.get(key, []):
                options = next(iter(entry.values())) if isinstance(entry, dict) else {}
                assert options.get("cache") is False, entry
        for entry in stage.get("outs", []):
            path, options = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
            if path.endswith(".parquet"):
                assert options.get("cache", True), f"{path} must be pushed to remote storage"


def test_every_stage_can_be_restored_from_the_run_cache():
    """DVC leaves a stage out of the run cache when a plain output (not a metric or plot) is
    marked ``cache: false``; ``dvc repro --pull`` would then re-run it on every machine."""
    for name, stage in STAGES.items():
        for entry in stage.get("outs", []):
            options = next(iter(entry.values())) if isinstance(entry, dict) else {}
            assert options.get("cache", True), f"{name}: {entry} keeps it out of the run cache"


def _flat_keys(data: dict, prefix: str = "") -> list[str]:
    keys = []
    for key, value in data.items():
        keys += _flat_keys(value, f"{prefix}{key}.") if isinstance(value, dict) else [prefix + key]
    return keys


def test_no_metric_name_is_shared_by_two_metrics_files():
    """`dvc metrics show` and `dvc exp show` name columns by key: a key in two files loses
    its plain name (the sweep's `rules` column disappeared that way once)."""
    import json
    from collections import defaultdict

    files = [path for stage in STAGES.values() for path in stage_paths(stage, "metrics")]
    owners = defaultdict(list)
    for path in files:
        for key in _flat_keys(json.loads((ROOT / path).read_text())):
            owners[key].append(path)
    assert {key: paths for key, paths in owners.items() if len(paths) > 1} == {}
