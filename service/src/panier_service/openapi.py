"""The OpenAPI description: FastAPI's, plus ``POST /recommend``, which ``Service`` answers
outside FastAPI's routing."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from panier_service.schemas import ERROR_RESPONSES, ErrorResponse, RecommendResponse


def openapi(app: FastAPI, request_body: type[BaseModel]) -> dict:
    """FastAPI's OpenAPI description plus ``POST /recommend``, which ``Service`` answers."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (request_body, RecommendResponse, ErrorResponse):
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(model_schema.pop("$defs", {}))
        components[model.__name__] = model_schema

    def body(name: str) -> dict:
        return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}

    responses: dict[str, dict[str, Any]] = {
        "200": {
            "description": "up to k items, best first, with evidence",
            "content": body("RecommendResponse"),
        }
    }
    responses.update(
        {
            str(status): {"description": spec["description"], "content": body("ErrorResponse")}
            for status, spec in ERROR_RESPONSES.items()
        }
    )
    schema["paths"]["/recommend"] = {
        "post": {
            "summary": "Recommend up to k items for a basket",
            "operationId": "recommend",
            "requestBody": {"required": True, "content": body(request_body.__name__)},
            "responses": responses,
        }
    }
    app.openapi_schema = schema
    return schema
