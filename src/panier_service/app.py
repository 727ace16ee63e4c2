"""The HTTP API (FastAPI): recommendations, health, version, metrics, and atomic reloads.

``create_app`` builds one application around one ``ModelSource``. The model in service is a
single reference to an immutable ``Model``: a request reads it once and uses that object to
the end, and a reload builds and checks the new model completely before swapping the
reference, so no request ever sees a half-loaded model, and a model that fails to load or
check is refused while the old one keeps serving.
"""


import asyncio
import gc
import hmac
import logging
import random
import re
import signal
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import MutableHeaders
from starlette.routing import Route

from panier_service import __version__
from panier_service.artifact import Model, ModelError
from panier_service.observability import ENDPOINTS, Metrics, RequestLog, utc_now
from panier_service.ranking import Suggestion
from panier_service.registry import ModelSource

log = logging.getLogger("panier_service")


@dataclass(frozen=True)
class Settings:
    """Limits and switches of one service instance (the CLI sets them from its flags)."""

    max_items: int = 100  # distinct items per basket, as validate.max_basket_items
    max_k: int = 50
    default_k: int = 5
    max_item_code_length: int = 64
    max_body_bytes: int = 64 * 1024
    unknown_items: Literal["reject", "ignore"] = "reject"
    log_path: Path | None = Path("logs/requests.jsonl")
    log_max_bytes: int = 10 * 1024 * 1024
    log_backups: int = 10
    admin_token: str | None = None  # enables POST /admin/reload when set
    reload_on_sighup: bool = True


class ApiError(Exception):
    """A client error answered with ``status`` and one clear message."""

    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


class FastJSONResponse(Response):
    """JSON by orjson: the standard library's encoder costs more than the lookup itself."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(status: int, message: str, **extra: Any) -> Response:
    return FastJSONResponse({"error": message, **extra}, status_code=status)


# --- request and response bodies (also the OpenAPI description) ------------------------

class RuleEvidence(BaseModel):
    antecedent: list[str] = Field(description="items of the basket that triggered the rule")
    confidence: float = Field(description="share of training baskets with the antecedent "
                                          "that also held the item")
    lift: float = Field(description="confidence divided by the item's own support")
    support: float = Field(description="share of training baskets holding antecedent and item")


class Recommendation(BaseModel):
    item_code: str
    description: str | None
    source: Literal["rule", "popularity"] = Field(
        description="rule: the best applicable rule recommends it; popularity: the fallback")
    rule: RuleEvidence | None = Field(description="the evidence; null for popularity")
    popularity: float = Field(description="share of training baskets holding the item")


class RecommendResponse(BaseModel):
    request_id: str
    model_version: str
    k: int
    fallback: bool = Field(description="true when no rule applied: every item is a "
                                       "popularity fallback")
    recommendations: list[Recommendation] = Field(description="best first, at most k")
    unknown_items: list[str] = Field(description="basket items the model does not know "
                                                 "(only when unknown items are ignored)")


class ErrorResponse(BaseModel):
    error: str


def request_model(settings: Settings) -> type[BaseModel]:
    """The ``POST /recommend`` body, with this instance's limits (so OpenAPI shows them)."""
    code = Annotated[str, Field(min_length=1, max_length=settings.max_item_code_length)]

    class RecommendRequest(BaseModel):
        model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={
            "examples": [{"items": ["10040", "10070"], "k": 5}]})

        items: list[code] = Field(min_length=1, max_length=settings.max_items,
                                  description="item codes of the basket (duplicates count "
                                              "once)")
        k: int = Field(settings.default_k, ge=1, le=settings.max_k,
                       description="how many items to return at most")

    return RecommendRequest


ERROR_RESPONSES = {status: {"model": ErrorResponse, "description": text} for status, text in (
    (400, "invalid JSON"), (413, "request body too large"), (415, "not JSON"),
    (422, "invalid request: wrong types, empty or oversized basket, unknown items"))}


# --- the model in service ----------------------------------------------------------------

@dataclass(frozen=True)
class Served:
    """A model with the JSON objects of its answers built once: every rule's recommendation
    with its evidence, and every item's popularity fallback, floats rounded to six decimals
    as in every JSON file of the pipeline. Rounding and building them per request would cost
    more than the lookup itself."""

    model: Model
    by_rule: tuple[dict, ...]  # index: the rule's rank
    by_item: dict[str, dict]

    @classmethod
    def prepare(cls, model: Model) -> "Served":
        """Check that ``model`` can serve and build its answers (CPU work: called off the
        event loop on reload)."""
        smoke_test(model)
        items = model.items
        by_item = {code: {"item_code": code, "description": item.description,
                          "source": "popularity", "rule": None,
                          "popularity": round(item.support, 6)}
                   for code, item in items.items()}
        by_rule = tuple({**by_item[rule.consequent], "source": "rule", "rule": {
            "antecedent": list(rule.antecedent), "confidence": round(rule.confidence, 6),
            "lift": round(rule.lift, 6), "support": round(rule.support, 6)}}
            for rule in model.index.rules)
        return cls(model, by_rule, by_item)

    def present(self, suggestion: Suggestion) -> dict:
        rule = suggestion.rule
        return self.by_item[suggestion.item_code] if rule is None else self.by_rule[rule.rank]


class ModelHolder:
    """The model in service and how to replace it."""

    def __init__(self, source: ModelSource | None, model: Model, metrics: Metrics):
        self.source = source
        self.metrics = metrics
        self._lock = asyncio.Lock()
        self.last_refusal: str | None = None
        self._install(Served.prepare(model))

    @property
    def model(self) -> Model:
        return self.served.model

    def _install(self, served: Served) -> None:
        self.loaded_at = time.time()
        # One reference assignment: a request reads either the old model or the new one.
        self.served = served
        # A model is ~10^5 long-lived objects; a full garbage collection walking them all
        # stalls every request for tens of milliseconds (150 ms for 50,000 rules on a slow
        # core). Freezing moves everything alive now out of the collector's sight. The model
        # holds no reference cycles, so the one it replaces is still freed by refcounting.
        gc.freeze()
        model = served.model
        self.metrics.set_model(model.version, model.stage,
                               model.card["data"]["fingerprint_sha256"], model.n_rules,
                               self.loaded_at)

    async def reload(self) -> dict[str, Any]:
        """Load the source afresh and swap it in; on any failure keep the old model.
        Returns what happened (``reloaded``, versions, or the refusal's reason)."""
        async with self._lock:
            old = self.model
            if self.source is None:
                return {"reloaded": False, "model_version": old.version,
                        "error": "this instance was started without a model source"}
            source = self.source
            try:
                # Loading, checking and preparing run in a thread: requests keep being
                # answered by the old model meanwhile.
                new = await asyncio.to_thread(lambda: Served.prepare(source.load()))
            except Exception as exc:  # a broken model of any kind is refused the same way
                reason = str(exc) if isinstance(exc, ModelError) else (
                    f"{type(exc).__name__}: {exc}")
                self.last_refusal = reason
                self.metrics.reloads.labels("refused").inc()
                log.error("reload refused, still serving %s: %s", old.version, reason)
                return {"reloaded": False, "model_version": old.version, "error": reason}
            self._install(new)
            self.metrics.reloads.labels("loaded").inc()
            log.info("reloaded: now serving %s (was %s)", new.model.version, old.version)
            return {"reloaded": True, "previous_version": old.version,
                    "model_version": new.model.version}


def smoke_test(model: Model) -> None:
    """A model must answer its own best rule; catches a model that loads but cannot serve."""
    if model.n_rules:
        best = model.index.rules[0]
        answer = model.recommend(best.antecedent, 1)
        if not answer.suggestions or answer.suggestions[0].rule is None:
            raise ModelError(f"{model.path}: the model does not answer its own best rule "
                             f"{' + '.join(best.antecedent)} -> {best.consequent}")
    elif not model.recommend([], 1).suggestions:
        raise ModelError(f"{model.path}: the model has neither rules nor items to recommend")


# --- middleware: request id, body limit, metrics -----------------------------------------

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_random_bits = random.Random().getrandbits


class ServiceMiddleware:
    """Pure ASGI middleware: gives each request an id (the caller's ``X-Request-ID`` when it
    is sane), refuses bodies over the limit before the app reads them, and records count and
    latency by endpoint and status."""

    def __init__(self, app, metrics: Metrics, max_body_bytes: int):
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        path = scope["path"]
        endpoint = path if path in ENDPOINTS else "other"
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        # Ids only need to be unique, not secret: a fast PRNG instead of os.urandom.
        request_id = given if REQUEST_ID.fullmatch(given) else f"{_random_bits(128):032x}"
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("x-request-id", request_id)
            await send(message)

        try:
            body_receive = await self._read_body(headers, receive)
            if isinstance(body_receive, Response):
                await body_receive(scope, receive, send_with_id)
            else:
                await self.app(scope, body_receive, send_with_id)
        finally:
            self.metrics.observe_request(endpoint, scope["method"], status,
                                         time.perf_counter() - started)

    async def _read_body(self, headers: dict, receive):
        """A ``receive`` that replays the whole body, or a 413/400 response."""
        limit = self.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                return error_response(400, "Content-Length must be a number of bytes")
            if int(declared) > limit:
                # Close the connection rather than drain a body we will not read.
                reply = error_response(413, f"request body of {int(declared)} bytes is over "
                                            f"the limit of {limit} bytes; send a smaller basket")
                reply.headers["connection"] = "close"
                return reply
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return _replay(b"", receive, message)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return error_response(413, f"request body is over the limit of {limit} "
                                           "bytes; send a smaller basket")
            chunks.append(chunk)
            more = message.get("more_body", False)
        return _replay(b"".join(chunks), receive)


def _replay(body: bytes, receive, first: dict | None = None):
    pending = [first or {"type": "http.request", "body": body, "more_body": False}]

    async def replay():
        return pending.pop() if pending else await receive()

    return replay


# --- the application ---------------------------------------------------------------------

def create_app(source: ModelSource | None = None, settings: Settings | None = None,
               model: Model | None = None) -> FastAPI:
    """The service for ``source`` (loaded now unless ``model`` is given; a ``ModelError``
    propagates, so a service never starts without a valid model)."""
    settings = settings or Settings()
    if model is None:
        if source is None:
            raise ValueError("give a model source or a model")
        model = source.load()
    metrics = Metrics()
    holder = ModelHolder(source, model, metrics)
    request_log = (RequestLog(settings.log_path, settings.log_max_bytes, settings.log_backups)
                   if settings.log_path else None)
    RecommendRequest = request_model(settings)
    pending: set[asyncio.Task] = set()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        loop = asyncio.get_running_loop()
        sighup = False
        if settings.reload_on_sighup and hasattr(signal, "SIGHUP"):
            def on_sighup():
                task = loop.create_task(holder.reload())
                pending.add(task)
                task.add_done_callback(pending.discard)
            try:
                loop.add_signal_handler(signal.SIGHUP, on_sighup)
                sighup = True
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread (e.g. under a test client): no signal reloads
        log.info("serving %s (%d rules, %d items) from %s", holder.model.version,
                 holder.model.n_rules, len(holder.model.items), holder.model.source)
        flusher = loop.create_task(_flush_periodically(request_log)) if request_log else None
        try:
            yield
        finally:
            if flusher:
                flusher.cancel()
            if sighup:
                loop.remove_signal_handler(signal.SIGHUP)
            if request_log:
                request_log.close()

    app = FastAPI(
        title="Panier recommendation service",
        version=__version__,
        description="Product recommendations for a basket from association rules, with a "
                    "popularity fallback. Serves one model version at a time.",
        lifespan=lifespan,
    )
    app.state.holder = holder
    app.state.metrics = metrics
    app.state.request_log = request_log
    app.add_middleware(ServiceMiddleware, metrics=metrics,
                       max_body_bytes=settings.max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        return _validation_error(exc.errors(), settings)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return error_response(exc.status, exc.message, **exc.extra)

    # The hot path is a plain Starlette route: FastAPI's per-request machinery (dependency
    # solving, body parsing) costs more than the lookup itself. pydantic validates the raw
    # bytes in one pass, and the OpenAPI description is added by hand (see below).
    async def recommend(request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise ApiError(415, f"Content-Type is {content_type or 'missing'!r}; send the "
                                "basket as JSON with Content-Type: application/json")
        raw = await request.body()
        if not raw.strip():
            raise ApiError(400, 'the request body is empty; send a JSON object like '
                                '{"items": ["10040"], "k": 5}')
        try:
            body = RecommendRequest.model_validate_json(raw)
        except ValidationError as exc:
            return _validation_error(exc.errors(include_url=False), settings)
        served = holder.served  # read once: this request uses one model version throughout
        model = served.model
        basket = list(dict.fromkeys(body.items))
        unknown = model.unknown(basket)
        if unknown:
            metrics.unknown_items.inc(len(unknown))
            if settings.unknown_items == "reject":
                shown = ", ".join(unknown[:10]) + (", ..." if len(unknown) > 10 else "")
                raise ApiError(422, f"unknown item code(s) {shown}: not in the catalog of "
                                    f"model {model.version} ({len(model.items)} items); "
                                    "send item codes the model was trained on",
                               unknown_items=unknown)
            known = [code for code in basket if code in model.items]
        else:
            known = basket
        answer = model.recommend(known, body.k)
        metrics.observe_answer(answer.outcome, len(basket))
        request_id = request.state.request_id
        if request_log:
            request_log.write({"time": utc_now(), "request_id": request_id, "basket": basket,
                               "k": body.k,
                               "recommended": [s.item_code for s in answer.suggestions],
                               "fallback": answer.fallback, "model_version": model.version})
        return FastJSONResponse({
            "request_id": request_id,
            "model_version": model.version,
            "k": body.k,
            "fallback": answer.fallback,
            "recommendations": [served.present(s) for s in answer.suggestions],
            "unknown_items": unknown,
        })

    # First in the routing table: the router tries routes in order, and this one is hot.
    app.router.routes.insert(0, Route("/recommend", recommend, methods=["POST"],
                                      include_in_schema=False))
    app.openapi = lambda: _openapi(app, RecommendRequest)

    @app.get("/health", summary="Liveness and the model in service")
    async def health():
        return FastJSONResponse({"status": "ok", "model_version": holder.model.version})

    @app.get("/version", summary="The model in service: version, stage, data, params")
    async def version():
        return {
            "service": {"name": "panier-service", "version": __version__},
            "model": holder.model.describe(),
            "loaded_at": _iso(holder.loaded_at),
            "model_source": holder.source.describe() if holder.source else None,
            "last_refused_reload": holder.last_refusal,
        }

    @app.get("/metrics", summary="Prometheus metrics")
    async def prometheus_metrics():
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/admin/reload", summary="Reload the model from its source (token required)",
              responses={403: {"model": ErrorResponse}, 409: {"model": ErrorResponse}})
    async def admin_reload(request: Request):
        if not settings.admin_token:
            raise ApiError(403, "reload over HTTP is disabled; start the service with "
                                "PANIER_ADMIN_TOKEN set, or send it SIGHUP")
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {settings.admin_token}".encode()):
            raise ApiError(403, "missing or wrong token: send Authorization: Bearer <token>")
        result = await holder.reload()
        if not result["reloaded"]:
            raise ApiError(409, f"reload refused, still serving {result['model_version']}: "
                                f"{result['error']}", model_version=result["model_version"])
        return result

    return app


def _openapi(app: FastAPI, request_body: type[BaseModel]) -> dict:
    """FastAPI's OpenAPI description plus ``POST /recommend``, which is a plain route."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (request_body, RecommendResponse, ErrorResponse):
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(model_schema.pop("$defs", {}))
        components[model.__name__] = model_schema

    def body(name: str) -> dict:
        return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}

    responses = {"200": {"description": "up to k items, best first, with evidence",
                         "content": body("RecommendResponse")}}
    responses.update({str(status): {"description": spec["description"],
                                    "content": body("ErrorResponse")}
                      for status, spec in ERROR_RESPONSES.items()})
    schema["paths"]["/recommend"] = {"post": {
        "summary": "Recommend up to k items for a basket",
        "operationId": "recommend",
        "requestBody": {"required": True, "content": body(request_body.__name__)},
        "responses": responses,
    }}
    app.openapi_schema = schema
    return schema


async def _flush_periodically(request_log: RequestLog) -> None:
    while True:
        await asyncio.sleep(request_log.FLUSH_SECONDS)
        try:
            request_log.flush()
        except OSError as exc:  # a full or vanished disk must not stop the service
            log.error("request log %s: cannot write (%s)", request_log.path, exc)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def _validation_error(errors: list[dict], settings: Settings) -> Response:
    """One clear message for FastAPI's validation errors: 400 for a body that is not JSON,
    422 for JSON of the wrong shape."""
    for error in errors:
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "")
            return error_response(400, f"the request body is not valid JSON ({reason}); send "
                                       'a JSON object like {"items": ["10040"], "k": 5}')
    messages = []
    for error in errors[:5]:
        loc = [p for p in error.get("loc", ()) if p != "body"]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        kind, ctx = error.get("type"), error.get("ctx") or {}
        if where == "items" and kind == "too_short":
            text = "the basket is empty; send at least one item code"
        elif where == "items" and kind == "too_long":
            text = (f"{ctx.get('actual_length', 'too many')} items; a basket may hold at most "
                    f"{settings.max_items}")
        elif not where and kind in ("missing", "model_type", "dict_type"):
            text = 'must be a JSON object like {"items": ["10040"], "k": 5}'
        elif where == "items" and kind == "missing":
            text = "missing; send the basket's item codes as a list of strings"
        else:
            text = error.get("msg", "invalid")
        messages.append(f"{where or 'body'}: {text}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return error_response(422, "; ".join(messages) + more,
                          errors=[{"loc": [str(p) for p in e.get("loc", ())],
                                   "message": e.get("msg")} for e in errors[:20]])

