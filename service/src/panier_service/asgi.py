"""The ASGI application uvicorn runs: ``POST /recommend`` answered directly, every other
request handed to the FastAPI app."""

from __future__ import annotations

import logging
import random
import re
import time

import orjson
from fastapi import FastAPI
from pydantic import ValidationError

from panier_service.errors import EXAMPLE, ApiError, validation_error
from panier_service.observability import ENDPOINTS, Metrics
from panier_service.request_log import RequestLog, utc_now
from panier_service.schemas import BasketRequest
from panier_service.serving import ModelHolder
from panier_service.settings import Settings

log = logging.getLogger("panier_service")

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_random_bits = random.Random().getrandbits
RECOMMEND = "/recommend"


class Service:
    """The ASGI application uvicorn runs.

    Around every request: an id (the caller's ``X-Request-ID`` when it is sane, else a new
    one, echoed in the response), a body limit enforced before the body is read, and the
    request count and latency by endpoint and status. ``POST /recommend``, the one hot
    endpoint, is answered here directly: FastAPI's per-request machinery (routing, request
    objects, dependency solving) costs more than the lookup, and pydantic validates the raw
    bytes in one pass anyway. Every other request (health, version, metrics, reload, the
    OpenAPI description and its docs page, lifespan) goes to the FastAPI app ``api``, whose
    OpenAPI description includes ``/recommend``.
    """

    def __init__(
        self,
        api: FastAPI,
        holder: ModelHolder,
        metrics: Metrics,
        request_log: RequestLog | None,
        settings: Settings,
        request_type: type[BasketRequest],
    ):
        self.api, self.holder, self.metrics = api, holder, metrics
        self.request_log, self.settings, self.request_type = request_log, settings, request_type

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.api(scope, receive, send)
        started = time.perf_counter()
        path, method = scope["path"], scope["method"]
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        # Ids only need to be unique, not secret: a fast PRNG instead of os.urandom.
        request_id = given if REQUEST_ID.fullmatch(given) else f"{_random_bits(128):032x}"
        status = 500
        try:
            body = await self._read_body(headers, receive)
            if isinstance(body, ApiError):
                status = await self._reply(
                    send, request_id, body.status, {"error": body.message}, close=body.close
                )
            elif path == RECOMMEND:
                status, payload = self._recommend(method, headers, body, request_id)
                status = await self._reply(send, request_id, status, payload)
            else:
                status = await self._forward(scope, body, receive, send, request_id)
        finally:
            self.metrics.observe_request(
                path if path in ENDPOINTS else "other",
                method,
                status,
                time.perf_counter() - started,
            )

    async def _forward(self, scope, body: bytes, receive, send, request_id: str) -> int:
        """Hand the request to FastAPI, replaying the body already read; its status."""
        scope.setdefault("state", {})["request_id"] = request_id
        pending = [{"type": "http.request", "body": body, "more_body": False}]
        status = 500

        async def replay():
            return pending.pop() if pending else await receive()

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        await self.api(scope, replay, send_with_id)
        return status

    @staticmethod
    async def _reply(send, request_id: str, status: int, payload: dict, close: bool = False) -> int:
        body = orjson.dumps(payload)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
        ]
        if status == 405:
            headers.append((b"allow", b"POST"))
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return status

    async def _read_body(self, headers: dict, receive) -> bytes | ApiError:
        """The whole request body, or the error to answer when it is over the limit."""
        limit = self.settings.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                return ApiError(400, "Content-Length must be a number of bytes")
            if int(declared) > limit:  # refused unread: close rather than drain it
                return ApiError(
                    413,
                    f"request body of {int(declared)} bytes is over the "
                    f"limit of {limit} bytes; send a smaller basket",
                    close=True,
                )
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return ApiError(
                    413, f"request body is over the limit of {limit} bytes; send a smaller basket"
                )
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    def _recommend(
        self, method: str, headers: dict, raw: bytes, request_id: str
    ) -> tuple[int, dict]:
        """``POST /recommend``: (status, JSON payload)."""
        try:
            return 200, self._answer(method, headers, raw, request_id)
        except ApiError as error:
            return error.status, {"error": error.message, **error.extra}
        except Exception:  # a bug: log it with its traceback, answer without it
            log.exception("POST /recommend failed (request %s)", request_id)
            return 500, {"error": f"internal error; quote request id {request_id}"}

    def _answer(self, method: str, headers: dict, raw: bytes, request_id: str) -> dict:
        settings, metrics = self.settings, self.metrics
        if method != "POST":
            raise ApiError(405, f"{method} is not allowed; POST a basket as JSON like {EXAMPLE}")
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise ApiError(
                415,
                f"Content-Type is {content_type or 'missing'!r}; send the "
                "basket as JSON with Content-Type: application/json",
            )
        if not raw.strip():
            raise ApiError(400, f"the request body is empty; send a JSON object like {EXAMPLE}")
        try:
            body = self.request_type.model_validate_json(raw)
        except ValidationError as exc:
            status, message, details = validation_error(
                exc.errors(include_url=False), settings.max_items
            )
            raise ApiError(status, message, **details) from None
        served = self.holder.served  # read once: one model version for the whole request
        model = served.model
        basket = list(dict.fromkeys(body.items))
        unknown = model.unknown(basket)
        known = basket
        if unknown:
            metrics.unknown_items.inc(len(unknown))
            if settings.unknown_items == "reject":
                shown = ", ".join(unknown[:10]) + (", ..." if len(unknown) > 10 else "")
                raise ApiError(
                    422,
                    f"unknown item code(s) {shown}: not in the catalog of "
                    f"model {model.version} ({len(model.items)} items); "
                    "send item codes the model was trained on",
                    unknown_items=unknown,
                )
            known = [code for code in basket if code in model.items]
        answer = model.recommend(known, body.k)
        metrics.observe_answer(answer.outcome, len(basket))
        if self.request_log:
            self.request_log.write(
                {
                    "time": utc_now(),
                    "request_id": request_id,
                    "basket": basket,
                    "k": body.k,
                    "recommended": [s.item_code for s in answer.suggestions],
                    "fallback": answer.fallback,
                    "model_version": model.version,
                    "unknown": unknown,
                }
            )
        return {
            "request_id": request_id,
            "model_version": model.version,
            "k": body.k,
            "fallback": answer.fallback,
            "recommendations": [served.present(s) for s in answer.suggestions],
            "unknown_items": unknown,
        }
