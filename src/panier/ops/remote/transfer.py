"""push and pull: ``dvc push`` completed and verified, ``dvc pull`` with each missing or
corrupted file named."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from panier.ops.remote.checks import check, explain
from panier.ops.remote.config import RemoteError, RemoteInfo, open_repo, remote_info
from panier.ops.remote.objects import (
    StoredObject,
    in_targets,
    present_in,
    run_cache_objects,
    workspace_objects,
)


@dataclass
class PushReport:
    dvc_output: str
    completed: list[StoredObject] = field(default_factory=list)
    objects: int = 0


def _dvc(root: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the DVC command line of this interpreter (not whatever ``dvc`` is on PATH)."""
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=root, capture_output=True, text=True, check=False
    )


def _dvc_error(result: subprocess.CompletedProcess) -> str:
    """DVC's last ``ERROR:`` message, with the lines that continue it (e.g. file names)."""
    lines = [ln.strip() for ln in (result.stderr + "\n" + result.stdout).splitlines()]
    starts = [i for i, ln in enumerate(lines) if ln.startswith("ERROR:")]
    if not starts:
        return next((ln for ln in reversed(lines) if ln), "no output")
    message = []
    for line in lines[starts[-1] :]:
        if not line or line.startswith(("<https://", "Having any troubles")):
            break
        message.append(line.removeprefix("ERROR:").strip())
    return " ".join(message)


def _describe_failure(
    root: Path, remote: RemoteInfo, command: str, result: subprocess.CompletedProcess
) -> str:
    """Why ``dvc <command>`` failed: probe the remote again (a server gone mid-transfer shows
    up here), else quote DVC's last error line."""
    try:
        check(root, remote.name)
    except RemoteError as exc:
        return (
            f"the transfer stopped: {exc}; objects already transferred are kept, run the "
            "same command again once this is fixed"
        )
    if "No file hash info found" in result.stderr:
        return (
            f"dvc {command} failed: some outputs have no hash in dvc.lock (the pipeline "
            "never produced them on this commit): run `dvc repro`, or name what exists: "
            f"panier remote {command} TARGET.dvc"
        )
    return f"dvc {command} failed: {_dvc_error(result)} (run `dvc {command} -v` for details)"


def push(
    root: Path,
    name: str | None = None,
    jobs: int | None = None,
    run_cache: bool = True,
    targets: list[str] | None = None,
) -> PushReport:
    """Push the workspace's data and models (and the run cache) to the remote, then make
    sure the remote holds every object they need; raises ``RemoteError`` otherwise.
    ``targets`` (output paths or .dvc files) limits the push to those."""
    remote = check(root, name)
    args = ["push", "-r", remote.name]
    if run_cache:
        args.append("--run-cache")
    if jobs:
        args += ["-j", str(jobs)]
    result = _dvc(root, *args, *(targets or []))
    if result.returncode != 0:
        raise RemoteError(_describe_failure(root, remote, "push", result))
    report = PushReport(dvc_output=result.stdout.strip())
    with open_repo(root) as repo:
        try:
            odb = repo.cloud.get_remote_odb(remote.name, "push")
            local = repo.cache.local
            wanted = [o for o in workspace_objects(repo) if in_targets(o.label, targets)]
            if run_cache:
                wanted += [o for o in run_cache_objects(repo) if local.exists(o.oid)]
            present = present_in(odb, (o.oid for o in wanted))
            absent = {o.oid: o for o in wanted if o.oid not in present}
            if absent:
                from dvc_data.hashfile.hash_info import HashInfo

                repo.cloud.push(
                    [HashInfo("md5", oid) for oid in absent], jobs=jobs, remote=remote.name
                )
                present |= present_in(odb, absent)
            report.completed = [o for oid, o in absent.items() if oid in present]
            still = [o for o in wanted if o.oid not in present]
        except Exception as exc:
            raise RemoteError(
                f"the transfer stopped: {explain(exc, remote)}; run the same command "
                "again once this is fixed"
            ) from None
    if still:
        shown = ", ".join(sorted({o.label for o in still})[:5])
        raise RemoteError(
            f"incomplete: {len(still)} objects are not in {remote.where} "
            f"({shown}) and are not in the local cache either: run `dvc repro` "
            "(or `dvc pull` from another remote) and push again"
        )
    report.objects = len({o.oid for o in wanted})
    return report


@dataclass(frozen=True)
class ObjectProblem:
    obj: StoredObject
    path: str  # in the remote
    problem: str  # "missing" or "corrupted"
    actual_md5: str | None = None


def _md5_of_remote(odb, path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with odb.fs.open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def diagnose_remote(
    root: Path,
    name: str | None = None,
    only_not_in_cache: bool = True,
    targets: list[str] | None = None,
) -> list[ObjectProblem]:
    """Look up each workspace object (by default only those the local cache lacks) in the
    remote: report it as ``missing`` or ``corrupted`` (its bytes hash to something else)."""
    remote = remote_info(root, name)
    problems: list[ObjectProblem] = []
    with open_repo(root) as repo:
        odb = repo.cloud.get_remote_odb(remote.name, "pull")
        for obj in workspace_objects(repo, odb):
            if not in_targets(obj.label, targets) or (
                only_not_in_cache and repo.cache.local.exists(obj.oid)
            ):
                continue
            path = odb.oid_to_path(obj.oid)
            if not odb.fs.exists(path):
                problems.append(ObjectProblem(obj, path, "missing"))
                continue
            actual = _md5_of_remote(odb, path)
            if actual != obj.oid.removesuffix(".dir"):
                problems.append(ObjectProblem(obj, path, "corrupted", actual))
    return problems


def describe_problems(problems: list[ObjectProblem], remote: RemoteInfo) -> str:
    corrupted = [p for p in problems if p.problem == "corrupted"]
    missing = [p for p in problems if p.problem == "missing"]
    parts = []
    if corrupted:
        first = corrupted[0]
        names = ", ".join(p.obj.label for p in corrupted)
        parts.append(
            f"corrupted in {remote.where}: {names} (object {first.path} hashes to "
            f"{first.actual_md5}, dvc.lock expects {first.obj.oid}): delete the object(s) "
            "from the bucket and run `panier remote push` on a machine whose cache "
            "holds a good copy"
        )
    if missing:
        names = ", ".join(p.obj.label for p in missing)
        parts.append(
            f"missing from {remote.where}: {names}: run `panier remote "
            "push` on the machine that produced this commit"
        )
    return "; ".join(parts)


def pull(
    root: Path,
    name: str | None = None,
    jobs: int | None = None,
    run_cache: bool = False,
    targets: list[str] | None = None,
) -> str:
    """``dvc pull`` from the remote (every file re-hashed, as the remote says ``verify``);
    returns DVC's summary or raises ``RemoteError`` naming each missing or corrupted file."""
    remote = check(root, name)
    args = ["pull", "-r", remote.name]
    if run_cache:
        args.append("--run-cache")
    if jobs:
        args += ["-j", str(jobs)]
    result = _dvc(root, *args, *(targets or []))
    if result.returncode == 0:
        return result.stdout.strip()
    try:
        problems = diagnose_remote(root, remote.name, targets=targets)
    except Exception:  # the remote went away: say so rather than guess
        problems = []
    if problems:
        raise RemoteError(describe_problems(problems, remote))
    raise RemoteError(_describe_failure(root, remote, "pull", result))
