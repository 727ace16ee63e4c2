"""Reading the registry: the versions of the artifact, the version in each stage and the
history of both, from GTO's git tags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from panier.ops.registry.artifact import ARTIFACT, RegistryError, Resolved, git


def gto_api():
    """``(gto.api, gto.exceptions)``, imported here: gto is slow to import and only the
    registry needs it."""
    import gto.api
    import gto.exceptions

    return gto.api, gto.exceptions


def has_versions(repo: Path) -> bool:
    """Whether any version of the artifact is registered (a ``basket-rules@...`` tag), read
    from git alone: a fresh clone with no tags has none."""
    return bool(git(repo, "tag", "--list", f"{ARTIFACT}@*").strip())


def versions(repo: Path) -> list[dict[str, Any]]:
    """Registered versions, newest first: version, commit, author, created_at, message and
    the stages each one currently holds."""
    api, exceptions = gto_api()
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
    _, exceptions = gto_api()
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


def stage_versions(repo: Path, stage: str) -> list[str]:
    """The versions assigned to ``stage`` and not unassigned since, in GTO's order of
    precedence: the first is the one in force (GTO ranks by semantic version)."""
    _, exceptions = gto_api()
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
            return Resolved(row["version"], row["commit"])
    raise RegistryError(f"{ARTIFACT} {version} is not registered: see `panier registry show`")


def history(repo: Path) -> list[dict[str, Any]]:
    """Every registration, assignment and unassignment of the artifact, newest first, as GTO
    reports them (event, stage, version, commit, author, author_email, timestamp, message)."""
    api, exceptions = gto_api()
    try:
        return api.history(str(repo), ARTIFACT)
    except exceptions.GTOException as exc:
        raise RegistryError(f"{ARTIFACT}: {exc}") from None
