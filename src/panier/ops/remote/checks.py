"""What is wrong with a remote, in one line: the probe (one cheap request that fails fast)
and the explanation of an S3 client's error, with the fix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from panier.ops.remote.config import RemoteError, RemoteInfo, open_repo, repo_remote


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
    with open_repo(root) as repo:
        remote = repo_remote(repo, name)
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
