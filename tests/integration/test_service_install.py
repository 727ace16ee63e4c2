"""The service installs on its own: a fresh virtual env from service/requirements.lock (hashes
checked) and service/pyproject.toml, without the pipeline's dependencies, and its tests pass
there (docs/reference/dependencies.md has the sizes)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"
PIPELINE_ONLY = ("pandas", "scipy", "dvc", "pyspark", "mlxtend", "panier")


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result


@pytest.mark.slow
def test_the_service_installs_and_passes_its_tests_without_the_pipeline(tmp_path):
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    run(str(UV), "venv", "--quiet", "--python", sys.executable, str(venv))
    run(
        str(UV),
        "pip",
        "install",
        "--quiet",
        "--python",
        str(python),
        "--require-hashes",
        "-r",
        str(ROOT / "service" / "requirements-test.lock"),
    )
    run(
        str(UV),
        "pip",
        "install",
        "--quiet",
        "--python",
        str(python),
        "--no-deps",
        str(ROOT / "service"),
    )

    found = run(
        str(python),
        "-c",
        "import importlib.util, json, sys;"
        "print(json.dumps({m: importlib.util.find_spec(m) is not None"
        " for m in sys.argv[1:]}))",
        *PIPELINE_ONLY,
        "panier_service",
    ).stdout
    assert json.loads(found) == {**dict.fromkeys(PIPELINE_ONLY, False), "panier_service": True}

    # The installed package (not the repository's source) runs its own tests; the copy of
    # the tests keeps the repository's pyproject (and so its tests/) out of the run.
    tests = shutil.copytree(ROOT / "service" / "tests", tmp_path / "tests")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANIER_SERVICE_")}
    result = run(
        str(python),
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(tmp_path),
        str(tests),
        cwd=tmp_path,
        env=env,
    )
    assert " passed" in result.stdout and "failed" not in result.stdout
    imported = run(
        str(python), "-c", "import panier_service; print(panier_service.__file__)", cwd=tmp_path
    ).stdout
    assert str(venv) in imported
