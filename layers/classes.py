"""Class breaks, legend labels and colour ramps for shaded (choropleth) layers.

Breaks are ascending lower bounds: a value v falls in class i when v >= breaks[i] and below
breaks[i+1]. Counts get "nice" integer bounds at quantiles with 0 as a class of its own; rates
get fixed bounds (comparable from day to day and between towns, where quantiles would not be).
Colours are expanded here for every palette so the browser only picks one (a style option).
"""

from __future__ import annotations

from collections.abc import Sequence

# Palettes on a dark background, low to high. "heat" is the big screen's ramp.
PALETTES: dict[str, tuple[str, ...]] = {
    "heat": ("#1d5c94", "#1f93c4", "#38c6c6", "#f2d35b", "#f5903d", "#e8414a"),
    "blues": ("#16365c", "#1f5b8f", "#2c82bf", "#4fa8e0", "#8ccbf2", "#d2ecfb"),
    "greens": ("#123d2e", "#1b6448", "#2a8c61", "#45b07a", "#7fd39b", "#c4f0cd"),
}
ZERO_COLOR = "#0c2038"
NODATA_COLOR = "#2a2f3a"

RATE_BREAKS = (0.0, 0.6, 0.8, 0.9, 0.95)


def nice_floor(x: float) -> float:
    """Round down to one significant digit (37 -> 30, 1480 -> 1000, 0.234 -> 0.2); keeps
    values below 10 that are integers (7 -> 7)."""
    if x <= 0:
        return 0
    if x < 10 and float(x).is_integer():
        return int(x)
    mag = 10 ** (len(str(int(x))) - 1) if x >= 1 else 10 ** -_decimals_to_first_digit(x)
    out = (x // mag) * mag
    return int(out) if out >= 1 else round(out, 6)


def _decimals_to_first_digit(x: float) -> int:
    n = 0
    while x < 1:
        x *= 10
        n += 1
    return n


def count_breaks(values: Sequence[float], classes: int = 5) -> list[float]:
    """Ascending lower bounds of at most ``classes`` classes of positive values, "nice" numbers
    at quantiles; the first is 1 for integer counts, else the nice floor of the smallest
    positive value. 0 is a class of its own, drawn nearly unfilled."""
    positive = sorted(v for v in values if v and v > 0)
    integral = all(float(v).is_integer() for v in positive)
    if not positive:
        return [1]
    breaks: list[float] = [1 if integral else nice_floor(positive[0]) or positive[0]]
    for i in range(1, classes):
        q = nice_floor(positive[min(len(positive) - 1, (i * len(positive)) // classes)])
        if q > breaks[-1]:
            breaks.append(q)
    return breaks


def _fmt(x: float, percent: bool) -> str:
    if percent:
        return f"{100 * x:g}%"
    return f"{x:g}" if not float(x).is_integer() else str(int(x))


def legend_labels(breaks: Sequence[float], *, percent: bool = False) -> list[str]:
    """Class labels: [1, 3, 10] -> ['1–2', '3–9', '≥10'] for integer counts; fractional or
    percent bounds give '0.5–1', '<60%' style labels."""
    integral = not percent and all(float(b).is_integer() for b in breaks)
    out = []
    for i, b in enumerate(breaks):
        if i + 1 == len(breaks):
            out.append(f"≥{_fmt(b, percent)}")
        elif percent and i == 0 and b == 0:
            out.append(f"<{_fmt(breaks[1], percent)}")
        elif integral:
            hi = int(breaks[i + 1]) - 1
            out.append(str(int(b)) if hi == b else f"{int(b)}–{hi}")
        else:
            out.append(f"{_fmt(b, percent)}–{_fmt(breaks[i + 1], percent)}")
    return out


def class_colors(n: int, palette: str = "heat") -> list[str]:
    """``n`` colours spread over ``palette``, low to high."""
    ramp = PALETTES[palette]
    if n <= 1:
        return [ramp[0]][:n]
    return [ramp[round(i * (len(ramp) - 1) / (n - 1))] for i in range(n)]


def palette_colors(n: int, *, reverse: bool = False) -> dict[str, list[str]]:
    """{palette: n colours} for every palette; ``reverse`` puts the hot end first (for rates,
    where low is bad)."""
    out = {}
    for name in PALETTES:
        colors = class_colors(n, name)
        out[name] = colors[::-1] if reverse else colors
    return out
