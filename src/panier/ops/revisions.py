"""Reading the project as it was at a git revision: files, params and metrics, through git and
DVC. The pull-request report (``panier.ops.pr_report``) gathers everything it compares through
here.

A revision of ``None`` means the workspace: the files as they are on disk now (the branch's
pipeline outputs after ``dvc repro``). The headline metrics and the plots are committed to git,
so a past revision's copy comes from git; data, models and the detailed metrics are DVC
outputs, so a past revision's copy comes from the DVC cache or, failing that, the DVC remote.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from panier.core.errors import PanierError

log = logging.getLogger(__name__)


class RevisionError(PanierError):
    """A revision cannot be read: unknown to git, or DVC refused to compare it."""


@dataclass(frozen=True)
class Revision:
    """A side of the comparison: ``rev`` for git and DVC (``None`` = the workspace), a
    ``label`` for people, the commit ``sha`` it stands on, and whether the workspace has
    uncommitted changes."""

    rev: str | None
    label: str
    sha: str
    dirty: bool = False

    @property
    def short(self) -> str:
        return self.sha[:7]


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` and return its stdout; a failure raises ``RevisionError``."""
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        raise RevisionError(
            f"git {' '.join(args)} failed in {root}: "
            f"{result.stderr.strip() or result.stdout.strip()}"
        )
    return result.stdout


def base_revision(root: Path, rev: str, label: str | None = None) -> Revision:
    """The base side: ``rev`` (a branch, tag, remote branch or sha) resolved to its commit."""
    try:
        sha = git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()
    except RevisionError:
        raise RevisionError(
            f"base revision {rev!r} is not known to git in {root}: fetch it first "
            f"(git fetch origin {rev.removeprefix('origin/')}) or pass another --base"
        ) from None
    return Revision(rev=rev, label=label or rev, sha=sha)


def workspace_revision(root: Path, label: str | None = None) -> Revision:
    """The head side: the workspace, labelled with the current branch (or ``HEAD`` when
    detached), on the commit it was checked out from."""
    sha = git(root, "rev-parse", "HEAD").strip()
    branch = git(root, "rev-parse", "--abbrev-ref", "HEAD").strip()
    # Pipeline outputs are git-ignored or DVC-tracked; anything else changed is uncommitted work.
    dirty = bool(git(root, "status", "--porcelain", "--untracked-files=no").strip())
    return Revision(rev=None, label=label or branch, sha=sha, dirty=dirty)


def _dvc(root: Path, *args: str) -> dict[str, Any]:
    """Run a DVC command that prints JSON (``--json``) with this interpreter's DVC."""
    env = dict(os.environ, DVC_NO_ANALYTICS="1", ITERATIVE_DO_NOT_TRACK="1")
    result = subprocess.run(
        [sys.executable, "-m", "dvc", *args, "--json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RevisionError(
            f"dvc {' '.join(args)} failed: {(result.stderr or result.stdout).strip()[-800:]}"
        )
    return json.loads(result.stdout or "{}")


def params_diff(root: Path, base: Revision) -> dict[str, dict[str, dict[str, Any]]]:
    """``dvc params diff BASE --all --json``: every param of every params file, with its
    ``old`` (base) and ``new`` (workspace) value."""
    return _dvc(root, "params", "diff", base.sha, "--all")


def read_bytes(root: Path, path: str | Path, rev: Revision) -> bytes | None:
    """The content of ``path`` at ``rev``, or ``None`` when that revision does not have it.

    The workspace is read from disk; a past revision from git when the file is committed
    there, otherwise through DVC (its cache, then its remote)."""
    path = Path(path).as_posix()
    if rev.rev is None:
        file = root / path
        return file.read_bytes() if file.is_file() else None
    shown = subprocess.run(["git", "show", f"{rev.sha}:{path}"], cwd=root, capture_output=True)
    if shown.returncode == 0:
        return shown.stdout
    return read_dvc_output(root, path, rev)


def read_dvc_output(root: Path, path: str, rev: Revision) -> bytes | None:
    """A DVC-tracked output as of ``rev``, from the local cache or the default remote;
    ``None`` (with the reason logged) when neither has it or no remote is reachable."""
    import dvc.api  # imported here: starting DVC is slow and most reads do not need it

    try:
        with dvc.api.open(path, repo=str(root), rev=rev.sha, mode="rb") as handle:
            return handle.read()
    # Any failure of the remote's client counts as "not available", whatever its type:
    # botocore's NoCredentialsError (a fork's CI run has no secrets) is not an OSError.
    except Exception as exc:
        log.info("%s at %s is not available from DVC: %s", path, rev.label, exc)
        return None


def read_json(root: Path, path: str | Path, rev: Revision) -> dict[str, Any] | None:
    data = read_bytes(root, path, rev)
    return None if data is None else json.loads(data)


def read_csv(root: Path, path: str | Path, rev: Revision) -> pd.DataFrame | None:
    data = read_bytes(root, path, rev)
    return None if data is None else pd.read_csv(io.BytesIO(data))


def read_parquet(root: Path, path: str | Path, rev: Revision) -> pd.DataFrame | None:
    data = read_bytes(root, path, rev)
    return None if data is None else pd.read_parquet(io.BytesIO(data))
