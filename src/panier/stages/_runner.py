"""Shared start and finish of every stage: logging, timing, and readable failures."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from panier.errors import PanierError


def run_stage(name: str, main: Callable[[], None]) -> None:
    """Run ``main`` as stage ``name``: log its duration, and turn a ``PanierError`` into one
    message on stderr and exit status 1 instead of a traceback."""
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {name}: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr, force=True)
    log = logging.getLogger("panier")
    started = time.perf_counter()
    try:
        main()
    except PanierError as exc:
        print(f"{name} failed: {exc}", file=sys.stderr)
        sys.exit(1)
    log.info("done in %.1f s", time.perf_counter() - started)
