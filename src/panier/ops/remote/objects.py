"""Which objects the workspace and the run cache need, and which of them the remote holds."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from panier.ops.remote.checks import explain
from panier.ops.remote.config import RemoteError, RemoteInfo, open_repo


@dataclass(frozen=True)
class StoredObject:
    """One object of the DVC cache: ``label`` is the workspace path it holds."""

    label: str
    oid: str
    is_dir_manifest: bool = False


def _tree_entries(odb, label: str, oid: str) -> list[StoredObject]:
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.tree import Tree

    tree = Tree.load(odb, HashInfo("md5", oid))
    return [
        StoredObject(f"{label}/{'/'.join(key)}", entry.value)
        for key, _meta, entry in tree
        if entry is not None
    ]


def workspace_objects(repo, remote_odb=None) -> list[StoredObject]:
    """Every cache object the current ``dvc.lock``/``.dvc`` files point at: one per cached
    file output, and for a directory output its manifest and each file in it (the manifest
    read from the local cache, else from ``remote_odb``)."""
    objects: list[StoredObject] = []
    for out in repo.index.outs:
        if not out.use_cache or not out.hash_info or not out.hash_info.value:
            continue
        # Relative to the repository root (def_path is relative to the .dvc file).
        label = Path(os.path.relpath(out.fs_path, repo.root_dir)).as_posix()
        oid = out.hash_info.value
        if not out.hash_info.isdir:
            objects.append(StoredObject(label, oid))
            continue
        objects.append(StoredObject(label, oid, is_dir_manifest=True))
        for odb in (repo.cache.local, remote_odb):
            if odb is not None and odb.exists(oid):
                objects.extend(_tree_entries(odb, label, oid))
                break
    return objects


def in_targets(label: str, targets: list[str] | None) -> bool:
    """Whether workspace path ``label`` is one of ``targets`` (output paths or .dvc files)
    or inside one; no targets means everything."""
    if not targets:
        return True
    for target in targets:
        path = target.removesuffix(".dvc").rstrip("/")
        if label == path or label.startswith(f"{path}/"):
            return True
    return False


def run_cache_objects(repo) -> list[StoredObject]:
    """Every object the local run cache refers to, including the outputs DVC keeps out of
    the cache (``cache: false``), which the run cache stores anyway."""
    runs = Path(repo.cache.legacy.path) / "runs"
    objects: list[StoredObject] = []
    for entry in sorted(p for p in runs.rglob("*") if p.is_file()) if runs.is_dir() else []:
        try:
            record = yaml.safe_load(entry.read_text())
        except (OSError, yaml.YAMLError):
            continue
        for out in (record or {}).get("outs", []):
            oid = out.get("md5")
            if oid and out.get("hash") == "md5":
                objects.append(
                    StoredObject(
                        f"run cache: {out.get('path')}", oid, is_dir_manifest=oid.endswith(".dir")
                    )
                )
    return objects


def present_in(odb, oids: Iterable[str]) -> set[str]:
    """Those of ``oids`` that the object database ``odb`` holds."""
    oids = sorted(set(oids))
    return set(odb.oids_exist(oids)) if oids else set()


def absent_from_remote(root: Path, oids: Iterable[str], remote: RemoteInfo) -> set[str]:
    """Those of ``oids`` (md5 object ids) that ``remote`` does not hold."""
    oids = set(oids)
    with open_repo(root) as repo:
        try:
            odb = repo.cloud.get_remote_odb(remote.name, "push")
            return oids - present_in(odb, oids)
        except Exception as exc:
            raise RemoteError(explain(exc, remote)) from None


def missing_in_remote(root: Path, remote: RemoteInfo) -> list[StoredObject]:
    """The workspace's objects that ``remote`` does not hold (empty: fully pushed)."""
    with open_repo(root) as repo:
        try:
            odb = repo.cloud.get_remote_odb(remote.name, "push")
            wanted = workspace_objects(repo, odb)
            present = present_in(odb, (o.oid for o in wanted))
        except Exception as exc:
            raise RemoteError(explain(exc, remote)) from None
    return [o for o in wanted if o.oid not in present]
