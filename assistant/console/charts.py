"""Bar-chart geometry for inline SVG: the page draws it with no script and no CDN."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float
    caption: str  # shown on hover and to screen readers


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    maximum: float
    baseline: float
    label_every: int


def bar_chart(points: Sequence[tuple[str, float]], *, width: int = 720, height: int = 200, unit: str = "") -> BarChart:
    top, bottom = 16.0, 28.0
    plot = height - top - bottom
    maximum = max((value for _, value in points), default=0.0) or 1.0
    step = width / max(len(points), 1)
    bars = [
        Bar(
            x=index * step + step * 0.15,
            y=top + plot - plot * value / maximum,
            width=step * 0.7,
            height=plot * value / maximum,
            label=label,
            value=value,
            caption=f"{label}: {value:g}{unit}",
        )
        for index, (label, value) in enumerate(points)
    ]
    # Keep axis labels readable: at most about 10 of them.
    return BarChart(width, height, bars, maximum, top + plot, max(1, len(points) // 10))
