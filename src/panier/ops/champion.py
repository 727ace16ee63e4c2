"""``panier gate``: record the champion (the registry version the gate stage compares the
new model with) before ``dvc repro``, and say whether to propose the new model."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from panier.core import paths
from panier.core.errors import PanierError
from panier.ops import registry
from panier.stages.gate.gate import ARTIFACT, no_champion_pointer


def record_champion(
    repo: Path, stage: str, remote: str | None = None, none: bool = False
) -> dict[str, Any]:
    """Resolve ``stage`` in the registry of git repository ``repo``, fetch that version's
    model files into ``repo/data/champion/`` (local DVC cache first, then the remote) and
    write ``repo/data/champion.json``; returns what was written. No version in the stage
    (or ``none``) writes "no champion". Other failures (an unreachable remote) raise: a
    champion that exists but cannot be read is never silently dropped."""
    pointer_path = repo / paths.CHAMPION_POINTER
    if none:
        pointer = no_champion_pointer(stage, "gate without a champion, as asked")
    elif not registry.has_versions(repo):
        pointer = no_champion_pointer(stage, f"no version of {ARTIFACT} is registered")
    else:
        try:
            resolved = registry.resolve(repo, stage=stage)
        except registry.RegistryError as exc:
            if "no version of" not in str(exc):
                raise
            resolved = None
        if resolved is None:
            pointer = no_champion_pointer(stage, f"no version of {ARTIFACT} is in stage '{stage}'")
        else:
            _, files = registry.fetch(repo, repo / paths.CHAMPION_DIR, stage=stage, remote=remote)
            pointer = {
                "artifact": ARTIFACT,
                "stage": stage,
                "champion": {
                    "version": resolved.version,
                    "commit": resolved.commit,
                    "files": {f.name: f.md5 for f in files},
                },
            }
    pointer_path.parent.mkdir(parents=True, exist_ok=True)
    pointer_path.write_text(json.dumps(pointer, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return pointer


def should_propose(
    drift: dict[str, Any] | None, gate: dict[str, Any] | None, scheduled: bool
) -> tuple[bool, str]:
    """Whether the scheduled retraining proposes the new model (a pull request): the gate
    passed, and drift-check recommends retraining or the schedule asks for a new model
    anyway. ``drift`` and ``gate`` are ``metrics/drift.json`` and ``metrics/gate.json``.
    Returns the answer and one sentence saying why."""
    if not gate:
        return False, f"no {paths.GATE_METRICS}: run the pipeline (dvc repro) first"
    retrain = bool((drift or {}).get("retrain_recommended"))
    if not gate.get("passed"):
        return False, (
            "the gate refused the challenger: "
            + "; ".join(gate.get("reasons", []))
            + (" (drift-check recommends retraining: see the runbook)" if retrain else "")
        )
    if retrain:
        return True, "drift-check recommends retraining and the challenger passed the gate"
    if scheduled:
        return True, "scheduled retraining and the challenger passed the gate"
    return False, "no drift calls for retraining and this run does not force one"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="panier gate",
        description="Record which registry version the gate stage compares the new model with.",
    )
    parser.add_argument("--repo", default=".", help="the git repository (default: here)")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser(
        "champion",
        help=f"resolve the stage, fetch its model files and write {paths.CHAMPION_POINTER}",
    )
    cmd.add_argument("--stage", default=None, help="registry stage (default: gate.stage)")
    cmd.add_argument("-r", "--remote", help="DVC remote (default: core.remote)")
    cmd.add_argument("--none", action="store_true", help="record that there is no champion")
    prop = sub.add_parser(
        "propose",
        help="print propose=true|false (for $GITHUB_OUTPUT): "
        "whether to open a pull request with the new model",
    )
    prop.add_argument(
        "--scheduled",
        choices=("true", "false"),
        default="false",
        help="true: propose even without drift (the schedule says so)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    repo = Path(args.repo).resolve()
    if args.command == "propose":
        drift = json.loads(p.read_text()) if (p := repo / paths.DRIFT_METRICS).is_file() else None
        gate = json.loads(p.read_text()) if (p := repo / paths.GATE_METRICS).is_file() else None
        propose, why = should_propose(drift, gate, args.scheduled == "true")
        print(f"propose={'true' if propose else 'false'}")
        print(f"why={' '.join(why.split())}")
        return 0
    try:
        stage = args.stage
        if stage is None:
            from panier.core.config import load_params

            stage = load_params(repo / "params.yaml").gate.stage
        pointer = record_champion(repo, stage, args.remote, args.none)
    except PanierError as exc:
        print(f"champion failed: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    champion = pointer["champion"]
    if champion is None:
        print(f"no champion ({pointer['why']}): wrote {paths.CHAMPION_POINTER}")
    else:
        print(
            f"champion {champion['version']} (stage {pointer['stage']}, commit "
            f"{champion['commit'][:7]}): files in {paths.CHAMPION_DIR}, wrote "
            f"{paths.CHAMPION_POINTER}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
