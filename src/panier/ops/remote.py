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
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

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


@dataclass(frozen=True)
class StoredObject:
    """One object of the DVC cache: ``label`` is the workspace path it holds."""

    label: str
    oid: str
    is_dir_manifest: bool = False


@dataclass
class PushReport:
    dvc_output: str
    completed: list[StoredObject] = field(default_factory=list)
    objects: int = 0


def _open_repo(root: Path):
    from dvc.repo import Repo

    return Repo(str(root))


def _remote_info(repo, name: str | None) -> RemoteInfo:
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
    with _open_repo(root) as repo:
        return _remote_info(repo, name)


# ---------------------------------------------------------------------------------------
# One-line explanations of what went wrong.


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        code = error.get("Code")
        if code:
            return str(code)
    return None


def explain(exc: BaseException, remote: RemoteInfo) -> str:
    """One line saying what is wrong with ``remote`` and how to fix it, from an exception
    raised by DVC's S3 client (botocore / s3fs / aiohttp; looked up by name so this module
    does not import them)."""
    chain = list(_chain(exc))
    names = {type(e).__name__ for e in chain}
    codes = {code for e in chain if (code := _error_code(e))}
    text = " ".join(str(e) for e in chain)
    name = remote.name
    creds = (
        "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or set "
        f"them for this clone only: dvc remote modify --local {name} access_key_id ... "
        f"and secret_access_key ..."
    )
    endpoint_fix = (
        f"dvc remote modify --local {name} endpointurl http://HOST:PORT "
        "(or export AWS_ENDPOINT_URL_S3)"
    )
    if "NoCredentialsError" in names or "Unable to locate credentials" in text:
        return f"{remote.where}: no S3 credentials found: {creds}"
    if "InvalidAccessKeyId" in codes:
        return (
            f"{remote.where}: the server does not know this access key ID (wrong "
            f"credentials): {creds}"
        )
    if "SignatureDoesNotMatch" in codes:
        return (
            f"{remote.where}: the secret access key does not match the access key ID "
            f"(wrong credentials): {creds}"
        )
    if "NoSuchBucket" in codes or "specified bucket does not exist" in text:
        endpoint = f" --endpoint-url {remote.endpoint}" if remote.endpoint else ""
        return (
            f"{remote.where}: bucket '{remote.bucket}' does not exist: create it "
            f"(aws s3 mb s3://{remote.bucket}{endpoint}) or point the remote at an "
            f"existing bucket: dvc remote modify --local {name} url s3://BUCKET/PREFIX"
        )
    if "InvalidBucketName" in codes:
        return (
            f"{remote.where}: '{remote.bucket}' is not a valid bucket name: "
            f"dvc remote modify --local {name} url s3://BUCKET/PREFIX"
        )
    if codes & {"AccessDenied", "403", "Forbidden", "AllAccessDisabled"} or (
        "PermissionError" in names
    ):
        return (
            f"{remote.where}: access denied (HTTP 403): the credentials are wrong or may "
            f"not read/write this bucket: check them ({creds}) and ask for s3:ListBucket, "
            "s3:GetObject and s3:PutObject on it"
        )
    if names & {"SSLError", "ClientConnectorCertificateError", "SSLCertVerificationError"}:
        return (
            f"{remote.where}: TLS certificate check failed: point ssl_verify at the CA "
            f"bundle: dvc remote modify --local {name} ssl_verify /path/to/ca.pem"
        )
    if names & {
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "TimeoutError",
        "ServerTimeoutError",
        "FSTimeoutError",
    }:
        return (
            f"{remote.where}: the endpoint did not answer in time: check the server and "
            f"the network, or fix the address: {endpoint_fix}"
        )
    if names & {
        "EndpointConnectionError",
        "ClientConnectorError",
        "ClientConnectorDNSError",
        "ConnectionRefusedError",
        "gaierror",
        "ConnectionError",
        "ServerDisconnectedError",
        "ClientOSError",
    }:
        return (
            f"{remote.where}: cannot connect to the endpoint: start the S3 server or fix "
            f"its address: {endpoint_fix}"
        )
    first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return f"{remote.where}: {first.strip()} (run the same dvc command with -v for details)"


def _one_line(message: str) -> str:
    return " ".join(message.split())


# ---------------------------------------------------------------------------------------
# The probe: one cheap request that fails fast and clearly.


def _probe_fs(repo, remote: RemoteInfo):
    """DVC's own filesystem for the remote (same credentials, endpoint and options as
    ``dvc push``), with retries cut down so that a dead endpoint fails in seconds."""
    from dvc.fs import get_cloud_fs

    cls, config, path = get_cloud_fs(repo.config, name=remote.name)
    fs = cls(**config)
    if remote.scheme == "s3":
        options = fs.fs_args.setdefault("config_kwargs", {})
        options["retries"] = {"max_attempts": 2, "mode": "standard"}
        options.setdefault("connect_timeout", 10)
        fs.fs_args["skip_instance_cache"] = True
    return fs, path


def check(root: Path, name: str | None = None) -> RemoteInfo:
    """Check that the remote can be listed with the current credentials: returns it, or
    raises ``RemoteError`` with the one-line fix."""
    with _open_repo(root) as repo:
        remote = _remote_info(repo, name)
        try:
            fs, path = _probe_fs(repo, remote)
            if remote.scheme == "s3":
                fs.fs.retries = 1
                bucket, _, prefix = path.partition("/")
                fs.fs.call_s3(
                    "list_objects_v2",
                    Bucket=bucket,
                    Prefix=f"{prefix.rstrip('/')}/" if prefix else "",
                    MaxKeys=1,
                )
            elif not fs.exists(path):
                raise RemoteError(
                    f"{remote.where}: the folder does not exist: create it or "
                    f"fix the url: dvc remote modify --local {remote.name} url ..."
                )
        except RemoteError:
            raise
        except Exception as exc:
            raise RemoteError(explain(exc, remote)) from None
    return remote


# ---------------------------------------------------------------------------------------
# Which objects the workspace and the run cache need, and which the remote holds.


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


def _in_targets(label: str, targets: list[str] | None) -> bool:
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


def _present(odb, oids: Iterable[str]) -> set[str]:
    oids = sorted(set(oids))
    return set(odb.oids_exist(oids)) if oids else set()


def absent_from_remote(root: Path, oids: Iterable[str], remote: RemoteInfo) -> set[str]:
    """Those of ``oids`` (md5 object ids) that ``remote`` does not hold."""
    oids = set(oids)
    with _open_repo(root) as repo:
        try:
            odb = repo.cloud.get_remote_odb(remote.name, "push")
            return oids - _present(odb, oids)
        except Exception as exc:
            raise RemoteError(explain(exc, remote)) from None


def missing_in_remote(root: Path, remote: RemoteInfo) -> list[StoredObject]:
    """The workspace's objects that ``remote`` does not hold (empty: fully pushed)."""
    with _open_repo(root) as repo:
        try:
            odb = repo.cloud.get_remote_odb(remote.name, "push")
            wanted = workspace_objects(repo, odb)
            present = _present(odb, (o.oid for o in wanted))
        except Exception as exc:
            raise RemoteError(explain(exc, remote)) from None
    return [o for o in wanted if o.oid not in present]


# ---------------------------------------------------------------------------------------
# push and pull.


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
    with _open_repo(root) as repo:
        try:
            odb = repo.cloud.get_remote_odb(remote.name, "push")
            local = repo.cache.local
            wanted = [o for o in workspace_objects(repo) if _in_targets(o.label, targets)]
            if run_cache:
                wanted += [o for o in run_cache_objects(repo) if local.exists(o.oid)]
            present = _present(odb, (o.oid for o in wanted))
            absent = {o.oid: o for o in wanted if o.oid not in present}
            if absent:
                from dvc_data.hashfile.hash_info import HashInfo

                repo.cloud.push(
                    [HashInfo("md5", oid) for oid in absent], jobs=jobs, remote=remote.name
                )
                present |= _present(odb, absent)
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
    with _open_repo(root) as repo:
        odb = repo.cloud.get_remote_odb(remote.name, "pull")
        for obj in workspace_objects(repo, odb):
            if not _in_targets(obj.label, targets) or (
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


# ---------------------------------------------------------------------------------------
# Command line.


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="panier remote",
        description="Check, push and pull the DVC remote; failures end in one line with the fix.",
    )
    parser.add_argument("-r", "--remote", help="remote name (default: core.remote)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "check",
        help="can the remote be reached with these credentials? "
        "which outputs of this workspace does it lack?",
    )
    push_cmd = commands.add_parser("push", help="dvc push --run-cache, completed and verified")
    push_cmd.add_argument("targets", nargs="*", help="output paths or .dvc files (default: all)")
    push_cmd.add_argument("-j", "--jobs", type=int)
    push_cmd.add_argument(
        "--no-run-cache", action="store_true", help="push the workspace's outputs only"
    )
    pull_cmd = commands.add_parser("pull", help="dvc pull; names missing or corrupted files")
    pull_cmd.add_argument("targets", nargs="*", help="output paths or .dvc files (default: all)")
    pull_cmd.add_argument("-j", "--jobs", type=int)
    pull_cmd.add_argument("--run-cache", action="store_true", help="also fetch the run cache")
    return parser


def main(argv: list[str] | None = None, root: Path | None = None) -> int:
    args = _parser().parse_args(argv)
    root = root or Path.cwd()
    try:
        if args.command == "check":
            remote = check(root, args.remote)
            missing = missing_in_remote(root, remote)
            print(f"{remote.where}: reachable")
            if missing:
                names = ", ".join(sorted({o.label for o in missing}))
                print(f"not pushed yet ({len(missing)} objects): {names}")
            else:
                print("every output of this workspace is in the remote")
        elif args.command == "push":
            report = push(
                root, args.remote, args.jobs, run_cache=not args.no_run_cache, targets=args.targets
            )
            if report.dvc_output:
                print(report.dvc_output)
            if report.completed:
                print(
                    f"{len(report.completed)} more objects pushed (run-cache outputs and "
                    "objects the remote had lost)"
                )
            scope = " ".join(args.targets) if args.targets else "this workspace"
            print(
                f"the remote holds all {report.objects} objects of {scope}"
                + (" and its run cache" if not args.no_run_cache else "")
            )
        elif args.command == "pull":
            print(
                pull(root, args.remote, args.jobs, run_cache=args.run_cache, targets=args.targets)
            )
    except RemoteError as exc:
        print(f"{args.command} failed: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    except Exception as exc:  # DVC's own errors (not a repo, locked, bad config): one line
        print(
            f"{args.command} failed: {_one_line(str(exc)) or type(exc).__name__}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
