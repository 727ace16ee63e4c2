"""The DVC remote: where every version of the data, the model and the run cache is kept.

``panier remote check|push|pull`` wraps ``dvc push`` and ``dvc pull`` so that
they either finish completely or stop with ONE line that says what is wrong and how to fix
it (wrong credentials, a missing bucket, an unreachable endpoint, an object missing or
corrupted in the remote), instead of DVC's ``unexpected error`` and traceback.

On top of plain ``dvc push --run-cache`` the push here:
- also uploads the cached copies of outputs marked ``cache: false`` (metrics, plots) that
  the run cache refers to: DVC leaves them out, and without them a teammate's
  ``dvc repro --pull`` re-runs evaluate and drift-check instead of restoring them;
- then lists the remote and re-sends anything it lacks, so a remote that lost objects
  (DVC remembers what it pushed and would otherwise answer "Everything is up to date")
  is repaired, and the command only succeeds when the remote holds every object of the
  workspace.

The pull runs ``dvc pull``; the remote is configured with ``verify = true`` so that DVC
re-hashes every downloaded file. When a pull fails, each output that did not arrive is
looked up in the remote and reported as missing (push it from the machine that made it)
or corrupted (its bytes no longer match the hash in ``dvc.lock``).

Modules: ``config`` (which remote, where), ``checks`` (the probe and one-line explanations),
``objects`` (what the workspace needs, what the remote holds), ``transfer`` (push, pull),
``cli``. The names below are the remote's API.
"""

from panier.ops.remote.checks import check, explain
from panier.ops.remote.config import RemoteError, RemoteInfo, remote_info
from panier.ops.remote.objects import (
    StoredObject,
    absent_from_remote,
    missing_in_remote,
    run_cache_objects,
    workspace_objects,
)
from panier.ops.remote.transfer import (
    ObjectProblem,
    PushReport,
    describe_problems,
    diagnose_remote,
    pull,
    push,
)

__all__ = [
    "ObjectProblem",
    "PushReport",
    "RemoteError",
    "RemoteInfo",
    "StoredObject",
    "absent_from_remote",
    "check",
    "describe_problems",
    "diagnose_remote",
    "explain",
    "missing_in_remote",
    "pull",
    "push",
    "remote_info",
    "run_cache_objects",
    "workspace_objects",
]
