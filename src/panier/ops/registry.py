"""The model registry: versions and stages of the rules model, kept as git tags.

The model is declared once, in ``dvc.yaml``, as the DVC artifact ``basket-rules`` (type
``model``, path ``models``: ``rules.parquet``, ``items.parquet``, ``model_card.json``,
``rules.pmml``).
Versions and stages follow the GTO conventions, so ``gto show`` and DVC Studio read them
too: ``basket-rules@v1.2.0`` registers the model of a commit as version v1.2.0;
``basket-rules#prod#3`` (the 3rd assignment to ``prod``) puts a version in ``prod``.
Both are annotated tags: they record who made them, when and why.

``panier registry``:
    show                            versions, the version in each stage, who put it there
    history                         every registration and assignment, newest first
    register [VERSION] [--ref REF]  register the model of a commit (default HEAD)
    promote VERSION STAGE           put a registered version in a stage (one tag)
    rollback [--stage prod] -m WHY  put the stage's previous version back (two tags)
    fetch --stage prod --out DIR    download that version's model files into DIR

Register and promote refuse a version whose model files are not all in the DVC remote
(``--no-remote-check`` skips this), so that a fetch of any registered version works.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from panier.core.errors import PanierError
from panier.ops import remote as remote_store

ARTIFACT = "basket-rules"
MANIFEST = "artifact.json"
FIRST_VERSION = "v1.0.0"  # what register gives the first version when none is named


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


# ---------------------------------------------------------------------------------------
# What the artifact is at a commit.


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RegistryError(
            f"git {' '.join(args)} failed in {repo}: "
            f"{result.stderr.strip() or result.stdout.strip()}"
        )
    return result.stdout


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


def _check_pushed(repo: Path, version: str, commit: str, remote: str | None) -> None:
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


# ---------------------------------------------------------------------------------------
# Reading the registry.


def _gto():
    # gto is imported lazily: it is slow to import and only the registry needs it.
    import gto.api
    import gto.exceptions

    return gto.api, gto.exceptions


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, datetime) else str(value)


def has_versions(repo: Path) -> bool:
    """Whether any version of the artifact is registered (a ``basket-rules@...`` tag), read
    from git alone: a fresh clone with no tags has none."""
    return bool(_git(repo, "tag", "--list", f"{ARTIFACT}@*").strip())


def versions(repo: Path) -> list[dict[str, Any]]:
    """Registered versions, newest first: version, commit, author, created_at, message and
    the stages each one currently holds."""
    api, exceptions = _gto()
    try:
        rows = api.show(str(repo), ARTIFACT)
    except exceptions.GTOException as exc:
        raise RegistryError(f"{ARTIFACT}: {exc}") from None
    out = []
    for row in rows:
        if not row.get("registrations"):
            continue  # a commit GTO discovered but nobody registered
        out.append(
            {
                "version": row["version"],
                "commit": row["commit_hexsha"],
                "author": row.get("author"),
                "author_email": row.get("author_email"),
                "created_at": row.get("created_at"),
                "message": row.get("message"),
                "stages": [s["stage"] for s in row.get("stages", []) if s.get("is_active", True)],
            }
        )
    return out


def stages(repo: Path) -> dict[str, dict[str, Any] | None]:
    """Each stage (those allowed in ``.gto``, else those ever used) -> the assignment now in
    force (version, commit, who, when, message, tag), or ``None`` when no version holds it."""
    _, exceptions = _gto()
    from gto.constants import ASSIGNMENTS_PER_VERSION, VERSIONS_PER_STAGE
    from gto.registry import GitRegistry

    held: dict[str, dict[str, Any] | None] = {}
    try:
        with GitRegistry.from_url(str(repo)) as reg:
            for stage in reg.get_stages() or []:
                found = reg.which(
                    ARTIFACT,
                    stage,
                    raise_if_not_found=False,
                    assignments_per_version=ASSIGNMENTS_PER_VERSION,
                    versions_per_stage=VERSIONS_PER_STAGE,
                )
                vstage = (found[0] if found else None) if isinstance(found, list) else found
                if vstage is None:
                    held[stage] = None
                    continue
                last = vstage.assignments[-1] if vstage.assignments else None
                held[stage] = {
                    "version": vstage.version,
                    "commit": vstage.commit_hexsha,
                    "author": getattr(last, "author", None),
                    "author_email": getattr(last, "author_email", None),
                    "created_at": getattr(last, "created_at", None),
                    "message": getattr(last, "message", None),
                    "tag": getattr(last, "tag", None),
                }
    except exceptions.GTOException as exc:
        raise RegistryError(f"{ARTIFACT}: {exc}") from None
    return held


def resolve(repo: Path, stage: str | None = None, version: str | None = None) -> Resolved:
    """The version now in ``stage``, or the registered ``version``, with its commit."""
    if (stage is None) == (version is None):
        raise RegistryError("give exactly one of --stage or --version")
    if stage is not None:
        held = stages(repo)
        if stage not in held:
            raise RegistryError(f"unknown stage '{stage}': stages are {', '.join(held)}")
        found = held[stage]
        if found is None:
            raise RegistryError(
                f"no version of {ARTIFACT} is in '{stage}': promote one with "
                f"`panier registry promote VERSION {stage}`"
            )
        return Resolved(found["version"], found["commit"], stage)
    for row in versions(repo):
        if row["version"] == version:
            return Resolved(version, row["commit"])
    raise RegistryError(f"{ARTIFACT} {version} is not registered: see `panier registry show`")


# ---------------------------------------------------------------------------------------
# Changing it: one annotated tag per action.


def register(
    repo: Path,
    version: str | None = None,
    ref: str = "HEAD",
    message: str | None = None,
    author: str | None = None,
    author_email: str | None = None,
    check_remote: bool = True,
    remote: str | None = None,
    push: bool = False,
) -> str:
    """Register the model of commit ``ref`` as ``version`` (default: the next minor
    version); returns the tag name."""
    api, exceptions = _gto()
    try:
        commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except RegistryError:
        raise RegistryError(f"unknown ref '{ref}': give a commit, branch or tag") from None
    artifact_files(repo, commit)
    if version is None and not has_versions(repo):
        version = FIRST_VERSION  # GTO bumps the last version; there is none yet
    if check_remote:
        _check_pushed(repo, version or "(new version)", commit, remote)
    try:
        tag = api.register(
            str(repo),
            ARTIFACT,
            commit,
            version=version,
            message=message or f"register {ARTIFACT} from {commit[:7]}",
            bump_minor=version is None,
            author=author,
            author_email=author_email,
            push=push,
        )
    except exceptions.GTOException as exc:
        raise RegistryError(f"cannot register {ARTIFACT} {version or ''} at {ref}: {exc}") from None
    return tag.tag if hasattr(tag, "tag") else str(tag)


def promote(
    repo: Path,
    version: str,
    stage: str,
    message: str | None = None,
    author: str | None = None,
    author_email: str | None = None,
    check_remote: bool = True,
    remote: str | None = None,
    push: bool = False,
) -> str:
    """Put registered ``version`` in ``stage``: one annotated tag naming who and why;
    returns the tag name."""
    api, exceptions = _gto()
    allowed = api.get_stages(str(repo), allowed=True)
    if allowed and stage not in allowed:
        raise RegistryError(
            f"unknown stage '{stage}': stages are {', '.join(allowed)} (declared in .gto)"
        )
    resolved = resolve(repo, version=version)
    if check_remote:
        _check_pushed(repo, version, resolved.commit, remote)
    _after_last_tag(repo)
    try:
        tag = api.assign(
            str(repo),
            ARTIFACT,
            stage,
            version=version,
            message=message or f"promote {ARTIFACT} {version} to {stage}",
            author=author,
            author_email=author_email,
            push=push,
        )
    except exceptions.GTOException as exc:
        raise RegistryError(f"cannot promote {ARTIFACT} {version} to {stage}: {exc}") from None
    return tag.tag if hasattr(tag, "tag") else str(tag)


def _after_last_tag(repo: Path) -> None:
    """Wait, if need be, until the clock is past the second of the newest registry tag. GTO
    orders the assignments of a stage by their tag's time, which git keeps to the second: a
    promotion or rollback in the same second as the one before it would tie with it."""
    newest = _git(
        repo,
        "for-each-ref",
        "--sort=-taggerdate",
        "--count=1",
        "--format=%(taggerdate:unix)",
        f"refs/tags/{ARTIFACT}*",
    ).strip()
    if newest.isdigit():
        while int(time.time()) <= int(newest):
            time.sleep(0.05)


def stage_versions(repo: Path, stage: str) -> list[str]:
    """The versions assigned to ``stage`` and not unassigned since, in GTO's order of
    precedence: the first is the one in force (GTO ranks by semantic version)."""
    _, exceptions = _gto()
    from gto.registry import GitRegistry

    try:
        with GitRegistry.from_url(str(repo)) as reg:
            found = reg.which(
                ARTIFACT,
                stage,
                raise_if_not_found=False,
                assignments_per_version=-1,
                versions_per_stage=-1,
            )
    except exceptions.GTOException as exc:
        raise RegistryError(f"{ARTIFACT}: {exc}") from None
    if not found:
        return []
    return [v.version for v in (found if isinstance(found, list) else [found])]


def rollback_target(repo: Path, stage: str) -> tuple[str, str]:
    """``(current, previous)``: the version in ``stage`` and the one that takes its place
    once it is unassigned (the next in GTO's precedence: the highest other version still
    assigned to the stage, so two rollbacks go two versions back)."""
    held = stage_versions(repo, stage)
    if not held:
        raise RegistryError(f"no version of {ARTIFACT} is in '{stage}': nothing to roll back")
    if len(held) == 1:
        raise RegistryError(
            f"'{stage}' holds no other version than {held[0]}: nothing to roll "
            f"back to; promote one with `panier registry promote "
            f"VERSION {stage}`"
        )
    return held[0], held[1]


def rollback(
    repo: Path,
    stage: str,
    reason: str,
    author: str | None = None,
    author_email: str | None = None,
    check_remote: bool = True,
    remote: str | None = None,
    push: bool = False,
) -> tuple[list[str], str, str]:
    """Put the previous version of ``stage`` back: two annotated tags, both with the message
    ``rollback from CURRENT to PREVIOUS: REASON``. The first unassigns the current version
    (GTO's own way, ``gto deprecate``: GTO ranks the versions still assigned by semver),
    the second assigns the previous one again (DVC's ``artifacts get --stage`` takes the
    newest assignment), so GTO, DVC and the service agree. The version put back must still
    be fetchable (checked in the DVC remote unless ``check_remote`` is false). Returns
    ``(tags, current, previous)``."""
    api, exceptions = _gto()
    if not reason or not reason.strip():
        raise RegistryError("say why with -m: the reason is kept in the tag message")
    current, previous = rollback_target(repo, stage)
    if check_remote:
        _check_pushed(repo, previous, resolve(repo, version=previous).commit, remote)
    message = f"rollback from {current} to {previous}: {reason.strip()}"
    tags = []
    try:
        _after_last_tag(repo)
        tags.append(
            api.unassign(
                str(repo),
                ARTIFACT,
                version=current,
                stage=stage,
                message=message,
                author=author,
                author_email=author_email,
                push=push,
            )
        )
        _after_last_tag(repo)
        tags.append(
            api.assign(
                str(repo),
                ARTIFACT,
                stage,
                version=previous,
                message=message,
                author=author,
                author_email=author_email,
                push=push,
                force=True,
            )
        )
    except exceptions.GTOException as exc:
        raise RegistryError(f"cannot roll {stage} back from {current}: {exc}") from None
    return [t.tag if hasattr(t, "tag") else str(t) for t in tags], current, previous


# ---------------------------------------------------------------------------------------
# Fetching a version's files for the serving application.


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


# ---------------------------------------------------------------------------------------
# Command line.


def _print_show(repo: Path) -> None:
    held = stages(repo)
    rows = versions(repo)
    print(f"{ARTIFACT}: {len(rows)} registered version(s)")
    print(f"{'stage':<10} {'version':<10} {'commit':<8} {'assigned by':<30} {'at':<21} message")
    for stage, found in held.items():
        if found is None:
            print(f"{stage:<10} {'-':<10}")
            continue
        who = f"{found['author']} <{found['author_email']}>"
        print(
            f"{stage:<10} {found['version']:<10} {found['commit'][:7]:<8} {who:<30} "
            f"{_when(found['created_at']):<21} {(found['message'] or '').strip()}"
        )
    print()
    print(f"{'version':<10} {'commit':<8} {'registered by':<30} {'at':<21} stages")
    for row in rows:
        who = f"{row['author']} <{row['author_email']}>"
        print(
            f"{row['version']:<10} {row['commit'][:7]:<8} {who:<30} "
            f"{_when(row['created_at']):<21} {', '.join(row['stages']) or '-'}"
        )


def _print_history(repo: Path) -> None:
    api, exceptions = _gto()
    try:
        events = api.history(str(repo), ARTIFACT)
    except exceptions.GTOException as exc:
        raise RegistryError(f"{ARTIFACT}: {exc}") from None
    for e in events:
        what = e["event"] + (f" {e['stage']}" if e.get("stage") else "")
        print(
            f"{_when(e['timestamp']):<21} {what:<20} {e['version'] or '-':<10} "
            f"{e['commit'][:7]} {e['author']} <{e['author_email']}>: "
            f"{(e['message'] or '').strip()}"
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="panier registry",
        description=f"Versions and stages of the {ARTIFACT} model (GTO git tags).",
    )
    parser.add_argument("--repo", default=".", help="the git repository (default: here)")
    parser.add_argument("-r", "--remote", help="DVC remote (default: core.remote)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("show", help="versions and the version in each stage")
    sub.add_parser("history", help="every registration and assignment")

    def who(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument("-m", "--message", help="why (stored in the tag)")
        cmd.add_argument("--author", help="who (default: git user.name)")
        cmd.add_argument("--author-email", help="default: git user.email")
        cmd.add_argument("--push", action="store_true", help="push the tag to origin")
        cmd.add_argument(
            "--no-remote-check",
            action="store_true",
            help="do not require the model files to be in the DVC remote",
        )

    reg = sub.add_parser("register", help="register the model of a commit as a version")
    reg.add_argument(
        "version", nargs="?", help="e.g. v1.2.0 (default: next minor version; the first is v1.0.0)"
    )
    reg.add_argument("--ref", default="HEAD", help="commit, branch or tag (default: HEAD)")
    who(reg)
    pro = sub.add_parser("promote", help="put a registered version in a stage")
    pro.add_argument("version")
    pro.add_argument("stage")
    who(pro)
    rol = sub.add_parser("rollback", help="put back the version a stage held before")
    rol.add_argument("--stage", default="prod", help="default: prod")
    who(rol)
    fet = sub.add_parser("fetch", help="download a version's model files into a folder")
    which = fet.add_mutually_exclusive_group(required=True)
    which.add_argument("--stage")
    which.add_argument("--version")
    fet.add_argument("--out", required=True, type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    repo = Path(args.repo).resolve()
    try:
        if args.command == "show":
            _print_show(repo)
        elif args.command == "history":
            _print_history(repo)
        elif args.command == "register":
            tag = register(
                repo,
                args.version,
                args.ref,
                args.message,
                args.author,
                args.author_email,
                not args.no_remote_check,
                args.remote,
                args.push,
            )
            print(f"created tag {tag}")
        elif args.command == "promote":
            tag = promote(
                repo,
                args.version,
                args.stage,
                args.message,
                args.author,
                args.author_email,
                not args.no_remote_check,
                args.remote,
                args.push,
            )
            print(f"created tag {tag}")
        elif args.command == "rollback":
            tags, current, previous = rollback(
                repo,
                args.stage,
                args.message or "",
                args.author,
                args.author_email,
                not args.no_remote_check,
                args.remote,
                args.push,
            )
            for tag in tags:
                print(f"created tag {tag}")
            print(f"{args.stage} goes back from {current} to {previous}")
        elif args.command == "fetch":
            resolved, files = fetch(repo, args.out, args.stage, args.version, args.remote)
            where = f" ({resolved.stage})" if resolved.stage else ""
            print(
                f"{ARTIFACT} {resolved.version}{where} from commit {resolved.commit[:7]}: "
                f"{', '.join(f.name for f in files)} -> {args.out}"
            )
    except PanierError as exc:
        print(f"{args.command} failed: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except Exception as exc:  # DVC or GTO errors not foreseen above: still one line
        print(
            f"{args.command} failed: {' '.join(str(exc).split()) or type(exc).__name__}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
