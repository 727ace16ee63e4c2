"""A 4-point ``train.min_support`` sweep: one experiment after another, against DVC's queue
with one and with two workers.

Each mode runs in a fresh copy of this repository at the default params, after a baseline
``dvc repro`` that is committed and not timed (so every mode starts from the same cached
ingest and validate, and no mode can reuse another's run cache). Only the sweep is timed:

- serial: ``dvc exp run -S train.min_support=X`` four times, in the workspace;
- queue -j 1 / -j 2: ``dvc exp run -S 'train.min_support=a,b,c,d' --queue``, then
  ``dvc exp run --run-all -j N`` (which, like ``dvc queue start -j N``, runs N workers, but
  waits for them).

    python bench/sweep.py --repeats 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, copy_repo, machine_note, markdown_table, measure, median

SUPPORTS = ("0.002", "0.003", "0.004", "0.01")  # the baseline's 0.005 would be a no-op
MODES = ("serial", "queue -j 1", "queue -j 2")


def baseline(root: Path, name: str) -> Path:
    repo = copy_repo(root / name)
    measure(["dvc", "repro"], repo)
    measure(["git", "add", "-A"], repo)
    measure(["git", "commit", "-q", "-m", "baseline"], repo)
    return repo


def stop_workers(repo: Path, timeout: float = 120) -> None:
    """Workers of ``--run-all`` idle on after the queue is empty: stop them and wait."""
    measure(["dvc", "queue", "stop"], repo)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "0 active, 0 idle" in measure(["dvc", "queue", "status"], repo).stdout:
            return
        time.sleep(2)
    raise SystemExit(f"queue workers of {repo} did not stop in {timeout} s")


def sweep(repo: Path, mode: str) -> float:
    """Seconds the sweep takes in ``mode``; checks that four experiments were made."""
    started = time.perf_counter()
    if mode == "serial":
        for support in SUPPORTS:
            measure(["dvc", "exp", "run", "-S", f"train.min_support={support}"], repo)
        seconds = time.perf_counter() - started
    else:
        jobs = mode.rsplit(" ", 1)[1]
        measure(
            ["dvc", "exp", "run", "--queue", "-S", "train.min_support=" + ",".join(SUPPORTS)], repo
        )
        try:
            measure(["dvc", "exp", "run", "--run-all", "-j", jobs], repo)
        finally:
            seconds = time.perf_counter() - started
            stop_workers(repo)
    listed = measure(["dvc", "exp", "list", "--name-only"], repo).stdout.split()
    if len(listed) != len(SUPPORTS):
        raise SystemExit(f"{mode}: expected {len(SUPPORTS)} experiments, got {listed}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    note = machine_note()
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="panier-bench-sweep-") as tmp:
        for round_ in range(args.repeats):
            for mode in MODES:
                repo = baseline(Path(tmp), f"{mode.replace(' ', '')}-{round_}")
                times[mode].append(sweep(repo, mode))
                print(f"round {round_ + 1} {mode}: {times[mode][-1]:.1f} s", flush=True)
    serial = median(times["serial"])
    table = markdown_table(
        ["mode", "sweep s", "per experiment s", "speed-up vs serial", "runs"],
        [
            [
                mode,
                f"{median(t):.1f}",
                f"{median(t) / len(SUPPORTS):.1f}",
                f"{serial / median(t):.2f}",
                len(t),
            ]
            for mode, t in times.items()
        ],
    )
    text = (
        f"## A 4-point sweep, serial vs queued\n\n{note}; took "
        f"{time.perf_counter() - started:.0f} s. Default params (20,000 invoices), "
        f"train.min_support in {', '.join(SUPPORTS)}; each experiment re-runs train, "
        "evaluate and drift-check, never ingest and validate.\n\n" + table + "\n"
    )
    print("\n" + text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sweep.md").write_text(text)


if __name__ == "__main__":
    main()
