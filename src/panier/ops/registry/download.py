"""Fetching a version's model files for the serving application: from the local DVC cache
or the remote, checked against ``dvc.lock``, replaced one by one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from panier.ops import remote as remote_store
from panier.ops.registry.artifact import (
    ARTIFACT,
    MANIFEST,
    ModelFile,
    RegistryError,
    Resolved,
    artifact_files,
)
from panier.ops.registry.versions import resolve


def _fetch_problem(
    repo: Path,
    info: remote_store.RemoteInfo,
    exc: Exception,
    path: str,
    f: ModelFile,
    resolved: Resolved,
) -> str:
    """Why a model file could not be fetched: the remote is unusable, or lacks the file."""
    try:
        remote_store.check(repo, info.name)
    except remote_store.RemoteError as problem:
        return str(problem)
    if isinstance(exc, FileNotFoundError) or "No storage files" in str(exc):
        return (
            f"{path}/{f.name} is not in the local cache nor in {info.where}: run "
            f"`panier remote push` at commit {resolved.commit[:7]}"
        )
    return remote_store.explain(exc, info)


def fetch(
    repo: Path,
    out: Path,
    stage: str | None = None,
    version: str | None = None,
    remote: str | None = None,
) -> tuple[Resolved, list[ModelFile]]:
    """Download the model files of the version in ``stage`` (or of ``version``) into
    ``out``: ``rules.parquet``, ``items.parquet``, ``model_card.json``, ``rules.pmml`` and
    ``artifact.json``
    (name, version, stage, commit and each file's md5). Files come from the local DVC cache
    or the remote, are checked against ``dvc.lock`` and replace the old ones one by one."""
    from dvc.api import DVCFileSystem

    from panier.core.io import file_md5  # here, not at the top: other commands stay light

    resolved = resolve(repo, stage=stage, version=version)
    path, files = artifact_files(repo, resolved.commit)
    info = remote_store.remote_info(repo, remote)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".fetch-") as tmp:
        staging = Path(tmp)
        # From the local cache when it has the files (no network needed), else the remote.
        fs = DVCFileSystem(str(repo), rev=resolved.commit, remote=info.name)
        for f in files:
            target = staging / f.name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                fs.get_file(f"{path}/{f.name}", str(target))
            except Exception as exc:
                raise RegistryError(
                    f"fetch {ARTIFACT} {resolved.version}: "
                    f"{_fetch_problem(repo, info, exc, path, f, resolved)}"
                ) from None
            actual = file_md5(target)
            if actual != f.md5:
                raise RegistryError(
                    f"fetch {ARTIFACT} {resolved.version}: {path}/{f.name} hashes to {actual}, "
                    f"dvc.lock says {f.md5}: the copy in {info.where} is corrupted; delete it "
                    "and push again from a machine with a good copy"
                )
        manifest = {
            "name": ARTIFACT,
            "version": resolved.version,
            "stage": resolved.stage,
            "commit": resolved.commit,
            "path": path,
            "files": {f.name: {"md5": f.md5, "size": f.size} for f in files},
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        # Model files first, the manifest last: a reader that sees the new manifest sees
        # the files it describes.
        for name in [*(f.name for f in files), MANIFEST]:
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / name, out / name)
    return resolved, files
