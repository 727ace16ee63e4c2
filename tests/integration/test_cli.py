"""The ``panier`` command: one entry point, --help everywhere without side effects, and exit
codes that tell success, an error, a usage error and drift apart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from panier import __version__
from panier.cli import STAGES, TOOLS
from panier.core.errors import DataError, DriftDetected
from panier.core.runner import run_stage

PANIER = [sys.executable, "-m", "panier.cli"]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_version_and_help(tmp_path: Path):
    assert _run([*PANIER, "--version"], tmp_path).stdout.strip() == f"panier {__version__}"
    helped = _run([*PANIER, "--help"], tmp_path)
    assert helped.returncode == 0
    for command in ["stage", *TOOLS]:
        assert command in helped.stdout
    assert "3 drift found" in helped.stdout


@pytest.mark.parametrize(
    "args", [["stage", name, "--help"] for name in STAGES] + [[tool, "--help"] for tool in TOOLS]
)
def test_help_of_every_command_changes_no_file(args: list[str], tmp_path: Path):
    (tmp_path / "params.yaml").write_text("train: {min_support: 0.5}\n")
    before = sorted(path.name for path in tmp_path.iterdir())
    result = _run([*PANIER, *args], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")
    assert sorted(path.name for path in tmp_path.iterdir()) == before


@pytest.mark.parametrize("module", sorted(STAGES.values()))
def test_a_stage_module_run_with_help_does_not_run_the_stage(module: str, tmp_path: Path):
    result = _run([sys.executable, "-m", module, "--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usually run by `dvc repro`" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_a_stage_refuses_arguments_with_a_usage_error(tmp_path: Path):
    result = _run(
        [sys.executable, "-m", "panier.stages.train.stage", "--min-support", "0.1"], tmp_path
    )
    assert result.returncode == 2
    assert "settings live in params.yaml" in result.stderr


def test_an_error_is_one_line_on_stderr_with_exit_status_1(tmp_path: Path):
    result = _run([*PANIER, "stage", "train"], tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert (
        result.stderr.strip() == "train failed: params.yaml not found: run from the repository root"
    )


def test_drift_found_exits_3_and_any_other_failure_1():
    def drifted() -> None:
        raise DriftDetected("drift detected: item 10040 gained popularity")

    def broken() -> None:
        raise DataError("the holdout window is empty")

    with pytest.raises(SystemExit) as drift:
        run_stage("drift-check", drifted, argv=[])
    with pytest.raises(SystemExit) as error:
        run_stage("drift-check", broken, argv=[])
    assert (drift.value.code, error.value.code) == (3, 1)
