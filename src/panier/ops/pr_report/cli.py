"""``panier report`` (and the ``panier-report`` console script): gather both sides, print
or write the comment. Exit 0, or 1 with one message on stderr."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from panier.core.errors import PanierError
from panier.ops.pr_report.comment import render
from panier.ops.pr_report.gather import gather


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="panier report",
        description="Compare the pipeline outputs in the workspace (run `dvc repro` first) "
        "with a base revision, and print the pull-request comment as Markdown.",
    )
    parser.add_argument(
        "--base",
        default="main",
        help="git revision to compare with (branch, tag, origin/main, sha); default: main",
    )
    parser.add_argument("--base-label", help="name shown for the base (default: --base)")
    parser.add_argument(
        "--head-label", help="name shown for the workspace (default: the current branch)"
    )
    parser.add_argument(
        "--output", "-o", type=Path, help="write the Markdown to this file instead of stdout"
    )
    parser.add_argument(
        "--top", type=int, default=5, help="rules listed per table of rule changes (default: 5)"
    )
    parser.add_argument(
        "--artifacts-url", help="link to the CI run whose artifacts hold the interactive plots"
    )
    parser.add_argument(
        "--repo",
        type=Path,
        default=Path.cwd(),
        help="repository root (default: the current directory)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``panier report`` with ``argv`` (default: the command line); the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="report: %(message)s", stream=sys.stderr)
    try:
        data = gather(
            args.repo.resolve(),
            args.base,
            base_label=args.base_label,
            head_label=args.head_label,
            top=args.top,
            artifacts_url=args.artifacts_url,
        )
        markdown = render(data)
    except PanierError as exc:
        print(f"report failed: {exc}", file=sys.stderr)
        return 1
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(markdown, encoding="utf-8")
    else:
        sys.stdout.write(markdown)
    return 0


def cli() -> None:
    """Entry point of the ``panier-report`` console script."""
    sys.exit(main())
