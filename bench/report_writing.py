"""How drift-check copes with a large rule set: a wholesale-shaped export (invoices of up to
hundreds of lines, tests/support/retail_export.py) through the own-data guide's recipe with
``train.max_len: null``, so that mining keeps rules of every length. Prints the rule and test
counts, the drift-check stage's wall time and peak memory, the size of
``metrics/drift.json``, and the time to write that report's text with ``core.io.json_text``
against the plain way (``json.dumps`` with sorted keys and an indent, after the same
normalising), interleaved round by round on the same result and checked byte for byte.

Target: the report written no slower than the plain way, byte for byte the same. Run:
``python bench/report_writing.py [--invoices 2000] [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, copy_repo, machine_note, markdown_table, measure, median

sys.path.insert(0, str(ROOT / "tests"))  # the export shaped like a real one, as tests use it

from panier.core.io import json_text
from panier.stages.drift_check.result import DriftResult
from support.json_reference import dumped
from support.retail_export import (
    readme_recipe,
    wholesale_export_frame,
    write_export,
)


def seconds(write, data) -> tuple[float, str]:
    started = time.perf_counter()
    text = write(data)
    return time.perf_counter() - started, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(machine_note())
    recipe = readme_recipe()
    recipe.setdefault("train", {})["max_len"] = None
    with tempfile.TemporaryDirectory() as tmp:
        repo = copy_repo(Path(tmp) / "repo", recipe)
        write_export(
            repo / recipe["ingest"]["path"], wholesale_export_frame(n_invoices=args.invoices)
        )
        for command in (
            ["dvc", "add", "-q", recipe["ingest"]["path"]],
            ["panier", "check"],
            ["dvc", "repro", "-q", "evaluate"],  # everything drift-check reads
        ):
            measure(command, repo)
        stage = measure(["dvc", "repro", "-q", "-s", "drift-check"], repo)
        report_path = repo / "metrics" / "drift.json"
        text = report_path.read_text()
        rules = json.loads((repo / "metrics" / "train.json").read_text())["rules"]
        data = DriftResult.from_json(text).to_dict()
        del text
        rows = []
        ratios = []
        for round_number in range(1, args.rounds + 1):
            plain_s, plain = seconds(dumped, data)
            ours_s, ours = seconds(json_text, data)
            assert ours == plain, "json_text and json.dumps wrote different text"
            ratios.append(ours_s / plain_s)
            rows.append(
                [round_number, f"{plain_s:.1f}", f"{ours_s:.1f}", f"{ours_s / plain_s:.2f}"]
            )
        size_mb = report_path.stat().st_size / 1e6
    print(
        f"\n{args.invoices:,} invoices; {rules:,} rules; {len(data['tests']):,} drift tests; "
        f"metrics/drift.json {size_mb:,.0f} MB; the drift-check stage (dvc repro -s): "
        f"{stage.seconds:.1f} s wall, {stage.peak_mb:,.0f} MB peak"
    )
    print("\nwriting the report's text, the plain way and json_text, interleaved:")
    print(markdown_table(["round", "json.dumps s", "json_text s", "json_text / json.dumps"], rows))
    print(f"\nmedian ratio: {median(ratios):.2f} (target <= 1); the same text in every round")


if __name__ == "__main__":
    main()
