"""The request and response bodies of the API, as pydantic models: they validate requests
and describe them in the OpenAPI description."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from panier_service.settings import Settings


class RuleEvidence(BaseModel):
    """The rule that recommends an item: the basket's items it starts from, and its
    measures on the training baskets."""

    antecedent: list[str] = Field(description="items of the basket that triggered the rule")
    confidence: float = Field(
        description="share of training baskets with the antecedent that also held the item"
    )
    lift: float = Field(description="confidence divided by the item's own support")
    support: float = Field(description="share of training baskets holding antecedent and item")


class Recommendation(BaseModel):
    """One recommended item, with why it was chosen."""

    item_code: str = Field(description="the recommended item's code, as in the training data")
    description: str | None = Field(
        description="its most frequent description in the training window; null when it had none"
    )
    source: Literal["rule", "popularity"] = Field(
        description="rule: the best applicable rule recommends it; popularity: the fallback"
    )
    rule: RuleEvidence | None = Field(description="the evidence; null for popularity")
    popularity: float = Field(description="share of training baskets holding the item")


class RecommendResponse(BaseModel):
    """The answer to ``POST /recommend``."""

    request_id: str = Field(
        description="the request's X-Request-ID header when it is 1-64 letters, digits, "
        "dots, dashes or underscores, else a new random id; also sent back as X-Request-ID "
        "and written in the request log"
    )
    model_version: str = Field(
        description="the model that answered: its registry version, or local- and a prefix "
        "of its content hash for a model served from a folder"
    )
    k: int = Field(description="the k asked for, or the default when the request had none")
    fallback: bool = Field(
        description="true when no rule applied: every item is a popularity fallback"
    )
    recommendations: list[Recommendation] = Field(description="best first, at most k")
    unknown_items: list[str] = Field(
        description="basket items the model does not know (for example products launched "
        "after it was trained), in request order: the recommendations come from "
        "the other items; empty when every item is known. A basket of unknown "
        "items only gets the popularity fallback. (A service started with "
        "--unknown-items reject answers 422 instead.)"
    )


class HealthResponse(BaseModel):
    """The answer to ``GET /health``: the service runs and serves a model (it never runs
    without one)."""

    status: Literal["ok"] = Field(description="always ok: a service that answers is alive")
    model_version: str = Field(
        description="the model in service: its registry version, or local- and a prefix of "
        "its content hash for a model served from a folder"
    )


class ServiceInfo(BaseModel):
    """The service's own name and version."""

    name: str = Field(description="the distribution's name, panier-service")
    version: str = Field(description="the service's version")


class ModelInfo(BaseModel):
    """The model in service, from its card and its files."""

    model_version: str = Field(
        description="its registry version, or local- and a prefix of its content hash for "
        "a model served from a folder"
    )
    stage: str | None = Field(
        description="the registry stage it was served from; null for a folder"
    )
    source: str = Field(
        description="where it was read from: path: and its folder, or registry: with the "
        "artifact, version and commit"
    )
    schema_version: int = Field(description="the artifact schema version of its card")
    model: str = Field(description="the kind of model, association_rules")
    content_sha256: str = Field(
        description="a SHA-256 over its three files (card, rules, items): changes when any "
        "of them does"
    )
    data_fingerprint_sha256: str = Field(
        description="the fingerprint of its training data (data.fingerprint_sha256 of its card)"
    )
    params: dict[str, Any] = Field(description="the training params, as in its card")
    counts: dict[str, Any] = Field(
        description="its card's counts: baskets, items, itemsets, rules, ..."
    )
    libraries: dict[str, Any] = Field(
        description="the libraries that trained it and their versions, as in its card"
    )
    rules: int = Field(description="how many rules it serves")
    items: int = Field(description="how many items its catalog holds")


class RefusedVersion(BaseModel):
    """The version a registry stage points at but which was refused: the old model keeps
    serving."""

    model_version: str = Field(description="the refused version")
    commit: str = Field(description="the registry commit it was read from")
    reason: str = Field(description="why it was refused")


class RegistryPoll(BaseModel):
    """The state of the periodic check of the registry stage."""

    interval_seconds: float | None = Field(
        description="how often the stage is checked (--poll-seconds)"
    )
    last_checked_at: str | None = Field(
        description="when it was last checked (ISO 8601, UTC); null before the first check"
    )
    last_outcome: Literal["unchanged", "reloaded", "refused", "known_refused", "error"] | None = (
        Field(
            description="the last check's outcome: unchanged; reloaded (the stage pointed at a "
            "new version, now served); refused (the new version failed its checks, the old one "
            "kept); known_refused (still the version refused before, not fetched again); error "
            "(the registry could not be read); null before the first check"
        )
    )
    last_error: str | None = Field(
        description="why the last check could not read the registry; null when it could"
    )


class VersionResponse(BaseModel):
    """The answer to ``GET /version``."""

    service: ServiceInfo = Field(description="the service's name and version")
    model: ModelInfo = Field(description="the model in service")
    loaded_at: str = Field(description="when the model in service was loaded (ISO 8601, UTC)")
    model_source: str | None = Field(
        description="where reloads read the model: path: and a folder, or registry: with the "
        "artifact and stage; null for a service started without a source"
    )
    last_refused_reload: str | None = Field(
        description="why the last refused reload (since the service started) was refused; "
        "null when none was"
    )
    refused_version: RefusedVersion | None = Field(
        description="the registry version last refused, while the stage may still point at "
        "it; null once a reload succeeds or the stage points back at the version served, and "
        "for a folder"
    )
    registry_poll: RegistryPoll | None = Field(
        description="the registry poll's state; null unless the service follows a registry "
        "stage with --poll-seconds over 0"
    )


class ReloadResponse(BaseModel):
    """The answer to ``POST /admin/reload`` when the new model was swapped in (a refused
    reload answers 409)."""

    reloaded: Literal[True] = Field(description="always true: the new model is in service")
    previous_version: str = Field(description="the model served before the reload")
    model_version: str = Field(
        description="the model in service now (the same as before when the source had not changed)"
    )


class ErrorResponse(BaseModel):
    """A refused request: one message. Some errors add fields: an invalid body (422)
    ``errors``, each with its ``loc`` and ``message``; unknown items refused (422)
    ``unknown_items``; a refused reload (409) the ``model_version`` still served."""

    error: str = Field(description="what is wrong and, where it helps, how to fix it")


class BasketRequest(BaseModel):
    """The fields of every ``POST /recommend`` body, without limits: ``request_model``'s
    subclass declares them again with this instance's, and the service reads these."""

    items: list[str]
    k: int


def request_model(settings: Settings) -> type[BasketRequest]:
    """The ``POST /recommend`` body, with this instance's limits (so OpenAPI shows them)."""
    code = Annotated[str, Field(min_length=1, max_length=settings.max_item_code_length)]

    class RecommendRequest(BasketRequest):
        """A basket and how many items to recommend for it."""

        model_config = ConfigDict(
            strict=True,
            extra="forbid",
            json_schema_extra={"examples": [{"items": ["10040", "10070"], "k": 5}]},
        )

        items: list[code] = Field(
            min_length=1,
            max_length=settings.max_items,
            description="item codes of the basket (duplicates count once)",
        )
        k: int = Field(
            settings.default_k,
            ge=1,
            le=settings.max_k,
            description="how many items to return at most",
        )

    return RecommendRequest


ERROR_RESPONSES = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in (
        (400, "invalid JSON"),
        (413, "request body too large"),
        (415, "not JSON"),
        (
            422,
            "invalid request: wrong types, empty or oversized basket; unknown items only "
            "when the service runs with --unknown-items reject",
        ),
    )
}
