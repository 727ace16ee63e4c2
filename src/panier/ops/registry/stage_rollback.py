"""Rolling a stage back: put back the version it held before the one now in force."""

from __future__ import annotations

from pathlib import Path

from panier.ops.registry.artifact import ARTIFACT, RegistryError, check_pushed, tag_name
from panier.ops.registry.promotion import wait_past_last_tag
from panier.ops.registry.versions import gto_api, resolve, stage_versions


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
    api, exceptions = gto_api()
    if not reason or not reason.strip():
        raise RegistryError("say why with -m: the reason is kept in the tag message")
    current, previous = rollback_target(repo, stage)
    if check_remote:
        check_pushed(repo, previous, resolve(repo, version=previous).commit, remote)
    message = f"rollback from {current} to {previous}: {reason.strip()}"
    tags = []
    try:
        wait_past_last_tag(repo)
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
        wait_past_last_tag(repo)
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
    return [tag_name(t) for t in tags], current, previous
