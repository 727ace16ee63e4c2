"""Reading ``params.yaml``: the whole schema (``Params``), and a size-, shape- and type-checked
load that reports every bad key with its fix."""

from __future__ import annotations

import stat
from pathlib import Path

import yaml
from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
)

from panier.core.config.base import Section
from panier.core.config.ingest import IngestParams
from panier.core.config.monitoring import AffinityParams, DriftParams, GateParams
from panier.core.config.pipeline import EvaluateParams, TrainParams, ValidateParams, WindowParams
from panier.core.errors import ConfigError

PARAMS_FILE = Path("params.yaml")


class Params(Section):
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
