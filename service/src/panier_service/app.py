"""The HTTP service: recommendations, health, version, metrics, and atomic reloads.

``create_app`` builds one ``Service`` (the ASGI application, ``asgi``) around one
``ModelSource``. ``POST /recommend`` is answered by ``Service`` itself; the other endpoints,
the OpenAPI description (``openapi``) and its Swagger UI and ReDoc pages, whose scripts and
styles the service serves itself (no CDN: ``/docs`` and ``/redoc`` work offline), are a
FastAPI app inside it. The model in service and its reloads are ``serving.ModelHolder``'s.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import signal
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from panier_service import __version__
from panier_service.artifact import Model
from panier_service.asgi import Service
from panier_service.errors import ApiError, FastJSONResponse, error_response, validation_error
from panier_service.observability import Metrics
from panier_service.openapi import openapi
from panier_service.registry import ModelSource
from panier_service.request_log import RequestLog, StdoutRequestLog
from panier_service.schemas import (
    ErrorResponse,
    HealthResponse,
    ReloadResponse,
    VersionResponse,
    request_model,
)
from panier_service.serving import ModelHolder, flush_periodically, iso, poll_periodically
from panier_service.settings import STDOUT, Settings

log = logging.getLogger("panier_service")


def create_app(
    source: ModelSource | None = None, settings: Settings | None = None, model: Model | None = None
) -> Service:
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
    polling = bool(settings.poll_seconds > 0 and source is not None and source.follows_registry)
    if polling:
        holder.poll["interval_seconds"] = settings.poll_seconds
    log_to = settings.log_to
    request_log: RequestLog | None
    if log_to == STDOUT:
        request_log = StdoutRequestLog()
    elif log_to is not None:
        request_log = RequestLog(
            log_to, settings.request_log_max_bytes, settings.request_log_backups
        )
    else:
        request_log = None
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
        log.info(
            "serving %s (%d rules, %d items) from %s",
            holder.model.version,
            holder.model.n_rules,
            len(holder.model.items),
            holder.model.source,
        )
        flusher = loop.create_task(flush_periodically(request_log)) if request_log else None
        poller = (
            loop.create_task(poll_periodically(holder, settings.poll_seconds)) if polling else None
        )
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

    api = FastAPIOffline(
        title="Panier recommendation service",
        version=__version__,
        description="Product recommendations for a basket from association rules, with a "
        "popularity fallback. Serves one model version at a time.",
        lifespan=lifespan,
    )
    # FastAPI's documented way to extend the OpenAPI description; mypy forbids method assignment
    api.openapi = lambda: openapi(api, request_type)  # type: ignore[method-assign]

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return error_response(exc.status_code, str(exc.detail))

    @api.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        status, message, details = validation_error(exc.errors(), settings.max_items)
        return error_response(status, message, **details)

    @api.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return error_response(exc.status, exc.message, **exc.extra)

    @api.get(
        "/health",
        summary="Liveness and the model in service",
        response_model=HealthResponse,
        response_description="the service runs and serves a model",
    )
    async def health():
        """``{"status": "ok", "model_version": ...}`` while the service runs (the container
        image's health check)."""
        # A response returned as is (FastAPI does not pass it through HealthResponse, which
        # documents it): the health check is polled often.
        return FastJSONResponse({"status": "ok", "model_version": holder.model.version})

    @api.get(
        "/version",
        summary="The model in service: version, stage, data, params",
        response_model=VersionResponse,
        response_description="the service, the model in service and its reloads",
    )
    async def version():
        """The service's name and version; the model in service (version, stage, source,
        content hash, data fingerprint, training params, counts, libraries); when it was
        loaded and from where; the last refused reload; the registry poll's state (null
        unless the service follows a registry stage)."""
        return {
            "service": {"name": "panier-service", "version": __version__},
            "model": holder.model.describe(),
            "loaded_at": iso(holder.loaded_at),
            "model_source": holder.source.describe() if holder.source else None,
            "last_refused_reload": holder.last_refusal,
            "refused_version": holder.describe_refusal(),
            "registry_poll": holder.poll if polling else None,
        }

    @api.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prometheus_metrics():
        """Prometheus text format: requests and latency by endpoint, answers by outcome,
        unknown items, basket sizes, the model in service, reloads."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @api.post(
        "/admin/reload",
        summary="Reload the model from its source (token required)",
        response_model=ReloadResponse,
        response_description="the new model is in service",
        responses={
            403: {
                "model": ErrorResponse,
                "description": "reload over HTTP is off (no admin token set), or the token "
                "is missing or wrong",
            },
            409: {
                "model": ErrorResponse,
                "description": "the new model was refused; the old one keeps serving",
            },
        },
    )
    async def admin_reload(request: Request):
        """Load the model again from its source (the folder, or the registry stage
        resolved again), check it and swap it in atomically. Needs ``Authorization: Bearer
        <token>``, the service's admin token. Answers ``{"reloaded": true,
        "previous_version": ..., "model_version": ...}``."""
        token = settings.token
        if not token:
            raise ApiError(
                403,
                "reload over HTTP is disabled; start the service with "
                "PANIER_SERVICE_ADMIN_TOKEN set, or send it SIGHUP",
            )
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise ApiError(403, "missing or wrong token: send Authorization: Bearer <token>")
        result = await holder.reload()
        if not result["reloaded"]:
            raise ApiError(
                409,
                f"reload refused, still serving {result['model_version']}: {result['error']}",
                model_version=result["model_version"],
            )
        return result

    return Service(api, holder, metrics, request_log, settings, request_type)
