"""Changing the registry: register a commit's model as a version, promote a version to a
stage. One annotated GTO tag per action, naming who did it and why."""

from __future__ import annotations

import time
from pathlib import Path

from panier.ops.registry.artifact import (
    ARTIFACT,
    RegistryError,
    artifact_files,
    check_pushed,
    git,
    tag_name,
)
from panier.ops.registry.versions import gto_api, has_versions, resolve

FIRST_VERSION = "v1.0.0"  # what register gives the first version when none is named


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
    api, exceptions = gto_api()
    try:
        commit = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except RegistryError:
        raise RegistryError(f"unknown ref '{ref}': give a commit, branch or tag") from None
    artifact_files(repo, commit)
    if version is None and not has_versions(repo):
        version = FIRST_VERSION  # GTO bumps the last version; there is none yet
    if check_remote:
        check_pushed(repo, version or "(new version)", commit, remote)
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
    return tag_name(tag)


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
    api, exceptions = gto_api()
    allowed = api.get_stages(str(repo), allowed=True)
    if allowed and stage not in allowed:
        raise RegistryError(
            f"unknown stage '{stage}': stages are {', '.join(allowed)} (declared in .gto)"
        )
    resolved = resolve(repo, version=version)
    if check_remote:
        check_pushed(repo, version, resolved.commit, remote)
    wait_past_last_tag(repo)
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
    return tag_name(tag)


def wait_past_last_tag(repo: Path) -> None:
    """Wait, if need be, until the clock is past the second of the newest registry tag. GTO
    orders the assignments of a stage by their tag's time, which git keeps to the second: a
    promotion or rollback in the same second as the one before it would tie with it."""
    newest = git(
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
