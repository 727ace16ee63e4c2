"""Shared helpers of the benchmarks: the public datasets as pipeline input, throwaway copies of
this repository, and measuring a child process's wall time and peak memory."""

from __future__ import annotations

import gzip
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
DATASETS = {
    "groceries": "groceries.csv.gz",
    "retail": "retail.dat.gz",
    "T10I4D100K": "T10I4D100K.dat.gz",
}
#: An invoice after every real one, alone in the current window, so that the train window
#: holds every basket of a public dataset.
LAST_ITEM = "~bench-last-invoice"


def tool_env() -> dict[str, str]:
    """This interpreter's bin first on PATH (``python`` and ``dvc`` as in the venv)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["DVC_NO_ANALYTICS"] = "1"
    for key, value in {
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@panier.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@panier.invalid",
    }.items():
        env.setdefault(key, value)
    return env


@dataclass(frozen=True)
class Measurement:
    seconds: float  # wall time of the whole child process
    peak_mb: float  # peak resident memory of the child and its waited-for descendants
    cpu_seconds: float  # user + system CPU time of the same: what an idle machine needs
    stdout: str
    stderr: str


def measure(args: Sequence[str], cwd: Path, timeout: float = 7200) -> Measurement:
    """Run ``args``; its wall time, peak RSS and CPU time (``wait4``: the child and every
    descendant it waited for, so a ``dvc repro`` counts its stages). Raises on a non-zero
    exit."""
    out_path, err_path = cwd / ".bench-stdout", cwd / ".bench-stderr"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        started = time.perf_counter()
        process = subprocess.Popen(list(args), cwd=cwd, env=tool_env(), stdout=out, stderr=err)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                raise TimeoutError(f"{' '.join(args)} ran over {timeout} s")
            time.sleep(0.02)
        seconds = time.perf_counter() - started
    stdout, stderr = out_path.read_text(), err_path.read_text()
    out_path.unlink()
    err_path.unlink()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(args)} exited {code}\n{stdout[-2000:]}\n{stderr[-4000:]}")
    return Measurement(
        seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, stdout, stderr
    )


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def read_transactions(name: str) -> list[list[str]]:
    """A public dataset as item lists: Groceries is comma-separated, FIMI space-separated."""
    path = SHARED_DATA / DATASETS[name]
    if not path.exists():
        raise SystemExit(f"{path} not found: the benchmarks need ../shared/data")
    separator = "," if path.name.endswith(".csv.gz") else None
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [line.rstrip("\n").split(separator) for line in handle]


def canonical_lines(transactions: list[list[str]]) -> pd.DataFrame:
    """Baskets as the canonical clean line-item table: every basket in the train window, plus
    one later invoice (``LAST_ITEM``) that makes the current window."""
    invoice, items = [], []
    for number, basket in enumerate(transactions):
        for item in dict.fromkeys(basket):  # one line per distinct item
            invoice.append(number)
            items.append(item)
    invoice.append(len(transactions))
    items.append(LAST_ITEM)
    n = len(invoice)
    stamps = pd.Series(pd.Timestamp("2024-01-01"), index=range(n))
    stamps.iloc[-1] = pd.Timestamp("2024-12-31")
    return pd.DataFrame(
        {
            "invoice_id": pd.Series(invoice).map("{:07d}".format).astype("str"),
            "timestamp": stamps.astype("datetime64[ns]"),
            "customer_id": pd.Series(["c1"] * n, dtype="str"),
            "country": pd.Series(["United Kingdom"] * n, dtype="str"),
            "item_code": pd.Series(items, dtype="str"),
            "description": pd.Series(items, dtype="str"),
            "quantity": pd.Series([1] * n, dtype="int64"),
            "unit_price": pd.Series([1.0] * n, dtype="float64"),
        }
    )


def copy_repo(dest: Path, params: dict | None = None) -> Path:
    """This repository's source files (tracked or new, not ignored) as a fresh git repository
    at ``dest`` with one commit, params updated by ``params``; no outputs, lock or metrics."""
    if dest.exists():
        shutil.rmtree(dest)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for rel in filter(None, listed):
        source = ROOT / rel
        if rel == "dvc.lock" or rel.startswith(("metrics/", "bench/")) or not source.is_file():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    if params:
        update_params(dest, params)
    for args in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "bench baseline"],
    ):
        subprocess.run(args, cwd=dest, env=tool_env(), check=True, capture_output=True)
    return dest


def update_params(repo: Path, changes: dict) -> None:
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text()) if path.exists() else {}
    _deep_update(params, changes)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def _deep_update(target: dict, changes: dict) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = value


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_note() -> str:
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} cores, load average {load[0]:.1f} at the start (other jobs "
        "share the machine: medians of repeated runs, and ratios taken in the same run)"
    )
