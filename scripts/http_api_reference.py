"""Write docs/reference/http-api.md from the service's OpenAPI description
(service/src/panier_service/openapi.py, for the app ``create_app`` builds).

Every endpoint, its parameters, request body and responses, and every schema's fields with
their types, limits, defaults and descriptions are read from the description the service
serves, so the page cannot drift from the code (tests/integration/test_docs_site.py fails
when the committed page differs from a fresh build). Usage: ``python
scripts/http_api_reference.py [--check]``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from _generated import ROOT, write_or_check

from panier.core.markdown import table
from panier_service.app import create_app
from panier_service.artifact import Item, Model
from panier_service.asgi import Service
from panier_service.ranking import RuleIndex
from panier_service.settings import Settings

TARGET = ROOT / "docs" / "reference" / "http-api.md"
SWAGGER_UI = "/docs"  # both served by fastapi_offline's FastAPIOffline (app.py)
REDOC = "/redoc"
REF = "#/components/schemas/"


def service() -> Service:
    """The service with the default settings (environment variables ignored) and no
    request log. Its OpenAPI description does not depend on the model: a stand-in of one
    item serves."""
    model = Model(
        version="stand-in",
        stage=None,
        source="stand-in",
        path=Path("."),
        card={"data": {"fingerprint_sha256": ""}},
        content_sha256="",
        index=RuleIndex([]),
        popular=("0",),
        items={"0": Item("0", None, 1, 1.0)},
    )
    settings = Settings.model_construct(request_log="off")
    return create_app(settings=settings, model=model)


def _text(value: str | None) -> str:
    """One line of text: whitespace runs made single spaces."""
    return " ".join((value or "").split())


def _anchor(name: str) -> str:
    """The heading id mkdocs gives a schema's section (its name, lower case)."""
    return re.sub(r"[^\w-]", "", name.lower())


def _schema_link(ref: str) -> str:
    name = ref.removeprefix(REF)
    return f"[{name}](#{_anchor(name)})"


def _limits(schema: dict) -> str:
    """The schema's bounds in words: ``1 to 50``, ``at most 64 characters``."""
    for low, high, unit in (
        ("minItems", "maxItems", " items"),
        ("minLength", "maxLength", " characters"),
        ("minimum", "maximum", ""),
    ):
        lo, hi = schema.get(low), schema.get(high)
        if lo is not None and hi is not None:
            return f"{lo} to {hi}{unit}"
        if lo is not None:
            return f"at least {lo}{unit}"
        if hi is not None:
            return f"at most {hi}{unit}"
    for key, word in (("exclusiveMinimum", "over"), ("exclusiveMaximum", "under")):
        if key in schema:
            return f"{word} {schema[key]}"
    return ""


def type_of(schema: dict, nested: bool = False) -> str:
    """A field's type in words, schemas as links to their section: ``array of string (1 to
    64 characters), 1 to 100 items``; ``nested`` puts the limits in parentheses."""
    if "$ref" in schema:
        return _schema_link(schema["$ref"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(type_of(part, nested=True) for part in schema[key])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return "one of " + ", ".join(f"`{value}`" for value in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(type_of({**schema, "type": k}, nested=True) for k in kind)
    if kind is None:
        return "any JSON"
    if kind == "array":
        base = f"array of {type_of(schema.get('items', {}), nested=True)}"
    elif kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        base = f"object of {type_of(schema['additionalProperties'], nested=True)}"
    else:
        base = kind
    limits = _limits(schema)
    if not limits:
        return base
    return f"{base} ({limits})" if nested else f"{base}, {limits}"


def _default(schema: dict) -> str:
    return f"`{json.dumps(schema['default'])}`" if "default" in schema else ""


def field_table(schema: dict) -> str:
    """The fields of an object schema: name, type, required, default, description (in the
    model's order)."""
    required = set(schema.get("required", ()))
    rows = [
        (
            f"`{name}`",
            type_of(prop),
            "yes" if name in required else "no",
            _default(prop),
            _text(prop.get("description")),
        )
        for name, prop in schema.get("properties", {}).items()
    ]
    return table(("field", "type", "required", "default", "description"), rows)


def _body(content: dict) -> str:
    """What a request or response body holds: its schema's link, else its media type."""
    kinds = []
    for media, spec in sorted(content.items()):
        schema = spec.get("schema", {})
        if media == "application/json":
            kinds.append(type_of(schema) if schema else "JSON")
        else:
            kinds.append(f"`{media}`")
    return ", ".join(kinds)


def endpoint(method: str, path: str, operation: dict, schemas: dict) -> list[str]:
    """One endpoint's section: summary, description, parameters, request body, responses."""
    parts = [f"## {method.upper()} {path}\n"]
    summary = _text(operation.get("summary"))
    if summary and summary[-1] not in ".!?":
        summary += "."
    description = _text(operation.get("description"))
    parts += [f"{text}\n" for text in (summary, description) if text]
    parameters = operation.get("parameters", [])
    if parameters:
        rows = [
            (
                f"`{p['name']}`",
                p["in"],
                type_of(p.get("schema", {})),
                "yes" if p.get("required") else "no",
                _default(p.get("schema", {})),
                _text(p.get("description")),
            )
            for p in sorted(parameters, key=lambda p: (p["in"], p["name"]))
        ]
        parts += [
            "**Parameters**\n",
            table(("name", "in", "type", "required", "default", "description"), rows),
            "",
        ]
    request = operation.get("requestBody")
    if request:
        required = "required" if request.get("required") else "optional"
        parts.append(f"**Request body** ({required}): {_body(request.get('content', {}))}\n")
        for spec in request.get("content", {}).values():
            ref = spec.get("schema", {}).get("$ref")
            if ref:
                parts += [field_table(schemas[ref.removeprefix(REF)]), ""]
    rows = [
        (status, _text(response.get("description")), _body(response.get("content", {})))
        for status, response in sorted(operation.get("responses", {}).items())
    ]
    parts += ["**Responses**\n", table(("status", "meaning", "body"), rows), ""]
    return parts


def schema_section(name: str, schema: dict) -> list[str]:
    """One schema's section: its description, its fields, what it refuses, its example."""
    parts = [f"### {name}\n"]
    if schema.get("description"):
        parts.append(f"{_text(schema['description'])}\n")
    parts += [field_table(schema), ""]
    if schema.get("additionalProperties") is False:
        parts.append("Any other field is refused.\n")
    for example in schema.get("examples", []):
        parts += ["Example:\n", "```json", json.dumps(example), "```", ""]
    return parts


def build() -> str:
    """The page's Markdown: the intro, one section per endpoint (in the description's
    order), then every schema (by name)."""
    api = service().api
    paths = {getattr(route, "path", None) for route in api.routes}
    for name, page in (("SWAGGER_UI", SWAGGER_UI), ("REDOC", REDOC)):
        if page not in paths:
            raise SystemExit(f"the service has no {page} route: update {name}")
    spec = api.openapi()
    schemas = spec.get("components", {}).get("schemas", {})
    parts = [
        "# HTTP API\n",
        f"{_text(spec['info'].get('description'))}\n",
        "The endpoints of `panier-serve`, the recommendation service (`service/`; see "
        "[Serve recommendations](../how-to/serve.md)), generated from its OpenAPI "
        "description (`service/src/panier_service/openapi.py`, the endpoints in "
        "`service/src/panier_service/app.py`, the bodies' models and their field "
        "descriptions in `service/src/panier_service/schemas.py`) by `python "
        "scripts/http_api_reference.py`; edit those, not this page. A running service "
        f"serves the same description at `GET {api.openapi_url}` and shows it in "
        f"Swagger UI at `GET {SWAGGER_UI}` and in ReDoc at `GET {REDOC}`, which both work "
        "offline (the service serves their scripts and styles itself).\n",
        "Limits and defaults are those of the default settings: `--max-items`, "
        "`--max-item-code-length`, `--max-k` and `--default-k` change them, and a "
        "service's own description shows its own (see [Service "
        "settings](service-settings.md)).\n",
    ]
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            parts += endpoint(method, path, operation, schemas)
    parts += [
        "## Schemas\n",
        "The bodies above, by name. In a response, a required field is always present.\n",
    ]
    for name in sorted(schemas):
        parts += schema_section(name, schemas[name])
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    return write_or_check(TARGET, build, __doc__.split("\n\n")[0], argv)


if __name__ == "__main__":
    sys.exit(main())
