"""Write the example outputs shown in the docs from real runs, so that they cannot go stale.

``docs/pr-report-example.md`` is the pull-request comment (``panier report --base main``) of
the change the tests' ``pr_branch_repo`` fixture makes: ``main`` with the pipeline run on the
small test params (3,000 generated invoices, ``train.min_support`` 0.01), and the branch
``lower-support`` lowering ``train.min_support`` to 0.004 and re-running it.
``tests/integration/test_report.py`` renders the same page from its own copy of that repository
and fails when the committed page differs. Only what differs between runs by nature is
normalised: the commits' short SHAs (their dates differ) become ``<sha>``; the CI run link is a
placeholder.

Usage: ``python scripts/docs_examples.py [--check]`` (about 30 s: it runs ``dvc repro`` twice
in a temporary repository).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PR_REPORT_EXAMPLE = ROOT / "docs" / "pr-report-example.md"
ARTIFACTS_URL = "https://github.com/OWNER/panier/actions/runs/RUN_ID"

INTRO = """\
# Example pull-request comment

The real comment for one change, as `panier report --base main --artifacts-url ...` prints it
and CI posts it: `main` runs the pipeline on small params (3,000 generated invoices,
`train.min_support` = 0.01) and the branch `lower-support` lowers `train.min_support` to 0.004,
then both commit the outputs of `dvc repro`. It is the change the tests build (the
`pr_branch_repo` fixture of `tests/conftest.py`); `python scripts/docs_examples.py` rewrites
this page, and `tests/integration/test_report.py` fails when it is stale. Normalised: the
commits' short SHAs, shown as `<sha>` (commit dates differ between runs); the run link is a
placeholder.

---

"""

_SHA = re.compile(r"\(`[0-9a-f]{7}`")


def normalise(markdown: str) -> str:
    """Replace what differs between runs by nature: the short SHAs of the header."""
    return _SHA.sub("(`<sha>`", markdown)


def pr_report_example(repo: Path) -> str:
    """The page ``docs/pr-report-example.md`` for the repository ``repo`` built as by
    ``build_pr_branch_repo`` (checked out on its branch): the intro, then the comment."""
    from panier.ops import pr_report

    data = pr_report.gather(repo, "main", artifacts_url=ARTIFACTS_URL)
    return INTRO + normalise(pr_report.render(data))


def build_repo(parent: Path) -> Path:
    """The tests' ``pr_branch_repo``, built under ``parent``."""
    sys.path.insert(0, str(ROOT / "tests"))
    from support.repos import build_pr_branch_repo

    return build_pr_branch_repo(parent)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="only say whether the committed page is up to date (exit 1 if not)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="panier-docs-") as tmp:
        page = pr_report_example(build_repo(Path(tmp)))
    if args.check:
        stale = PR_REPORT_EXAMPLE.read_text(encoding="utf-8") != page
        print(f"{PR_REPORT_EXAMPLE.relative_to(ROOT)}: {'stale' if stale else 'up to date'}")
        return 1 if stale else 0
    PR_REPORT_EXAMPLE.write_text(page, encoding="utf-8")
    print(f"wrote {PR_REPORT_EXAMPLE.relative_to(ROOT)} ({page.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
