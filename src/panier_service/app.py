"""The HTTP service: recommendations, health, version, metrics, and atomic reloads.

``create_app`` builds one ``Service`` (the ASGI application) around one ``ModelSource``.
``POST /recommend`` is answered by ``Service`` itself; the other endpoints and the OpenAPI
description are a FastAPI app inside it. The model in service is a single reference to an
immutable ``Model`` (with its answers prepared, ``Served``): a request reads it once and uses
that object to the end, and a reload builds and checks the new model completely before
swapping the reference, so no request ever sees a half-loaded model, and a model that fails
to load or check is refused while the old one keeps serving.
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
from starlette.exceptions import HTTPException as StarletteHTTPException

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
    # ignore: recommend from the basket's known items and list the unknown ones (new
    # products are a normal part of retail traffic); reject: answer 422 naming them.
    unknown_items: Literal["reject", "ignore"] = "ignore"
    log_path: Path | None = Path("logs/requests.jsonl")
    log_max_bytes: int = 10 * 1024 * 1024
    log_backups: int = 10
    admin_token: str | None = None  # enables POST /admin/reload when set
    reload_on_sighup: bool = True
    # A service on a registry stage checks it every poll_seconds and swaps when it points
    # at another version (0: only on SIGHUP or POST /admin/reload).
    poll_seconds: float = 0.0


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
    unknown_items: list[str] = Field(
        description="basket items the model does not know (for example products launched "
                    "after it was trained), in request order: the recommendations come from "
                    "the other items; empty when every item is known. A basket of unknown "
                    "items only gets the popularity fallback. (A service started with "
                    "--unknown-items reject answers 422 instead.)")


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
    (422, "invalid request: wrong types, empty or oversized basket; unknown items only "
          "when the service runs with --unknown-items reject"))}


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

    def __init__(self, source: ModelSource | None, model: Model, metrics: Metrics,
                 ref: tuple[str, str] | None = None):
        self.source = source
        self.metrics = metrics
        self._lock = asyncio.Lock()
        self.last_refusal: str | None = None
        # Registry sources: the (version, commit) served, and the one last refused.
        self.serving_ref = ref
        self.refused_ref: tuple[str, str] | None = None
        self.poll: dict[str, Any] = {"interval_seconds": None, "last_checked_at": None,
                                     "last_outcome": None, "last_error": None}
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

    async def reload(self, ref: tuple[str, str] | None = None) -> dict[str, Any]:
        """Load the source afresh (for a registry source: the version ``ref``, else the
        one the stage points at now) and swap it in; on any failure keep the old model.
        Returns what happened (``reloaded``, versions, or the refusal's reason)."""
        async with self._lock:
            old = self.model
            if self.source is None:
                return {"reloaded": False, "model_version": old.version,
                        "error": "this instance was started without a model source"}
            source = self.source

            def load() -> tuple[Served, tuple[str, str] | None]:
                nonlocal ref
                ref = ref or source.ref()
                return Served.prepare(source.load(ref)), ref

            try:
                # Loading, checking and preparing run in a thread: requests keep being
                # answered by the old model meanwhile.
                new, ref = await asyncio.to_thread(load)
            except Exception as exc:  # a broken model of any kind is refused the same way
                reason = str(exc) if isinstance(exc, ModelError) else (
                    f"{type(exc).__name__}: {exc}")
                self.last_refusal = reason
                self.metrics.reloads.labels("refused").inc()
                if ref is not None:
                    self.refused_ref = ref
                    self.metrics.refused_model.clear()
                    self.metrics.refused_model.labels(ref[0], source.stage).set(1)
                log.error("reload refused, still serving %s: %s", old.version, reason)
                return {"reloaded": False, "model_version": old.version, "error": reason}
            self.serving_ref = ref
            self.refused_ref = None
            self.metrics.refused_model.clear()
            self._install(new)
            self.metrics.reloads.labels("loaded").inc()
            log.info("reloaded: now serving %s (was %s)", new.model.version, old.version)
            return {"reloaded": True, "previous_version": old.version,
                    "model_version": new.model.version}


    async def poll_registry(self) -> str:
        """Check the registry stage once; reload when it points at another version than
        the one served (and than the one last refused: a broken version is not fetched
        again and again). Returns the outcome, as counted in ``panier_registry_polls``."""
        source = self.source
        self.poll["last_checked_at"] = _iso(time.time())
        try:
            ref = await asyncio.to_thread(source.ref)
        except Exception as exc:  # an unreachable registry: keep serving, say so
            outcome = "error"
            self.poll["last_error"] = str(exc) if isinstance(exc, ModelError) else (
                f"{type(exc).__name__}: {exc}")
            log.error("registry check failed, still serving %s: %s", self.model.version,
                      self.poll["last_error"])
        else:
            self.poll["last_error"] = None
            if ref == self.serving_ref:
                outcome = "unchanged"
                if self.refused_ref is not None:  # the stage moved away from the refused one
                    self.refused_ref = None
                    self.metrics.refused_model.clear()
            elif ref == self.refused_ref:
                outcome = "known_refused"
            else:
                log.info("stage %s now points at %s: reloading", source.stage, ref[0])
                result = await self.reload(ref)
                outcome = "reloaded" if result["reloaded"] else "refused"
        self.poll["last_outcome"] = outcome
        self.metrics.registry_polls.labels(outcome).inc()
        return outcome

    def describe_refusal(self) -> dict[str, Any] | None:
        """The version the stage points at but which was refused, for ``/version``."""
        if self.refused_ref is None:
            return None
        return {"model_version": self.refused_ref[0], "commit": self.refused_ref[1],
                "reason": self.last_refusal}


async def _poll_periodically(holder: ModelHolder, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await holder.poll_registry()
        except Exception:  # never let the poller die: the next round tries again
            log.exception("registry poll failed")


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


# --- the application: POST /recommend here, everything else in FastAPI -------------------

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_random_bits = random.Random().getrandbits
RECOMMEND = "/recommend"
EXAMPLE = '{"items": ["10040"], "k": 5}'


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

    def __init__(self, api: FastAPI, holder: "ModelHolder", metrics: Metrics,
                 request_log: RequestLog | None, settings: Settings,
                 request_type: type[BaseModel]):
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
                status = await self._reply(send, request_id, body.status,
                                           {"error": body.message}, close=body.close)
            elif path == RECOMMEND:
                status, payload = self._recommend(method, headers, body, request_id)
                status = await self._reply(send, request_id, status, payload)
            else:
                status = await self._forward(scope, body, receive, send, request_id)
        finally:
            self.metrics.observe_request(path if path in ENDPOINTS else "other", method,
                                         status, time.perf_counter() - started)

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
                message["headers"] = [*message.get("headers", ()),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        await self.api(scope, replay, send_with_id)
        return status

    @staticmethod
    async def _reply(send, request_id: str, status: int, payload: dict,
                     close: bool = False) -> int:
        body = orjson.dumps(payload)
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode()),
                   (b"x-request-id", request_id.encode())]
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
                return ApiError(413, f"request body of {int(declared)} bytes is over the "
                                     f"limit of {limit} bytes; send a smaller basket",
                                close=True)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return ApiError(413, f"request body is over the limit of {limit} bytes; "
                                     "send a smaller basket")
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    def _recommend(self, method: str, headers: dict, raw: bytes, request_id: str
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
            raise ApiError(405, f"{method} is not allowed; POST a basket as JSON like "
                                f"{EXAMPLE}")
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise ApiError(415, f"Content-Type is {content_type or 'missing'!r}; send the "
                                "basket as JSON with Content-Type: application/json")
        if not raw.strip():
            raise ApiError(400, f"the request body is empty; send a JSON object like {EXAMPLE}")
        try:
            body = self.request_type.model_validate_json(raw)
        except ValidationError as exc:
            status, message, details = _validation_error(exc.errors(include_url=False),
                                                         settings)
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
                raise ApiError(422, f"unknown item code(s) {shown}: not in the catalog of "
                                    f"model {model.version} ({len(model.items)} items); "
                                    "send item codes the model was trained on",
                               unknown_items=unknown)
            known = [code for code in basket if code in model.items]
        answer = model.recommend(known, body.k)
        metrics.observe_answer(answer.outcome, len(basket))
        if self.request_log:
            self.request_log.write({
                "time": utc_now(), "request_id": request_id, "basket": basket, "k": body.k,
                "recommended": [s.item_code for s in answer.suggestions],
                "fallback": answer.fallback, "model_version": model.version,
                "unknown": unknown})
        return {
            "request_id": request_id,
            "model_version": model.version,
            "k": body.k,
            "fallback": answer.fallback,
            "recommendations": [served.present(s) for s in answer.suggestions],
            "unknown_items": unknown,
        }


def create_app(source: ModelSource | None = None, settings: Settings | None = None,
               model: Model | None = None) -> Service:
    """The service for ``source`` (loaded now unless ``model`` is given; a ``ModelError``
    propagates, so a service never starts without a valid model)."""
    settings = settings or Settings()
    if model is None:
        if source is None:
            raise ValueError("give a model source or a model")
        ref = source.ref()
        model = source.load(ref)
    else:
        ref = None
    metrics = Metrics()
    holder = ModelHolder(source, model, metrics, ref)
    polling = bool(settings.poll_seconds > 0 and source is not None
                   and source.follows_registry)
    if polling:
        holder.poll["interval_seconds"] = settings.poll_seconds
    request_log = (RequestLog(settings.log_path, settings.log_max_bytes, settings.log_backups)
                   if settings.log_path else None)
    if request_log:
        metrics.watch_request_log(request_log)
    request_type = request_model(settings)
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
        poller = (loop.create_task(_poll_periodically(holder, settings.poll_seconds))
                  if polling else None)
        try:
            yield
        finally:
            if poller:
                poller.cancel()
            if flusher:
                flusher.cancel()
            if sighup:
                loop.remove_signal_handler(signal.SIGHUP)
            if request_log:
                request_log.close()

    api = FastAPI(
        title="Panier recommendation service",
        version=__version__,
        description="Product recommendations for a basket from association rules, with a "
                    "popularity fallback. Serves one model version at a time.",
        lifespan=lifespan,
    )
    api.openapi = lambda: _openapi(api, request_type)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return error_response(exc.status_code, str(exc.detail))

    @api.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        status, message, details = _validation_error(exc.errors(), settings)
        return error_response(status, message, **details)

    @api.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return error_response(exc.status, exc.message, **exc.extra)

    @api.get("/health", summary="Liveness and the model in service")
    async def health():
        return FastJSONResponse({"status": "ok", "model_version": holder.model.version})

    @api.get("/version", summary="The model in service: version, stage, data, params")
    async def version():
        return {
            "service": {"name": "panier-service", "version": __version__},
            "model": holder.model.describe(),
            "loaded_at": _iso(holder.loaded_at),
            "model_source": holder.source.describe() if holder.source else None,
            "last_refused_reload": holder.last_refusal,
            "refused_version": holder.describe_refusal(),
            "registry_poll": holder.poll if polling else None,
        }

    @api.get("/metrics", summary="Prometheus metrics")
    async def prometheus_metrics():
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @api.post("/admin/reload", summary="Reload the model from its source (token required)",
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

    return Service(api, holder, metrics, request_log, settings, request_type)


def _openapi(app: FastAPI, request_body: type[BaseModel]) -> dict:
    """FastAPI's OpenAPI description plus ``POST /recommend``, which ``Service`` answers."""
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
        request_log.flush()  # never raises: a full or vanished disk keeps lines waiting


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def _validation_error(errors: list[dict], settings: Settings) -> tuple[int, str, dict]:
    """One clear message for pydantic's validation errors: (status, message, details); 400
    for a body that is not JSON, 422 for JSON of the wrong shape."""
    for error in errors:
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "")
            return 400, (f"the request body is not valid JSON ({reason}); send a JSON object "
                         f"like {EXAMPLE}"), {}
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
            text = f"must be a JSON object like {EXAMPLE}"
        elif where == "items" and kind == "missing":
            text = "missing; send the basket's item codes as a list of strings"
        else:
            text = error.get("msg", "invalid")
        messages.append(f"{where or 'body'}: {text}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return 422, "; ".join(messages) + more, {
        "errors": [{"loc": [str(p) for p in e.get("loc", ())], "message": e.get("msg")}
                   for e in errors[:20]]}
