"""The command line shared by the scripts that write a generated file into the repository:
write it, or with ``--check`` only say whether the committed copy is up to date."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_or_check(
    target: Path, build: Callable[[], str], description: str, argv: list[str] | None = None
) -> int:
    """Build the text; write it to ``target`` (exit 0), or with ``--check`` exit 1 when the
    committed ``target`` differs from it."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if the committed file differs from a fresh build",
    )
    args = parser.parse_args(argv)
    text = build()
    name = target.relative_to(ROOT)
    if args.check:
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            print(f"{name} is stale: run python {Path(sys.argv[0]).as_posix()}", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {name} ({len(text.encode()) // 1024} KiB)")
    return 0
