"""The configuration schema: the one place that knows what ``params.yaml`` may hold.

``load_params`` reads the file and returns typed, validated settings; a wrong key or
value is reported as a short message naming the key path, the value and the fix.
"""

from __future__ import annotations

import codecs
import re
import stat
from datetime import date
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from panier.core import schema as S
from panier.core.errors import ConfigError

PARAMS_FILE = Path("params.yaml")

Share = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveShare = Annotated[float, Field(gt=0.0, le=1.0)]


class _Section(BaseModel):
    # Unknown keys are typos far more often than intent: reject them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlantedRule(_Section):
    """An association the generator plants: baskets holding ``antecedent`` also hold
    ``consequent`` with probability ``confidence``."""

    antecedent: list[str] = Field(min_length=1)
    consequent: str
    confidence: PositiveShare
    antecedent_share: PositiveShare = Field(
        description="share of baskets into which the antecedent items are placed together"
    )

    @model_validator(mode="after")
    def _consequent_not_in_antecedent(self) -> PlantedRule:
        if self.consequent in self.antecedent:
            raise ValueError(f"consequent {self.consequent!r} is also in the antecedent")
        return self


class PlantedDrift(_Section):
    """Changes the generator applies to its last ``window_days`` days (the current window)."""

    window_days: int = Field(
        60, ge=1, description="the last days of the generated span, which get the changes below"
    )
    price_shift: float = Field(0.0, gt=-1.0, description="relative change of all prices")
    boosted_item_rank: int | None = Field(None, ge=1, description="popularity rank of the item")
    boost_factor: float = Field(1.0, gt=0.0, description="popularity multiplier of that item")
    weakened_rule: int | None = Field(None, ge=0, description="index into planted_rules")
    weakened_confidence: PositiveShare = Field(
        0.6, description="the weakened rule's confidence in that window"
    )
    basket_size_shift: float = Field(0.0, ge=0.0, description="extra items per basket on average")
    new_country: str = Field("Atlantis", description="a country never seen before the window")
    new_country_share: Share = Field(0.0, description="share of the window's invoices from it")
    missing_column: Literal["customer_id", "description", "country"] = Field(
        "description", description="the column that goes missing more often"
    )
    missing_share: Share = Field(0.0, description="its share of missing values in the window")


#: Generator sizes are bounded here, so that a typo (``n_invoices: 1e13``) is a message naming
#: the key, not a ``MemoryError``: 20 million line items take about 4 GB while generated.
MAX_GENERATED_INVOICES = 5_000_000
MAX_GENERATED_LINES = 20_000_000


# The associations the default data is generated with (params.yaml shows the same).
DEFAULT_PLANTED_RULES = [
    {"antecedent": ["10040"], "consequent": "10055", "confidence": 0.8, "antecedent_share": 0.05},
    {
        "antecedent": ["10070", "10085"],
        "consequent": "10100",
        "confidence": 0.7,
        "antecedent_share": 0.03,
    },
    {"antecedent": ["10120"], "consequent": "10130", "confidence": 0.6, "antecedent_share": 0.04},
    {"antecedent": ["10150"], "consequent": "10160", "confidence": 0.9, "antecedent_share": 0.03},
    {"antecedent": ["10200"], "consequent": "10210", "confidence": 0.5, "antecedent_share": 0.05},
]


class GeneratorParams(_Section):
    """The embedded default source: a seeded generator of retail line items."""

    seed: int = Field(42, description="seed of every random draw: equal params give equal data")
    n_invoices: int = Field(
        20_000, ge=10, le=MAX_GENERATED_INVOICES, description="invoices (baskets) to generate"
    )
    n_items: int = Field(
        500,
        ge=10,
        le=1_000_000,
        description="catalogue size; item codes run from 10001 (most popular) upward",
    )
    n_customers: int = Field(4_000, ge=1, le=10_000_000, description="distinct customers")
    start_date: date = Field(date(2025, 1, 1), description="the first day of the invoices")
    days: int = Field(365, ge=2, le=36_500, description="time span of the invoices")
    mean_basket_size: float = Field(
        6.0, ge=1.0, le=1_000.0, description="mean distinct items per basket"
    )
    popularity_skew: float = Field(
        0.7, ge=0.0, description="Zipf exponent of item popularity: higher, fewer items sell most"
    )
    countries: dict[str, PositiveShare] = Field(
        default_factory=lambda: {
            "United Kingdom": 0.85,
            "Germany": 0.05,
            "France": 0.04,
            "EIRE": 0.03,
            "Netherlands": 0.03,
        },
        description="country of each customer, by weight",
    )
    guest_share: Share = Field(0.02, description="share of invoices with no customer id")
    description_missing_share: Share = Field(
        0.01, description="share of lines without a description"
    )
    dirty_share: Share = Field(0.01, description="share of extra rows with real-world dirt")
    planted_rules: list[PlantedRule] = Field(
        default_factory=lambda: [PlantedRule(**rule) for rule in DEFAULT_PLANTED_RULES],
        description="associations planted in the data: the ground truth mining must find",
    )
    drift: PlantedDrift = Field(default_factory=PlantedDrift)

    @model_validator(mode="after")
    def _check_references(self) -> GeneratorParams:
        lines = self.n_invoices * self.mean_basket_size
        if lines > MAX_GENERATED_LINES:
            raise ValueError(
                f"n_invoices x mean_basket_size is about {lines:,.0f} line items, more than "
                f"the generator makes ({MAX_GENERATED_LINES:,}, a few GB of memory): lower "
                "n_invoices or mean_basket_size"
            )
        if self.drift.weakened_rule is not None and self.drift.weakened_rule >= len(
            self.planted_rules
        ):
            raise ValueError(
                f"drift.weakened_rule is {self.drift.weakened_rule} but only "
                f"{len(self.planted_rules)} planted_rules exist (indices start at 0)"
            )
        if self.drift.boosted_item_rank is not None and self.drift.boosted_item_rank > self.n_items:
            raise ValueError(f"drift.boosted_item_rank must be <= n_items ({self.n_items})")
        if self.drift.window_days >= self.days:
            raise ValueError("drift.window_days must be shorter than days")
        return self


SOURCES = ("generator", "file", "url", "s3", "remote", "sql")
FORMATS = ("auto", "csv", "parquet", "basket_list", "fimi")
MAPPING_PRESETS = ("auto", "canonical", "retail_export", "retail_export_ii", "basket_list", "fimi")


def _known_encoding(name: str) -> str:
    try:
        codecs.lookup(name)
    except LookupError:
        raise ValueError(f"unknown text encoding {name!r} (e.g. utf-8, latin-1, cp1252)") from None
    return name


class MappingParams(_Section):
    """Which source column feeds each canonical column."""

    preset: Literal[MAPPING_PRESETS] = Field(
        "auto", description="a shipped mapping; auto: basket_list/fimi by format, else canonical"
    )
    columns: dict[str, str | None] = Field(
        default_factory=dict,
        description="canonical column -> source column (null: the source has no such column); "
        "overrides the preset",
    )

    @field_validator("columns")
    @classmethod
    def _canonical_keys(cls, columns: dict[str, str | None]) -> dict[str, str | None]:
        unknown = sorted(set(columns) - set(S.COLUMNS))
        if unknown:
            raise ValueError(
                f"unknown canonical column(s) {unknown}: keys must be among "
                f"{S.COLUMNS}, values the source's column names"
            )
        return columns


class CsvParams(_Section):
    """How a delimited text file (format csv) is split into fields."""

    delimiter: str = Field(
        ",", min_length=1, max_length=1, description="field separator (.tsv files use tabs)"
    )
    quote_char: str = Field(
        '"',
        min_length=1,
        max_length=1,
        description="quote around fields that hold the delimiter or line breaks",
    )


class ParsingParams(_Section):
    """How text values become timestamps and numbers, whatever the source."""

    timestamp_format: str | None = Field(
        None, description="strftime format, e.g. '%d/%m/%Y %H:%M'; null: ISO 8601, else inferred"
    )
    dayfirst: bool = Field(
        False,
        description="when inferring: 01/02 is 1 February (a "
        "first field above 12 anywhere decides day-first)",
    )
    decimal: Literal[".", ","] = Field(".", description="the decimal separator of text numbers")
    epoch_unit: Literal["auto", "s", "ms", "us", "ns"] = Field(
        "auto",
        description="unit of integer timestamps; auto: decided from the magnitude of "
        "all values (seconds, milli-, micro- or nanoseconds)",
    )


class BasketParams(_Section):
    """Basket lists and FIMI files: one basket per line, no times, so times are spread evenly."""

    delimiter: str = Field(
        ",", min_length=1, description="item separator of a basket_list; FIMI splits on whitespace"
    )
    strip_items: bool = Field(False, description="strip spaces around each item")
    start_date: date = Field(date(2025, 1, 1), description="the day of the first basket")
    days: int = Field(365, ge=2, description="the baskets are spread evenly over these days")


class HttpParams(_Section):
    timeout_seconds: float = Field(60.0, gt=0, description="longest wait for any one read")
    max_seconds: float = Field(600.0, gt=0, description="longest time for the whole download")
    headers_from_env: dict[str, str] = Field(
        default_factory=dict,
        description="request header -> environment variable holding its value (tokens)",
    )


class S3Params(_Section):
    endpoint_url: str | None = Field(
        None, description="S3-compatible store; null: AWS_ENDPOINT_URL or AWS itself"
    )
    region: str | None = Field(None, description="the bucket's region; null: the default chain's")


class SqlParams(_Section):
    url: str | None = Field(
        None,
        description="SQLAlchemy URL; ${VAR} is read from the environment; "
        "null: the SQLite file at ingest.path",
    )
    table: str | None = Field(None, description="the table to read (or give query)")
    query: str | None = Field(None, description="the SELECT to read (or give table)")
    order_by: list[str] = Field(
        default_factory=list, description="columns of a table read in this order"
    )
    connect_timeout_seconds: int = Field(
        30,
        ge=1,
        description="PostgreSQL: give up connecting after this long (a server that "
        "is down or unreachable fails instead of hanging)",
    )
    statement_timeout_seconds: float | None = Field(
        3600.0,
        gt=0,
        description="PostgreSQL: the server cancels the read after this long; null: no limit",
    )


class IngestParams(_Section):
    source: Literal[SOURCES] = Field(
        "generator",
        description="where line items come from: generator, file, url, s3, "
        "remote or sql (docs/how-to/own-data.md)",
    )
    path: str = Field(
        "data/source",
        description="the file, http(s) URL, s3:// object or remote:// path read; dvc.yaml "
        "declares it as a dependency of ingest, so that DVC notices when it changes",
    )
    format: Literal[FORMATS] = Field(
        "auto",
        description="csv, parquet, basket_list or fimi; auto goes by the file name "
        "(.csv, .tsv, .txt, .parquet, .dat; .gz, .bz2, .xz are read too)",
    )
    encoding: str = Field(
        "utf-8",
        description="text encoding of CSV, basket-list and FIMI "
        "files (byte-order marks are checked)",
    )
    max_source_mb: float = Field(
        1024.0,
        gt=0,
        description="largest source read, in MB after decompression (a file, "
        "download or object); larger ones stop with a message",
    )
    mapping: MappingParams = Field(default_factory=MappingParams)
    csv: CsvParams = Field(default_factory=CsvParams)
    parsing: ParsingParams = Field(default_factory=ParsingParams)
    baskets: BasketParams = Field(default_factory=BasketParams)
    http: HttpParams = Field(default_factory=HttpParams)
    s3: S3Params = Field(default_factory=S3Params)
    sql: SqlParams = Field(default_factory=SqlParams)
    generator: GeneratorParams = Field(default_factory=GeneratorParams)

    _check_encoding = field_validator("encoding")(_known_encoding)

    @model_validator(mode="after")
    def _source_matches_path(self) -> IngestParams:
        path = self.path.strip()
        if not path:
            raise ValueError(
                "ingest.path is empty: set it to the file, folder or URL to read "
                "(data/source for the generator, which reads nothing)"
            )
        is_url = "://" in path
        if self.source == "url" and not path.lower().startswith(("http://", "https://")):
            raise ValueError(f"source url needs path to be an http(s):// URL, got {path!r}")
        if self.source == "s3" and not path.startswith("s3://"):
            raise ValueError(f"source s3 needs path to be s3://bucket/key, got {path!r}")
        if self.source == "remote" and not path.startswith("remote://"):
            raise ValueError(
                f"source remote needs path to be remote://<dvc remote name>/<path>, got {path!r}"
            )
        if re.match(r"^[a-z][a-z0-9+.-]*://[^/?#]*@", path, re.IGNORECASE) or re.search(
            r"[?&](?:[\w.-]*(?:token|key|secret|signature|sig|password|passwd|pwd|auth|"
            r"credential)[\w.-]*)=",
            path,
            re.IGNORECASE,
        ):
            # dvc.yaml declares the path as a dependency: DVC would print it in its errors and
            # dvc.lock (in git) would record it. The value is never repeated in this message.
            raise ValueError(
                "ingest.path must not hold credentials (user:password@, a token "
                "before @, or a token, key or signature in the query string); "
                "use ingest.http.headers_from_env, or a DVC remote configured "
                "with --local (source: remote)"
            )
        if self.source == "file" and is_url:
            raise ValueError(
                f"source file needs a local path, got {path!r}: for URLs use source url or s3"
            )
        if self.source == "sql":
            password = re.match(r"^[^:/]+://[^/@:]*:([^/@]*)@", self.sql.url or "")
            if password and not re.fullmatch(r"\$\{\w+\}", password.group(1)):
                raise ValueError(
                    "sql.url holds a password, which would end up in git: write "
                    "${SOME_VARIABLE} instead and set that environment variable"
                )
            if (self.sql.table is None) == (self.sql.query is None):
                raise ValueError("source sql needs exactly one of sql.table and sql.query")
            if self.sql.order_by and self.sql.query is not None:
                raise ValueError("sql.order_by applies to sql.table; put ORDER BY in the query")
            if self.format not in ("auto",):
                raise ValueError("format applies to files; leave it auto for source sql")
        return self


class ValidateParams(_Section):
    max_rejected_share: Share = Field(
        0.05, description="the stage fails when more than this share of rows is rejected"
    )
    max_basket_items: int | None = Field(
        None,
        ge=1,
        description="invoices with more distinct items are rejected; null: none "
        "are (big wholesale invoices are real sales: train.max_basket_items keeps them out of "
        "mining only)",
    )
    non_product_codes: list[str] = Field(
        default_factory=lambda: ["POST", "DOT", "M", "C2", "BANK CHARGES", "AMAZONFEE", "D", "S"],
        description="item codes that are postage, fees or adjustments, not products",
    )
    cancelled_prefix: str = Field("C", description="invoice ids starting with it are cancellations")
    max_timestamp: date | None = Field(
        None, description="rows after this date are rejected as future; null means today"
    )
    non_product_pattern: str | None = Field(
        None, description="regular expression: matching item codes are fees, postage, etc."
    )
    min_timestamp: date | None = Field(
        None, description="rows before this date are rejected as too old; null: no limit"
    )
    max_quantity: int | None = Field(
        10_000, ge=1, description="larger quantities are rejected as implausible; null: no limit"
    )
    max_rejected_share_by_reason: dict[str, Share] = Field(
        default_factory=dict,
        description="reason code -> its own limit; such reasons do not count towards "
        "max_rejected_share",
    )
    on_schema_change: Literal["warn", "fail"] = Field(
        "warn", description="when the input's columns differ from data/reference_schema.json"
    )

    @field_validator("non_product_pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return pattern


class WindowParams(_Section):
    """Time windows, counted back from the newest validated timestamp."""

    current_days: int = Field(60, ge=1, description="latest period: the drift-check window")
    holdout_days: int = Field(30, ge=1, description="period before it: the evaluation window")


class SparkParams(_Section):
    """Where the ``spark`` engine runs: ``local[*]`` on this machine, or a cluster's master URL
    (``spark://host:7077``, ``yarn``, ``k8s://https://host:443``)."""

    master: str = Field(
        "local[*]", min_length=1, description="local[*] (this machine) or a cluster's master URL"
    )
    conf: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="extra Spark settings, e.g. spark.executor.memory"
    )


class TrainParams(_Section):
    min_support: PositiveShare = Field(
        0.005, description="an itemset is frequent in at least ceil(min_support x baskets) baskets"
    )
    min_confidence: PositiveShare = Field(0.3, description="least confidence of a rule")
    max_len: int | None = Field(
        3, ge=2, description="most items in a rule, antecedent plus consequent; null: no limit"
    )
    max_basket_items: int | None = Field(
        100,
        ge=2,
        description="baskets with more distinct items are left out of mining (they "
        "stay in evaluation and drift-check, and are counted in metrics/train.json); null: "
        "mine every basket",
    )
    max_itemsets: int = Field(
        1_000_000,
        ge=1,
        le=100_000_000,
        description="mining stops with a message, before it "
        "starts where an estimate allows, when it would find more frequent itemsets",
    )
    # How to mine, not what: every engine gives identical itemsets and rules.
    engine: Literal["auto", "mlxtend", "pyfim", "spark"] = Field(
        "auto",
        description="how to mine (identical results): auto picks pyfim when installed, "
        "else mlxtend",
    )
    spark: SparkParams = Field(default_factory=SparkParams)

    #: Keys that choose how the model is computed and never change it: kept out of the model
    #: card, so that the card (a DVC output) is identical whichever engine ran.
    #: ``max_itemsets`` is a guard: it decides whether mining runs, never what it finds.
    EXECUTION_KEYS: ClassVar[frozenset[str]] = frozenset({"engine", "spark", "max_itemsets"})

    def model_settings(self) -> dict:
        """The keys that determine the model (everything but ``EXECUTION_KEYS``)."""
        return self.model_dump(exclude=set(self.EXECUTION_KEYS))


class EvaluateParams(_Section):
    ks: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [1, 3, 5, 10], description="list lengths scored"
    )
    primary_k: int = Field(5, ge=1, description="the k of the headline figures")
    seed: int = Field(7, description="seed of the hidden item drawn from each basket")

    @model_validator(mode="after")
    def _primary_in_ks(self) -> EvaluateParams:
        if self.primary_k not in self.ks:
            raise ValueError(f"primary_k ({self.primary_k}) must be one of ks {self.ks}")
        return self


class CurrentWindowParams(_Section):
    """What drift-check compares with the training window."""

    source: Literal["window", "lines", "requests"] = Field(
        "window",
        description="window: the last windows.current_days of validated data; "
        "lines: a line-item file (Parquet or CSV, canonical columns); requests: request logs "
        "of the serving application (JSON Lines)",
    )
    path: str | None = Field(
        None, description="the file (lines) or the file or glob (requests) to read"
    )
    days: int | None = Field(
        None, ge=1, description="keep only the last days of the file(s); null keeps all"
    )
    max_rejected_share: Share = Field(
        0.05, description="the stage fails when more of the file's rows are unusable"
    )

    @model_validator(mode="after")
    def _path_matches_source(self) -> CurrentWindowParams:
        if self.source == "window" and self.path is not None:
            raise ValueError(
                "path is only read when source is lines or requests; remove it or set source"
            )
        if self.source != "window" and not self.path:
            raise ValueError(f"source {self.source} needs a path (a file or a glob)")
        return self


DriftFlag = Literal["data_drift", "concept_drift", "retrain_recommended"]


class DriftParams(_Section):
    fdr: PositiveShare = Field(0.025, description="false discovery rate for Benjamini-Hochberg")
    min_effect_numeric: float = Field(
        0.03,
        ge=0,
        description="smallest Wasserstein / reference std worth reporting; the "
        "training window's own variability raises it per test (noise_windows)",
    )
    min_effect_categorical: float = Field(
        0.03,
        ge=0,
        description="smallest Jensen-Shannon distance (in excess of sampling "
        "noise) worth reporting",
    )
    min_effect_share: float = Field(
        0.03,
        ge=0,
        description="smallest Cohen's h of a share (items, rules, missing values, "
        "model metrics) worth reporting",
    )
    min_effect_confidence: float = Field(
        0.05, ge=0, description="smallest absolute change of a rule's confidence worth reporting"
    )
    noise_windows: int = Field(
        20,
        ge=0,
        description="pseudo-current windows cut from the training window to "
        "measure what it does on its own; each test's floor is at least the largest effect "
        "among them (0: params floors only)",
    )
    fail_on_drift: bool | DriftFlag = Field(
        False, description="true: any drift fails the stage; or the flag that fails it"
    )
    current: CurrentWindowParams = Field(default_factory=CurrentWindowParams)
    bootstrap_samples: int = Field(1000, ge=100, description="resamples of each interval")
    bootstrap_seed: int = Field(0, description="seed of the bootstrap resamples")
    confidence_level: float = Field(0.95, gt=0.5, lt=1.0, description="of every interval")


class AffinityParams(_Section):
    """Product affinity groups (stage ``affinity``): which products to place together."""

    min_pair_support: PositiveShare | None = Field(
        None,
        description="share of training baskets two products must share to be joined; "
        "null: train.min_support",
    )
    min_phi: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="weakest phi coefficient (correlation of two "
        "products' basket columns) kept as an edge; only "
        "positive correlations are ever kept",
    )
    resolution: float = Field(
        1.0, gt=0.0, description="Louvain resolution: higher gives more, smaller groups"
    )
    seed: int = Field(0, description="seed of the Louvain method and of the graph layout")
    min_group_size: int = Field(
        2, ge=1, description="smaller communities are listed as ungrouped (group 0)"
    )
    top_rules: int = Field(5, ge=0, description="strongest rules listed per group")
    neighbours: int = Field(3, ge=0, description="nearest groups listed per group")


class GateParams(_Section):
    """Champion versus challenger (stage ``gate``): the model in a registry stage against the
    model just trained, on the same window, cases and seed; the rule that blesses the
    challenger. docs/how-to/continuous-training.md explains each figure."""

    stage: str = Field(
        "prod",
        min_length=1,
        description="registry stage holding the champion; `panier gate champion` "
        "records its version in data/champion.json before `dvc repro`",
    )
    window: Literal["current", "holdout"] = Field(
        "current",
        description="current: the most recent windows.current_days, which no "
        "model trained on; holdout: the evaluate stage's window",
    )
    hit_rate_margin: float = Field(
        0.01,
        ge=0.0,
        le=1.0,
        description="the challenger passes when the lower bound of the paired bootstrap "
        "interval of hit rate@primary_k (challenger minus champion) is above "
        "minus this margin",
    )
    coverage_margin: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="largest allowed drop of coverage@primary_k (absolute share of the "
        "window's items)",
    )
    no_recommendation_margin: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="largest allowed rise of the share of cases no rule answers (the "
        "popularity fallback alone)",
    )
    bootstrap_samples: int = Field(1000, ge=100, description="paired resamples of the cases")
    bootstrap_seed: int = Field(0, description="seed of the resampling")
    confidence_level: float = Field(0.95, gt=0.5, lt=1.0, description="of the interval")
    fail_on_refusal: bool = Field(
        False,
        description="true: a refused challenger fails the stage (and `dvc repro`); "
        "false: the refusal is written to metrics/gate.json only",
    )


class Params(_Section):
    ingest: IngestParams = Field(default_factory=IngestParams)
    validate_: ValidateParams = Field(default_factory=ValidateParams, alias="validate")
    windows: WindowParams = Field(default_factory=WindowParams)
    train: TrainParams = Field(default_factory=TrainParams)
    evaluate: EvaluateParams = Field(default_factory=EvaluateParams)
    drift: DriftParams = Field(default_factory=DriftParams)
    affinity: AffinityParams = Field(default_factory=AffinityParams)
    gate: GateParams = Field(default_factory=GateParams)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def parse_params(raw: object, source: str = str(PARAMS_FILE)) -> Params:
    """Validate a parsed ``params.yaml`` mapping; raise ``ConfigError`` naming each bad key."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(raw).__name__}")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(part) for part in err["loc"]) or "(top level)"
            value = err.get("input")
            shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
            problems.append(f"  {key}: {err['msg']}{shown}")
        raise ConfigError(
            f"{source} has {len(problems)} invalid setting(s):\n"
            + "\n".join(problems)
            + "\nFix these keys; docs/reference/params.md lists every param and its meaning."
        ) from None


#: ``params.yaml`` is a few kilobytes: more than this is not a settings file.
MAX_PARAMS_BYTES = 1_000_000
#: YAML aliases (``*name``) allowed; the shipped file has none, a bomb has hundreds.
MAX_ALIASES = 50
#: Nesting of mappings and lists; the shipped file nests five deep.
MAX_DEPTH = 20


def read_params_text(path: Path) -> str:
    """The text of ``path`` (``params.yaml``), refused with a ``ConfigError`` when it is not a
    regular file or larger than ``MAX_PARAMS_BYTES``: nothing is read past the limit."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{path} not found: run from the repository root") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path} is not a regular file: it must be the YAML settings file")
    with path.open("rb") as handle:
        data = handle.read(MAX_PARAMS_BYTES + 1)
    if len(data) > MAX_PARAMS_BYTES:
        raise ConfigError(
            f"{path} is larger than {MAX_PARAMS_BYTES:,} bytes: a settings file "
            "is a few kilobytes; restore it from git (git checkout -- params.yaml)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        ) from None


def check_yaml_shape(text: str, source: str) -> None:
    """Raise ``ConfigError`` when ``text`` has more than ``MAX_ALIASES`` aliases or nests
    deeper than ``MAX_DEPTH``. Reads the YAML event stream, which never expands an alias, so
    a billion-laughs document is refused in milliseconds."""
    aliases = depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise ConfigError(
                        f"{source} uses more than {MAX_ALIASES} YAML aliases (*name): a "
                        "settings file needs none, and expanding them can exhaust memory "
                        "(a YAML bomb); write the values out"
                    )
            elif isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ConfigError(
                        f"{source} nests deeper than {MAX_DEPTH} levels: a "
                        "settings file nests a few; restore it from git"
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {' '.join(str(exc).split())}") from None


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    """Read and validate ``params.yaml``."""
    path = Path(path)
    text = read_params_text(path)  # size-limited, a regular file
    check_yaml_shape(text, str(path))  # no YAML bomb reaches the parser below
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    return parse_params(raw, str(path))
