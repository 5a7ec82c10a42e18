"""Charts drawn on the server as inline SVG: no script, no CDN, and they print."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = ("#c8102e", "#d4a017", "#1b7f3b", "#2f5d9b", "#7a4b9b", "#b35c00", "#666666")
Series = tuple[str, Sequence[float | None]]


def nice_step(maximum: float, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about `ticks` gridlines."""
    if maximum <= 0:
        return 1
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power  # pragma: no cover


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


class _Frame:
    def __init__(self, categories: Sequence[str], values: list[float], width: int,
                 height: int) -> None:
        self.categories = list(categories)
        self.left, self.right, self.top, self.bottom = 44, 10, 28, 36
        self.width, self.height = width, height
        top_value = max([v for v in values if v is not None] + [0])
        self.step = nice_step(top_value)
        self.top_value = max(self.step * math.ceil(top_value / self.step), self.step)

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    def y(self, value: float) -> float:
        return self.top + self.plot_height * (1 - value / self.top_value)

    def band(self, index: int) -> tuple[float, float]:
        width = self.plot_width / max(len(self.categories), 1)
        return self.left + index * width, width

    def axes(self, y_label: str) -> list[str]:
        parts = []
        value = 0.0
        while value <= self.top_value + 1e-9:
            y = self.y(value)
            parts.append(f'<line x1="{self.left}" x2="{self.width - self.right}" y1="{y:.1f}" '
                         f'y2="{y:.1f}" stroke="#e5ded3"/>')
            parts.append(f'<text x="{self.left - 4}" y="{y + 4:.1f}" text-anchor="end" '
                         f'font-size="11" fill="#666">{_fmt(value)}</text>')
            value += self.step
        every = max(1, math.ceil(len(self.categories) / 16))
        for i, label in enumerate(self.categories):
            if i % every:
                continue
            x, width = self.band(i)
            parts.append(f'<text x="{x + width / 2:.1f}" y="{self.height - self.bottom + 14}" '
                         f'text-anchor="middle" font-size="11" fill="#444">{escape(label)}</text>')
        if y_label:
            parts.append(f'<text x="4" y="14" font-size="11" fill="#666">{escape(y_label)}</text>')
        return parts

    def legend(self, names: list[str]) -> list[str]:
        parts, x = [], self.left
        for i, name in enumerate(names):
            color = PALETTE[i % len(PALETTE)]
            parts.append(f'<rect x="{x}" y="{self.height - 14}" width="10" height="10" '
                         f'fill="{color}"/>')
            parts.append(f'<text x="{x + 14}" y="{self.height - 5}" font-size="11" '
                         f'fill="#222">{escape(name)}</text>')
            x += 24 + 12 * len(name)
        return parts


def _svg(title: str, width: int, height: int, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" '
        f'preserveAspectRatio="xMidYMid meet"><title>{escape(title)}</title>'
        f'<text x="{width / 2}" y="14" text-anchor="middle" font-size="13" font-weight="600" '
        f'fill="#222">{escape(title)}</text>' + "".join(body) + "</svg>")


def bar_chart(title: str, categories: Sequence[str], series: Sequence[Series],
              y_label: str = "", width: int = 720, height: int = 260) -> Markup:
    """Grouped bars: one group per category, one bar per series."""
    values = [v for _, vs in series for v in vs if v is not None]
    frame = _Frame(categories, values, width, height)
    body = frame.axes(y_label)
    count = max(len(series), 1)
    for s_index, (_, vs) in enumerate(series):
        color = PALETTE[s_index % len(PALETTE)]
        for i, value in enumerate(vs):
            if not value:
                continue
            x, band = frame.band(i)
            bar = band * 0.8 / count
            bx = x + band * 0.1 + s_index * bar
            y = frame.y(value)
            body.append(f'<rect x="{bx:.1f}" y="{y:.1f}" width="{max(bar - 1, 1):.1f}" '
                        f'height="{frame.y(0) - y:.1f}" fill="{color}">'
                        f'<title>{escape(categories[i])}: {_fmt(value)}</title></rect>')
    if len(series) > 1:
        body += frame.legend([name for name, _ in series])
    return _svg(title, width, height, body)


def line_chart(title: str, categories: Sequence[str], series: Sequence[Series],
               y_label: str = "", width: int = 720, height: int = 260) -> Markup:
    """Lines with a dot per value; a missing value breaks the line."""
    values = [v for _, vs in series for v in vs if v is not None]
    frame = _Frame(categories, values, width, height)
    body = frame.axes(y_label)
    for s_index, (_, vs) in enumerate(series):
        color = PALETTE[s_index % len(PALETTE)]
        segment: list[str] = []
        for i, value in enumerate(list(vs) + [None]):
            if value is None:
                if len(segment) > 1:
                    body.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                                f'points="{" ".join(segment)}"/>')
                segment = []
                continue
            x, band = frame.band(i)
            cx, cy = x + band / 2, frame.y(value)
            segment.append(f"{cx:.1f},{cy:.1f}")
            body.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{color}">'
                        f'<title>{escape(categories[i])}: {_fmt(value)}</title></circle>')
    if len(series) > 1:
        body += frame.legend([name for name, _ in series])
    return _svg(title, width, height, body)
