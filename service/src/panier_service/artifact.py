"""The model artifact the service accepts, and loading it into an immutable ``Model``.

Artifact schema, version 1 (the contract with the pipeline's ``train`` stage): a folder with

``model_card.json``
    a JSON object with ``schema_version`` (the integer 1), ``model``
    (``"association_rules"``), ``files`` (``{"rules": "rules.parquet", "items":
    "items.parquet"}``: plain file names in the same folder), ``data.fingerprint_sha256``
    (the training data's fingerprint), ``params`` (the training params), ``counts``
    (``counts.rules`` must equal the rules file's row count) and ``libraries``
    (``params``, ``counts`` and ``libraries`` are JSON objects). ``GET /version`` shows
    these; other keys are ignored.
``rules.parquet``
    one row per rule ``antecedent -> consequent``. Required columns: ``antecedent``
    (list of strings, non-empty, no nulls), ``consequent`` (string, not in its antecedent),
    ``confidence`` (float in (0, 1]), ``lift`` (float > 0), ``support`` (float in (0, 1]),
    ``count`` (integer >= 1). Each (antecedent, consequent) pair appears once. Further
    columns (``antecedent_size``, ``antecedent_count``, ``consequent_count``, ``leverage``,
    ``conviction``) are allowed and ignored.
``items.parquet``
    one row per item of the training window. Required columns: ``item_code`` (string,
    unique, no nulls), ``baskets`` (integer >= 0: the popularity), ``support`` (float);
    optional ``description`` (string, may be null). Every item a rule names must be here.
    The service's catalog is this table: other item codes are unknown.

A model whose card has another ``schema_version`` is refused, and so is any artifact that
breaks the rules above: loading fails with one message naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from panier_service.ranking import Answer, Rule, RuleIndex, recommend

SCHEMA_VERSION = 1
MODEL_KIND = "association_rules"
CARD_FILE = "model_card.json"


class ModelError(Exception):
    """The model cannot be loaded; the message says which file, what is wrong and the fix."""


@dataclass(frozen=True, slots=True)
class Item:
    code: str
    description: str | None
    baskets: int
    support: float


@dataclass(frozen=True)
class Model:
    """A loaded model: immutable, so a request that holds it sees one consistent version."""

    version: str
    stage: str | None
    source: str
    path: Path
    card: Mapping[str, Any]
    content_sha256: str
    index: RuleIndex
    popular: tuple[str, ...]  # item codes, most popular first
    items: Mapping[str, Item] = field(repr=False)

    @property
    def n_rules(self) -> int:
        return self.index.n_rules

    def unknown(self, basket: Iterable[str]) -> list[str]:
        """The codes in ``basket`` that are not in the model's catalog."""
        return [code for code in basket if code not in self.items]

    def recommend(self, basket: Iterable[str], k: int) -> Answer:
        return recommend(self.index, self.popular, basket, k)

    def describe(self) -> dict[str, Any]:
        """What ``GET /version`` shows about the model."""
        card = self.card
        return {
            "model_version": self.version,
            "stage": self.stage,
            "source": self.source,
            "schema_version": card["schema_version"],
            "model": card["model"],
            "content_sha256": self.content_sha256,
            "data_fingerprint_sha256": card["data"]["fingerprint_sha256"],
            "params": card.get("params", {}),
            "counts": card.get("counts", {}),
            "libraries": card.get("libraries", {}),
            "rules": self.n_rules,
            "items": len(self.items),
        }


def load_model(
    path: str | Path,
    version: str | None = None,
    stage: str | None = None,
    source: str | None = None,
) -> Model:
    """Read and check the artifact in folder ``path``; build the rule index.

    ``version`` and ``stage`` name the model when it came from the registry; a model read
    from a plain folder is named by its content (``local-`` and the first 12 hex digits of
    the SHA-256 of its three files). Raises ``ModelError`` for anything that breaks the
    artifact schema (see the module docstring).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ModelError(
            f"{folder}: no such model folder; train one (dvc repro) or pass "
            "the folder that holds model_card.json"
        )
    # Resolve once: if ``path`` is a symlink that a deployment re-points, every file is read
    # from the same target.
    folder = folder.resolve()
    card_path = folder / CARD_FILE
    card_bytes = _read_bytes(card_path)
    card = _check_card(card_bytes, card_path)
    rules_path = folder / card["files"]["rules"]
    items_path = folder / card["files"]["items"]
    rules_bytes, items_bytes = _read_bytes(rules_path), _read_bytes(items_path)

    items = _read_items(items_bytes, items_path)
    rules = _read_rules(rules_bytes, rules_path, items)
    expected = card.get("counts", {}).get("rules")
    if expected is not None and expected != len(rules):
        raise ModelError(
            f"{rules_path}: {len(rules)} rules but {card_path} says "
            f"counts.rules = {expected}; the files come from different "
            "training runs: copy the whole model folder again"
        )

    digest = hashlib.sha256()
    for blob in (card_bytes, rules_bytes, items_bytes):
        digest.update(hashlib.sha256(blob).digest())
    content = digest.hexdigest()
    popular = tuple(
        code
        for code, _ in sorted(
            ((i.code, i.baskets) for i in items.values()), key=lambda ci: (-ci[1], ci[0])
        )
    )
    return Model(
        version=version or f"local-{content[:12]}",
        stage=stage,
        source=source or f"path:{folder}",
        path=folder,
        card=card,
        content_sha256=content,
        index=RuleIndex(rules),
        popular=popular,
        items=items,
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ModelError(
            f"{path}: missing; a model folder holds {CARD_FILE}, rules.parquet "
            "and items.parquet as written by the train stage"
        ) from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot be read ({exc.strerror})") from None


def _check_card(raw: bytes, path: Path) -> dict[str, Any]:
    try:
        card = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(
            f"{path}: not valid JSON ({exc}); the file is damaged: fetch the model again"
        ) from None
    if not isinstance(card, dict):
        raise ModelError(f"{path}: must hold a JSON object, not {type(card).__name__}")
    version = card.get("schema_version")
    # type() rather than ==: true and 1.0 equal 1 in Python but are not the integer 1.
    if type(version) is not int or version != SCHEMA_VERSION:
        raise ModelError(
            f"{path}: schema_version {version!r} is not supported; this service reads "
            f"schema_version {SCHEMA_VERSION} only. Serve a model trained by a pipeline that "
            "writes that version, or upgrade the service to one that reads the new schema"
        )
    if card.get("model") != MODEL_KIND:
        raise ModelError(
            f"{path}: model is {card.get('model')!r}; this service serves "
            f"{MODEL_KIND!r} models only"
        )
    files = card.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(files.get(k), str) and _plain_name(files[k]) for k in ("rules", "items")
    ):
        raise ModelError(
            f"{path}: files must name the rules and items files of the same "
            'folder, e.g. {"rules": "rules.parquet", "items": "items.parquet"}'
        )
    data = card.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("fingerprint_sha256"), str):
        raise ModelError(
            f"{path}: data.fingerprint_sha256 is missing; the card must say "
            "which data trained the model"
        )
    for key in ("params", "counts", "libraries"):
        if not isinstance(card.get(key, {}), dict):
            raise ModelError(
                f"{path}: {key} must be a JSON object, not {type(card[key]).__name__}; "
                "the card was not written by the pipeline's train stage: train the model again"
            )
    counts = card.get("counts", {})
    if not isinstance(counts, dict) or not isinstance(counts.get("rules", 0), int):
        raise ModelError(f"{path}: counts.rules must be an integer")
    return card


def _plain_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..")


def _read_table(raw: bytes, path: Path, required: dict[str, str]) -> pa.Table:
    """Parse Parquet bytes and check the required columns' kinds (``string``, ``integer``,
    ``float``, ``string_list``), with no nulls."""
    try:
        table = pq.ParquetFile(pa.BufferReader(raw)).read()
    except (pa.ArrowException, OSError) as exc:
        raise ModelError(
            f"{path}: not a readable Parquet file ({exc}); the file is damaged "
            "or truncated: fetch the model again"
        ) from None
    missing = [c for c in required if c not in table.column_names]
    if missing:
        raise ModelError(
            f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(table.column_names)}"
        )
    for column, kind in required.items():
        dtype = table.schema.field(column).type
        if not _is_kind(dtype, kind):
            raise ModelError(f"{path}: column {column} is {dtype}, expected {kind}")
        nulls = table.column(column).null_count
        if kind == "string_list":
            nulls += pc.list_flatten(table.column(column)).null_count
        if nulls:
            raise ModelError(f"{path}: column {column} has {nulls} null value(s)")
    return table


def _is_kind(dtype: pa.DataType, kind: str) -> bool:
    if kind == "string":
        return pa.types.is_string(dtype) or pa.types.is_large_string(dtype)
    if kind == "integer":
        return pa.types.is_integer(dtype)
    if kind == "float":
        return pa.types.is_floating(dtype)
    if kind == "string_list":
        return (pa.types.is_list(dtype) or pa.types.is_large_list(dtype)) and _is_kind(
            dtype.value_type, "string"
        )
    raise ValueError(kind)


def _read_items(raw: bytes, path: Path) -> dict[str, Item]:
    table = _read_table(
        raw, path, {"item_code": "string", "baskets": "integer", "support": "float"}
    )
    codes = table.column("item_code").to_pylist()
    baskets = table.column("baskets").to_pylist()
    support = table.column("support").to_pylist()
    if "description" in table.column_names:
        descriptions = table.column("description").to_pylist()
    else:
        descriptions = [None] * len(codes)
    items: dict[str, Item] = {}
    for code, description, count, share in zip(codes, descriptions, baskets, support):
        if code in items:
            raise ModelError(f"{path}: item_code {code!r} appears more than once")
        if count < 0:
            raise ModelError(f"{path}: item {code!r} has baskets = {count}; counts are >= 0")
        if not isinstance(description, str):
            description = None
        items[code] = Item(code, description, int(count), float(share))
    if not items:
        raise ModelError(f"{path}: no items; a model needs its training window's catalog")
    return items


def _read_rules(raw: bytes, path: Path, items: Mapping[str, Item]) -> list[Rule]:
    table = _read_table(
        raw,
        path,
        {
            "antecedent": "string_list",
            "consequent": "string",
            "confidence": "float",
            "lift": "float",
            "support": "float",
            "count": "integer",
        },
    )
    columns = [
        table.column(c).to_pylist()
        for c in ("antecedent", "consequent", "confidence", "lift", "support", "count")
    ]
    parsed = []
    seen = set()
    for row, (antecedent, consequent, confidence, lift, support, count) in enumerate(zip(*columns)):
        antecedent = tuple(sorted(antecedent))
        where = f"{path}: rule {row} ({' + '.join(antecedent)} -> {consequent})"
        if not antecedent or len(set(antecedent)) != len(antecedent):
            raise ModelError(f"{where}: the antecedent must be one or more distinct items")
        if consequent in antecedent:
            raise ModelError(f"{where}: the consequent is also in the antecedent")
        if not (
            0.0 < confidence <= 1.0
            and 0.0 < support <= 1.0
            and lift > 0.0
            and math.isfinite(lift)
            and count >= 1
        ):
            raise ModelError(
                f"{where}: confidence {confidence}, support {support}, lift "
                f"{lift}, count {count} out of range (confidence and support in "
                "(0, 1], lift > 0, count >= 1)"
            )
        key = (antecedent, consequent)
        if key in seen:
            raise ModelError(f"{where}: appears more than once")
        seen.add(key)
        unknown = [i for i in (*antecedent, consequent) if i not in items]
        if unknown:
            raise ModelError(
                f"{where}: item(s) {', '.join(unknown)} are not in the items "
                "file; the files come from different training runs"
            )
        parsed.append(
            (antecedent, consequent, float(confidence), float(lift), float(support), int(count))
        )
    # Best first: the pipeline's own order, recomputed so the service does not depend on it.
    parsed.sort(key=lambda r: (-r[2], -r[3], -r[5], r[0], r[1]))
    return [
        Rule(rank, a, c, conf, lift, sup, n)
        for rank, (a, c, conf, lift, sup, n) in enumerate(parsed)
    ]
