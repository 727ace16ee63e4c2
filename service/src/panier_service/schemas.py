"""The request and response bodies of the API, as pydantic models: they validate requests
and describe them in the OpenAPI description."""

from __future__ import annotations

from typing import Annotated, Literal

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


class ErrorResponse(BaseModel):
    """A refused request: one message. Some errors add fields: an invalid body (422)
    ``errors``, each with its ``loc`` and ``message``; unknown items refused (422)
    ``unknown_items``; a refused reload (409) the ``model_version`` still served."""

    error: str = Field(description="what is wrong and, where it helps, how to fix it")


def request_model(settings: Settings) -> type[BaseModel]:
    """The ``POST /recommend`` body, with this instance's limits (so OpenAPI shows them)."""
    code = Annotated[str, Field(min_length=1, max_length=settings.max_item_code_length)]

    class RecommendRequest(BaseModel):
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
