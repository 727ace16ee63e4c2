"""``panier``: one command for everything a user runs.

    panier stage NAME        run one pipeline stage (what dvc.yaml calls)
    panier check             check params.yaml and the source before `dvc repro`
    panier report            the pull-request comment, as Markdown
    panier remote ...        push, pull and check the DVC remote
    panier registry ...      register, promote, roll back and fetch model versions
    panier gate ...          record the champion; decide whether to propose a challenger
    panier schema accept     make the last observed input schema the reference

Every subcommand takes ``--help`` and then does nothing else. Exit codes: 0 success, 1 an
error (one message on stderr), 2 a usage error, 3 drift found when ``drift.fail_on_drift``
asks the drift-check stage to fail (so CI can tell drift from a crash). Subcommands import
their modules only when they run, so ``panier --help`` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from panier import __version__

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_DRIFT = 0, 1, 2, 3

# Stage name (as in dvc.yaml) -> module with ``main()``; run through stages._runner.
STAGES = {
    "ingest": "panier.stages.ingest.stage",
    "validate": "panier.stages.validate.stage",
    "train": "panier.stages.train.stage",
    "export-pmml": "panier.stages.export_pmml.stage",
    "evaluate": "panier.stages.evaluate.stage",
    "drift-check": "panier.stages.drift_check.stage",
    "affinity": "panier.stages.affinity.stage",
    "gate": "panier.stages.gate.stage",
    "summary": "panier.stages.summary.stage",
}

# Subcommand -> (module, its ``main(argv) -> int``, one line of help). Their own parsers
# read the rest of the command line, so ``panier registry promote --help`` is theirs.
TOOLS = {
    "check": (
        "panier.stages.check_params.check",
        "main",
        "check params.yaml before `dvc repro` (what would hang DVC or make it print a secret)",
    ),
    "report": (
        "panier.ops.pr_report.cli",
        "main",
        "compare the workspace with a base revision and print the pull-request comment",
    ),
    "remote": ("panier.ops.remote.cli", "main", "check, push and pull the DVC remote storage"),
    "registry": (
        "panier.ops.registry.cli",
        "main",
        "model versions and stages: register, promote, show, history, fetch",
    ),
    "gate": (
        "panier.ops.champion",
        "main",
        "champion versus challenger: record the champion before "
        "`dvc repro`, decide whether to propose the new model",
    ),
    "schema": (
        "panier.stages.validate.input_schema",
        "main",
        "accept the last observed input schema as the reference",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="panier",
        description="One command for everything a Panier user runs.",
        epilog="Exit codes: 0 ok, 1 error, 2 usage error, 3 drift found "
        "(drift.fail_on_drift). `panier COMMAND --help` for each command.",
    )
    parser.add_argument("--version", action="version", version=f"panier {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    stage = commands.add_parser(
        "stage",
        help="run one pipeline stage, as dvc.yaml does",
        description="Run one pipeline stage in the current "
        "directory (normally `dvc repro` does this).",
    )
    stage.add_argument(
        "name", choices=list(STAGES), metavar="NAME", help="the stage: " + ", ".join(STAGES)
    )
    for name, (_, _, summary) in TOOLS.items():
        tool = commands.add_parser(name, help=summary, add_help=False)
        tool.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in TOOLS:  # the tool's own parser reads the rest, --help included
        module_name, function, _ = TOOLS[argv[0]]
        tool = getattr(importlib.import_module(module_name), function)
        return int(tool(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    if args.command == "stage":
        from panier.core.runner import run_stage

        module = importlib.import_module(STAGES[args.name])
        run_stage(args.name, module.main, argv=[])
        return EXIT_OK
    raise AssertionError(f"unhandled command {args.command}")  # argparse allows no other


def entry_point() -> None:
    """The ``panier`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
