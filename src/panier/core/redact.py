"""How a source is named in logs, messages and recorded files: never with a password,
token or signed query."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from panier.core.config import IngestParams


def redact(location: str) -> str:
    """A location safe to log and record: no user info, password or query string."""
    if "://" not in location:
        return location
    parts = urlsplit(location)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    query = "?..." if parts.query else ""
    return urlunsplit((parts.scheme, host, parts.path, "", "")) + query


def source_label(params: IngestParams) -> str:
    """The source as named in messages: a redacted path or URL, the generator, or SQL."""
    if params.source == "generator":
        return f"generator (seed {params.generator.seed})"
    if params.source == "sql":
        what = params.sql.table or "query"
        return f"{redact(params.sql.url) if params.sql.url else params.path} ({what})"
    return redact(params.path)
