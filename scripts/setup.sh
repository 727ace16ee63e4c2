#!/usr/bin/env bash
# Create .venv with the exact dependency versions of requirements.lock and install Panier
# (the pipeline and the service).
# Safe to re-run. Needs Python 3.11+ and access to the Python package index.
set -euo pipefail
cd "$(dirname "$0")/.."

python=""
for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
  if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then
  echo "setup: Python 3.11 or newer is required (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $("$python" --version)"
  "$python" -m venv .venv
fi
# uv installs the same hashed lock as pip would, in seconds rather than minutes; it is itself
# pinned by hash in requirements-bootstrap.lock.
echo "setup: installing pinned dependencies from requirements.lock"
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  --require-hashes -r requirements-bootstrap.lock
# --compile-bytecode: every stage and every DVC command is a new Python process, and where
# PYTHONDONTWRITEBYTECODE is set (many CI runners and container images) nothing would ever
# cache the bytecode: each process would compile DVC, pandas and the rest from source again,
# doubling the time a stage takes to start.
.venv/bin/uv pip install --quiet --python .venv/bin/python \
  --require-hashes --no-deps --compile-bytecode -r requirements.lock
# The pipeline and the recommendation service (its own distribution in service/, whose
# dependencies requirements.lock holds too), both editable.
.venv/bin/uv pip install --quiet --python .venv/bin/python \
  --no-deps --no-build-isolation --editable . --editable service
echo "setup: done; activate with: . .venv/bin/activate"
