"""Write docs/benchmarks.md, the list of the benchmarks in bench/, from their docstrings.

For each ``bench/NAME.py`` (the shared helpers and ``run_all.py`` aside): what it measures
(its docstring's first paragraph), how to run it (the docstring's ``python bench/...``
lines), its targets (a docstring paragraph starting ``Target``, ``Targets``, ``Bar`` or
``Bars``), the files it writes, and the sections of the docs that quote its latest figures
(``FIGURES``: each must name ``bench/NAME.py``). A benchmark without a first paragraph, a
command line or a page of figures stops the script; tests/integration/test_docs_site.py
fails when the committed page differs from a fresh build. Usage: ``python
scripts/benchmarks_page.py [--check]``.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
import unicodedata
from pathlib import Path

from _generated import ROOT, write_or_check

TARGET = ROOT / "docs" / "benchmarks.md"
BENCH = ROOT / "bench"
DOCS = ROOT / "docs"
NOT_BENCHMARKS = ("_common.py", "run_all.py")

#: Where each benchmark's latest measured figures are quoted (pages under docs/). Pages
#: that only name a script (a dependency's reason, say) are not listed.
FIGURES = {
    "affinity": ["how-to/shelf-groups.md"],
    "drift": ["concepts/drift-check.md"],
    "engines": ["how-to/engines-and-sweeps.md"],
    "ingest_validate": ["how-to/own-data.md", "reference/reading-sources.md"],
    "memory_limit": ["concepts/scale-out.md"],
    "mining_guard": ["concepts/mining-guard.md"],
    "pipeline_scale": ["how-to/engines-and-sweeps.md"],
    "pmml": ["reference/pmml.md"],
    "report_writing": ["concepts/drift-check.md"],
    "request_log": ["reference/request-log.md"],
    "serve_load": ["how-to/serve.md"],
    "spark_cluster": ["how-to/spark-cluster.md"],
    "startup": ["concepts/pipeline.md"],
    "sweep": ["how-to/engines-and-sweeps.md"],
    "validate_spark": ["concepts/scale-out.md"],
}

INTRO = """# Benchmarks

Benchmarks are not tests: they live in `bench/`, one script per question, each printing
its tables (run from the repository root with the virtual environment
active; `--help` lists a script's options). This page is generated from the scripts'
docstrings by `python scripts/benchmarks_page.py`; edit those, not this page.

**How they measure.** The machine is shared, so a time alone says little. A speed
benchmark times a reference beside what it measures (pyfim alone, pyarrow reading the same
file, `dvc version`, an append-only writer, the train stage, a server answering a fixed
body), interleaved in the same round so that a busy machine slows both alike, and reports
their ratio per round and its median over rounds. Most print the machine's core count and
load average, so a figure is read with its load. Stages, DVC and the service run as their
own processes, as in use; peak memory is a process's peak resident memory. Tables are
printed, and some also written to `bench/results/`, which git ignores: results are not
committed.

**Where the figures are.** The figures quoted in these docs come from runs of these
scripts, each page saying the machine and its load; the links below lead there, so each
number lives in one place. Benchmarks on the public datasets (retail.dat, groceries,
T10I4D100K) read them from `../shared/data`; pyfim (the `pyfim` extra) is the mining
reference, and the `bench` extra draws the growth-curve plot.
"""


class BenchError(Exception):
    """A benchmark's docstring or figures page is missing: the message says which and how
    to fix it."""


def benchmarks() -> list[Path]:
    """The benchmark scripts in bench/, by name."""
    return sorted(p for p in BENCH.glob("*.py") if p.name not in NOT_BENCHMARKS)


def docstring(path: Path) -> str:
    return inspect.cleandoc(ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "")


def _paragraphs(doc: str) -> list[str]:
    return [p for p in (part.strip("\n") for part in doc.split("\n\n")) if p.strip()]


def _one_line(text: str) -> str:
    return " ".join(text.split())


INLINE_COMMAND = re.compile(r"``(python bench/[^`]+)``")


def commands(doc: str) -> list[str]:
    """The docstring's command lines, in order: its lines starting ``python bench/``
    (comments kept), then its inline ````python bench/...```` literals (one ``[option]``
    in brackets gives the command without it and with it)."""
    lines = [line.strip() for line in doc.splitlines()]
    found = [line for line in lines if line.startswith("python bench/")]
    for command in INLINE_COMMAND.findall(_one_line(doc)):
        # Usage notation, ``python bench/x.py [--rounds 5]``: the command without, then with.
        optional = re.search(r" \[([^\]]+)\]", command)
        if optional:
            found += [
                command.replace(optional.group(0), ""),
                command.replace(optional.group(0), f" {optional.group(1)}"),
            ]
        else:
            found.append(command)
    return list(dict.fromkeys(found))


def targets(doc: str) -> list[str]:
    """The docstring's paragraphs stating targets or bars, less a ``Run: ``python
    bench/...```` sentence (the command is shown apart)."""
    found = []
    for paragraph in _paragraphs(doc):
        if re.match(r"(Targets?|Bars?)\b", paragraph.strip()):
            found.append(re.sub(r"\s*Run: ``python bench/[^`]+``\.?", "", _one_line(paragraph)))
    return found


def written(path: Path) -> list[str]:
    """The files under bench/results/ the script writes (``RESULTS / "name"``)."""
    names = re.findall(r'RESULTS / "([^"]+)"', path.read_text(encoding="utf-8"))
    return sorted({f"bench/results/{name}" for name in names})


def _slug(title: str) -> str:
    """A heading's id as mkdocs' ``toc`` extension makes it (its default ``slugify``)."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _headings(text: str) -> list[tuple[int, str, str]]:
    """Each heading of a Markdown page outside code fences: (line index, title, its id as
    mkdocs makes it, ``_1`` after a repeat)."""
    found, seen, fence = [], {}, False
    for index, line in enumerate(text.splitlines()):
        if line.startswith("```"):
            fence = not fence
        elif not fence and (match := re.match(r"#{1,6} (.+?)\s*$", line)):
            title = match.group(1)
            slug = _slug(title)
            repeat = seen.get(slug, 0)
            seen[slug] = repeat + 1
            found.append((index, title, f"{slug}_{repeat}" if repeat else slug))
    return found


def figures_link(name: str, page: str) -> str:
    """A link from this page to the section of ``page`` that first names bench/NAME.py."""
    path = DOCS / page
    if not path.is_file():
        raise BenchError(f"FIGURES[{name!r}] names {page}, which is not a page under docs/")
    text = path.read_text(encoding="utf-8")
    mention = f"bench/{name}.py"
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if mention in line), None)
    if first is None:
        raise BenchError(f"docs/{page} does not name {mention}: fix FIGURES[{name!r}]")
    headings = _headings(text)
    title = headings[0][1] if headings else page
    before = [h for h in headings[1:] if h[0] < first]
    if before:
        _, section, anchor = before[-1]
        return f"[{title} — {section}]({page}#{anchor})"
    return f"[{title}]({page})"


def _quoting(name: str) -> list[str]:
    """The pages under docs/ that name bench/NAME.py."""
    mention = f"bench/{name}.py"
    return sorted(
        p.relative_to(DOCS).as_posix()
        for p in DOCS.rglob("*.md")
        if p != TARGET and mention in p.read_text(encoding="utf-8")
    )


def section(path: Path) -> list[str]:
    """One benchmark's section: what it measures, its targets, how to run it, what it
    writes, where its figures are."""
    name = path.stem
    doc = docstring(path)
    paragraphs = _paragraphs(doc)
    script = f"bench/{path.name}"
    if not paragraphs:
        raise BenchError(f"{script} has no docstring: say what it measures, then how to run it")
    runs = commands(doc)
    if not runs:
        raise BenchError(
            f"{script}: its docstring shows no command line; add an indented "
            f"`python {script} ...` line"
        )
    if name not in FIGURES:
        pages = _quoting(name)
        hint = (
            f"list the ones holding its latest figures: {', '.join(pages)}"
            if pages
            else "no page under docs/ names it: run it and quote its figures on the page "
            "about what it measures, naming the script"
        )
        raise BenchError(f"{script} has no entry in FIGURES ({Path(__file__).name}); {hint}")
    parts = [f"## {script}\n", f"{_one_line(paragraphs[0])}\n"]
    parts += [f"{text}\n" for text in targets(doc)]
    parts += ["```bash", *runs, "```", ""]
    files = written(path)
    if files:
        parts.append(f"Writes {', '.join(f'`{f}`' for f in files)}.\n")
    links = [figures_link(name, page) for page in FIGURES[name]]
    parts.append(f"Latest figures: {'; '.join(links)}.\n")
    return parts


def build() -> str:
    """The page's Markdown: the intro, the runner, then one section per benchmark."""
    scripts = benchmarks()
    unknown = sorted(set(FIGURES) - {p.stem for p in scripts})
    if unknown:
        raise BenchError(f"FIGURES names benchmarks that are not in bench/: {', '.join(unknown)}")
    runner = docstring(BENCH / "run_all.py")
    parts = [
        INTRO,
        "## Several at once\n",
        f"{_one_line(_paragraphs(runner)[0])}\n",
        "```bash",
        *commands(runner),
        "```",
        "",
    ]
    for path in scripts:
        parts += section(path)
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    try:
        return write_or_check(TARGET, build, __doc__.split("\n\n")[0], argv)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
