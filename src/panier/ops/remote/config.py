"""Which DVC remote to use and where it is: its name, URL and S3 endpoint as DVC resolves
them for this user."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from panier.core.errors import PanierError


class RemoteError(PanierError):
    """The remote cannot be used as configured, or it lacks or spoils an object."""


@dataclass(frozen=True)
class RemoteInfo:
    """The default (or named) DVC remote as configured for this user: ``url`` is
    ``s3://bucket/prefix``; ``endpoint`` is the S3-compatible server (``None``: AWS)."""

    name: str
    url: str
    endpoint: str | None

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0] if "://" in self.url else "local"

    @property
    def bucket(self) -> str:
        return self.url.split("://", 1)[-1].split("/", 1)[0]

    @property
    def where(self) -> str:
        at = f" at {self.endpoint}" if self.endpoint else ""
        return f"remote '{self.name}' ({self.url}{at})"


def open_repo(root: Path):
    """The DVC repository at ``root`` (a context manager; DVC imported here, when needed)."""
    from dvc.repo import Repo

    return Repo(str(root))


def repo_remote(repo, name: str | None) -> RemoteInfo:
    """The remote ``name`` (default: ``core.remote``) of the open DVC ``repo``."""
    config = repo.config
    name = name or config["core"].get("remote")
    if not name:
        raise RemoteError(
            "no default DVC remote: add one with `dvc remote add -d storage "
            "s3://BUCKET/PREFIX` (see README, 'Versions')"
        )
    remote = config["remote"].get(name)
    if remote is None:
        raise RemoteError(f"no DVC remote named '{name}': list them with `dvc remote list`")
    endpoint = (
        remote.get("endpointurl")
        or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL")
    )
    return RemoteInfo(name=name, url=remote["url"], endpoint=endpoint)


def remote_info(root: Path, name: str | None = None) -> RemoteInfo:
    """The remote ``name`` (default: ``core.remote``) as DVC resolves it for this user:
    ``.dvc/config`` overlaid by ``.dvc/config.local``, the global and system config."""
    with open_repo(root) as repo:
        return repo_remote(repo, name)
