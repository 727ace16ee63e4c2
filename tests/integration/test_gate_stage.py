"""The gate stage under ``dvc repro``: its verdict follows the champion recorded in
``data/champion.json``, which ``dvc status`` sees (the gate's rule: tests/unit/test_gate.py)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from panier.core.io import file_md5 as md5
from support.repos import run


def set_params(repo: Path, section: str, **values) -> None:
    params_file = repo / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    params[section].update(values)
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))


def make_champion(repo: Path, version: str) -> None:
    """Record the workspace's current model as the champion, as ``panier gate
    champion`` would after fetching it from the registry."""
    folder = repo / "data" / "champion"
    folder.mkdir(exist_ok=True)
    files = {}
    for name in ("rules.parquet", "items.parquet", "model_card.json"):
        shutil.copyfile(repo / "models" / name, folder / name)
        files[name] = md5(folder / name)
    (repo / "data" / "champion.json").write_text(
        json.dumps(
            {
                "artifact": "basket-rules",
                "stage": "prod",
                "champion": {"version": version, "commit": "f" * 40, "files": files},
            }
        )
    )


@pytest.mark.slow
def test_the_gate_stage_follows_the_recorded_champion(pipeline_repo):
    repo = pipeline_repo()
    # A fresh clone: no registry tag, so no champion; the offline pipeline still runs.
    result = run([sys.executable, "-m", "panier.ops.champion", "champion"], repo)
    assert "no champion" in result.stdout
    run(["dvc", "repro", "-q"], repo)
    gate = json.loads((repo / "metrics" / "gate.json").read_text())
    assert gate["decision"] == "accepted_first_version" and gate["cases"] > 100
    assert "first version" in (repo / "metrics" / "gate.md").read_text()

    # The model just trained becomes the champion: dvc status sees a new dependency.
    make_champion(repo, "v1.0.0")
    assert "data/champion.json" in run(["dvc", "status", "gate"], repo).stdout
    run(["dvc", "repro", "-q"], repo)
    gate = json.loads((repo / "metrics" / "gate.json").read_text())
    assert gate["decision"] == "accepted"
    assert gate["champion"]["hit_rate@5"] == gate["challenger"]["hit_rate@5"]
    assert gate["champion"]["version"] == "v1.0.0"

    # A challenger with no rules at all (support floor above every item) is refused.
    set_params(repo, "train", min_support=0.9)
    run(["dvc", "repro", "-q"], repo)
    gate = json.loads((repo / "metrics" / "gate.json").read_text())
    assert (gate["passed"], gate["decision"]) == (False, "refused")
    assert gate["challenger"]["rules"] == 0
    assert any("hit rate@5" in reason for reason in gate["reasons"])

    # Asked to, a refusal fails the pipeline with one line.
    set_params(repo, "gate", fail_on_refusal=True)
    failed = run(["dvc", "repro", "-q"], repo, check=False)
    assert failed.returncode != 0
    assert "gate failed: the challenger is refused: hit rate@5" in failed.stderr
    assert "Traceback" not in failed.stderr

    # A recorded champion whose files are gone is an error naming the fix.
    set_params(repo, "gate", fail_on_refusal=False)
    shutil.rmtree(repo / "data" / "champion")
    failed = run(["dvc", "repro", "-q", "--force", "--single-item", "gate"], repo, check=False)
    assert "data/champion/rules.parquet is missing" in failed.stderr
    assert "panier gate champion" in failed.stderr
