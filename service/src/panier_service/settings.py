"""The settings of one service instance: defaults, then ``PANIER_SERVICE_*`` environment
variables, then command-line flags (``__main__``), the later winning.

Every field is one environment variable (``max_items``: ``PANIER_SERVICE_MAX_ITEMS``) and,
unless marked ``flag=False``, one flag (``--max-items``). The admin token is an environment
variable only (``PANIER_SERVICE_ADMIN_TOKEN``, or the older ``PANIER_ADMIN_TOKEN``): a flag
would show it in the process list. ``docs/reference/service-settings.md`` is generated from
this model (``scripts/service_settings_reference.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from panier_service.registry import DEFAULT_ARTIFACT, DEFAULT_STAGE, default_cache_dir

ENV_PREFIX = "PANIER_SERVICE_"
STDOUT: Final = "-"  # request_log: the JSON lines on standard output
OFF = ("", "off", "none")  # request_log: no request log


def flag(group: str, **extra) -> dict:
    """``json_schema_extra`` of a field: its flag's group in ``--help``."""
    return {"group": group, **extra}


class Settings(BaseSettings):
    """Where the model comes from, where to listen, the request limits and the request log."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="forbid", populate_by_name=True
    )

    # --- model source (one of model and registry) ---
    model: Path | None = Field(
        None,
        description="model folder (default: models, the pipeline's train output)",
        json_schema_extra=flag("model source"),
    )
    registry: str | None = Field(
        None,
        description="git repository (path or URL) holding the GTO/DVC model registry; "
        "needs the registry extra (panier-service[registry])",
        json_schema_extra=flag("model source"),
    )
    artifact: str = Field(
        DEFAULT_ARTIFACT,
        description="registry artifact name",
        json_schema_extra=flag("model source"),
    )
    stage: str = Field(
        DEFAULT_STAGE, description="registry stage to serve", json_schema_extra=flag("model source")
    )
    # A service on a registry stage checks it every poll_seconds and swaps when it points
    # at another version.
    poll_seconds: float = Field(
        0.0,
        ge=0,
        description="with registry: check the stage this often and swap to the "
        "version it points at (0: only on SIGHUP or POST /admin/reload)",
        json_schema_extra=flag("model source"),
    )
    cache_dir: Path = Field(
        default_factory=default_cache_dir,
        description="where registry versions are fetched to (default: "
        "$XDG_CACHE_HOME/panier-service, else ~/.cache/panier-service)",
        json_schema_extra=flag("model source"),
    )

    # --- network ---
    host: str = Field(
        "127.0.0.1",
        description="address to listen on (0.0.0.0: every interface, as in a container)",
        json_schema_extra=flag("network"),
    )
    port: int = Field(
        8000, ge=0, le=65535, description="port to listen on", json_schema_extra=flag("network")
    )
    access_log: bool = Field(
        False,
        description="uvicorn's per-request access log on stdout (off: the request log "
        "and metrics cover it)",
        json_schema_extra=flag("network"),
    )

    # --- requests ---
    max_items: int = Field(
        100, ge=1, description="most distinct items per basket", json_schema_extra=flag("requests")
    )
    max_k: int = Field(
        50,
        ge=1,
        description="most recommendations a request may ask for",
        json_schema_extra=flag("requests"),
    )
    default_k: int = Field(
        5,
        ge=1,
        description="recommendations when a request gives no k",
        json_schema_extra=flag("requests"),
    )
    max_item_code_length: int = Field(
        64, ge=1, description="longest item code accepted", json_schema_extra=flag("requests")
    )
    max_body_bytes: int = Field(
        64 * 1024,
        ge=1,
        description="largest request body accepted",
        json_schema_extra=flag("requests"),
    )
    # ignore: new products are a normal part of retail traffic.
    unknown_items: Literal["reject", "ignore"] = Field(
        "ignore",
        description="items the model does not know (e.g. new products). ignore: "
        "recommend from the known items, list the unknown ones in the "
        "answer and the request log; reject: 422 naming them",
        json_schema_extra=flag("requests"),
    )

    # --- request log ---
    request_log: str = Field(
        "logs/requests.jsonl",
        description="JSON Lines file (rotated files get .1, .2, ...); "
        "- for standard output; off for none",
        json_schema_extra=flag("request log"),
    )
    request_log_max_bytes: int = Field(
        10 * 1024 * 1024,
        ge=0,
        description="rotate the file past this size (0: never)",
        json_schema_extra=flag("request log"),
    )
    request_log_backups: int = Field(
        10, ge=1, description="rotated files kept", json_schema_extra=flag("request log")
    )

    # --- administration (environment only) ---
    admin_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "admin_token", f"{ENV_PREFIX}ADMIN_TOKEN", "PANIER_ADMIN_TOKEN"
        ),
        description="enables POST /admin/reload with Authorization: Bearer <token>; "
        "PANIER_ADMIN_TOKEN is read too",
        json_schema_extra={"flag": False},
    )
    reload_on_sighup: bool = Field(
        True, description="reload the model on SIGHUP", json_schema_extra={"flag": False}
    )

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.model is not None and self.registry is not None:
            raise ValueError("give either model or registry, not both")
        if self.default_k > self.max_k:
            raise ValueError("default_k must be between 1 and max_k")
        return self

    @property
    def log_to(self) -> Path | Literal["-"] | None:
        """Where the request log goes: a file, ``"-"`` (standard output) or nowhere."""
        if self.request_log.strip().lower() in OFF:
            return None
        return STDOUT if self.request_log == STDOUT else Path(self.request_log)

    @property
    def token(self) -> str | None:
        return self.admin_token.get_secret_value() if self.admin_token else None


def env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def schema_extra(field: str) -> dict[str, Any]:
    """A setting's ``json_schema_extra``: its ``flag`` and ``group`` (a dict on every field)."""
    extra = Settings.model_fields[field].json_schema_extra
    return extra if isinstance(extra, dict) else {}


def is_flag(field: str) -> bool:
    return bool(schema_extra(field).get("flag", True))
