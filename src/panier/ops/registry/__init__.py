"""The model registry: versions and stages of the rules model, kept as git tags.

The model is declared once, in ``dvc.yaml``, as the DVC artifact ``basket-rules`` (type
``model``, path ``models``: ``rules.parquet``, ``items.parquet``, ``model_card.json``,
``rules.pmml``).
Versions and stages follow the GTO conventions, so ``gto show`` and DVC Studio read them
too: ``basket-rules@v1.2.0`` registers the model of a commit as version v1.2.0;
``basket-rules#prod#3`` (the 3rd assignment to ``prod``) puts a version in ``prod``.
Both are annotated tags: they record who made them, when and why.

``panier registry`` (``cli``):
    show                            versions, the version in each stage, who put it there
    history                         every registration and assignment, newest first
    register [VERSION] [--ref REF]  register the model of a commit (default HEAD)
    promote VERSION STAGE           put a registered version in a stage (one tag)
    rollback [--stage prod] -m WHY  put the stage's previous version back (two tags)
    fetch --stage prod --out DIR    download that version's model files into DIR

Register and promote refuse a version whose model files are not all in the DVC remote
(``--no-remote-check`` skips this), so that a fetch of any registered version works.

Modules: ``artifact`` (the model's files at a commit), ``versions`` (reading tags),
``promotion`` (register, promote), ``stage_rollback``, ``download`` (fetch), ``cli``. The names
below are the registry's API.
"""

from panier.ops.registry.artifact import (
    ARTIFACT,
    MANIFEST,
    ModelFile,
    RegistryError,
    Resolved,
    artifact_files,
)
from panier.ops.registry.download import fetch
from panier.ops.registry.promotion import FIRST_VERSION, promote, register
from panier.ops.registry.stage_rollback import rollback, rollback_target
from panier.ops.registry.versions import (
    has_versions,
    history,
    resolve,
    stage_versions,
    stages,
    versions,
)

__all__ = [
    "ARTIFACT",
    "FIRST_VERSION",
    "MANIFEST",
    "ModelFile",
    "RegistryError",
    "Resolved",
    "artifact_files",
    "fetch",
    "has_versions",
    "history",
    "promote",
    "register",
    "resolve",
    "rollback",
    "rollback_target",
    "stage_versions",
    "stages",
    "versions",
]
