"""A small hand-written SVG line chart (no plotting library): latency against concurrency."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape


@dataclass
class Series:
    label: str
    color: str
    values: list[float]  # one per x value; NaN for none
    dash: str = ""


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10 ** exponent
        if candidate >= value:
            return candidate
    return 10 ** (exponent + 1)


def line_chart(title: str, x_label: str, y_label: str, xs: list[float], series: list[Series],
               target: tuple[float, str] | None = None, width: int = 760,
               height: int = 420) -> str:
    """x values are placed on a log scale (concurrency 1 … 200); y is linear from 0."""
    left, right, top, bottom = 70, 190, 40, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    finite = [v for s in series for v in s.values if v == v]
    y_max = _nice_ceiling(max(finite + ([target[0] * 1.1] if target else [1.0])))
    x_min, x_max = math.log10(min(xs)), math.log10(max(xs))
    span = (x_max - x_min) or 1.0

    def px(x: float) -> float:
        return left + (math.log10(x) - x_min) / span * plot_w

    def py(y: float) -> float:
        return top + plot_h - y / y_max * plot_h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="15" font-weight="bold">{escape(title)}</text>']
    for i in range(6):  # y grid
        y = y_max * i / 5
        out.append(f'<line x1="{left}" y1="{py(y):.1f}" x2="{left + plot_w}" y2="{py(y):.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{py(y) + 4:.1f}" text-anchor="end">{y:g}</text>')
    for x in xs:  # x ticks
        out.append(f'<line x1="{px(x):.1f}" y1="{top}" x2="{px(x):.1f}" y2="{top + plot_h}" '
                   f'stroke="#eee"/>')
        out.append(f'<text x="{px(x):.1f}" y="{top + plot_h + 18}" text-anchor="middle">'
                   f'{x:g}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
               f'stroke="#333"/>')
    out.append(f'<text x="{left + plot_w / 2}" y="{height - 18}" text-anchor="middle">'
               f'{escape(x_label)}</text>')
    out.append(f'<text transform="translate(18 {top + plot_h / 2}) rotate(-90)" '
               f'text-anchor="middle">{escape(y_label)}</text>')
    if target:
        value, label = target
        out.append(f'<line x1="{left}" y1="{py(value):.1f}" x2="{left + plot_w}" '
                   f'y2="{py(value):.1f}" stroke="#c00" stroke-dasharray="2 3"/>')
        out.append(f'<text x="{left + 4}" y="{py(value) - 4:.1f}" fill="#c00">'
                   f'{escape(label)}</text>')
    for n, s in enumerate(series):
        points = [(px(x), py(v)) for x, v in zip(xs, s.values, strict=True) if v == v]
        if not points:
            continue
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        out.append(f'<polyline points="{path}" fill="none" stroke="{s.color}" '
                   f'stroke-width="2"{dash}/>')
        for x, y in points:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{s.color}"/>')
        ly = top + 10 + n * 20
        lx = left + plot_w + 15
        out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 28}" y2="{ly}" stroke="{s.color}" '
                   f'stroke-width="2"{dash}/>')
        out.append(f'<text x="{lx + 34}" y="{ly + 4}">{escape(s.label)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
