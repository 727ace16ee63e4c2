"""Command line: ``python -m panier_service`` (or ``panier-serve``) starts the service.

    panier-serve                       # the current model, ./models, on :8000
    panier-serve --model /srv/model    # another folder
    panier-serve --registry . --stage prod   # the prod version in the registry
    panier-serve --registry . --poll-seconds 30  # ... and follow the stage
    PANIER_SERVICE_PORT=9000 panier-serve --request-log -   # settings from the environment

Every flag has an environment variable, ``PANIER_SERVICE_`` and the flag's name
(``--max-items``: ``PANIER_SERVICE_MAX_ITEMS``); a flag given wins over its variable.
Reload without a restart: ``kill -HUP <pid>`` (or ``POST /admin/reload`` with the token
from ``PANIER_SERVICE_ADMIN_TOKEN``) re-reads the folder, or re-resolves the stage in the
registry.
"""

from __future__ import annotations

import argparse
import logging
import sys
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from panier_service.app import create_app
from panier_service.artifact import ModelError
from panier_service.registry import ModelSource
from panier_service.settings import Settings, env_name, is_flag, schema_extra


def _argument(parser: argparse._ActionsContainer, name: str) -> None:
    """The flag of settings field ``name``: no default of its own (an absent flag leaves the
    environment's value or the field's default), the field's default shown in the help."""
    field = Settings.model_fields[name]
    option = "--" + name.replace("_", "-")
    default = "" if field.default_factory else f" (default: {field.default})"
    help_text = f"{field.description}{default} [{env_name(name)}]"
    if field.annotation is bool:
        parser.add_argument(
            option, action=argparse.BooleanOptionalAction, default=None, help=help_text
        )
        return
    kind = _scalar(field.annotation)
    choices = typing.get_args(kind) if typing.get_origin(kind) is typing.Literal else None
    parser.add_argument(
        option,
        default=None,
        choices=choices,
        # typeshed's add_argument does not take type=None, argparse's own default
        type=None if choices else kind,  # type: ignore[arg-type]
        metavar=None if choices else name.split("_")[-1].upper(),
        help=help_text,
    )


def _scalar(annotation: Any) -> Any:
    """``Path | None`` -> ``Path``."""
    if isinstance(annotation, types.UnionType):
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="panier-serve",
        description=__doc__.split("\n")[0],
        epilog="Every flag can be set by its environment variable, in brackets; a flag wins.",
    )
    groups: dict[str, argparse._ArgumentGroup] = {}
    for name in Settings.model_fields:
        if not is_flag(name):
            continue
        group: str = schema_extra(name).get("group", "options")
        if group not in groups:
            groups[group] = parser.add_argument_group(group)
        _argument(groups[group], name)
    groups["request log"].add_argument(
        "--no-request-log",
        action="store_const",
        const="off",
        dest="request_log",
        help="no request log (as --request-log off)",
    )
    return parser


def load_settings(argv: list[str] | None = None) -> Settings:
    """The settings: defaults, overridden by ``PANIER_SERVICE_*`` variables, overridden by
    the flags in ``argv``. A bad value exits with the parser's usage error."""
    parser = build_parser()
    args = vars(parser.parse_args(argv))
    given = {name: value for name, value in args.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'/'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        parser.error(problems)


def model_source(settings: Settings) -> ModelSource:
    if settings.registry is not None:
        return ModelSource(
            registry=settings.registry,
            artifact=settings.artifact,
            stage=settings.stage,
            cache_dir=settings.cache_dir,
        )
    return ModelSource(path=settings.model or Path("models"))


def main(argv: list[str] | None = None) -> None:
    settings = load_settings(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s panier-service: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        app = create_app(model_source(settings), settings)
    except ModelError as exc:
        print(f"panier-serve: cannot load the model: {exc}", file=sys.stderr)
        sys.exit(2)
    except OSError as exc:  # e.g. the request log's folder is not writable
        print(f"panier-serve: cannot start: {exc}", file=sys.stderr)
        sys.exit(2)

    import uvicorn

    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=settings.access_log,
        log_level="info",
        server_header=False,
    )


if __name__ == "__main__":
    main()
