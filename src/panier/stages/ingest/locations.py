"""Where a source's bytes come from: a local file or folder, an http(s) URL, an S3 object or a
path on a DVC remote; each read bounded by ``ingest.max_source_mb`` and, for downloads,
``ingest.http`` timeouts. s3fs and DVC are imported only by the readers that need them."""

from __future__ import annotations

import http.client
import os
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from panier.core.config import IngestParams
from panier.core.errors import ConfigError, DataError
from panier.core.redact import redact

MB = 1 << 20
_SKIPPED_IN_FOLDERS = re.compile(r"^(\.|readme)|\.(dvc|md)$", re.IGNORECASE)


@dataclass
class Blob:
    name: str  # for messages: the redacted location
    data: bytes


def too_large(name: str, size: int, params: IngestParams, what: str = "") -> DataError:
    return DataError(
        f"{name}{what} is {size / MB:,.0f} MB, above ingest.max_source_mb "
        f"({params.max_source_mb:g} MB): raise ingest.max_source_mb in params.yaml "
        "if the machine has the memory for it (about ten times the size), or "
        "split the export"
    )


def byte_limit(params: IngestParams) -> int:
    return int(params.max_source_mb * MB)


def local_blobs(path_text: str, params: IngestParams) -> list[Blob]:
    path = Path(path_text)
    if path.is_dir():
        files = sorted(
            p for p in path.iterdir() if p.is_file() and not _SKIPPED_IN_FOLDERS.search(p.name)
        )
        if not files:
            raise DataError(
                f"{path}/ holds no data files: put the export there, or set "
                "ingest.path to the file in params.yaml"
            )
    elif path.is_file():
        files = [path]
    elif path.exists():
        raise DataError(
            f"{path} is not a regular file (a device or pipe?): set ingest.path "
            "to a data file or a folder of them"
        )
    else:
        raise DataError(
            f"{path} not found: set ingest.path in params.yaml to an existing file "
            "(paths are relative to the repository root)"
        )
    blobs = []
    for file in files:
        try:
            if not file.is_file():
                raise DataError(
                    f"{file} is not a regular file (a device or pipe?): set "
                    "ingest.path to a data file or a folder of them"
                )
            size = file.stat().st_size
            if size > byte_limit(params):
                raise too_large(str(file), size, params)
            blobs.append(Blob(str(file), file.read_bytes()))
        except OSError as exc:
            raise DataError(f"{file} cannot be read: {exc.strerror}") from None
    return blobs


def http_blob(url: str, params: IngestParams) -> Blob:
    headers = {"User-Agent": "panier-ingest"}
    for header, variable in params.http.headers_from_env.items():
        if variable not in os.environ:
            raise ConfigError(
                f"ingest.http.headers_from_env.{header}: environment variable {variable} is not set"
            )
        headers[header] = os.environ[variable]
    name = redact(url)
    request = urllib.request.Request(url, headers=headers)
    limit, deadline = byte_limit(params), time.monotonic() + params.http.max_seconds
    too_slow = DataError(
        f"{name} did not finish downloading within "
        f"ingest.http.max_seconds ({params.http.max_seconds:g} s): the server "
        "is slow or stalling; raise ingest.http.max_seconds, or copy the file "
        "nearer"
    )
    try:
        with urllib.request.urlopen(request, timeout=params.http.timeout_seconds) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise too_large(name, int(declared), params)
            chunks, size = [], 0
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise too_slow
                sock = getattr(getattr(response.fp, "raw", None), "_sock", None)
                if sock is not None:  # no read may outlast the whole download's deadline
                    sock.settimeout(min(params.http.timeout_seconds, remaining))
                chunk = response.read1(1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise too_large(name, size, params, " (so far)")
            return Blob(name, b"".join(chunks))
    except urllib.error.HTTPError as exc:
        raise DataError(
            f"{name} answered HTTP {exc.code} {exc.reason}: check ingest.path and, "
            "for a protected URL, ingest.http.headers_from_env"
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as exc:
        if time.monotonic() >= deadline:
            raise too_slow from None
        reason = getattr(exc, "reason", exc)
        raise DataError(
            f"cannot reach {name}: {reason}. Check ingest.path and that the server "
            f"is up (timeout {params.http.timeout_seconds:g} s: "
            "ingest.http.timeout_seconds)"
        ) from None


def s3_blob(url: str, params: IngestParams) -> Blob:
    import botocore.exceptions
    import s3fs  # imported here: only S3 sources need it

    endpoint = params.s3.endpoint_url
    where = f" at {endpoint}" if endpoint else ""
    client_kwargs = {"region_name": params.s3.region} if params.s3.region else {}
    fs = s3fs.S3FileSystem(
        endpoint_url=endpoint,
        client_kwargs=client_kwargs,
        skip_instance_cache=True,
        config_kwargs={
            "connect_timeout": 10,
            "read_timeout": 60,
            "retries": {"max_attempts": 2, "mode": "standard"},
        },
    )
    try:
        size = fs.info(url[len("s3://") :]).get("size") or 0
        if size > byte_limit(params):
            raise too_large(url, size, params)
        return Blob(url, fs.cat_file(url[len("s3://") :]))
    except FileNotFoundError:
        raise DataError(
            f"{url} does not exist{where}: check the bucket and key in ingest.path"
        ) from None
    except PermissionError as exc:
        raise DataError(
            f"access to {url}{where} denied ({exc}): check the credentials in "
            "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and the "
            "object's permissions"
        ) from None
    except botocore.exceptions.NoCredentialsError:
        raise DataError(
            f"no credentials to read {url}: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment"
        ) from None
    except (
        botocore.exceptions.EndpointConnectionError,
        botocore.exceptions.ConnectTimeoutError,
    ) as exc:
        raise DataError(
            f"cannot reach the S3 endpoint for {url}: {exc}. Check "
            "ingest.s3.endpoint_url (or AWS_ENDPOINT_URL)"
        ) from None
    except OSError as exc:  # s3fs wraps other service errors (e.g. an invalid bucket name)
        raise DataError(f"reading {url}{where} failed: {exc}") from None


def remote_blob(url: str, params: IngestParams) -> Blob:
    """``remote://<name>/<path>``: read through a DVC remote, with its configuration (endpoint,
    credentials in ``.dvc/config.local``), exactly as DVC reads it to check the dependency."""
    from dvc.config import RemoteNotFoundError
    from dvc.exceptions import DvcException, NotDvcRepoError
    from dvc.repo import Repo

    name, _, relative = url[len("remote://") :].partition("/")
    try:
        with Repo(".") as repo:
            remote = repo.cloud.get_remote(name)
    except NotDvcRepoError:
        raise DataError(
            f"{url}: remote:// paths are read through this repository's DVC "
            "config; run from the repository root"
        ) from None
    except RemoteNotFoundError:
        raise DataError(
            f"{url}: no DVC remote named {name!r}; add it with "
            f"`dvc remote add {name} <url>` (credentials: `dvc remote modify "
            f"--local {name} ...`)"
        ) from None
    except DvcException as exc:
        raise DataError(f"{url}: the DVC remote {name!r} is misconfigured: {exc}") from None
    fs = remote.fs
    path = fs.join(remote.path, relative)
    try:
        size = fs.info(path).get("size") or 0
        if size > byte_limit(params):
            raise too_large(url, size, params)
        return Blob(url, fs.cat_file(path))
    except FileNotFoundError:
        raise DataError(f"{url} does not exist (DVC remote {name!r})") from None
    except PermissionError as exc:
        raise DataError(
            f"access to {url} denied ({exc}): check the remote's credentials "
            f"(`dvc remote modify --local {name} ...`)"
        ) from None
    except (OSError, DvcException) as exc:
        raise DataError(f"reading {url} failed: {exc}") from None
