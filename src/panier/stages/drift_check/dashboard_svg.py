"""Inline SVG charts for the dashboard: fixed sizes, coordinates with one decimal, every
text escaped; pure functions of their inputs, so equal inputs give equal bytes."""

from __future__ import annotations

import html
import math

MAX_TICKS = 8  # x-axis labels per chart
REFERENCE, CURRENT = "#4c72b0", "#dd8452"
DOT = "\u25cf "  # marks a drifted item


def escape(text) -> str:
    return html.escape(str(text), quote=True)


def _f(value: float) -> str:
    return f"{value:.1f}"


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def _y_ticks(top: float, left: float, right: float, y0: float, height: float) -> list[str]:
    """Four horizontal grid lines with share labels, 0 to ``top``."""
    out = []
    for i in range(5):
        value = top * i / 4
        y = y0 - height * i / 4
        out.append(
            f'<line x1="{_f(left)}" x2="{_f(right)}" y1="{_f(y)}" y2="{_f(y)}" class="grid"/>'
        )
        out.append(f'<text x="{_f(left - 4)}" y="{_f(y + 3)}" text-anchor="end">{value:.1%}</text>')
    return out


def paired_bars_svg(
    title: str, labels: list[str], reference: list[float], current: list[float], y_label: str
) -> str:
    """Vertical bars, reference and current side by side for each category or bin; at most
    ``MAX_TICKS`` x labels (every k-th) so that many bins stay readable."""
    width, height, left, right, top, bottom = 580, 270, 60, 12, 14, 64
    n = max(len(labels), 1)
    plot_w, plot_h = width - left - right, height - top - bottom
    y0 = top + plot_h
    peak = max([v for v in (*reference, *current) if not math.isnan(v)] or [0.0]) or 1.0
    peak *= 1.1
    step = plot_w / n
    bar = step * 0.4
    out = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        *_y_ticks(peak, left, width - right, y0, plot_h),
    ]
    every = max(1, math.ceil(n / MAX_TICKS))
    for i, (label, ref, cur) in enumerate(zip(labels, reference, current)):
        x = left + i * step + step * 0.1
        for offset, value, colour, name in (
            (0.0, ref, REFERENCE, "reference"),
            (bar, cur, CURRENT, "current"),
        ):
            value = 0.0 if math.isnan(value) else value
            h = plot_h * value / peak
            out.append(
                f'<rect x="{_f(x + offset)}" y="{_f(y0 - h)}" width="{_f(bar)}" '
                f'height="{_f(h)}" fill="{colour}"><title>{escape(label)}: {name} '
                f"{value:.2%}</title></rect>"
            )
        if i % every == 0:
            cx = left + (i + 0.5) * step
            out.append(
                f'<text x="{_f(cx)}" y="{_f(y0 + 12)}" text-anchor="end" '
                f'transform="rotate(-30 {_f(cx)} {_f(y0 + 12)})">'
                f"{escape(_short(label, 18))}</text>"
            )
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{_f(y0)}" y2="{_f(y0)}" class="axis"/>')
    out.append(
        f'<text x="12" y="{_f(top + plot_h / 2)}" text-anchor="middle" '
        f'transform="rotate(-90 12 {_f(top + plot_h / 2)})">{escape(y_label)}</text>'
    )
    out.append("</svg>")
    return "".join(out)


def horizontal_bars_svg(
    title: str, labels: list[str], reference: list[float], current: list[float], marked: list[bool]
) -> str:
    """One row per item: its label, then reference and current bars one under the other
    (side by side, not stacked); marked rows (drifted) get a dot."""
    label_w, bar_w, row = 300, 300, 26
    width, height = label_w + bar_w + 70, row * len(labels) + 24
    peak = max([*reference, *current, 0.0]) * 1.05 or 1.0
    out = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, ref, cur, mark) in enumerate(zip(labels, reference, current, marked)):
        y = 8 + i * row
        out.append(
            f'<text x="{label_w - 8}" y="{_f(y + 14)}" text-anchor="end">'
            f"{DOT if mark else ''}{escape(_short(label, 44))}</text>"
        )
        for offset, value, colour, name in (
            (0, ref, REFERENCE, "reference"),
            (10, cur, CURRENT, "current"),
        ):
            w = bar_w * value / peak
            out.append(
                f'<rect x="{label_w}" y="{_f(y + offset + 2)}" width="{_f(w)}" '
                f'height="9" fill="{colour}"><title>{escape(label)}: {name} {value:.2%}'
                f"</title></rect>"
            )
        out.append(
            f'<text x="{_f(label_w + bar_w * max(ref, cur) / peak + 4)}" '
            f'y="{_f(y + 15)}">{ref:.1%} \u2192 {cur:.1%}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def scatter_svg(
    title: str, names: list[str], reference: list[float], current: list[float], marked: list[bool]
) -> str:
    """Rule confidence as trained (x) against the current window (y), 0 to 1 on both axes,
    with the diagonal of no change; marked points (drifted) in the current colour."""
    size, left, bottom, pad = 300, 48, 40, 10
    width, height = left + size + pad, size + bottom + pad
    out = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    y0 = pad + size
    for i in range(5):
        v = i / 4
        x, y = left + size * v, y0 - size * v
        out.append(f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{pad}" y2="{_f(y0)}" class="grid"/>')
        out.append(f'<line x1="{left}" x2="{left + size}" y1="{_f(y)}" y2="{_f(y)}" class="grid"/>')
        out.append(f'<text x="{_f(x)}" y="{_f(y0 + 14)}" text-anchor="middle">{v:.2f}</text>')
        out.append(f'<text x="{left - 4}" y="{_f(y + 3)}" text-anchor="end">{v:.2f}</text>')
    out.append(f'<line x1="{left}" y1="{_f(y0)}" x2="{left + size}" y2="{pad}" class="diagonal"/>')
    order = sorted(range(len(names)), key=lambda i: (marked[i], names[i]))  # drifted on top
    for i in order:
        x = left + size * min(max(reference[i], 0.0), 1.0)
        y = y0 - size * min(max(current[i], 0.0), 1.0)
        colour, r = (CURRENT, 5) if marked[i] else (REFERENCE, 3)
        out.append(
            f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{r}" fill="{colour}" '
            f'fill-opacity="0.75"><title>{escape(names[i])}: {reference[i]:.2f} \u2192 '
            f"{current[i]:.2f}</title></circle>"
        )
    out.append(
        f'<text x="{_f(left + size / 2)}" y="{_f(y0 + 32)}" text-anchor="middle">'
        "confidence as trained</text>"
    )
    out.append(
        f'<text x="12" y="{_f(pad + size / 2)}" text-anchor="middle" '
        f'transform="rotate(-90 12 {_f(pad + size / 2)})">confidence now</text>'
    )
    out.append("</svg>")
    return "".join(out)
