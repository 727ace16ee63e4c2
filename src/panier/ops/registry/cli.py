"""``panier registry``: show, history, register, promote, rollback and fetch from the
command line; every failure ends in one line on stderr and exit code 1."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from panier.core.errors import PanierError
from panier.ops.registry.artifact import ARTIFACT
from panier.ops.registry.download import fetch
from panier.ops.registry.promotion import promote, register
from panier.ops.registry.stage_rollback import rollback
from panier.ops.registry.versions import history, stages, versions


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, datetime) else str(value)


def _print_show(repo: Path) -> None:
    held = stages(repo)
    rows = versions(repo)
    print(f"{ARTIFACT}: {len(rows)} registered version(s)")
    print(f"{'stage':<10} {'version':<10} {'commit':<8} {'assigned by':<30} {'at':<21} message")
    for stage, found in held.items():
        if found is None:
            print(f"{stage:<10} {'-':<10}")
            continue
        who = f"{found['author']} <{found['author_email']}>"
        print(
            f"{stage:<10} {found['version']:<10} {found['commit'][:7]:<8} {who:<30} "
            f"{_when(found['created_at']):<21} {(found['message'] or '').strip()}"
        )
    print()
    print(f"{'version':<10} {'commit':<8} {'registered by':<30} {'at':<21} stages")
    for row in rows:
        who = f"{row['author']} <{row['author_email']}>"
        print(
            f"{row['version']:<10} {row['commit'][:7]:<8} {who:<30} "
            f"{_when(row['created_at']):<21} {', '.join(row['stages']) or '-'}"
        )


def _print_history(repo: Path) -> None:
    for e in history(repo):
        what = e["event"] + (f" {e['stage']}" if e.get("stage") else "")
        print(
            f"{_when(e['timestamp']):<21} {what:<20} {e['version'] or '-':<10} "
            f"{e['commit'][:7]} {e['author']} <{e['author_email']}>: "
            f"{(e['message'] or '').strip()}"
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="panier registry",
        description=f"Versions and stages of the {ARTIFACT} model (GTO git tags).",
    )
    parser.add_argument("--repo", default=".", help="the git repository (default: here)")
    parser.add_argument("-r", "--remote", help="DVC remote (default: core.remote)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("show", help="versions and the version in each stage")
    sub.add_parser("history", help="every registration and assignment")

    def who(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument("-m", "--message", help="why (stored in the tag)")
        cmd.add_argument("--author", help="who (default: git user.name)")
        cmd.add_argument("--author-email", help="default: git user.email")
        cmd.add_argument("--push", action="store_true", help="push the tag to origin")
        cmd.add_argument(
            "--no-remote-check",
            action="store_true",
            help="do not require the model files to be in the DVC remote",
        )

    reg = sub.add_parser("register", help="register the model of a commit as a version")
    reg.add_argument(
        "version", nargs="?", help="e.g. v1.2.0 (default: next minor version; the first is v1.0.0)"
    )
    reg.add_argument("--ref", default="HEAD", help="commit, branch or tag (default: HEAD)")
    who(reg)
    pro = sub.add_parser("promote", help="put a registered version in a stage")
    pro.add_argument("version")
    pro.add_argument("stage")
    who(pro)
    rol = sub.add_parser("rollback", help="put back the version a stage held before")
    rol.add_argument("--stage", default="prod", help="default: prod")
    who(rol)
    fet = sub.add_parser("fetch", help="download a version's model files into a folder")
    which = fet.add_mutually_exclusive_group(required=True)
    which.add_argument("--stage")
    which.add_argument("--version")
    fet.add_argument("--out", required=True, type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``panier registry`` with ``argv``; returns the exit code."""
    args = _parser().parse_args(argv)
    repo = Path(args.repo).resolve()
    try:
        if args.command == "show":
            _print_show(repo)
        elif args.command == "history":
            _print_history(repo)
        elif args.command == "register":
            tag = register(
                repo,
                args.version,
                args.ref,
                args.message,
                args.author,
                args.author_email,
                not args.no_remote_check,
                args.remote,
                args.push,
            )
            print(f"created tag {tag}")
        elif args.command == "promote":
            tag = promote(
                repo,
                args.version,
                args.stage,
                args.message,
                args.author,
                args.author_email,
                not args.no_remote_check,
                args.remote,
                args.push,
            )
            print(f"created tag {tag}")
        elif args.command == "rollback":
            tags, current, previous = rollback(
                repo,
                args.stage,
                args.message or "",
                args.author,
                args.author_email,
                not args.no_remote_check,
                args.remote,
                args.push,
            )
            for tag in tags:
                print(f"created tag {tag}")
            print(f"{args.stage} goes back from {current} to {previous}")
        elif args.command == "fetch":
            resolved, files = fetch(repo, args.out, args.stage, args.version, args.remote)
            where = f" ({resolved.stage})" if resolved.stage else ""
            print(
                f"{ARTIFACT} {resolved.version}{where} from commit {resolved.commit[:7]}: "
                f"{', '.join(f.name for f in files)} -> {args.out}"
            )
    except PanierError as exc:
        print(f"{args.command} failed: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except Exception as exc:  # DVC or GTO errors not foreseen above: still one line
        print(
            f"{args.command} failed: {' '.join(str(exc).split()) or type(exc).__name__}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
