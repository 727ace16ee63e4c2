"""How fast the pipeline starts: a no-op ``dvc repro`` and a forced full ``dvc repro -f`` on
the default data, each as a ratio to ``dvc version`` (DVC's own start) timed in the same
round, so a busy machine slows both sides alike. Also each stage module's import time, and
DVC's own floor: a project with as many stages as this pipeline, each copying a file, timed
up to date and forced in the same rounds (what any pipeline of that many stages pays before
its own commands count).

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

import yaml
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


def copy_chain_project(dest: Path, n_stages: int) -> Path:
    """A git and DVC project at ``dest`` with ``n_stages`` chained stages, each ``cp`` of the
    previous stage's file, run once and committed: DVC's floor for a pipeline that long."""
    dest.mkdir(parents=True)
    (dest / "s0.txt").write_text("a\n")
    commands = [["git", "init", "-q"], ["dvc", "init", "-q"]]
    for n in range(1, n_stages + 1):
        dep, out = f"s{n - 1}.txt", f"s{n}.txt"
        commands.append(
            ["dvc", "stage", "add", "-q", "-n", f"s{n}", "-d", dep, "-o", out, f"cp {dep} {out}"]
        )
    commands += [
        ["dvc", "repro", "-q"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "copy chain"],
    ]
    for command in commands:
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
        n_stages = len(yaml.safe_load((repo / "dvc.yaml").read_text())["stages"])
        floor_repo = copy_chain_project(Path(tmp) / "copy-chain", n_stages)
        rows = []
        ratios: dict[str, list[float]] = {
            "no-op repro": [],
            "repro -f": [],
            "floor no-op": [],
            "floor -f": [],
        }
        for round_number in range(1, args.rounds + 1):
            version = measure(["dvc", "version"], repo).seconds
            noop = measure(["dvc", "repro"], repo)
            assert "Data and pipelines are up to date" in noop.stdout + noop.stderr
            floor_noop = measure(["dvc", "repro"], floor_repo).seconds
            version_again = measure(["dvc", "version"], repo).seconds
            floor_forced = measure(["dvc", "repro", "-f"], floor_repo).seconds
            forced = measure(["dvc", "repro", "-f"], repo).seconds
            base = (version + version_again) / 2
            for key, seconds in (
                ("no-op repro", noop.seconds),
                ("repro -f", forced),
                ("floor no-op", floor_noop),
                ("floor -f", floor_forced),
            ):
                ratios[key].append(seconds / base)
            rows.append(
                [
                    round_number,
                    f"{base:.2f}",
                    f"{noop.seconds:.2f}",
                    f"{forced:.2f}",
                    *(f"{ratios[key][-1]:.2f}" for key in ratios),
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
                f"{n_stages}-stage copy chain: no-op / version",
                "copy chain: repro -f / version",
                "load",
            ],
            rows,
        )
    )
    print(
        f"\nmedian ratios: no-op repro {median(ratios['no-op repro']):.2f} (target <= 1.3), "
        f"repro -f {median(ratios['repro -f']):.2f} (target <= 4); DVC's floor, "
        f"{n_stages} stages that copy a file: no-op {median(ratios['floor no-op']):.2f}, "
        f"repro -f {median(ratios['floor -f']):.2f}"
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
