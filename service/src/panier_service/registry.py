"""Where a model comes from: a local folder, or the model registry.

The registry is the pipeline's git repository: the rules model is the DVC artifact
``basket-rules`` (declared in ``dvc.yaml``), its versions and stages are GTO git tags
(``basket-rules@v1.0.0`` registers a version, ``basket-rules#prod#3`` assigns a stage).
Loading "the version in stage prod" means: resolve the stage to a version with GTO, fetch
that version's files with DVC (from the repository's DVC cache or its default remote) into a
local folder keyed by version and commit, then load the folder like any other.

DVC and GTO are imported only when the registry is used: serving a local folder needs
neither, and they are the ``registry`` extra (``pip install 'panier-service[registry]'``).
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from panier_service.artifact import CARD_FILE, Model, ModelError, load_model

DEFAULT_ARTIFACT = "basket-rules"
DEFAULT_STAGE = "prod"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "panier-service"


def _registry_module(name: str):
    """Import GTO's or DVC's ``name``; without the registry extra, a ``ModelError`` saying
    how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ModelError(
            f"serving from a registry needs GTO and DVC ({exc}); install them with: "
            "pip install 'panier-service[registry]', or serve a model folder with --model"
        ) from None


def resolve_stage(repo: str, artifact: str, stage: str) -> tuple[str, str]:
    """The (version, commit) of ``artifact`` currently assigned to ``stage`` in git repo
    ``repo`` (a path or URL), as GTO computes it from the tags (later assignments and
    unassignments win). Raises ``ModelError`` when there is none."""
    gto = _registry_module("gto.api")

    try:
        found = gto.find_versions_in_stage(repo, artifact, stage)
    except Exception as exc:  # gto raises many kinds: all mean "cannot read that registry"
        raise ModelError(
            f"registry {repo}: cannot read artifact {artifact!r} ({type(exc).__name__}: {exc})"
        ) from None
    if isinstance(found, list):
        found = found[0] if found else None
    if found is None:
        raise ModelError(
            f"registry {repo}: no version of {artifact!r} is in stage {stage!r}; promote one "
            f"with: gto assign {artifact} --version vX.Y.Z --stage {stage}"
        )
    return str(found.version), str(found.commit_hexsha)


def fetch_version(repo: str, artifact: str, version: str, commit: str, cache_dir: Path) -> Path:
    """The local folder holding ``artifact``'s files at ``version``, fetched with DVC unless
    already present. A fetch lands in a temporary folder renamed into place, so a crash
    never leaves a half-fetched folder that looks complete."""
    dest = cache_dir / artifact / f"{version}-{commit[:12]}"
    if (dest / CARD_FILE).is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".fetch-", dir=dest.parent))
    try:
        Repo = _registry_module("dvc.repo").Repo

        try:
            with Repo.open(url=repo) as dvc_repo:
                dvc_repo.artifacts.download(
                    artifact, version=version, out=str(scratch / "model"), force=True
                )
        except Exception as exc:  # DVC errors carry their own explanation
            raise ModelError(
                f"registry {repo}: fetching {artifact} {version} with DVC "
                f"failed ({type(exc).__name__}: {exc}); check that the version "
                "was pushed to the DVC remote (dvc push)"
            ) from None
        try:
            os.replace(scratch / "model", dest)
        except OSError:
            if not (dest / CARD_FILE).is_file():  # not a concurrent fetch of the same version
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return dest


@dataclass(frozen=True)
class ModelSource:
    """A local folder (``path``), or the version in ``stage`` of ``artifact`` in the
    registry at ``registry`` (a git repository path or URL). ``load`` reads it afresh every
    time, so reloading after a promotion picks up the new version."""

    path: Path | None = None
    registry: str | None = None
    artifact: str = DEFAULT_ARTIFACT
    stage: str = DEFAULT_STAGE
    cache_dir: Path = field(default_factory=default_cache_dir)

    def __post_init__(self):
        if (self.path is None) == (self.registry is None):
            raise ValueError("give exactly one of path and registry")

    def describe(self) -> str:
        if self.path is not None:
            return f"path:{Path(self.path).resolve()}"
        return f"registry:{self.registry} artifact={self.artifact} stage={self.stage}"

    @property
    def follows_registry(self) -> bool:
        return self.registry is not None

    def ref(self) -> tuple[str, str] | None:
        """The (version, commit) the stage points at now; ``None`` for a folder. Cheap: git
        tags only, nothing is fetched (what a poll of the registry asks)."""
        if self.registry is None:
            return None
        return resolve_stage(self.registry, self.artifact, self.stage)

    def load(self, ref: tuple[str, str] | None = None) -> Model:
        """The model of the folder, or of the stage's version (of ``ref`` when given, as
        returned by ``ref()``, else resolved now)."""
        if self.path is not None:
            return load_model(self.path)
        registry = self.registry
        assert registry is not None  # __post_init__: exactly one of path and registry
        version, commit = ref or resolve_stage(registry, self.artifact, self.stage)
        folder = fetch_version(registry, self.artifact, version, commit, Path(self.cache_dir))
        return load_model(
            folder,
            version=version,
            stage=self.stage,
            source=f"registry:{self.registry} {self.artifact}@{version} (commit {commit[:12]})",
        )
