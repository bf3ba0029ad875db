"""Charts as SVG geometry computed on the server: the template draws the shapes (no script,
no inline style, so the console's Content-Security-Policy holds).

Coordinates are in a 360 x 180 viewBox scaled to the width of the page: at 390 px the
12-unit labels are about 10 px high. Every number here is computed; every label is text
that the template escapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from thumbs.analytics.service import Point

WIDTH, HEIGHT = 360, 180
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 10, 24
PLOT_W = WIDTH - LEFT - RIGHT
PLOT_H = HEIGHT - TOP - BOTTOM
TICKS = 6  # x labels at most

LABEL_FORMATS = {"hour": "%d %Hh", "day": "%b %d", "week": "%b %d", "month": "%b %Y"}


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # positive | negative | none
    title: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    lines: list[str]  # SVG path data of the rate line, one per run of rated buckets
    bands: list[str]  # SVG path data of the 95 % interval, one per run
    dots: list[Tick]  # one per rated bucket, label = its tooltip
    bars: list[Bar]
    grid: list[float]  # y of the horizontal grid lines


def _x(i: int, n: int) -> float:
    return LEFT + (i + 0.5) * PLOT_W / max(n, 1)


def _y(fraction: float) -> float:
    return TOP + PLOT_H * (1 - fraction)


def _f(v: float) -> str:
    return f"{v:.1f}"


def _x_ticks(points: Sequence[Point], interval: str) -> list[Tick]:
    n = len(points)
    if not n:
        return []
    step = max(1, -(-n // TICKS))
    fmt = LABEL_FORMATS.get(interval, "%b %d")
    return [
        Tick(_x(i, n), HEIGHT - 8, points[i].bucket.start.strftime(fmt)) for i in range(0, n, step)
    ]


def _runs(points: Sequence[Point]) -> list[list[int]]:
    """Indexes of consecutive buckets that have a rate (a gap breaks the line)."""
    runs: list[list[int]] = []
    current: list[int] = []
    for i, p in enumerate(points):
        if p.rate.value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(i)
    if current:
        runs.append(current)
    return runs


def satisfaction(points: Sequence[Point], interval: str) -> Chart:
    """The positive rate per bucket as a line, its Wilson 95 % interval as a band."""
    n = len(points)
    lines, bands, dots = [], [], []
    for run in _runs(points):
        xs = [_x(i, n) for i in run]
        rates = [points[i].rate.value or 0.0 for i in run]
        lines.append(
            "M" + " L".join(f"{_f(x)} {_f(_y(r))}" for x, r in zip(xs, rates, strict=True))
        )
        intervals = [points[i].rate.interval or (0.0, 0.0) for i in run]
        upper = [f"{_f(x)} {_f(_y(hi))}" for x, (_, hi) in zip(xs, intervals, strict=True)]
        lower = [f"{_f(x)} {_f(_y(lo))}" for x, (lo, _) in zip(xs, intervals, strict=True)]
        if len(run) == 1:  # a lone bucket: a thin vertical band
            x = xs[0]
            lo, hi = intervals[0]
            upper = [f"{_f(x - 2)} {_f(_y(hi))}", f"{_f(x + 2)} {_f(_y(hi))}"]
            lower = [f"{_f(x - 2)} {_f(_y(lo))}", f"{_f(x + 2)} {_f(_y(lo))}"]
        bands.append("M" + " L".join(upper + lower[::-1]) + " Z")
        for x, i in zip(xs, run, strict=True):
            p = points[i]
            lo, hi = p.rate.interval or (0.0, 0.0)
            tip = (
                f"{p.bucket.start.isoformat()}: {(p.rate.value or 0) * 100:.1f} % positive "
                f"({lo * 100:.1f}-{hi * 100:.1f} %), {p.rate.rated} rated"
            )
            dots.append(Tick(x, _y(p.rate.value or 0.0), tip))
    y_ticks = [Tick(LEFT - 4, _y(v) + 4, f"{v * 100:.0f}%") for v in (0, 0.25, 0.5, 0.75, 1)]
    return Chart(
        WIDTH,
        HEIGHT,
        _x_ticks(points, interval),
        y_ticks,
        lines,
        bands,
        dots,
        [],
        [t.y - 4 for t in y_ticks],
    )


def _nice(top: int) -> int:
    """The smallest 1, 2 or 5 x 10^k at or above ``top``."""
    if top <= 0:
        return 1
    scale = 1
    while True:
        for m in (1, 2, 5):
            if m * scale >= top:
                return m * scale
        scale *= 10


def volume(points: Sequence[Point], interval: str) -> Chart:
    """Feedback per bucket as stacked bars: negative, positive, without a verdict."""
    n = len(points)
    top = _nice(max((p.totals.count for p in points), default=0))
    slot = PLOT_W / max(n, 1)
    width = max(1.0, slot * 0.7)
    bars = []
    for i, p in enumerate(points):
        base = 0
        none = p.totals.count - p.rate.positive - p.rate.negative
        for kind, value in (
            ("negative", p.rate.negative),
            ("positive", p.rate.positive),
            ("none", none),
        ):
            if value <= 0:
                continue
            y_top = _y((base + value) / top)
            bars.append(
                Bar(
                    _x(i, n) - width / 2,
                    y_top,
                    width,
                    _y(base / top) - y_top,
                    kind,
                    f"{p.bucket.start.isoformat()}: {value:,} {kind}",
                )
            )
            base += value
    y_ticks = [Tick(LEFT - 4, _y(f) + 4, f"{round(top * f):,}") for f in (0, 0.5, 1)]
    return Chart(
        WIDTH,
        HEIGHT,
        _x_ticks(points, interval),
        y_ticks,
        [],
        [],
        [],
        bars,
        [t.y - 4 for t in y_ticks],
    )
