"""``panier remote``: check, push and pull from the command line; every failure ends in one
line on stderr and exit code 1."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from panier.ops.remote.checks import check
from panier.ops.remote.config import RemoteError
from panier.ops.remote.objects import missing_in_remote
from panier.ops.remote.transfer import pull, push


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="panier remote",
        description="Check, push and pull the DVC remote; failures end in one line with the fix.",
    )
    parser.add_argument("-r", "--remote", help="remote name (default: core.remote)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "check",
        help="can the remote be reached with these credentials? "
        "which outputs of this workspace does it lack?",
    )
    push_cmd = commands.add_parser("push", help="dvc push --run-cache, completed and verified")
    push_cmd.add_argument("targets", nargs="*", help="output paths or .dvc files (default: all)")
    push_cmd.add_argument("-j", "--jobs", type=int)
    push_cmd.add_argument(
        "--no-run-cache", action="store_true", help="push the workspace's outputs only"
    )
    pull_cmd = commands.add_parser("pull", help="dvc pull; names missing or corrupted files")
    pull_cmd.add_argument("targets", nargs="*", help="output paths or .dvc files (default: all)")
    pull_cmd.add_argument("-j", "--jobs", type=int)
    pull_cmd.add_argument("--run-cache", action="store_true", help="also fetch the run cache")
    return parser


def main(argv: list[str] | None = None, root: Path | None = None) -> int:
    """Run ``panier remote`` with ``argv`` in ``root`` (default: here); returns the exit code."""
    args = _parser().parse_args(argv)
    root = root or Path.cwd()
    try:
        if args.command == "check":
            remote = check(root, args.remote)
            missing = missing_in_remote(root, remote)
            print(f"{remote.where}: reachable")
            if missing:
                names = ", ".join(sorted({o.label for o in missing}))
                print(f"not pushed yet ({len(missing)} objects): {names}")
            else:
                print("every output of this workspace is in the remote")
        elif args.command == "push":
            report = push(
                root, args.remote, args.jobs, run_cache=not args.no_run_cache, targets=args.targets
            )
            if report.dvc_output:
                print(report.dvc_output)
            if report.completed:
                print(
                    f"{len(report.completed)} more objects pushed (run-cache outputs and "
                    "objects the remote had lost)"
                )
            scope = " ".join(args.targets) if args.targets else "this workspace"
            print(
                f"the remote holds all {report.objects} objects of {scope}"
                + (" and its run cache" if not args.no_run_cache else "")
            )
        elif args.command == "pull":
            print(
                pull(root, args.remote, args.jobs, run_cache=args.run_cache, targets=args.targets)
            )
    except RemoteError as exc:
        print(f"{args.command} failed: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    except Exception as exc:  # DVC's own errors (not a repo, locked, bad config): one line
        print(
            f"{args.command} failed: {_one_line(str(exc)) or type(exc).__name__}", file=sys.stderr
        )
        return 1
    return 0
