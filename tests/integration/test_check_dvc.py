"""Under ``dvc repro``, the check-params stage runs first: a credential in ``ingest.path`` stops
the pipeline before DVC reads the path, and is never printed (see tests/unit/test_check.py)."""

from __future__ import annotations

import pytest

from support.repos import make_pipeline_repo, run

SECRET = "s3cr3tpw-do-not-print"


@pytest.mark.slow
def test_dvc_repro_never_prints_a_credential_in_ingest_path(tmp_path):
    """A real `dvc repro` and `dvc exp run` on a URL with a password: the check-params stage
    fails first with one line; nothing DVC or Panier prints holds the password, and no
    file the run wrote does either."""
    path = f"http://panier:{SECRET}@127.0.0.1:9/export.csv"
    repo = make_pipeline_repo(tmp_path, {"ingest": {"source": "url", "path": path}})
    printed = []
    for args in (
        ["dvc", "repro"],
        ["dvc", "exp", "run"],
        ["python", "-m", "panier.stages.check_params.check"],
    ):
        result = run(args, repo, check=False, timeout=300)
        assert result.returncode != 0, args
        printed.append(result.stdout + result.stderr)
    everything = "\n".join(printed)
    assert SECRET not in everything
    assert "Running stage 'ingest'" not in everything
    assert (
        everything.count(
            "check failed: params.yaml has 1 invalid setting(s): ingest: "
            "Value error, ingest.path must not hold credentials"
        )
        == 3
    )
    shipped = set(run(["git", "ls-files"], repo).stdout.split())  # this file among them
    written = [
        p
        for p in repo.rglob("*")
        if p.is_file() and ".git" not in p.parts and p.relative_to(repo).as_posix() not in shipped
    ]
    assert written  # DVC's own files at least
    assert not [p for p in written if SECRET.encode() in p.read_bytes()]
