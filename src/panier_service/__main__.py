"""Command line: ``python -m panier_service`` (or ``panier-serve``) starts the service.

    python -m panier_service                       # the current model, ./models, on :8000
    python -m panier_service --model /srv/model    # another folder
    python -m panier_service --registry . --stage prod   # the prod version in the registry
    python -m panier_service --registry . --poll-seconds 30  # ... and follow the stage

Reload without a restart: ``kill -HUP <pid>`` (or ``POST /admin/reload`` with the token
from ``PANIER_ADMIN_TOKEN``) re-reads the folder, or re-resolves the stage in the registry.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from panier_service.app import Settings, create_app
from panier_service.artifact import ModelError
from panier_service.registry import DEFAULT_ARTIFACT, DEFAULT_STAGE, ModelSource, default_cache_dir


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = Settings()
    parser = argparse.ArgumentParser(prog="panier-serve", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    where = parser.add_argument_group("model source (one of)")
    where.add_argument("--model", type=Path, default=None,
                       help="model folder (default: models, the pipeline's train output)")
    where.add_argument("--registry", default=None,
                       help="git repository (path or URL) holding the GTO/DVC model registry")
    where.add_argument("--artifact", default=DEFAULT_ARTIFACT, help="registry artifact name")
    where.add_argument("--stage", default=DEFAULT_STAGE, help="registry stage to serve")
    where.add_argument("--poll-seconds", type=float, default=defaults.poll_seconds,
                       help="with --registry: check the stage this often and swap to the "
                            "version it points at (0: only on SIGHUP or POST /admin/reload)")
    where.add_argument("--cache-dir", type=Path, default=default_cache_dir(),
                       help="where registry versions are fetched to")
    net = parser.add_argument_group("network")
    net.add_argument("--host", default="127.0.0.1")
    net.add_argument("--port", type=int, default=8000)
    net.add_argument("--access-log", action="store_true",
                     help="uvicorn's per-request access log on stdout (off: the request log "
                          "and metrics cover it)")
    limits = parser.add_argument_group("requests")
    limits.add_argument("--max-items", type=int, default=defaults.max_items,
                        help="most distinct items per basket")
    limits.add_argument("--max-k", type=int, default=defaults.max_k)
    limits.add_argument("--default-k", type=int, default=defaults.default_k)
    limits.add_argument("--max-body-bytes", type=int, default=defaults.max_body_bytes)
    limits.add_argument("--unknown-items", choices=("reject", "ignore"),
                        default=defaults.unknown_items,
                        help="items the model does not know (e.g. new products). ignore: "
                             "recommend from the known items, list the unknown ones in the "
                             "answer and the request log; reject: 422 naming them")
    logs = parser.add_argument_group("request log")
    logs.add_argument("--request-log", type=Path, default=defaults.log_path,
                      help="JSON Lines file; rotated files get .1, .2, ...")
    logs.add_argument("--no-request-log", action="store_true")
    logs.add_argument("--request-log-max-bytes", type=int, default=defaults.log_max_bytes)
    logs.add_argument("--request-log-backups", type=int, default=defaults.log_backups)
    args = parser.parse_args(argv)
    if args.model is not None and args.registry is not None:
        parser.error("give either --model or --registry, not both")
    if args.poll_seconds < 0:
        parser.error("--poll-seconds must be 0 (off) or more")
    if args.request_log_backups < 1:
        parser.error("--request-log-backups must be at least 1")
    if not 1 <= args.default_k <= args.max_k:
        parser.error("--default-k must be between 1 and --max-k")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s panier-service: %(message)s", datefmt="%H:%M:%S")
    if args.registry is not None:
        source = ModelSource(registry=args.registry, artifact=args.artifact, stage=args.stage,
                             cache_dir=args.cache_dir)
    else:
        source = ModelSource(path=args.model or Path("models"))
    settings = Settings(
        max_items=args.max_items, max_k=args.max_k, default_k=args.default_k,
        max_body_bytes=args.max_body_bytes, unknown_items=args.unknown_items,
        log_path=None if args.no_request_log else args.request_log,
        log_max_bytes=args.request_log_max_bytes, log_backups=args.request_log_backups,
        admin_token=os.environ.get("PANIER_ADMIN_TOKEN") or None,
        poll_seconds=args.poll_seconds,
    )
    try:
        app = create_app(source, settings)
    except ModelError as exc:
        print(f"panier-serve: cannot load the model: {exc}", file=sys.stderr)
        sys.exit(2)
    except OSError as exc:  # e.g. the request log's folder is not writable
        print(f"panier-serve: cannot start: {exc}", file=sys.stderr)
        sys.exit(2)

    import uvicorn

    uvicorn.run(app, host=args.host, port=args.port, access_log=args.access_log,
                log_level="info", server_header=False)


if __name__ == "__main__":
    main()
