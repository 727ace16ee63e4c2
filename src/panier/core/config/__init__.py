"""The configuration schema: the one place that knows what ``params.yaml`` may hold.

One module per group of sections (``ingest`` and its ``generator``; ``validate``, ``windows``,
``train``, ``evaluate``; ``drift``, ``affinity``, ``gate``) holds their keys, defaults and
descriptions; ``load_params`` (``loading``) reads the file and returns typed, validated
settings; a wrong key or value is reported as a short message naming the key path, the value
and the fix. Every public name is importable from ``panier.core.config``.
"""

from panier.core.config.base import PositiveShare, Section, Share
from panier.core.config.generator import (
    DEFAULT_PLANTED_RULES,
    MAX_GENERATED_INVOICES,
    MAX_GENERATED_LINES,
    GeneratorParams,
    PlantedDrift,
    PlantedRule,
)
from panier.core.config.ingest import (
    FORMATS,
    MAPPING_PRESETS,
    SOURCES,
    BasketParams,
    CsvParams,
    HttpParams,
    IngestParams,
    MappingParams,
    ParsingParams,
    S3Params,
    SqlParams,
)
from panier.core.config.loading import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_PARAMS_BYTES,
    PARAMS_FILE,
    Params,
    check_yaml_shape,
    load_params,
    parse_params,
    read_params_text,
)
from panier.core.config.monitoring import (
    AffinityParams,
    CurrentWindowParams,
    DriftFlag,
    DriftParams,
    GateParams,
)
from panier.core.config.pipeline import (
    EvaluateParams,
    SparkParams,
    TrainParams,
    ValidateParams,
    WindowParams,
)

__all__ = [
    "DEFAULT_PLANTED_RULES",
    "FORMATS",
    "MAPPING_PRESETS",
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_GENERATED_INVOICES",
    "MAX_GENERATED_LINES",
    "MAX_PARAMS_BYTES",
    "PARAMS_FILE",
    "SOURCES",
    "AffinityParams",
    "BasketParams",
    "CsvParams",
    "CurrentWindowParams",
    "DriftFlag",
    "DriftParams",
    "EvaluateParams",
    "GateParams",
    "GeneratorParams",
    "HttpParams",
    "IngestParams",
    "MappingParams",
    "Params",
    "ParsingParams",
    "PlantedDrift",
    "PlantedRule",
    "PositiveShare",
    "S3Params",
    "Section",
    "Share",
    "SparkParams",
    "SqlParams",
    "TrainParams",
    "ValidateParams",
    "WindowParams",
    "check_yaml_shape",
    "load_params",
    "parse_params",
    "read_params_text",
]
