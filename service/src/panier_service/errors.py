"""Client errors and how they are answered: one JSON object ``{"error": message, ...}``.

``validation_error`` turns pydantic's validation errors on a request body into one clear
message (400 for a body that is not JSON, 422 for JSON of the wrong shape).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi.responses import Response

EXAMPLE = '{"items": ["10040"], "k": 5}'


class ApiError(Exception):
    """A client error answered with ``status`` and one clear message."""

    def __init__(self, status: int, message: str, *, close: bool = False, **extra: Any):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra
        self.close = close  # answer with Connection: close


class FastJSONResponse(Response):
    """JSON by orjson: the standard library's encoder costs more than the lookup itself."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(status: int, message: str, **extra: Any) -> Response:
    return FastJSONResponse({"error": message, **extra}, status_code=status)


def validation_error(errors: Sequence[Mapping[str, Any]], max_items: int) -> tuple[int, str, dict]:
    """One clear message for pydantic's validation errors: (status, message, details); 400
    for a body that is not JSON, 422 for JSON of the wrong shape."""
    for error in errors:
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "")
            return (
                400,
                (
                    f"the request body is not valid JSON ({reason}); send a JSON object "
                    f"like {EXAMPLE}"
                ),
                {},
            )
    messages = []
    for error in errors[:5]:
        loc = [p for p in error.get("loc", ()) if p != "body"]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        kind, ctx = error.get("type"), error.get("ctx") or {}
        if where == "items" and kind == "too_short":
            text = "the basket is empty; send at least one item code"
        elif where == "items" and kind == "too_long":
            text = (
                f"{ctx.get('actual_length', 'too many')} items; a basket may hold at most "
                f"{max_items}"
            )
        elif not where and kind in ("missing", "model_type", "dict_type"):
            text = f"must be a JSON object like {EXAMPLE}"
        elif where == "items" and kind == "missing":
            text = "missing; send the basket's item codes as a list of strings"
        else:
            text = error.get("msg", "invalid")
        messages.append(f"{where or 'body'}: {text}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return (
        422,
        "; ".join(messages) + more,
        {
            "errors": [
                {"loc": [str(p) for p in e.get("loc", ())], "message": e.get("msg")}
                for e in errors[:20]
            ]
        },
    )
