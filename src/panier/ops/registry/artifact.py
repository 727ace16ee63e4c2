"""What the registered model is at a commit: the DVC artifact ``basket-rules`` declared in
that commit's ``dvc.yaml``, its files and their hashes in its ``dvc.lock``, and whether
the DVC remote holds them."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from panier.core.errors import PanierError
from panier.ops import remote as remote_store

ARTIFACT = "basket-rules"
MANIFEST = "artifact.json"


class RegistryError(PanierError):
    """A registry action cannot be done as asked; the message says why and what to do."""


@dataclass(frozen=True)
class ModelFile:
    """One file of the artifact at a commit: ``name`` relative to the artifact path."""

    name: str
    md5: str
    size: int | None


@dataclass(frozen=True)
class Resolved:
    """A version of the artifact and the commit it was registered from."""

    version: str
    commit: str
    stage: str | None = None


def git(repo: Path, *args: str) -> str:
    """``git ARGS`` in ``repo``: its standard output, or ``RegistryError`` quoting git."""
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RegistryError(
            f"git {' '.join(args)} failed in {repo}: "
            f"{result.stderr.strip() or result.stdout.strip()}"
        )
    return result.stdout


def tag_name(tag: Any) -> str:
    """The git tag name of what GTO returns for a register or assign: a tag object (whose
    ``tag`` is the name) or, in some GTO versions, the name itself."""
    return tag.tag if hasattr(tag, "tag") else str(tag)


def _show_file(repo: Path, commit: str, path: str) -> dict[str, Any]:
    result = subprocess.run(
        ["git", "show", f"{commit}:{path}"], cwd=repo, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return {}
    return yaml.safe_load(result.stdout) or {}


def artifact_files(repo: Path, commit: str) -> tuple[str, list[ModelFile]]:
    """The artifact's path and its files at ``commit``, from that commit's ``dvc.yaml``
    (the declaration) and ``dvc.lock`` (each file's hash)."""
    declared = _show_file(repo, commit, "dvc.yaml").get("artifacts", {}).get(ARTIFACT)
    if not declared:
        raise RegistryError(
            f"commit {commit[:7]} does not declare the artifact '{ARTIFACT}' in "
            "dvc.yaml: register a commit made after it was added"
        )
    path = str(declared["path"]).rstrip("/")
    files = []
    for stage in _show_file(repo, commit, "dvc.lock").get("stages", {}).values():
        for out in stage.get("outs", []):
            out_path = str(out["path"])
            if out_path.startswith(f"{path}/"):
                files.append(ModelFile(out_path[len(path) + 1 :], out["md5"], out.get("size")))
    if not files:
        raise RegistryError(
            f"commit {commit[:7]} has no outputs under {path}/ in dvc.lock: run "
            "`dvc repro`, commit dvc.lock, then register that commit"
        )
    return path, sorted(files, key=lambda f: f.name)


def check_pushed(repo: Path, version: str, commit: str, remote: str | None) -> None:
    """Raise ``RegistryError`` unless the DVC ``remote`` holds every model file of
    ``commit`` (registered, or about to be, as ``version``)."""
    path, files = artifact_files(repo, commit)
    info = remote_store.check(repo, remote)
    absent = remote_store.absent_from_remote(repo, [f.md5 for f in files], info)
    if absent:
        names = ", ".join(f"{path}/{f.name}" for f in files if f.md5 in absent)
        raise RegistryError(
            f"{ARTIFACT} {version} (commit {commit[:7]}): {names} not in "
            f"{info.where}: check out that commit and run `panier "
            "remote push` first (or pass --no-remote-check)"
        )
