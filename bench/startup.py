"""How fast the pipeline starts: a no-op ``dvc repro`` and a forced full ``dvc repro -f`` on
the default data, each as a ratio to ``dvc version`` (DVC's own start) timed in the same
round, so a busy machine slows both sides alike. Also each stage module's import time, and
DVC's own floor: the no-op ``dvc repro`` of a project with one stage that copies a file,
timed in the same rounds (what any pipeline pays before its own stages count).

Targets: no-op repro / dvc version <= 1.3; repro -f / dvc version
<= 4. Run: ``python bench/startup.py [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import copy_repo, machine_note, markdown_table, measure, median, tool_env

from panier.cli import STAGES


def import_seconds(module: str) -> float:
    """Wall time of a fresh interpreter importing ``module``, minus one importing nothing."""
    code = (
        "import time, importlib, sys; t = time.perf_counter(); "
        "importlib.import_module(sys.argv[1]); print(time.perf_counter() - t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, module],
        capture_output=True,
        text=True,
        check=True,
        env=tool_env(),
    )
    return float(out.stdout)


def one_stage_project(dest: Path) -> Path:
    """A git and DVC project at ``dest`` with one stage (``cp in.txt out.txt``), run once
    and committed: DVC's floor for a no-op ``dvc repro``."""
    dest.mkdir(parents=True)
    (dest / "in.txt").write_text("a\n")
    for command in (
        ["git", "init", "-q"],
        ["dvc", "init", "-q"],
        [
            "dvc",
            "stage",
            "add",
            "-q",
            "-n",
            "copy",
            "-d",
            "in.txt",
            "-o",
            "out.txt",
            "cp in.txt out.txt",
        ],
        ["dvc", "repro", "-q"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "one stage"],
    ):
        subprocess.run(command, cwd=dest, env=tool_env(), check=True)
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(machine_note())
    with tempfile.TemporaryDirectory() as tmp:
        repo = copy_repo(Path(tmp) / "repo")
        measure(["dvc", "repro"], repo)  # the first run: caches filled, lock written
        for git_args in (["add", "-A"], ["commit", "-q", "-m", "outputs"]):
            subprocess.run(["git", *git_args], cwd=repo, env=tool_env(), check=True)
        floor_repo = one_stage_project(Path(tmp) / "one-stage")
        rows, ratios = [], {"no-op repro": [], "repro -f": [], "one stage": []}
        for round_number in range(1, args.rounds + 1):
            version = measure(["dvc", "version"], repo).seconds
            noop = measure(["dvc", "repro"], repo)
            assert "Data and pipelines are up to date" in noop.stdout + noop.stderr
            version_again = measure(["dvc", "version"], repo).seconds
            floor = measure(["dvc", "repro"], floor_repo).seconds
            forced = measure(["dvc", "repro", "-f"], repo).seconds
            base = (version + version_again) / 2
            ratios["no-op repro"].append(noop.seconds / base)
            ratios["repro -f"].append(forced / base)
            ratios["one stage"].append(floor / base)
            rows.append(
                [
                    round_number,
                    f"{base:.2f}",
                    f"{noop.seconds:.2f}",
                    f"{forced:.2f}",
                    f"{noop.seconds / base:.2f}",
                    f"{forced / base:.2f}",
                    f"{floor / base:.2f}",
                    f"{os.getloadavg()[0]:.1f}",
                ]
            )
        status = subprocess.run(
            ["git", "status", "--porcelain", "dvc.lock", "metrics"],
            cwd=repo,
            capture_output=True,
            text=True,
        ).stdout
        assert status == "", f"repro -f changed committed outputs:\n{status}"
    print(
        markdown_table(
            [
                "round",
                "dvc version s",
                "no-op repro s",
                "repro -f s",
                "no-op / version",
                "repro -f / version",
                "one-stage no-op / version",
                "load",
            ],
            rows,
        )
    )
    print(
        f"\nmedian ratios: no-op repro {median(ratios['no-op repro']):.2f} (target <= 1.3), "
        f"repro -f {median(ratios['repro -f']):.2f} (target <= 4); DVC's floor, a "
        f"one-stage project's no-op repro: {median(ratios['one stage']):.2f}"
    )
    print("\nimport time of each stage module (fresh interpreter):")
    print(
        markdown_table(
            ["stage", "module", "import s"],
            [[name, module, f"{import_seconds(module):.2f}"] for name, module in STAGES.items()],
        )
    )


if __name__ == "__main__":
    main()
