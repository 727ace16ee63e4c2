"""Markdown for the reports people read: one table helper, one text-chart helper, and
Jinja2 templates for the prose around them.

Every Markdown file the pipeline writes (``validation.md``, ``drift.md``, ``gate.md``) and
the pull-request comment go through these functions, so a table is escaped, aligned and
laid out the same way everywhere. Jinja2 comes with DVC; templates live in a
``templates/`` folder beside the module that renders them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TypeGuard

import jinja2

_ALIGN = {"left": "---", "right": "--:", "center": ":-:", "": "---"}
_DELIMITER = re.compile(r":?-+:?")


def cell(value: object) -> str:
    """``value`` as one Markdown table cell: pipes escaped, line breaks made spaces."""
    return str(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def table(
    header: Sequence[str], rows: Iterable[Sequence[object]], align: str | Sequence[str] = ""
) -> str:
    """A GitHub-flavoured Markdown table.

    ``header`` names the columns; each row holds one value per column, already formatted
    (``str()`` is applied, then :func:`cell`; an empty cell is written ``| |``). ``align``
    is one letter per column, ``l``, ``r`` or ``c`` (a string such as ``"lrr"``), or a
    sequence of ``"left"``, ``"right"``, ``"center"`` or delimiter cells written out
    (``"---:"``, for a report whose bytes must stay as they were); columns without one are
    left-aligned. Returns the table without a trailing newline.
    """
    letters = {"l": "left", "r": "right", "c": "center"}
    if isinstance(align, str):
        align = [letters[a] for a in align]
    aligns = list(align) + [""] * (len(header) - len(align))
    lines = [_line(header), "|" + "|".join(_delimiter(a) for a in aligns[: len(header)]) + "|"]
    for row in rows:
        row = list(row)
        if len(row) != len(header):
            raise ValueError(f"a row has {len(row)} cells, the header {len(header)}: {row!r}")
        lines.append(_line(row))
    return "\n".join(lines)


def _line(values: Sequence[object]) -> str:
    """One table line; an empty cell is written ``| |``, as tables are typed by hand."""
    return "|" + "|".join(f" {text} " if text else " " for text in map(cell, values)) + "|"


def _delimiter(align: str) -> str:
    """The delimiter-row cell of one column: from its alignment's name, or given as is."""
    if align in _ALIGN:
        return _ALIGN[align]
    if not _DELIMITER.fullmatch(align):
        raise ValueError(f"not an alignment nor a delimiter cell: {align!r}")
    return align


BAR_WIDTH = 40
_EIGHTHS = " ▏▎▍▌▋▊▉"


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def bar(value: float | None, scale: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``value / scale`` of ``width`` characters, to an eighth of a
    character; empty for a missing, non-positive or non-finite value."""
    if not _is_number(value) or scale <= 0 or value <= 0:
        return ""
    eighths = round(min(value / scale, 1.0) * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def bar_chart(
    rows: Sequence[tuple[str, float | None]], digits: int = 3, width: int = BAR_WIDTH
) -> str:
    """Labelled horizontal bars on one scale (the largest value), a line per row; a missing
    value is shown as "n/a". Plain text, for a ``text`` code block."""
    values = [v for _, v in rows if _is_number(v)]
    scale = max(values, default=0.0)
    label_width = max((len(label) for label, _ in rows), default=0)
    lines = []
    for label, value in rows:
        shown = f"{value:.{digits}f}" if _is_number(value) else "n/a"
        lines.append(f"{label:<{label_width}}  {bar(value, scale, width):<{width}}  {shown}")
    return "\n".join(line.rstrip() for line in lines)


@cache
def _environment(package: str) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=False,  # Markdown, not HTML: values are escaped by ``cell`` where needed
        undefined=jinja2.StrictUndefined,  # a missing value is a bug, never an empty cell
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(table=table, bar_chart=bar_chart, cell=cell)
    return environment


def render(package: str, name: str, **context: object) -> str:
    """Render the Jinja2 template ``name`` from ``package``'s ``templates/`` folder with
    ``context``; ``table``, ``bar_chart`` and ``cell`` are available inside it."""
    return _environment(package).get_template(name).render(**context)
