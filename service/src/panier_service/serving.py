"""The model in service: ``Served`` (a model with its answers prepared) and ``ModelHolder``,
which swaps in a new model atomically on reload and follows a registry stage.

The model in service is a single reference to an immutable ``Served``: a request reads it
once and uses that object to the end, and a reload builds and checks the new model
completely before swapping the reference, so no request ever sees a half-loaded model, and
a model that fails to load or check is refused while the old one keeps serving.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from panier_service.artifact import Model, ModelError
from panier_service.observability import Metrics
from panier_service.ranking import Suggestion
from panier_service.registry import ModelSource

log = logging.getLogger("panier_service")


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
    def prepare(cls, model: Model) -> Served:
        """Check that ``model`` can serve and build its answers (CPU work: called off the
        event loop on reload)."""
        smoke_test(model)
        items = model.items
        by_item = {
            code: {
                "item_code": code,
                "description": item.description,
                "source": "popularity",
                "rule": None,
                "popularity": round(item.support, 6),
            }
            for code, item in items.items()
        }
        by_rule = tuple(
            {
                **by_item[rule.consequent],
                "source": "rule",
                "rule": {
                    "antecedent": list(rule.antecedent),
                    "confidence": round(rule.confidence, 6),
                    "lift": round(rule.lift, 6),
                    "support": round(rule.support, 6),
                },
            }
            for rule in model.index.rules
        )
        return cls(model, by_rule, by_item)

    def present(self, suggestion: Suggestion) -> dict:
        rule = suggestion.rule
        return self.by_item[suggestion.item_code] if rule is None else self.by_rule[rule.rank]


class ModelHolder:
    """The model in service and how to replace it."""

    def __init__(
        self,
        source: ModelSource | None,
        model: Model,
        metrics: Metrics,
        ref: tuple[str, str] | None = None,
    ):
        self.source = source
        self.metrics = metrics
        self._lock = asyncio.Lock()
        self.last_refusal: str | None = None
        # Registry sources: the (version, commit) served, and the one last refused.
        self.serving_ref = ref
        self.refused_ref: tuple[str, str] | None = None
        self.poll: dict[str, Any] = {
            "interval_seconds": None,
            "last_checked_at": None,
            "last_outcome": None,
            "last_error": None,
        }
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
        self.metrics.set_model(
            model.version,
            model.stage,
            model.card["data"]["fingerprint_sha256"],
            model.n_rules,
            self.loaded_at,
        )

    async def reload(self, ref: tuple[str, str] | None = None) -> dict[str, Any]:
        """Load the source afresh (for a registry source: the version ``ref``, else the
        one the stage points at now) and swap it in; on any failure keep the old model.
        Returns what happened (``reloaded``, versions, or the refusal's reason)."""
        async with self._lock:
            old = self.model
            if self.source is None:
                return {
                    "reloaded": False,
                    "model_version": old.version,
                    "error": "this instance was started without a model source",
                }
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
                reason = (
                    str(exc) if isinstance(exc, ModelError) else (f"{type(exc).__name__}: {exc}")
                )
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
            return {
                "reloaded": True,
                "previous_version": old.version,
                "model_version": new.model.version,
            }

    async def poll_registry(self) -> str:
        """Check the registry stage once; reload when it points at another version than
        the one served (and than the one last refused: a broken version is not fetched
        again and again). Returns the outcome, as counted in ``panier_registry_polls``."""
        source = self.source
        assert source is not None  # app.py polls only a registry source
        self.poll["last_checked_at"] = iso(time.time())
        try:
            ref = await asyncio.to_thread(source.ref)
        except Exception as exc:  # an unreachable registry: keep serving, say so
            outcome = "error"
            self.poll["last_error"] = (
                str(exc) if isinstance(exc, ModelError) else (f"{type(exc).__name__}: {exc}")
            )
            log.error(
                "registry check failed, still serving %s: %s",
                self.model.version,
                self.poll["last_error"],
            )
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
                assert ref is not None  # a registry source's ref() is (version, commit)
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
        return {
            "model_version": self.refused_ref[0],
            "commit": self.refused_ref[1],
            "reason": self.last_refusal,
        }


async def poll_periodically(holder: ModelHolder, seconds: float) -> None:
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
            raise ModelError(
                f"{model.path}: the model does not answer its own best rule "
                f"{' + '.join(best.antecedent)} -> {best.consequent}"
            )
    elif not model.recommend([], 1).suggestions:
        raise ModelError(f"{model.path}: the model has neither rules nor items to recommend")


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


async def flush_periodically(request_log) -> None:
    while True:
        await asyncio.sleep(request_log.FLUSH_SECONDS)
        request_log.flush()  # never raises: a full or vanished disk keeps lines waiting
