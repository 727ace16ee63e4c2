"""Shared start and finish of every stage: logging, timing, and readable failures."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence

from panier.core.errors import DriftDetected, PanierError

EXIT_ERROR, EXIT_USAGE, EXIT_DRIFT = 1, 2, 3


def run_stage(name: str, main: Callable[[], None], argv: Sequence[str] | None = None) -> None:
    """Run ``main`` as stage ``name``: log its duration, and turn a ``PanierError`` into one
    message on stderr and exit status 1 (3 for drift found) instead of a traceback.

    A stage takes no arguments: everything comes from params.yaml. ``--help`` prints what
    the stage does and exits without touching a file; anything else is a usage error."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv:
        doc = (sys.modules[main.__module__].__doc__ or "").strip()
        if argv[0] in {"-h", "--help"}:
            print(
                f"usage: panier stage {name}\n\n{doc}\n\nReads params.yaml and the stage's "
                "inputs in the current directory, as declared in dvc.yaml; takes no "
                "arguments. Usually run by `dvc repro`."
            )
            sys.exit(0)
        print(
            f"usage: panier stage {name} (takes no arguments; settings live in params.yaml)",
            file=sys.stderr,
        )
        sys.exit(EXIT_USAGE)
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s {name}: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
        force=True,
    )
    log = logging.getLogger("panier")
    started = time.perf_counter()
    try:
        main()
    except DriftDetected as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        sys.exit(EXIT_DRIFT)
    except PanierError as exc:
        print(f"{name} failed: {exc}", file=sys.stderr)
        sys.exit(EXIT_ERROR)
    log.info("done in %.1f s", time.perf_counter() - started)
