"""Wall-clock time of a stage, for ``dvc exp show``, kept out of everything ``dvc repro``
writes.

Pipeline outputs and ``dvc.lock`` must be byte-identical for the same commit and params, so
no time may be written into them, yet a sweep needs each experiment's train time next to
its metrics. So ``dvc.yaml`` declares ``timing/train.json`` as a top-level metrics file (not
a stage output), committed holding ``{}``, and a stage writes its time there only while DVC
runs it for ``dvc exp run``: DVC commits the file into the experiment, where ``dvc exp show``
finds it. A plain ``dvc repro`` never writes it, so a checkout stays clean.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

TIMING_DIR = Path("timing")
#: Set by DVC for every stage command of ``dvc exp run`` (workspace, temp or queue).
EXPERIMENT_ENV = "DVC_EXP_NAME"


def in_experiment() -> bool:
    """Whether this process is a stage of a DVC experiment run."""
    return bool(os.environ.get(EXPERIMENT_ENV))


def timing_file(stage: str) -> Path:
    return TIMING_DIR / f"{stage}.json"


def record(stage: str, seconds: float, **details: Any) -> bool:
    """Write ``{stage: {"seconds": ..., **details}}`` to ``timing/<stage>.json`` when running
    as a DVC experiment; do nothing otherwise. Returns whether it wrote."""
    if not in_experiment():
        return False
    path = timing_file(stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"seconds": round(seconds, 3), **details}
    path.write_text(json.dumps({stage: entry}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return True
