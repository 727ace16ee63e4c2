"""docs/reference/outputs.md describes exactly what a run writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_outputs_reference_matches_the_files_of_a_real_run(pr_branch_repo: Path):
    result = subprocess.run(
        [sys.executable, "scripts/outputs_reference.py", "--check", "--repo", str(pr_branch_repo)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
