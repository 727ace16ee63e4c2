"""What importing a stage costs: a stage imports the heavy libraries only where it uses them,
so a command that merely imports it (``--help``, DVC's start of every stage) stays fast."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module", ["panier.stages.validate.stage", "panier.stages.drift_check.stage"]
)
def test_importing_the_stage_imports_neither_pandera_nor_pyspark(module):
    """pandera imports pyspark when it is installed (most of a second): only validating rows
    may pay for it, not every command that imports the stage."""
    code = f"import sys, {module}; print('pyspark' in sys.modules, 'pandera' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
