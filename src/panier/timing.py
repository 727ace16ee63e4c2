"""Wall-clock time of a stage, for ``dvc exp show``, kept out of everything DVC tracks.

Pipeline outputs and ``dvc.lock`` must be byte-identical for the same commit and params, so
no time may be written into them. Yet a sweep needs each experiment's train time next to its
metrics. ``dvc.yaml`` declares ``metrics/timing.json`` as a top-level metrics file (not a
stage output), and stages write it only while DVC runs them as an experiment: DVC then
commits it into the experiment, where ``dvc exp show`` finds it. A plain ``dvc repro`` never
writes it, so a clean checkout stays clean.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

TIMING_FILE = Path("metrics/timing.json")
#: Set by DVC for every stage command of ``dvc exp run`` (workspace, temp or queue).
EXPERIMENT_ENV = "DVC_EXP_NAME"


def in_experiment() -> bool:
    """Whether this process is a stage of a DVC experiment run."""
    return bool(os.environ.get(EXPERIMENT_ENV))


def record(stage: str, seconds: float, **details: Any) -> bool:
    """Record ``stage``'s duration (and ``details``, such as the engine that ran) in
    ``TIMING_FILE`` when running as a DVC experiment; do nothing otherwise. Returns whether
    it wrote."""
    if not in_experiment():
        return False
    try:
        timings = json.loads(TIMING_FILE.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        timings = {}
    timings[stage] = {"seconds": round(seconds, 3), **details}
    TIMING_FILE.parent.mkdir(parents=True, exist_ok=True)
    TIMING_FILE.write_text(json.dumps(timings, indent=2, sort_keys=True) + "\n",
                           encoding="utf-8")
    return True
