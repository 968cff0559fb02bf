"""The report's charts as inline SVG strings, drawn here from numbers (no JavaScript, no
plotting library): deterministic, printable in black and white, and fast (a city report draws
a dozen charts in milliseconds).

    line_chart(labels, [("结案率", values)], kind="rate", target=0.95)
    bar_chart(labels, values, kind="score", marked={7, 8, 9})   # horizontal bars, marked red

Coordinates are in CSS pixels of the SVG's own viewBox; the HTML scales the SVG to its box.
Values are those of collect(): rates as fractions, counts, scores; None leaves a gap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

from domain.analytics.formatting import fmt_value

FONT = "Noto Sans CJK SC, sans-serif"
INK = "#222"
GRID = "#d9d9d9"
PALETTE = ("#1f4e9e", "#c8102e", "#2e8b57", "#d97706", "#6b21a8")
MARK = "#c8102e"
BAR = "#4a6fb5"


def _nice_step(span: float, ticks: int = 4) -> float:
    """A round tick step (1, 2, 2.5 or 5 × 10^k) giving about ``ticks`` intervals."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _axis(lo: float, hi: float, kind: str) -> tuple[float, float, list[float]]:
    """The y-axis range and ticks around [lo, hi]: rates stay within 0–1, counts start at 0."""
    if kind == "count":
        lo = 0.0
    if hi - lo < 1e-9:
        pad = abs(hi) * 0.05 or (0.05 if kind == "rate" else 1.0)
        lo, hi = lo - pad, hi + pad
    step = _nice_step(hi - lo)
    a = math.floor(lo / step) * step
    b = math.ceil(hi / step) * step
    if kind == "rate":
        a, b = max(0.0, a), min(1.0, b)
    ticks, t = [], a
    while t <= b + step * 1e-6:
        ticks.append(round(t, 10))
        t += step
    return a, b, ticks


def _decimals(step: float) -> int:
    """Decimals that tell ticks ``step`` apart (0.25 → 2, 0.5 → 1, 5 → 0)."""
    for d in range(0, 6):
        if abs(step * 10**d - round(step * 10**d)) < 1e-6:
            return d
    return 6


def _tick_label(kind: str, v: float, step: float) -> str:
    if kind == "rate":
        return f"{v * 100:.{_decimals(step * 100)}f}%"
    if kind == "count" and abs(v) >= 10000:
        return f"{v / 10000:g}万"
    return fmt_value("count", v) if kind == "count" else f"{v:.{_decimals(step)}f}"


def _text(x: float, y: float, s: str, size: float = 11, anchor: str = "middle", **attrs) -> str:
    fill = attrs.pop("fill", INK)
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"'
        f' fill="{fill}"{extra}>{escape(s)}</text>'
    )


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"'
        f' width="100%" role="img" aria-label="{escape(title)}"'
        f' font-family="{FONT}">' + "".join(body) + "</svg>"
    )


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    kind: str = "rate",
    target: float | None = None,
    title: str = "",
    width: int = 520,
    height: int = 220,
) -> str:
    """Lines over ``labels`` (one per series), a dashed target line, the last value labelled,
    a legend when there is more than one series."""
    left, right, top, bottom = 52, 16, 28 if title else 12, 28
    values = [v for _, vs in series for v in vs if v is not None]
    body: list[str] = []
    if title:
        body.append(_text(left, 16, title, 12, "start", font_weight="bold"))
    if not values or not labels:
        body.append(_text(width / 2, height / 2, "暂无数据", 12, fill="#888"))
        return _svg(width, height, body, title)
    if target is not None:
        values.append(target)
    lo, hi, ticks = _axis(min(values), max(values), kind)
    pw, ph = width - left - right, height - top - bottom
    n = len(labels)

    def x(i: int) -> float:
        return left + (pw * (i + 0.5) / n)

    def y(v: float) -> float:
        return top + ph - (v - lo) / ((hi - lo) or 1) * ph

    for t in ticks:
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(t):.1f}" y2="{y(t):.1f}"'
            f' stroke="{GRID}" stroke-width="0.8"/>'
        )
        step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
        body.append(_text(left - 6, y(t) + 4, _tick_label(kind, t, step), 10, "end"))
    # About 34 px per label: label every other (or third) period on narrow charts, counting
    # back from the last one so the current period is always labelled.
    every = max(1, math.ceil(n * 34 / pw))
    for i, lab in enumerate(labels):
        if (n - 1 - i) % every == 0:
            body.append(_text(x(i), height - bottom + 16, lab, 10))
    if target is not None:
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(target):.1f}" y2="{y(target):.1f}"'
            f' stroke="{MARK}" stroke-width="1" stroke-dasharray="5,3"/>'
        )
        body.append(
            _text(left + 4, y(target) - 4, "目标 " + fmt_value(kind, target), 9, "start", fill=MARK)
        )
    for k, (_name, vs) in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        runs: list[list[str]] = [[]]
        for i, v in enumerate(vs[:n]):
            if v is None:
                runs.append([])
                continue
            runs[-1].append(f"{x(i):.1f},{y(v):.1f}")
        for run in runs:
            if len(run) > 1:
                body.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}"'
                    ' stroke-width="2" stroke-linejoin="round"/>'
                )
            for p in run:
                px, py = p.split(",")
                body.append(f'<circle cx="{px}" cy="{py}" r="2.4" fill="{colour}"/>')
        last = next(((i, v) for i, v in reversed(list(enumerate(vs[:n]))) if v is not None), None)
        if last is not None:
            i, v = last
            body.append(
                _text(x(i), y(v) - 7, fmt_value(kind, v), 10, font_weight="bold", fill=colour)
            )
    if len(series) > 1:
        lx = left + 8
        for k, (name, _vs) in enumerate(series):
            colour = PALETTE[k % len(PALETTE)]
            body.append(f'<rect x="{lx}" y="{top + 4}" width="12" height="3" fill="{colour}"/>')
            body.append(_text(lx + 16, top + 9, name, 10, "start"))
            lx += 24 + 11 * len(name)
    return _svg(width, height, body, title)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    kind: str = "score",
    marked: set[int] | frozenset[int] = frozenset(),
    title: str = "",
    width: int = 520,
    bar_height: int = 16,
) -> str:
    """Horizontal bars, one per label in the given order, the value at the bar's end; rows in
    ``marked`` (indexes) are drawn red (the ones behind)."""
    left, right, top = 110, 56, 28 if title else 8
    height = top + bar_height * len(labels) + 8
    body: list[str] = []
    if title:
        body.append(_text(8, 16, title, 12, "start", font_weight="bold"))
    shown = [v for v in values if v is not None]
    if not shown:
        body.append(_text(width / 2, top + 20, "暂无数据", 12, fill="#888"))
        return _svg(width, max(height, top + 40), body, title)
    hi = max(shown)
    lo = 0.0 if kind != "score" else max(0.0, min(shown) - (hi - min(shown)) * 0.5 - 5)
    pw = width - left - right
    for i, (lab, v) in enumerate(zip(labels, values, strict=False)):
        yy = top + i * bar_height
        colour = MARK if i in marked else BAR
        short = lab if len(lab) <= 9 else lab[:8] + "…"
        body.append(
            _text(
                left - 6,
                yy + bar_height * 0.72,
                short,
                10,
                "end",
                fill=MARK if i in marked else INK,
            )
        )
        if v is None:
            body.append(_text(left + 4, yy + bar_height * 0.72, "—", 10, "start"))
            continue
        w = max(1.0, (v - lo) / ((hi - lo) or 1) * pw)
        body.append(
            f'<rect x="{left}" y="{yy + 2}" width="{w:.1f}" height="{bar_height - 4}"'
            f' fill="{colour}"/>'
        )
        body.append(_text(left + w + 4, yy + bar_height * 0.72, fmt_value(kind, v), 10, "start"))
    return _svg(width, height, body, title)
