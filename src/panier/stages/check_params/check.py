"""Checks of ``params.yaml`` that must pass before DVC reads it: ``panier check``.

DVC reads ``params.yaml`` itself (to fill in ``${ingest.path}`` in ``dvc.yaml``) and checks
the ingest stage's dependencies before any Panier code runs. Some inputs go wrong there,
outside Panier's reach: a YAML anchor bomb hangs DVC's YAML parser, a device file
(``/dev/zero``) as ``ingest.path`` hangs DVC's hashing, an empty path is DVC's "unexpected
error", and a URL holding a password is printed by DVC in its own errors. This module finds
all of these without expanding a YAML alias, hashing or opening the source, and reports each
as one line. It runs three ways:

- ``panier check`` before ``dvc repro`` (CI does): exit 1 with one line per
  problem, exit 0 with one line saying what was checked;
- as the pipeline's first stage (``check-params`` in ``dvc.yaml``, ``--stage``), on which
  ingest depends, so that ``dvc repro`` refuses a credential in ``ingest.path`` before DVC
  looks at that dependency;
- inside ``load_params``, which every stage calls (size, aliases and depth of the file:
  ``read_params_text`` and ``check_yaml_shape`` in ``panier.core.config``).
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import yaml

from panier.core.config import check_yaml_shape, parse_params, read_params_text
from panier.core.errors import ConfigError

#: What the ``check-params`` stage writes, so that ingest depends on it (``dvc.yaml``).
STAGE_OUTPUT = Path("data/params_check.json")


def check_source_path(path: str, source: str) -> None:
    """Raise ``ConfigError`` when ``ingest.path`` (of ``ingest.source`` ``source``) names a
    device, a pipe or a socket, which DVC would read forever. URLs are not touched."""
    if "://" in path:
        return
    target = Path(path)
    try:
        mode = target.stat().st_mode
    except OSError:
        return  # a missing file is DVC's and ingest's to report, with the path
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        raise ConfigError(
            f"params.yaml: ingest.path {path!r} is a device, pipe or socket, not a file: DVC "
            "would hash it forever; point it at the export file or folder "
            f"(source {source})"
        )


def check(params_file: Path = Path("params.yaml")) -> str:
    """Every check, in the order DVC would trip on them; returns a one-line summary of what
    was checked, or raises ``ConfigError`` with a one-line message."""
    text = read_params_text(params_file)
    check_yaml_shape(text, str(params_file))
    raw = yaml.safe_load(text)
    try:
        params = parse_params(raw, str(params_file))
    except ConfigError as exc:
        raise ConfigError(" ".join(line.strip() for line in str(exc).splitlines())) from None
    check_source_path(params.ingest.path, params.ingest.source)
    return (
        f"{params_file}: valid ({len(text):,} bytes, no YAML bomb; ingest.source "
        f"{params.ingest.source}, ingest.path holds no credentials)"
    )


def main(argv: list[str] | None = None) -> int:
    """``panier check [--stage]``: exit 0 and one line when ``params.yaml`` is fit
    for ``dvc repro``, else exit 1 and one line saying what to fix. ``--stage`` also writes
    ``STAGE_OUTPUT`` (the ``check-params`` stage's output)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="panier check",
        description="Check params.yaml before `dvc repro`: what would "
        "hang DVC (a YAML bomb, a device file) or make it print a secret (credentials in "
        "ingest.path) is refused with one line saying what to fix.",
    )
    parser.add_argument(
        "--stage",
        action="store_true",
        help=f"also write {STAGE_OUTPUT} (the check-params stage's output)",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        summary = check()
    except ConfigError as exc:
        print(f"check failed: {exc}", file=sys.stderr)
        return 1
    if args.stage:
        STAGE_OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        STAGE_OUTPUT.write_text(json.dumps({"params.yaml": "checked"}, indent=2) + "\n")
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
